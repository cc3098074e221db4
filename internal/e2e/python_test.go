package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/lathe-registry/lathe/internal/plugin/protocpy"
	"github.com/lathe-registry/lathe/internal/plugin/wellknown"
	"github.com/lathe-registry/lathe/internal/testenv"
)

func init() {
	// python-venv DIR creates a fresh virtual environment (no system site packages) and
	// sets $VENV to it, and configures pip through the environment: no configuration
	// files, no prompts, no cache, the harness's CA under TLS (with the system's roots,
	// for PyPI). $PYPI is the Python Package Index's simple API.
	scriptCmds["python-venv"] = cmdPythonVenv
	// pip-index NAME [USER TOKEN] sets $NAME to Lathe's Python index URL, with
	// credentials in it if given.
	scriptCmds["pip-index"] = cmdPipIndex
	// uv installs uv (uvVersion, from PyPI, once into the user cache) and sets $UV to it,
	// with a private cache in $WORK and no configuration files; $PYPI as for python-venv.
	scriptCmds["uv"] = cmdUV
	// pypi-impostor NAME PROJECT VERSION serves a stand-in for PyPI that also has PROJECT
	// at VERSION, someone else's, and sets $NAME to it.
	scriptCmds["pypi-impostor"] = cmdPyPIImpostor
}

// uvVersion is the uv release the Python scripts install with.
const uvVersion = "0.13.8"

// pypiSimple is the Python Package Index, where the runtime dependencies of Lathe's
// wheels (protobuf) come from.
const pypiSimple = "https://pypi.org/simple/"

// buildPythonPlugin makes the program "lathe plugin install protocolbuffers/python"
// makes: the lathe binary under test with the pinned protoc from Maven Central (cached in
// the user cache) appended, as $PLUGINS/protoc-gen-lathe-python. Scripts push it with
// --shipped, which is what lets them check that the install makes the same program.
// The protoc itself is $PLUGINS/protoc.
func buildPythonPlugin(cache, dir string) error {
	p, ok := wellknown.Lookup("protocolbuffers/python")
	if !ok {
		return fmt.Errorf("protocolbuffers/python is not shipped")
	}
	protoc := filepath.Join(cache, fmt.Sprintf("protoc-%s-%s-%s", p.Source.ProtocVersion, runtime.GOOS, runtime.GOARCH))
	if _, err := os.Stat(protoc); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: fetching protoc %s from Maven Central\n", p.Source.ProtocVersion)
		if err := wellknown.FetchProtoc(context.Background(), p, wellknown.MavenCentral, runtime.GOOS, runtime.GOARCH, protoc); err != nil {
			return err
		}
	}
	protocExe, err := os.ReadFile(protoc)
	if err != nil {
		return err
	}
	lathe, err := os.ReadFile(filepath.Join(binDir, "lathe"+exe))
	if err != nil {
		return err
	}
	bundle, err := protocpy.Bundle(lathe, protocExe)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, protocpy.ProgramName), bundle, 0o755); err != nil {
		return err
	}
	// $PLUGINS/protoc, for local buf generate with protoc_builtin: python to compare with.
	return linkOrCopy(protoc, filepath.Join(dir, "protoc"))
}

func cmdPythonVenv(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: python-venv DIR")
	}
	py := testenv.RequireTool(scriptT{ts}, "python3")
	dir := ts.MkAbs(args[0])
	// Debian's python3 has venv's ensurepip (which installs pip into the venv) only with
	// python3-venv.
	if out, err := exec.Command(py, "-c", "import venv, ensurepip").CombinedOutput(); err != nil {
		ts.Fatalf("%s has no venv with ensurepip (Debian: apt-get install python3-venv): %v\n%s", py, err, bytes.TrimSpace(out))
	}
	if out, err := exec.Command(py, "-m", "venv", dir).CombinedOutput(); err != nil {
		ts.Fatalf("%s -m venv: %v\n%s", py, err, out)
	}
	ts.Setenv("VENV", dir)
	ts.Setenv("PYPI", pypiSimple)
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
	noProxy(ts)
}

// noProxy keeps the clients from sending requests for Lathe to a proxy.
func noProxy(ts *testscript.TestScript) {
	v := "127.0.0.1,localhost"
	if old := ts.Getenv("NO_PROXY"); old != "" && !strings.Contains(old, v) {
		v = old + "," + v
	}
	ts.Setenv("NO_PROXY", v)
	ts.Setenv("no_proxy", v)
}

