package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/lathe-registry/lathe/internal/plugin/wellknown"
)

// pluginDir holds, for scripts, the shipped Go plugins built natively (protoc-gen-go,
// protoc-gen-connect-go, protoc-gen-go-grpc: on PATH for local buf generate) and as WASM
// (NAME.wasm), and their buf.plugin.yaml files (OWNER-NAME.yaml).
var pluginDir string

// buildPlugins builds the shipped Go plugins once per version into the user cache and
// links them into dir.
func buildPlugins(dir string) error {
	cache, err := os.UserCacheDir()
	if err != nil {
		return err
	}
	cache = filepath.Join(cache, "lathe-test", "plugins")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return err
	}
	for _, p := range wellknown.List() {
		if p.Source.GoPackage == "" {
			continue
		}
		bin := filepath.Base(p.Source.GoPackage)
		for _, target := range []struct{ goos, goarch, suffix string }{
			{runtime.GOOS, runtime.GOARCH, ""},
			{"wasip1", "wasm", ".wasm"},
		} {
			cached := filepath.Join(cache, fmt.Sprintf("%s-%s-%s-%s%s", bin, p.Source.BuildID(), target.goos, target.goarch, target.suffix))
			if _, err := os.Stat(cached); err != nil {
				fmt.Fprintf(os.Stderr, "e2e: building %s %s for %s/%s\n", p.Source.GoPackage, p.Source.GoVersion, target.goos, target.goarch)
				if err := wellknown.BuildGo(context.Background(), p, target.goos, target.goarch, cached); err != nil {
					return err
				}
			}
			if err := linkOrCopy(cached, filepath.Join(dir, bin+target.suffix)); err != nil {
				return err
			}
		}
		yaml := filepath.Join(dir, p.Config.Owner+"-"+p.Config.Name+".yaml")
		if err := os.WriteFile(yaml, p.Raw, 0o644); err != nil {
			return err
		}
	}
	// The misbehaving test plugin, natively and as WASM.
	for _, target := range []struct{ goos, goarch, out string }{
		{runtime.GOOS, runtime.GOARCH, "protoc-gen-hostile"},
		{"wasip1", "wasm", "protoc-gen-hostile.wasm"},
	} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, target.out), "../codegen/testdata/hostile")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+target.goos, "GOARCH="+target.goarch)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building the hostile plugin: %v\n%s", err, out)
		}
	}
	// The plugin that copies its whole request into its output.
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "protoc-gen-exfil"), "./testdata/exfil")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the exfiltrating plugin: %v\n%s", err, out)
	}
	if err := buildRustPlugins(cache, dir); err != nil {
		return err
	}
	if err := buildPythonPlugin(cache, dir); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "test-hostile.yaml"), []byte("version: v1\nname: buf.build/test/hostile\nplugin_version: v1.0.0\n"), 0o644)
}

// goEnv returns the go command's settings that scripts need to build generated code
// with the host's module cache and proxy, although their HOME is elsewhere.
func goEnv() ([]string, error) {
	out, err := exec.Command("go", "env", "GOPATH", "GOMODCACHE", "GOCACHE", "GOPROXY", "GOROOT").Output()
	if err != nil {
		return nil, err
	}
	vals := strings.Split(strings.TrimSpace(string(out)), "\n")
	names := []string{"GOPATH", "GOMODCACHE", "GOCACHE", "GOPROXY", "GOROOT"}
	env := make([]string, 0, len(names))
	for i, n := range names {
		env = append(env, n+"="+vals[i])
	}
	return env, nil
}
