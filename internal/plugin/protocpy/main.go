// Command protoc-gen-lathe-python is protoc's built-in Python generator behind the protoc
// plugin protocol, so that Lathe can run it as the plugin protocolbuffers/python.
//
// protoc's Python generator is part of protoc (libprotoc), not a plugin program. This
// program receives a CodeGeneratorRequest on stdin, writes the request's proto_file as a
// FileDescriptorSet to a temporary directory, runs
//
//	protoc --descriptor_set_in=SET --python_out=OUT [--python_opt=PARAMETER] FILES...
//
// and answers with the files protoc wrote under OUT, in name order. The request's
// parameter goes to the generator as --python_opt (e.g. pyi_out, which adds .pyi stubs).
// Any failure, including protoc's own messages, is reported in the response's error
// field.
//
// # Finding protoc in Lathe's sandbox
//
// Lathe's native sandbox shows a plugin its own program file, the system libraries
// (/lib, /usr/lib, ...) and a private writable /tmp, but not /usr/bin. So the program
// carries protoc with it: "protoc-gen-lathe-python bundle OUT" writes a copy of this
// program with the protoc executable appended (found on PATH, or given with -protoc),
// and the copy, when it runs as a plugin, writes that protoc to a temporary directory
// and runs it from there. protoc's shared libraries (libprotoc, libprotobuf, libstdc++,
// libz) come from the host's /usr/lib, which the sandbox shows, so the bundle must run on
// a host with the same protobuf-compiler package as the one it was made on. Without an
// appended protoc, the program runs the protoc named by $PROTOC or found on PATH, which
// works outside the sandbox (buf generate with a local plugin, or an unsandboxed Lathe).
//
//	go build -o protoc-gen-lathe-python ./internal/plugin/protocpy
//	./protoc-gen-lathe-python bundle protoc-gen-python   # appends $(command -v protoc)
//	lathe plugin push --config internal/plugin/wellknown/plugins/protocolbuffers/python/buf.plugin.yaml \
//	    --binary protoc-gen-python
//
// "protoc-gen-lathe-python version" prints the version of the protoc it would run.
package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

// trailer ends a bundle: the payload (protoc) precedes it, and it holds the payload's
// length, little-endian, then the magic string.
const (
	magic      = "LATHE-PROTOC-1\n\x00"
	trailerLen = 8 + len(magic)
)

func main() {
	if len(os.Args) > 1 {
		if err := command(os.Args[1], os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "protoc-gen-lathe-python:", err)
			os.Exit(1)
		}
		return
	}
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "protoc-gen-lathe-python: reading the request:", err)
		os.Exit(1)
	}
	out, err := proto.Marshal(respond(in))
	if err != nil {
		fmt.Fprintln(os.Stderr, "protoc-gen-lathe-python:", err)
		os.Exit(1)
	}
	if _, err := os.Stdout.Write(out); err != nil {
		os.Exit(1)
	}
}

func command(name string, args []string) error {
	switch name {
	case "bundle":
		fl := flag.NewFlagSet("bundle", flag.ContinueOnError)
		protoc := fl.String("protoc", "", "the protoc executable to append (default: protoc on PATH)")
		if err := fl.Parse(args); err != nil {
			return err
		}
		if fl.NArg() != 1 {
			return errors.New("usage: protoc-gen-lathe-python bundle [-protoc PATH] OUT")
		}
		if *protoc == "" {
			p, err := exec.LookPath("protoc")
			if err != nil {
				return fmt.Errorf("no protoc on PATH (install protobuf-compiler) and no -protoc: %w", err)
			}
			*protoc = p
		}
		self, err := os.Executable()
		if err != nil {
			return err
		}
		return bundle(self, *protoc, fl.Arg(0))
	case "version":
		dir, err := os.MkdirTemp("", "protoc-gen-lathe-python-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		protoc, err := findProtoc(dir)
		if err != nil {
			return err
		}
		cmd := exec.Command(protoc, "--version")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		return cmd.Run()
	}
	return fmt.Errorf("unknown command %q; with no arguments this program is a protoc plugin (commands: bundle, version)", name)
}

// bundle writes self's program without any payload, then protoc's bytes and a trailer.
func bundle(self, protoc, out string) error {
	prog, err := os.ReadFile(self)
	if err != nil {
		return err
	}
	if _, start, ok := payload(prog); ok {
		prog = prog[:start]
	}
	exe, err := os.ReadFile(protoc)
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(exe, []byte("\x7fELF")) {
		return fmt.Errorf("%s is not an executable (ELF) file; give the protoc binary itself, not a wrapper script", protoc)
	}
	var buf bytes.Buffer
	buf.Grow(len(prog) + len(exe) + trailerLen)
	buf.Write(prog)
	buf.Write(exe)
	buf.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(exe))))
	buf.WriteString(magic)
	return os.WriteFile(out, buf.Bytes(), 0o755)
}

