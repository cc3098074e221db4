package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/lathe-registry/lathe/internal/plugin/pluginconfig"
)

func TestPayload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	self := filepath.Join(dir, "self")
	protoc := filepath.Join(dir, "protoc")
	if err := os.WriteFile(self, []byte("\x7fELF program"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(protoc, []byte("\x7fELF protoc"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "bundled")
	if err := bundle(self, protoc, out); err != nil {
		t.Fatal(err)
	}
	// Bundling a bundle replaces its payload rather than stacking another.
	again := filepath.Join(dir, "again")
	if err := bundle(out, protoc, again); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{out, again} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p, start, ok := payload(data)
		if !ok || string(p) != "\x7fELF protoc" || string(data[:start]) != "\x7fELF program" {
			t.Errorf("%s: payload %q at %d, %v", f, p, start, ok)
		}
		got, err := readPayload(f)
		if err != nil || string(got) != "\x7fELF protoc" {
			t.Errorf("readPayload(%s) = %q, %v", f, got, err)
		}
	}
	if got, err := readPayload(self); got != nil || err != nil {
		t.Errorf("readPayload of a plain program = %q, %v", got, err)
	}
	if err := os.WriteFile(protoc, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := bundle(self, protoc, out); err == nil || !strings.Contains(err.Error(), "not an executable") {
		t.Errorf("bundling a script: %v", err)
	}
}

func request(t *testing.T, param string) []byte {
	t.Helper()
	money := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("acme/money/v1/money.proto"),
		Package: proto.String("acme.money.v1"),
		Syntax:  proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("Money"),
			Field: []*descriptorpb.FieldDescriptorProto{{
				Name: proto.String("currency"), Number: proto.Int32(1), JsonName: proto.String("currency"),
				Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(),
			}},
		}},
	}
	shop := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("acme/shop/v1/shop.proto"),
		Package:    proto.String("acme.shop.v1"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"acme/money/v1/money.proto"},
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("Order"),
			Field: []*descriptorpb.FieldDescriptorProto{{
				Name: proto.String("total"), Number: proto.Int32(1), JsonName: proto.String("total"),
				Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Type: descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum(),
				TypeName: proto.String(".acme.money.v1.Money"),
			}},
		}},
	}
	req := &pluginpb.CodeGeneratorRequest{FileToGenerate: []string{"acme/shop/v1/shop.proto"}, ProtoFile: []*descriptorpb.FileDescriptorProto{money, shop}}
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
	if _, err := exec.LookPath("protoc"); err != nil {
		t.Skip("no protoc on PATH (Debian: apt-get install protobuf-compiler)")
	}
	t.Parallel()
	resp := respond(request(t, ""))
	if resp.GetError() != "" {
		t.Fatal(resp.GetError())
	}
	if resp.GetSupportedFeatures()&uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL) == 0 {
		t.Error("proto3 optional is not declared")
	}
	if len(resp.File) != 1 || resp.File[0].GetName() != "acme/shop/v1/shop_pb2.py" {
		t.Fatalf("files %v", resp.File)
	}
	if c := resp.File[0].GetContent(); !strings.Contains(c, "from acme.money.v1 import money_pb2") {
		t.Errorf("shop_pb2.py does not import money by its proto path:\n%s", c)
	}
	// The parameter reaches the generator.
	resp = respond(request(t, "pyi_out"))
	if resp.GetError() != "" || len(resp.File) != 2 || resp.File[1].GetName() != "acme/shop/v1/shop_pb2.pyi" {
		t.Errorf("with pyi_out: error %q, files %v", resp.GetError(), resp.File)
	}
	// protoc's complaints end up in the response.
	resp = respond(request(t, "no_such_option"))
	if !strings.Contains(resp.GetError(), "no_such_option") || strings.Contains(resp.GetError(), os.TempDir()) {
		t.Errorf("error with a bad option: %q", resp.GetError())
	}
	resp = respond([]byte("garbage"))
	if !strings.Contains(resp.GetError(), "reading the CodeGeneratorRequest") {
		t.Errorf("error for garbage: %q", resp.GetError())
	}
}

// TestBundleRuns builds the program, bundles the host's protoc and runs the bundle
// with a PATH and $PROTOC that find no protoc.
func TestBundleRuns(t *testing.T) {
	protoc, err := exec.LookPath("protoc")
	if err != nil {
		t.Skip("no protoc on PATH (Debian: apt-get install protobuf-compiler)")
	}
	if testing.Short() {
		t.Skip("builds the program")
	}
	t.Parallel()
	dir := t.TempDir()
	prog := filepath.Join(dir, "protoc-gen-lathe-python")
	build := exec.Command("go", "build", "-o", prog, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	bundled := filepath.Join(dir, "bundled")
	if out, err := exec.Command(prog, "bundle", "-protoc", protoc, bundled).CombinedOutput(); err != nil {
		t.Fatalf("bundle: %v\n%s", err, out)
	}
	run := exec.Command(bundled)
	run.Env = []string{"PATH=" + dir, "TMPDIR=" + dir}
	run.Stdin = bytes.NewReader(request(t, ""))
	out, err := run.Output()
	if err != nil {
		t.Fatal(err)
	}
	resp := &pluginpb.CodeGeneratorResponse{}
	if err := proto.Unmarshal(out, resp); err != nil {
		t.Fatal(err)
	}
	if resp.GetError() != "" || len(resp.File) != 1 {
		t.Fatalf("error %q, files %v", resp.GetError(), resp.File)
	}
	// Without the payload, the plain program finds nothing to run.
	run = exec.Command(prog)
	run.Env = []string{"PATH=" + dir, "TMPDIR=" + dir}
	run.Stdin = bytes.NewReader(request(t, ""))
	if out, err = run.Output(); err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(out, resp); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resp.GetError(), "carries no protoc") {
		t.Errorf("plain program without protoc: %q", resp.GetError())
	}
}

// TestDefinition checks the shipped buf.plugin.yaml of protocolbuffers/python against
// the protoc this program bundles: protoc 3.21.12 is plugin version v21.12.
func TestDefinition(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../wellknown/plugins/protocolbuffers/python/buf.plugin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pluginconfig.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	py := cfg.Registry.Python
	if cfg.Owner+"/"+cfg.Name != "protocolbuffers/python" || py == nil || py.PackageType != "runtime" || py.RequiresPython != ">=3.8" ||
		strings.Join(py.Deps, ",") != "protobuf>=4.21" {
		t.Errorf("definition: %+v, python %+v", cfg, py)
	}
	if _, err := exec.LookPath("protoc"); err != nil {
		t.Skip("no protoc on PATH")
	}
	out, err := exec.Command("protoc", "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	// "libprotoc 3.21.12" is protobuf release 21.12.
	v := strings.TrimPrefix(strings.TrimSpace(string(out)), "libprotoc ")
	if parts := strings.Split(v, "."); len(parts) == 3 && parts[0] == "3" {
		v = parts[1] + "." + parts[2]
	}
	if "v"+v != cfg.PluginVersion {
		t.Errorf("protoc on PATH is %s (%s), the definition says plugin_version %s: bundles made here generate code for another runtime", v, out, cfg.PluginVersion)
	}
}
