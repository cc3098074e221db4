// Package protocpy runs protoc's built-in Python generator behind the protoc plugin
// protocol, so that Lathe can run it as the plugin protocolbuffers/python.
//
// protoc's Python generator is part of protoc (libprotoc), not a plugin program. The
// plugin receives a CodeGeneratorRequest on stdin, writes the request's proto_file as a
// FileDescriptorSet to a temporary directory, runs
//
//	protoc --descriptor_set_in=SET --python_out=OUT [--python_opt=PARAMETER] FILES...
//
// and answers with the files protoc wrote under OUT, in name order. The request's
// parameter goes to the generator as --python_opt (e.g. pyi_out, which adds .pyi stubs).
// Any failure, including protoc's own messages, is reported in the response's error
// field. protoc reads every file, the well-known types included, from the set, so it
// needs no include directory of its own.
//
// # The program
//
// Lathe's native sandbox shows a plugin its own program file, the system libraries
// (/lib, /usr/lib, ...) and a private writable /tmp, and nothing else. So the plugin
// program carries protoc with it: [Bundle] appends a protoc executable (the static
// builds published on Maven Central run anywhere) and a trailer to a program that
// calls [Main] first thing, the lathe binary itself. Such a bundle, when it runs, writes
// its protoc to a temporary directory and runs it from there. Being the lathe binary,
// "lathe plugin install protocolbuffers/python" makes it without a Go toolchain.
package protocpy

import (
	"bytes"
	"encoding/binary"
	"errors"
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

// ProgramName is the file name a bundle is published under.
const ProgramName = "protoc-gen-lathe-python"

// The Python generator's editions range in the protoc release Lathe pins (36.x): protoc
// refuses files outside it on its own, and buf wants the range declared before it hands
// a plugin editions files.
const (
	minimumEdition = descriptorpb.Edition_EDITION_PROTO2
	maximumEdition = descriptorpb.Edition_EDITION_2024
)

// trailer ends a bundle: the payload (protoc) precedes it, and it holds the payload's
// length, little-endian, then the magic string.
const (
	magic      = "LATHE-PROTOC-1\n\x00"
	trailerLen = 8 + len(magic)
)

// Main makes a bundle act as the plugin: if this program carries a protoc, it answers
// the CodeGeneratorRequest on stdin (or, with the single argument --version, prints
// the bundled protoc's version) and exits. Otherwise it returns at once.
func Main() {
	self, err := os.Executable()
	if err != nil {
		return
	}
	exe, err := Payload(self)
	if err != nil {
		fail(err)
	}
	if exe == nil {
		return
	}
	dir, err := os.MkdirTemp("", ProgramName+"-")
	if err != nil {
		fail(err)
	}
	err = run(exe, dir, os.Args[1:], os.Stdin, os.Stdout)
	os.RemoveAll(dir)
	if err != nil {
		fail(err)
	}
	os.Exit(0)
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", ProgramName, err)
	os.Exit(1)
}

func run(exe []byte, dir string, args []string, stdin io.Reader, stdout io.Writer) error {
	protoc := filepath.Join(dir, "protoc")
	if err := os.WriteFile(protoc, exe, 0o700); err != nil {
		return fmt.Errorf("writing the bundled protoc: %w", err)
	}
	switch {
	case len(args) == 1 && args[0] == "--version":
		cmd := exec.Command(protoc, "--version")
		cmd.Stdout, cmd.Stderr = stdout, os.Stderr
		return cmd.Run()
	case len(args) > 0:
		return fmt.Errorf("unexpected arguments %q: this program is a protoc plugin (the only flag is --version)", args)
	}
	in, err := io.ReadAll(stdin)
	if err != nil {
		return fmt.Errorf("reading the request: %w", err)
	}
	out, err := proto.Marshal(Respond(in, protoc))
	if err != nil {
		return err
	}
	_, err = stdout.Write(out)
	return err
}

// Bundle returns program, without any payload it has, followed by the protoc
// executable and a trailer. program must call [Main] before anything else.
func Bundle(program, protoc []byte) ([]byte, error) {
	if _, start, ok := payload(program); ok {
		program = program[:start]
	}
	if !bytes.HasPrefix(protoc, []byte("\x7fELF")) {
		return nil, errors.New("protoc is not an executable (ELF) file; give the protoc binary itself, not a wrapper script")
	}
	var buf bytes.Buffer
	buf.Grow(len(program) + len(protoc) + trailerLen)
	buf.Write(program)
	buf.Write(protoc)
	buf.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(protoc))))
	buf.WriteString(magic)
	return buf.Bytes(), nil
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

// Payload returns the protoc that the program file carries, or nil if it carries none.
// It reads only the trailer and the payload, so that checking costs a program without
// one a single small read.
func Payload(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("reading the bundled protoc: %w", err)
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
		return nil, errors.New("the bundled protoc is damaged")
	}
	data := make([]byte, n)
	if _, err := f.ReadAt(data, fi.Size()-int64(trailerLen)-int64(n)); err != nil {
		return nil, err
	}
	return data, nil
}

// Respond turns a serialized request into the response of protoc's Python generator,
// errors included, running the protoc executable at the given path.
func Respond(in []byte, protoc string) *pluginpb.CodeGeneratorResponse {
	resp := &pluginpb.CodeGeneratorResponse{
		SupportedFeatures: proto.Uint64(uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL |
			pluginpb.CodeGeneratorResponse_FEATURE_SUPPORTS_EDITIONS)),
		MinimumEdition: proto.Int32(int32(minimumEdition)),
		MaximumEdition: proto.Int32(int32(maximumEdition)),
	}
	req := &pluginpb.CodeGeneratorRequest{}
	if err := proto.Unmarshal(in, req); err != nil {
		resp.Error = proto.String("reading the CodeGeneratorRequest: " + err.Error())
		return resp
	}
	files, err := generate(req, protoc)
	if err != nil {
		resp.Error = proto.String(err.Error())
		return resp
	}
	resp.File = files
	return resp
}

// generate runs protoc's Python generator on the request.
func generate(req *pluginpb.CodeGeneratorRequest, protoc string) ([]*pluginpb.CodeGeneratorResponse_File, error) {
	if len(req.GetFileToGenerate()) == 0 {
		return nil, errors.New("the request names no file to generate")
	}
	for _, name := range req.GetFileToGenerate() {
		// protoc would read a name starting with '-' or '@' as a flag or a response file.
		if name == "" || strings.HasPrefix(name, "-") || strings.HasPrefix(name, "@") || strings.ContainsAny(name, "\x00\n") {
			return nil, fmt.Errorf("file to generate %q is not a proto file name protoc accepts", name)
		}
	}
	dir, err := os.MkdirTemp("", ProgramName+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
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