// payload returns the appended protoc of a bundle and where it starts.
func payload(data []byte) ([]byte, int, bool) {
	if len(data) < trailerLen || string(data[len(data)-len(magic):]) != magic {
		return nil, 0, false
	}
	n := binary.LittleEndian.Uint64(data[len(data)-trailerLen:])
	end := uint64(len(data) - trailerLen)
	if n > end {
		return nil, 0, false
	}
	start := int(end - n)
	return data[start:end], start, true
}

// findProtoc returns the protoc to run: the bundled one, written into dir, else $PROTOC,
// else protoc on PATH.
func findProtoc(dir string) (string, error) {
	if self, err := os.Executable(); err == nil {
		if data, err := readPayload(self); err != nil {
			return "", err
		} else if data != nil {
			p := filepath.Join(dir, "protoc")
			if err := os.WriteFile(p, data, 0o700); err != nil {
				return "", fmt.Errorf("writing the bundled protoc: %w", err)
			}
			return p, nil
		}
	}
	if p := os.Getenv("PROTOC"); p != "" {
		return p, nil
	}
	p, err := exec.LookPath("protoc")
	if err != nil {
		return "", errors.New("this program carries no protoc (make one that does with \"protoc-gen-lathe-python bundle\"), $PROTOC is not set, and there is no protoc on PATH")
	}
	return p, nil
}

// readPayload reads only the trailer and the payload of the program file, or returns nil
// if it has none.
func readPayload(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("reading this program's bundled protoc: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() < int64(trailerLen) {
		return nil, nil
	}
	trailer := make([]byte, trailerLen)
	if _, err := f.ReadAt(trailer, fi.Size()-int64(trailerLen)); err != nil {
		return nil, err
	}
	if string(trailer[8:]) != magic {
		return nil, nil
	}
	n := binary.LittleEndian.Uint64(trailer)
	if n > uint64(fi.Size())-uint64(trailerLen) {
		return nil, errors.New("this program's bundled protoc is damaged")
	}
	data := make([]byte, n)
	if _, err := f.ReadAt(data, fi.Size()-int64(trailerLen)-int64(n)); err != nil {
		return nil, err
	}
	return data, nil
}

// respond turns a serialized request into the response, errors included.
func respond(in []byte) *pluginpb.CodeGeneratorResponse {
	resp := &pluginpb.CodeGeneratorResponse{
		SupportedFeatures: proto.Uint64(uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL)),
	}
	req := &pluginpb.CodeGeneratorRequest{}
	if err := proto.Unmarshal(in, req); err != nil {
		resp.Error = proto.String("reading the CodeGeneratorRequest: " + err.Error())
		return resp
	}
	files, err := generate(req)
	if err != nil {
		resp.Error = proto.String(err.Error())
		return resp
	}
	resp.File = files
	return resp
}

// generate runs protoc's Python generator on the request.
func generate(req *pluginpb.CodeGeneratorRequest) ([]*pluginpb.CodeGeneratorResponse_File, error) {
	if len(req.GetFileToGenerate()) == 0 {
		return nil, errors.New("the request names no file to generate")
	}
	for _, name := range req.GetFileToGenerate() {
		// protoc would read a name starting with '-' or '@' as a flag or a response file.
		if name == "" || strings.HasPrefix(name, "-") || strings.HasPrefix(name, "@") || strings.ContainsAny(name, "\x00\n") {
			return nil, fmt.Errorf("file to generate %q is not a proto file name protoc accepts", name)
		}
	}
	dir, err := os.MkdirTemp("", "protoc-gen-lathe-python-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	protoc, err := findProtoc(dir)
	if err != nil {
		return nil, err
	}
	set, err := proto.Marshal(&descriptorpb.FileDescriptorSet{File: req.GetProtoFile()})
	if err != nil {
		return nil, err
	}
	setFile := filepath.Join(dir, "input.binpb")
	if err := os.WriteFile(setFile, set, 0o600); err != nil {
		return nil, err
	}
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o700); err != nil {
		return nil, err
	}
	args := []string{"--descriptor_set_in=" + setFile, "--python_out=" + out}
	if p := req.GetParameter(); p != "" {
		args = append(args, "--python_opt="+p)
	}
	args = append(args, req.GetFileToGenerate()...)
	cmd := exec.Command(protoc, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(strings.ReplaceAll(stderr.String(), dir+string(filepath.Separator), ""))
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("protoc --python_out: %s", msg)
	}
	return collect(out)
}

// collect returns the regular files under dir by slash-separated relative name, sorted.
func collect(dir string) ([]*pluginpb.CodeGeneratorResponse_File, error) {
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			names = append(names, filepath.ToSlash(rel))
		} else if !d.IsDir() {
			return fmt.Errorf("protoc wrote %s, which is not a regular file", p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	files := make([]*pluginpb.CodeGeneratorResponse_File, 0, len(names))
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			return nil, err
		}
		files = append(files, &pluginpb.CodeGeneratorResponse_File{Name: proto.String(name), Content: proto.String(string(data))})
	}
	return files, nil
}
