package wellknown

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// BuildGo builds the Go plugin p at its pinned version, from the module proxy, into
// outFile, for goos/goarch: runtime.GOOS/runtime.GOARCH for a native program, or
// "wasip1"/"wasm" for the WASM runtime. The build is static (CGO_ENABLED=0) and uses
// -trimpath. outFile is replaced atomically, so a reader never sees half a program.
//
// It needs the go command on PATH. The build runs in a throwaway module (go mod init,
// go get pkg@version, go build) because "go install pkg@version" refuses to
// cross-compile into GOBIN. The environment is cleared down to what go needs to reach
// the proxy and its caches, so the caller's GOFLAGS, GOOS, GOWORK or CGO settings
// cannot change the program. The source's GoEdits are applied to a copy of its module.
func BuildGo(ctx context.Context, p Plugin, goos, goarch, outFile string) error {
	src := p.Source
	if src.GoPackage == "" || src.GoVersion == "" {
		return fmt.Errorf("%s is not built from a Go package", p.ref())
	}
	if goos == "" || goarch == "" {
		return fmt.Errorf("building %s: GOOS and GOARCH must be set, got %q and %q", p.ref(), goos, goarch)
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("building %s needs the go command: %w", p.ref(), err)
	}
	env, err := goEnv(ctx, gobin)
	if err != nil {
		return fmt.Errorf("building %s: %w", p.ref(), err)
	}
	outFile, err = filepath.Abs(outFile)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(outFile), 0o755); err != nil {
		return err
	}
	// The work directory sits next to outFile so the final rename stays on one file
	// system; go build -o also refuses to overwrite a file that is not a program.
	work, err := os.MkdirTemp(filepath.Dir(outFile), ".lathe-build-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	run := func(env []string, args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, gobin, args...)
		cmd.Dir = work
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("building %s: go %s: %w\n%s", p.ref(), strings.Join(args, " "), err, bytes.TrimSpace(append(out, stderr.Bytes()...)))
		}
		return out, nil
	}
	if _, err := run(env, "mod", "init", "lathe.invalid/pluginbuild"); err != nil {
		return err
	}
	if _, err := run(env, "get", src.GoPackage+"@"+src.GoVersion); err != nil {
		return err
	}
	if len(src.GoEdits) > 0 {
		out, err := run(env, "list", "-f", "{{.Module.Path}}\n{{.Module.Dir}}\n{{.Dir}}", src.GoPackage)
		if err != nil {
			return err
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != 3 {
			return fmt.Errorf("building %s: go list: unexpected output %q", p.ref(), out)
		}
		dir, err := editedCopy(filepath.Join(work, "src"), lines[1], lines[2], src.GoEdits)
		if err != nil {
			return fmt.Errorf("building %s: editing its source: %w", p.ref(), err)
		}
		if _, err := run(env, "mod", "edit", "-replace", lines[0]+"="+dir); err != nil {
			return err
		}
	}
	if _, err := run(append(env, "GOOS="+goos, "GOARCH="+goarch), "build", "-trimpath", "-o", filepath.Join(work, "plugin"), src.GoPackage); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(work, "plugin"), outFile); err != nil {
		return fmt.Errorf("building %s: %w", p.ref(), err)
	}
	return nil
}

// editedCopy copies the module in modDir to dst and applies edits to its package in
// pkgDir, returning dst. The module cache stays as it is: the build replaces the module
// with the copy.
func editedCopy(dst, modDir, pkgDir string, edits []GoEdit) (string, error) {
	rel, err := filepath.Rel(modDir, pkgDir)
	if err != nil {
		return "", err
	}
	if err := os.CopyFS(dst, os.DirFS(modDir)); err != nil {
		return "", err
	}
	for _, e := range edits {
		file := filepath.Join(dst, rel, e.File)
		if e.Old == "" {
			if err := os.WriteFile(file, []byte(e.New), 0o644); err != nil {
				return "", err
			}
			continue
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		if n := strings.Count(string(data), e.Old); n != 1 {
			return "", fmt.Errorf("%s has the snippet to replace %d times, want once: %q", e.File, n, e.Old)
		}
		if err := os.WriteFile(file, []byte(strings.Replace(string(data), e.Old, e.New, 1)), 0o644); err != nil {
			return "", err
		}
	}
	return dst, nil
}

// goSettings are the go environment settings the build keeps: where the caches are and
// how to reach (and verify modules from) the proxy.
var goSettings = []string{ //nolint:gochecknoglobals // read-only
	"GOPATH", "GOCACHE", "GOMODCACHE", "GOPROXY", "GOSUMDB", "GONOSUMDB", "GOPRIVATE",
	"GONOPROXY", "GOINSECURE", "GOTOOLCHAIN",
}

// passEnv are process variables, not go settings, that go may need: a home directory,
// a PATH for the toolchain, and network proxy and CA settings for reaching the proxy.
var passEnv = []string{ //nolint:gochecknoglobals // read-only
	"HOME", "PATH", "TMPDIR", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy",
	"http_proxy", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR",
}

// goEnv returns the environment for the build. Settings are resolved with "go env"
// first, so values from the user's go env file still apply while GOENV=off keeps the
// rest of that file (GOFLAGS and the like) out.
func goEnv(ctx context.Context, gobin string) ([]string, error) {
	cmd := exec.CommandContext(ctx, gobin, append([]string{"env", "-json"}, goSettings...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go env: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	var vals map[string]string
	if err := json.Unmarshal(out, &vals); err != nil {
		return nil, fmt.Errorf("go env: %w", err)
	}
	env := []string{"GOENV=off", "GOWORK=off", "GOFLAGS=-mod=mod", "CGO_ENABLED=0"}
	for _, k := range goSettings {
		if v := vals[k]; v != "" {
			env = append(env, k+"="+v)
		}
	}
	for _, k := range passEnv {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	if vals["GOCACHE"] == "" || vals["GOMODCACHE"] == "" {
		return nil, errors.New("go env reports no GOCACHE or GOMODCACHE; set HOME or GOCACHE and GOPATH")
	}
	return env, nil
}

// BuildCargo builds a Rust plugin from its embedded source with cargo build --release
// --locked into outFile, replacing it atomically: the embedded Cargo.lock pins every
// crate, so a plugin version is always built from the same code. cargo fetches the crates
// the way it is configured to: from crates.io, or from a mirror the operator set up.
func BuildCargo(ctx context.Context, p Plugin, outFile string) error {
	dir := p.Source.CargoDir
	if dir == "" {
		return fmt.Errorf("%s is not built from Rust source", p.ref())
	}
	cargo, err := exec.LookPath("cargo")
	if err != nil {
		return fmt.Errorf("building %s needs cargo: %w", p.ref(), err)
	}
	outFile, err = filepath.Abs(outFile)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(outFile), 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp(filepath.Dir(outFile), ".lathe-build-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	src := filepath.Join(work, "src")
	if err := fs.WalkDir(files, "rust/"+dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(src, strings.TrimPrefix(path, "rust/"+dir))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := files.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	}); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, cargo, "build", "--release", "--locked", "--quiet")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CARGO_TARGET_DIR="+filepath.Join(work, "target"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s: cargo build: %v\n%s", p.ref(), err, bytes.TrimSpace(out))
	}
	return os.Rename(filepath.Join(work, "target", "release", dir), outFile)
}
