package protocpy

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/lathe-registry/lathe/internal/plugin/wellknown"
)

var (
	protocOnce sync.Once
	protocPath string
	protocErr  error
)

// testProtoc returns the protoc that Lathe pins for protocolbuffers/python, fetched from
// Maven Central once into the user cache.
func testProtoc(t *testing.T) string {
	t.Helper()
	protocOnce.Do(func() {
		p, _ := wellknown.Lookup("protocolbuffers/python")
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		protocPath = filepath.Join(cache, "lathe-test", "protoc", "protoc-"+p.Source.ProtocVersion+"-"+runtime.GOOS+"-"+runtime.GOARCH)
		if _, err := os.Stat(protocPath); err == nil {
			return
		}
		protocErr = wellknown.FetchProtoc(context.Background(), p, wellknown.MavenCentral, runtime.GOOS, runtime.GOARCH, protocPath)
	})
	if protocErr != nil {
		t.Fatal(protocErr)
	}
	return protocPath
}

func TestPayload(t *testing.T) {
	t.Parallel()
	out, err := Bundle([]byte("\x7fELF program"), []byte("\x7fELF protoc"))
	if err != nil {
		t.Fatal(err)
	}
	// Bundling a bundle replaces its payload rather than stacking another.
	again, err := Bundle(out, []byte("\x7fELF protoc"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i, data := range [][]byte{out, again} {
		p, start, ok := payload(data)
		if !ok || string(p) != "\x7fELF protoc" || string(data[:start]) != "\x7fELF program" {
			t.Errorf("bundle %d: payload %q at %d, %v", i, p, start, ok)
		}
		f := filepath.Join(dir, "bundle")
		if err := os.WriteFile(f, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := Payload(f); err != nil || string(got) != "\x7fELF protoc" {
			t.Errorf("Payload(bundle %d) = %q, %v", i, got, err)
		}
	}
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("\x7fELF program"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := Payload(plain); got != nil || err != nil {
		t.Errorf("Payload of a plain program = %q, %v", got, err)
	}
	if _, err := Bundle([]byte("\x7fELF program"), []byte("#!/bin/sh\n")); err == nil || !strings.Contains(err.Error(), "not an executable") {
		t.Errorf("bundling a script: %v", err)
	}
}

func field(name string, number int32, typ descriptorpb.FieldDescriptorProto_Type, typeName string) *descriptorpb.FieldDescriptorProto {
	f := &descriptorpb.FieldDescriptorProto{
		Name: proto.String(name), Number: proto.Int32(number), JsonName: proto.String(name),
		Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Type: typ.Enum(),
	}
	if typeName != "" {
		f.TypeName = proto.String(typeName)
	}
	return f
}

// request returns a request for shop.proto (proto3), which imports money.proto, and
// for the editions file note.proto if editions is set.
func request(t *testing.T, param string, editions bool) []byte {
	t.Helper()
	money := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("acme/money/v1/money.proto"),
		Package: proto.String("acme.money.v1"),
		Syntax:  proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name:  proto.String("Money"),
			Field: []*descriptorpb.FieldDescriptorProto{field("currency", 1, descriptorpb.FieldDescriptorProto_TYPE_STRING, "")},
		}},
	}
	shop := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("acme/shop/v1/shop.proto"),
		Package:    proto.String("acme.shop.v1"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"acme/money/v1/money.proto"},
		MessageType: []*descriptorpb.DescriptorProto{{
			Name:  proto.String("Order"),
			Field: []*descriptorpb.FieldDescriptorProto{field("total", 1, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, ".acme.money.v1.Money")},
		}},
	}
	req := &pluginpb.CodeGeneratorRequest{FileToGenerate: []string{"acme/shop/v1/shop.proto"}, ProtoFile: []*descriptorpb.FileDescriptorProto{money, shop}}
	if editions {
		note := &descriptorpb.FileDescriptorProto{
			Name:    proto.String("acme/note/v1/note.proto"),
			Package: proto.String("acme.note.v1"),
			Syntax:  proto.String("editions"),
			Edition: descriptorpb.Edition_EDITION_2024.Enum(),
			MessageType: []*descriptorpb.DescriptorProto{{
				Name:  proto.String("Note"),
				Field: []*descriptorpb.FieldDescriptorProto{field("text", 1, descriptorpb.FieldDescriptorProto_TYPE_STRING, "")},
			}},
		}
		req.ProtoFile = append(req.ProtoFile, note)
		req.FileToGenerate = append(req.FileToGenerate, "acme/note/v1/note.proto")
	}
	if param != "" {
		req.Parameter = proto.String(param)
	}
	data, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	protoc := testProtoc(t)
	resp := Respond(request(t, "", false), protoc)
	if resp.GetError() != "" {
		t.Fatal(resp.GetError())
	}
	want := uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL | pluginpb.CodeGeneratorResponse_FEATURE_SUPPORTS_EDITIONS)
	if resp.GetSupportedFeatures() != want || resp.GetMinimumEdition() != int32(descriptorpb.Edition_EDITION_PROTO2) ||
		resp.GetMaximumEdition() != int32(descriptorpb.Edition_EDITION_2024) {
		t.Errorf("features %b, editions %d to %d", resp.GetSupportedFeatures(), resp.GetMinimumEdition(), resp.GetMaximumEdition())
	}
	if len(resp.File) != 1 || resp.File[0].GetName() != "acme/shop/v1/shop_pb2.py" {
		t.Fatalf("files %v", resp.File)
	}
	if c := resp.File[0].GetContent(); !strings.Contains(c, "from acme.money.v1 import money_pb2") {
		t.Errorf("shop_pb2.py does not import money by its proto path:\n%s", c)
	}
	// The parameter reaches the generator.
	resp = Respond(request(t, "pyi_out", false), protoc)
	if resp.GetError() != "" || len(resp.File) != 2 || resp.File[1].GetName() != "acme/shop/v1/shop_pb2.pyi" {
		t.Errorf("with pyi_out: error %q, files %v", resp.GetError(), resp.File)
	}
	// Editions files generate, up to the declared maximum edition.
	resp = Respond(request(t, "", true), protoc)
	if resp.GetError() != "" || len(resp.File) != 2 || resp.File[0].GetName() != "acme/note/v1/note_pb2.py" {
		t.Errorf("with an editions file: error %q, files %v", resp.GetError(), resp.File)
	}
	// protoc's complaints end up in the response, without the temporary directory.
	resp = Respond(request(t, "no_such_option", false), protoc)
	if !strings.Contains(resp.GetError(), "no_such_option") || strings.Contains(resp.GetError(), os.TempDir()) {
		t.Errorf("error with a bad option: %q", resp.GetError())
	}
	resp = Respond([]byte("garbage"), protoc)
	if !strings.Contains(resp.GetError(), "reading the CodeGeneratorRequest") {
		t.Errorf("error for garbage: %q", resp.GetError())
	}
}

