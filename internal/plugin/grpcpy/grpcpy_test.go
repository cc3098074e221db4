package grpcpy

import (
	"archive/zip"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/lathe-registry/lathe/internal/testenv"
)

// fakeCompiler stands in for grpcio-tools' extension module: it checks the arguments the
// script passes and writes one file naming them, or fails as protoc does.
const fakeCompiler = `import os
def run_main(args):
    assert args[0] == b"protoc", args
    out = [a for a in args if a.startswith(b"--grpc_python_out=")][0].split(b"=", 1)[1].decode()
    opts = [a.decode() for a in args if a.startswith(b"--grpc_python_opt=")]
    sets = [a for a in args if a.startswith(b"--descriptor_set_in=")]
    files = [a.decode() for a in args if not a.startswith(b"-")][1:]
    if "bad.proto" in files:
        os.write(1, b"bad.proto: something is wrong\n")
        os.write(2, b"and more\n")
        return 1
    with open(sets[0].split(b"=", 1)[1], "rb") as f:
        size = len(f.read())
    os.makedirs(os.path.join(out, "a"), exist_ok=True)
    with open(os.path.join(out, "a", "x_pb2_grpc.py"), "w") as f:
        f.write("files=%s opts=%s set=%d\n" % (",".join(files), ",".join(opts), size))
    with open(os.path.join(out, "0.py"), "w") as f:
        f.write("first\n")
    return 0
`

func wheel(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(files[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

func TestUnpack(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	entry, err := Unpack(wheel(t, map[string]string{
		"grpc_tools/__init__.py":                    "",
		"grpc_tools/_protoc_compiler.py":            fakeCompiler,
		"grpc_tools/_proto/google/protobuf/a.proto": "",
		"grpcio_tools-1.0.dist-info/METADATA":       "Name: grpcio-tools\n",
		"other/module.py":                           "",
	}), dir)
	if err != nil {
		t.Fatal(err)
	}
	if entry != filepath.Join(dir, EntryName) {
		t.Errorf("entry %s", entry)
	}
	want := []string{"grpc_tools/__init__.py", "grpc_tools/_protoc_compiler.py", "grpcio_tools-1.0.dist-info/METADATA", EntryName}
	if got := listFiles(t, dir); !slices.Equal(got, want) {
		t.Errorf("unpacked %q, want %q", got, want)
	}

	for name, files := range map[string]map[string]string{
		"no compiler": {"grpc_tools/__init__.py": ""},
		"climbs out":  {"grpc_tools/../../x": "", "grpc_tools/_protoc_compiler.so": ""},
	} {
		if _, err := Unpack(wheel(t, files), t.TempDir()); err == nil {
			t.Errorf("%s: Unpack succeeded", name)
		}
	}
	if _, err := Unpack([]byte("not a zip"), t.TempDir()); err == nil {
		t.Error("Unpack of a non-zip succeeded")
	}
}

// The script, run by the host's python3 as the sandbox runs it, reads the request and
// writes the response with its own wire coding.
func TestScript(t *testing.T) {
	t.Parallel()
	py := testenv.RequireTool(t, "python3")
	dir := t.TempDir()
	entry, err := Unpack(wheel(t, map[string]string{
		"grpc_tools/__init__.py":         "",
		"grpc_tools/_protoc_compiler.py": fakeCompiler,
		"grpc_tools/grpc_version.py":     "VERSION = '9.9.9'\n",
	}), dir)
	if err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, req *pluginpb.CodeGeneratorRequest) *pluginpb.CodeGeneratorResponse {
		t.Helper()
		in, err := proto.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(py, "-I", "-S", "-B", entry)
		cmd.Dir = t.TempDir()
		cmd.Stdin = bytes.NewReader(in)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%v: %s", err, stderr.Bytes())
		}
		resp := &pluginpb.CodeGeneratorResponse{}
		if err := proto.Unmarshal(out, resp); err != nil {
			t.Fatalf("response: %v (%q)", err, out)
		}
		if resp.GetSupportedFeatures() != 3 || resp.GetMinimumEdition() != int32(descriptorpb.Edition_EDITION_PROTO2) ||
			resp.GetMaximumEdition() != int32(descriptorpb.Edition_EDITION_2024) {
			t.Errorf("features %d, editions %d to %d", resp.GetSupportedFeatures(), resp.GetMinimumEdition(), resp.GetMaximumEdition())
		}
		return resp
	}
	file := &descriptorpb.FileDescriptorProto{Name: proto.String("a/x.proto"), Package: proto.String(strings.Repeat("p", 200))}
	set, _ := proto.Marshal(&descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{file, file}})

	t.Run("generates", func(t *testing.T) {
		resp := run(t, &pluginpb.CodeGeneratorRequest{
			FileToGenerate: []string{"a/x.proto"},
			Parameter:      proto.String("grpc_2_0"),
			ProtoFile:      []*descriptorpb.FileDescriptorProto{file, file},
		})
		if resp.Error != nil {
			t.Fatal(resp.GetError())
		}
		var got []string
		for _, f := range resp.GetFile() {
			got = append(got, f.GetName()+": "+f.GetContent())
		}
		want := []string{"0.py: first\n", fmt.Sprintf("a/x_pb2_grpc.py: files=a/x.proto opts=--grpc_python_opt=grpc_2_0 set=%d\n", len(set))}
		if !slices.Equal(got, want) {
			t.Errorf("files %q, want %q", got, want)
		}
	})
	t.Run("protoc fails", func(t *testing.T) {
		resp := run(t, &pluginpb.CodeGeneratorRequest{FileToGenerate: []string{"bad.proto"}})
		if got := resp.GetError(); got != "protoc --grpc_python_out: bad.proto: something is wrong\nand more" || len(resp.GetFile()) != 0 {
			t.Errorf("error %q, %d files", got, len(resp.GetFile()))
		}
	})
	for name, files := range map[string][]string{"no file": nil, "flag": {"--plugin=x"}, "response file": {"@x"}} {
		t.Run(name, func(t *testing.T) {
			if resp := run(t, &pluginpb.CodeGeneratorRequest{FileToGenerate: files}); resp.Error == nil {
				t.Error("no error")
			}
		})
	}
	t.Run("garbage", func(t *testing.T) {
		cmd := exec.Command(py, "-I", "-S", "-B", entry)
		cmd.Stdin = strings.NewReader("\x0a\xff")
		out, err := cmd.Output()
		resp := &pluginpb.CodeGeneratorResponse{}
		if err != nil || proto.Unmarshal(out, resp) != nil || !strings.Contains(resp.GetError(), "truncated") {
			t.Errorf("%v, %q", err, out)
		}
	})
	t.Run("version", func(t *testing.T) {
		out, err := exec.Command(py, "-I", "-S", "-B", entry, "--version").Output()
		if err != nil || string(out) != "9.9.9\n" {
			t.Errorf("%v, %q", err, out)
		}
	})
}
