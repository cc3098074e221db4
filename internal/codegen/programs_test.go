package codegen_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-registry/lathe/internal/blob"
	"github.com/lathe-registry/lathe/internal/blob/memblob"
	"github.com/lathe-registry/lathe/internal/codegen"
	"github.com/lathe-registry/lathe/internal/store"
	"github.com/lathe-registry/lathe/internal/testenv"
)

// Programs under a relative directory still run: the sandbox starts plugins in a working
// directory of its own, so every path in an invocation must be absolute.
func TestProgramsRelativeDir(t *testing.T) {
	t.Chdir(t.TempDir())
	ctx := t.Context()
	blobs := memblob.New()
	native, err := blob.PutBytes(ctx, blobs, []byte("#!/bin/sh\n"))
	if err != nil {
		t.Fatal(err)
	}
	programs, err := codegen.NewPrograms(filepath.Join(".", "data", "programs"), blobs)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := programs.Invocation(ctx, store.PluginVersion{Runtime: codegen.RuntimeNative, Program: native, ProgramName: "protoc-gen-x"})
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(inv.Program) {
		t.Errorf("native program %q is not an absolute path", inv.Program)
	}

	testenv.RequireTool(t, "node")
	pkg := t.TempDir()
	if err := os.WriteFile(filepath.Join(pkg, "main.js"), []byte("process.exit(0)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	archive, err := codegen.PackNode(pkg, filepath.Join(pkg, "main.js"))
	if err != nil {
		t.Fatal(err)
	}
	script, err := blob.PutBytes(ctx, blobs, archive)
	if err != nil {
		t.Fatal(err)
	}
	inv, err = programs.Invocation(ctx, store.PluginVersion{Runtime: codegen.RuntimeNode, Program: script, ProgramName: "protoc-gen-es"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(append([]string{inv.Program}, inv.Args...), inv.ReadOnly...) {
		if !filepath.IsAbs(p) {
			t.Errorf("JavaScript plugin invocation %+v: %q is not an absolute path", inv, p)
		}
	}
}

// A Python plugin runs with the interpreter itself, not a wrapper on PATH, and the sandbox
// shows it its standard library.
func TestPythonInvocation(t *testing.T) {
	testenv.RequireTool(t, "python3")
	ctx := t.Context()
	py, err := codegen.FindPython(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(py.Tag, "cp3") || len(py.ReadOnly) == 0 {
		t.Errorf("python %+v", py)
	}
	blobs := memblob.New()
	pkg := t.TempDir()
	if err := os.WriteFile(filepath.Join(pkg, "main.py"), []byte("print('hi')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	archive, err := codegen.PackNode(pkg, filepath.Join(pkg, "main.py"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := blob.PutBytes(ctx, blobs, archive)
	if err != nil {
		t.Fatal(err)
	}
	programs, err := codegen.NewPrograms(t.TempDir(), blobs)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := programs.Invocation(ctx, store.PluginVersion{Runtime: codegen.RuntimePython, Program: key, ProgramName: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if inv.Program != py.Executable || len(inv.Args) != 4 || filepath.Base(inv.Args[3]) != "main.py" {
		t.Errorf("invocation %+v", inv)
	}
	out, err := exec.Command(inv.Program, inv.Args...).Output()
	if err != nil || string(out) != "hi\n" {
		t.Errorf("running %+v: %v, %q", inv, err, out)
	}
}