// TestBundleRuns bundles protoc into a program that calls Main and runs it with an
// empty environment, as the sandbox does: it finds nothing but its own payload.
func TestBundleRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	t.Parallel()
	protoc := testProtoc(t)
	dir := t.TempDir()
	prog := filepath.Join(dir, "bundled")
	build := exec.Command("go", "build", "-o", prog, "./testdata/bundled")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	plain, err := os.ReadFile(prog)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.ReadFile(protoc)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := Bundle(plain, exe)
	if err != nil {
		t.Fatal(err)
	}
	bundled := filepath.Join(dir, ProgramName)
	if err := os.WriteFile(bundled, bundle, 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"TMPDIR=" + dir}
	run := exec.Command(bundled)
	run.Env = env
	run.Stdin = bytes.NewReader(request(t, "", true))
	out, err := run.Output()
	if err != nil {
		t.Fatal(err)
	}
	resp := &pluginpb.CodeGeneratorResponse{}
	if err := proto.Unmarshal(out, resp); err != nil {
		t.Fatal(err)
	}
	if resp.GetError() != "" || len(resp.File) != 2 {
		t.Fatalf("error %q, files %v", resp.GetError(), resp.File)
	}
	version := exec.Command(bundled, "--version")
	version.Env = env
	if out, err := version.Output(); err != nil || !strings.HasPrefix(string(out), "libprotoc ") {
		t.Errorf("--version: %q, %v", out, err)
	}
	bad := exec.Command(bundled, "serve")
	bad.Env = env
	if out, err := bad.CombinedOutput(); err == nil || !strings.Contains(string(out), "is a protoc plugin") {
		t.Errorf("with arguments: %q, %v", out, err)
	}
	// Without the payload, Main returns and the program goes on as itself.
	run = exec.Command(prog)
	run.Env = env
	if out, err := run.Output(); err != nil || string(out) != "no bundled protoc\n" {
		t.Errorf("plain program: %q, %v", out, err)
	}
}

// TestDefinition checks the shipped buf.plugin.yaml of protocolbuffers/python against
// the protoc Lathe pins: protoc 36.1 (Maven's 4.36.1) is plugin version v36.1, and the
// runtime requirement is the gencode version that protoc writes into the code, which
// the runtime checks at import.
func TestDefinition(t *testing.T) {
	t.Parallel()
	p, ok := wellknown.Lookup("protocolbuffers/python")
	if !ok {
		t.Fatal("protocolbuffers/python is not shipped")
	}
	cfg := p.Config
	release := strings.TrimPrefix(p.Source.ProtocVersion, "4.")
	if cfg.PluginVersion != "v"+release {
		t.Errorf("plugin_version %s, protoc %s", cfg.PluginVersion, p.Source.ProtocVersion)
	}
	protoc := testProtoc(t)
	out, err := exec.Command(protoc, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "libprotoc "+release {
		t.Errorf("protoc --version = %q, want libprotoc %s", got, release)
	}
	resp := Respond(request(t, "", false), protoc)
	if resp.GetError() != "" {
		t.Fatal(resp.GetError())
	}
	code := resp.File[0].GetContent()
	_, gencode, _ := strings.Cut(code, "# Protobuf Python Version: ")
	gencode, _, _ = strings.Cut(gencode, "\n")
	py := cfg.Registry.Python
	if py == nil || py.PackageType != "runtime" || py.RequiresPython != ">=3.10" || strings.Join(py.Deps, ",") != "protobuf>="+gencode {
		t.Errorf("registry.python %+v; the code is for protobuf %q", py, gencode)
	}
}
