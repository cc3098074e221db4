// Package grpcpy makes the program of the plugin grpc/python: the grpc_python generator of
// grpcio-tools, run by the host's python3 behind the protoc plugin protocol.
//
// No grpc_python plugin executable is published anywhere: grpcio-tools, on PyPI, carries
// the generator compiled into protoc inside a CPython extension module
// (grpc_tools/_protoc_compiler.cpython-3XY-...so), built for one Python version and
// platform per wheel. [Unpack] takes such a wheel's grpc_tools package and adds a plugin
// script (plugin.py) that answers a CodeGeneratorRequest by running that protoc with
// --descriptor_set_in and --grpc_python_out, so that it reads every file, the
// well-known types included, from the request. Lathe archives the result for the
// python runtime, which runs the script with the host's python3 in the native sandbox.
// The extension module needs the Python it was built for, libc and libstdc++, which
// the sandbox shows from the host's system libraries.
package grpcpy

import (
	"archive/zip"
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ProgramName is the name the plugin's program is published under.
const ProgramName = "protoc-gen-grpc-python"

// EntryName is the plugin script's file name in the directory [Unpack] fills.
const EntryName = "lathe_grpc_python.py"

//go:embed plugin.py
var script []byte

// Unpack extracts the grpc_tools package and the metadata (licenses included) of a
// grpcio-tools wheel into dir, with the plugin script, and returns the script's path.
// The package's copies of the well-known .proto files (grpc_tools/_proto) are left out:
// the request carries every file protoc reads.
func Unpack(wheel []byte, dir string) (string, error) {
	zr, err := zip.NewReader(bytes.NewReader(wheel), int64(len(wheel)))
	if err != nil {
		return "", fmt.Errorf("reading the grpcio-tools wheel: %w", err)
	}
	compiler := false
	for _, f := range zr.File {
		name := f.Name
		top, _, _ := strings.Cut(name, "/")
		if strings.HasSuffix(name, "/") || strings.HasPrefix(name, "grpc_tools/_proto/") ||
			(top != "grpc_tools" && !strings.HasSuffix(top, ".dist-info")) {
			continue
		}
		if path.Clean(name) != name || strings.HasPrefix(name, "../") || path.IsAbs(name) {
			return "", fmt.Errorf("the grpcio-tools wheel has a file named %q", name)
		}
		if path.Dir(name) == "grpc_tools" && strings.HasPrefix(path.Base(name), "_protoc_compiler.") {
			compiler = true
		}
		if err := extract(f, filepath.Join(dir, filepath.FromSlash(name))); err != nil {
			return "", err
		}
	}
	if !compiler {
		return "", fmt.Errorf("the wheel has no grpc_tools/_protoc_compiler extension module: it is not a grpcio-tools wheel for a platform")
	}
	entry := filepath.Join(dir, EntryName)
	if err := os.WriteFile(entry, script, 0o644); err != nil {
		return "", err
	}
	return entry, nil
}

func extract(f *zip.File, target string) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	r, err := f.Open()
	if err != nil {
		return fmt.Errorf("reading the grpcio-tools wheel: %s: %w", f.Name, err)
	}
	defer r.Close()
	w, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	// Entries are checked against their CRC-32 as they are read, and the wheel against its
	// pinned SHA-256 before; the cap guards against a zip bomb all the same.
	_, err = io.Copy(w, io.LimitReader(r, 256<<20))
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("reading the grpcio-tools wheel: %s: %w", f.Name, err)
	}
	return nil
}
