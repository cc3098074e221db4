package e2e

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	// python-venv DIR creates a virtual environment that sees the system's protobuf
	// runtime (Debian's python3-protobuf; PyPI is not reachable) and sets $VENV to it,
	// and configures pip through the environment: no configuration files, no prompts, no
	// cache, the harness's CA under TLS.
	scriptCmds["python-venv"] = cmdPythonVenv
	// pip-index NAME [USER TOKEN] sets $NAME to Lathe's Python index URL, with
	// credentials in it if given.
	scriptCmds["pip-index"] = cmdPipIndex
}

// pythonPluginYAML is the definition of protocolbuffers/python, which the harness
// writes as $PLUGINS/protocolbuffers-python.yaml.
const pythonPluginYAML = "../plugin/wellknown/plugins/protocolbuffers/python/buf.plugin.yaml"

// buildPythonPlugin builds protoc-gen-lathe-python and bundles the host's protoc into
// it as $PLUGINS/protoc-gen-python, and writes its buf.plugin.yaml. Without protoc
// (Debian: protobuf-compiler) only the Python script fails, saying so.
func buildPythonPlugin(dir string) error {
	raw, err := os.ReadFile(pythonPluginYAML)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "protocolbuffers-python.yaml"), raw, 0o644); err != nil {
		return err
	}
	protoc, err := exec.LookPath("protoc")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: warning: no protoc on PATH (Debian: protobuf-compiler); the Python scripts will fail")
		return nil
	}
	prog := filepath.Join(dir, "protoc-gen-lathe-python")
	cmd := exec.Command("go", "build", "-o", prog, "../plugin/protocpy")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building protoc-gen-lathe-python: %v\n%s", err, out)
	}
	if out, err := exec.Command(prog, "bundle", "-protoc", protoc, filepath.Join(dir, "protoc-gen-python")).CombinedOutput(); err != nil {
		return fmt.Errorf("bundling protoc into protoc-gen-lathe-python: %v\n%s", err, out)
	}
	return nil
}

func cmdPythonVenv(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: python-venv DIR")
	}
	if _, err := os.Stat(filepath.Join(pluginDir, "protoc-gen-python")); err != nil {
		ts.Fatalf("the Python plugin was not built: install protoc (Debian: apt-get install protobuf-compiler)")
	}
	dir := ts.MkAbs(args[0])
	// Debian's python3 first: that is where python3-protobuf is (a python3 of pyenv or
	// similar earlier on PATH has its own site-packages).
	var pythons []string
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		pythons = append(pythons, "/usr/bin/python3")
	}
	if p, err := exec.LookPath("python3"); err == nil && p != "/usr/bin/python3" {
		pythons = append(pythons, p)
	}
	var tried []string
	for _, py := range pythons {
		check := exec.Command(py, "-c", "import google.protobuf, venv, ensurepip")
		if out, err := check.CombinedOutput(); err != nil {
			tried = append(tried, fmt.Sprintf("%s: %v: %s", py, err, bytes.TrimSpace(out)))
			continue
		}
		mk := exec.Command(py, "-m", "venv", "--system-site-packages", dir)
		if out, err := mk.CombinedOutput(); err != nil {
			ts.Fatalf("%s -m venv: %v\n%s", py, err, out)
		}
		ts.Setenv("VENV", dir)
		ts.Setenv("PIP_CONFIG_FILE", os.DevNull)
		ts.Setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
		ts.Setenv("PIP_NO_INPUT", "1")
		ts.Setenv("PIP_NO_CACHE_DIR", "1")
		ts.Setenv("PIP_NO_COLOR", "1")
		ts.Setenv("PIP_PROGRESS_BAR", "off")
		if ca := ts.Getenv("SSL_CERT_FILE"); ca != "" {
			// pip trusts its own certifi bundle unless told otherwise.
			ts.Setenv("PIP_CERT", ca)
		}
		noProxy := "127.0.0.1,localhost"
		if v := ts.Getenv("NO_PROXY"); v != "" {
			noProxy = v + "," + noProxy
		}
		ts.Setenv("NO_PROXY", noProxy)
		ts.Setenv("no_proxy", noProxy)
		return
	}
	ts.Fatalf("no python3 with venv, ensurepip and the protobuf runtime (Debian: apt-get install python3-venv python3-protobuf); tried:\n%s",
		strings.Join(tried, "\n"))
}

func cmdPipIndex(ts *testscript.TestScript, neg bool, args []string) {
	if neg || (len(args) != 1 && len(args) != 3) {
		ts.Fatalf("usage: pip-index NAME [USER TOKEN]")
	}
	u, err := url.Parse(ts.Getenv("LATHE_URL") + "/gen/python/simple/")
	ts.Check(err)
	if len(args) == 3 {
		u.User = url.UserPassword(args[1], args[2])
	}
	ts.Setenv(args[0], u.String())
}
