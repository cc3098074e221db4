package wasmrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// BuildGoPlugin builds the Go main package pkgAtVersion ("path/to/cmd@version", where
// version is anything go get accepts) as a WASI preview 1 module at outFile, with the go
// command on PATH and the module proxy it is configured with.
//
// It builds in a scratch module that requires only the plugin's module: "go install
// pkg@version" would build the same dependency versions, but refuses to cross-compile
// when GOBIN is set, and a GOBIN set with "go env -w" cannot be unset from the
// environment. -trimpath keeps host paths out of the module and -s -w drop symbol
// tables and DWARF, which only debuggers read (Go's own stack traces do not), so the
// module is smaller to hash and compile. outFile is replaced atomically.
func BuildGoPlugin(ctx context.Context, pkgAtVersion, outFile string) error {
	pkg, version, ok := strings.Cut(pkgAtVersion, "@")
	if !ok || pkg == "" || version == "" || strings.ContainsAny(pkgAtVersion, " \t\n") || strings.HasPrefix(pkg, "-") {
		return fmt.Errorf("wasmrun: build %q: want package@version", pkgAtVersion)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("wasmrun: build %s: %w", pkgAtVersion, err)
	}
	dir, err := os.MkdirTemp("", "lathe-wasm-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	env := append(os.Environ(),
		"GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0",
		// Outside any workspace, and without flags (such as -mod=vendor) meant for another module.
		"GOWORK=off", "GOFLAGS=-mod=mod",
	)
	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, goTool, args...)
		cmd.Dir = dir
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("wasmrun: build %s: go %s: %w\n%s", pkgAtVersion, args[0], err, bytes.TrimSpace(out.Bytes()))
		}
		return nil
	}
	if err := run("mod", "init", "lathe.invalid/wasmbuild"); err != nil {
		return err
	}
	if err := run("get", pkgAtVersion); err != nil {
		return err
	}
	tmp := filepath.Join(dir, "plugin.wasm")
	if err := run("build", "-trimpath", "-ldflags=-s -w", "-o", tmp, pkg); err != nil {
		return err
	}

	// Rename from the destination's directory, so that readers never see half a module.
	f, err := os.CreateTemp(filepath.Dir(outFile), ".wasmbuild-*")
	if err != nil {
		return err
	}
	data, err := os.ReadFile(tmp)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		_, err = f.Write(data)
	}
	err = errors.Join(err, f.Close())
	if err == nil {
		err = os.Rename(f.Name(), outFile)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("wasmrun: build %s: %w", pkgAtVersion, err)
	}
	return nil
}
