package codegen_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/lathe-registry/lathe/internal/blob"
	"github.com/lathe-registry/lathe/internal/blob/memblob"
	"github.com/lathe-registry/lathe/internal/codegen"
	"github.com/lathe-registry/lathe/internal/store"
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

	if _, err := exec.LookPath("node"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node is not on PATH")
		}
		t.Skip("node is not on PATH")
	}
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