var (
	uvOnce sync.Once
	uvPath string
	uvErr  error
)

// installUV installs uv with py's pip into a virtual environment in the user cache, once
// per version; a concurrent test run installs its own copy and renames it into place.
func installUV(py string) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "lathe-test", "uv-"+uvVersion)
	uv := filepath.Join(dir, "bin", "uv")
	if out, err := exec.Command(uv, "--version").Output(); err == nil && strings.HasPrefix(string(out), "uv "+uvVersion+" ") {
		return uv, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".uv-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(os.Stderr, "e2e: installing uv %s from PyPI into %s\n", uvVersion, dir)
	// The venv's scripts hold its path, so it is made where it will stay: in tmp, then
	// only uv's own binary, which does not care, is moved.
	steps := [][]string{
		{py, "-m", "venv", tmp},
		{filepath.Join(tmp, "bin", "pip"), "install", "--disable-pip-version-check", "--no-input", "--index-url", pypiSimple, "uv==" + uvVersion},
	}
	for _, s := range steps {
		cmd := exec.Command(s[0], s[1:]...)
		cmd.Env = append(os.Environ(), "PIP_CONFIG_FILE="+os.DevNull)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("%s: %v\n%s", strings.Join(s, " "), err, out)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(filepath.Join(tmp, "bin", "uv"), uv); err != nil {
		return "", err
	}
	return uv, nil
}

func cmdUV(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: uv")
	}
	py := testenv.RequireTool(scriptT{ts}, "python3")
	uvOnce.Do(func() { uvPath, uvErr = installUV(py) })
	if uvErr != nil {
		ts.Fatalf("installing uv: %v", uvErr)
	}
	ts.Setenv("UV", uvPath)
	ts.Setenv("PYPI", pypiSimple)
	ts.Setenv("UV_CACHE_DIR", ts.MkAbs("uv-cache"))
	ts.Setenv("UV_NO_CONFIG", "1")
	ts.Setenv("UV_NO_PROGRESS", "1")
	ts.Setenv("UV_PYTHON_DOWNLOADS", "never")
	// Under TLS, uv reads $SSL_CERT_FILE (the system's roots and the harness's CA) itself.
	noProxy(ts)
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

// cmdPyPIImpostor serves, on loopback, a stand-in for PyPI with one hostile project: the
// named project at the given version (a wheel with the single module impostor.py), every
// other project's page redirected to PyPI's. It sets $NAME to its simple API URL.
func cmdPyPIImpostor(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: pypi-impostor NAME PROJECT VERSION")
	}
	project, version := args[1], args[2]
	dist := strings.ReplaceAll(project, "-", "_")
	wheelName := dist + "-" + version + "-py3-none-any.whl"
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	info := dist + "-" + version + ".dist-info/"
	for _, f := range []struct{ name, body string }{
		{"impostor.py", "print('impostor')\n"},
		{info + "METADATA", "Metadata-Version: 2.1\nName: " + project + "\nVersion: " + version + "\n"},
		{info + "WHEEL", "Wheel-Version: 1.0\nGenerator: impostor\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
		{info + "RECORD", "impostor.py,,\n" + info + "METADATA,,\n" + info + "WHEEL,,\n" + info + "RECORD,,\n"},
	} {
		w, err := zw.Create(f.name)
		ts.Check(err)
		_, err = io.WriteString(w, f.body)
		ts.Check(err)
	}
	ts.Check(zw.Close())
	wheel := buf.Bytes()
	sum := sha256.Sum256(wheel)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch strings.Trim(r.URL.Path, "/") {
		case "simple/" + project:
			fmt.Fprintf(w, "<!DOCTYPE html><html><body><a href=\"/files/%s#sha256=%x\">%s</a></body></html>\n", wheelName, sum, wheelName)
		case "files/" + wheelName:
			w.Write(wheel)
		default:
			http.Redirect(w, r, pypiSimple+strings.TrimPrefix(strings.Trim(r.URL.Path, "/"), "simple/")+"/", http.StatusFound)
		}
	}))
	ts.Defer(srv.Close)
	ts.Setenv(args[0], srv.URL+"/simple/")
}
