package wellknown

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/lathe-registry/lathe/internal/plugin/pluginconfig"
	"github.com/lathe-registry/lathe/internal/testenv"
)

func TestList(t *testing.T) {
	t.Parallel()
	plugins := List()
	var names []string
	seen := map[string]string{} // owner/name -> version
	for _, p := range plugins {
		c := p.Config
		id := c.Owner + "/" + c.Name
		names = append(names, id)
		if c.Host != "buf.build" {
			t.Errorf("%s: host %q; the shipped files keep bufbuild/plugins' buf.build", id, c.Host)
		}
		// Raw must be what Config came from, since it is stored next to the plugin.
		if again, err := pluginconfig.Parse(p.Raw); err != nil || again.Ref() != c.Ref() {
			t.Errorf("%s: Raw does not parse back to the same config: %v", id, err)
		}
		// Dependency order, and dependencies on exactly the shipped versions.
		for _, d := range c.Deps {
			if v, ok := seen[d.Owner+"/"+d.Name]; !ok || v != d.Version {
				t.Errorf("%s depends on %s, but the list has %q before it", id, d, v)
			}
		}
		seen[id] = c.PluginVersion
		s := p.Source
		switch {
		case s.GoPackage != "":
			if s.NPMPackage != "" || s.NPMVersion != "" || s.NPMBin != "" {
				t.Errorf("%s: both Go and npm sources", id)
			}
			if s.GoVersion != c.PluginVersion {
				t.Errorf("%s: Go version %s, plugin_version %s", id, s.GoVersion, c.PluginVersion)
			}
			if c.Registry == nil || c.Registry.Go == nil {
				t.Errorf("%s: a Go plugin without registry.go", id)
			}
		case s.NPMPackage != "":
			if "v"+s.NPMVersion != c.PluginVersion || s.NPMBin == "" {
				t.Errorf("%s: npm %s@%s bin %q, plugin_version %s", id, s.NPMPackage, s.NPMVersion, s.NPMBin, c.PluginVersion)
			}
			if c.Registry == nil || c.Registry.NPM == nil {
				t.Errorf("%s: an npm plugin without registry.npm", id)
			}
		case s.CargoDir != "":
			if _, err := files.ReadFile("rust/" + s.CargoDir + "/Cargo.toml"); err != nil {
				t.Errorf("%s: %v", id, err)
			}
			if c.Registry == nil || c.Registry.Cargo == nil {
				t.Errorf("%s: a Rust plugin without registry.cargo", id)
			}
		case s.ProtocVersion != "":
			if "v"+strings.TrimPrefix(s.ProtocVersion, "4.") != c.PluginVersion || len(s.ProtocSHA256) == 0 {
				t.Errorf("%s: protoc %s (%d checksums), plugin_version %s", id, s.ProtocVersion, len(s.ProtocSHA256), c.PluginVersion)
			}
		case s.PyPIProject != "":
			if "v"+s.PyPIVersion != c.PluginVersion || len(s.WheelSHA256) == 0 {
				t.Errorf("%s: %s %s (%d wheels), plugin_version %s", id, s.PyPIProject, s.PyPIVersion, len(s.WheelSHA256), c.PluginVersion)
			}
			// The stubs check at import that grpcio is at least the generating version.
			if c.Registry == nil || c.Registry.Python == nil || !slices.Contains(c.Registry.Python.Deps, "grpcio>="+s.PyPIVersion) {
				t.Errorf("%s: registry.python does not require grpcio>=%s", id, s.PyPIVersion)
			}
		default:
			// The operator brings the program; the definition is all Lathe ships, for SDKs.
			if c.Registry == nil {
				t.Errorf("%s: a definition-only plugin without a registry section", id)
			}
		}
	}
	if got, want := strings.Join(names, " "), "protocolbuffers/go grpc/go connectrpc/go bufbuild/es lathe/prost community/neoeinstein-prost community/neoeinstein-tonic anthropics/buffa anthropics/connect-rust protocolbuffers/python grpc/python"; got != want {
		t.Errorf("List() = %s, want %s", got, want)
	}
	// List hands out copies.
	plugins[0].Config.Name = "changed"
	if List()[0].Config.Name != "go" {
		t.Error("List() shares its values between calls")
	}
}

// TestRuntimeDepsMatch checks that each plugin's generated code requires the runtime of
// the same release as its generator.
func TestRuntimeDepsMatch(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"protocolbuffers/go": "google.golang.org/protobuf@v1.36.11",
		"connectrpc/go":      "connectrpc.com/connect@v1.21.1",
		"bufbuild/es":        "@bufbuild/protobuf@^2.13.0",
	}
	for id, dep := range want {
		p, ok := Lookup(id)
		if !ok {
			t.Fatalf("Lookup(%q) found nothing", id)
		}
		var got []string
		if r := p.Config.Registry; r.Go != nil {
			for _, d := range r.Go.Deps {
				got = append(got, d.Module+"@"+d.Version)
			}
		} else {
			for _, d := range r.NPM.Deps {
				got = append(got, d.Package+"@"+d.Version)
			}
		}
		if strings.Join(got, ",") != dep {
			t.Errorf("%s runtime deps %v, want %s", id, got, dep)
		}
	}
	if _, ok := Lookup("protocolbuffers/java"); ok {
		t.Error("Lookup found a plugin that is not shipped")
	}
}

// TestCargoLock checks that each Rust plugin's source pins its crates in Cargo.lock, that
// its plugin_version is its locked package version, and that the runtime crates its
// generated code requires start at the versions its generator is built with.
func TestCargoLock(t *testing.T) {
	t.Parallel()
	pkg := regexp.MustCompile(`(?m)^\[\[package\]\]\nname = "([^"]+)"\nversion = "([^"]+)"$`)
	for _, p := range List() {
		if p.Source.CargoDir == "" {
			continue
		}
		lock, err := files.ReadFile("rust/" + p.Source.CargoDir + "/Cargo.lock")
		if err != nil {
			t.Fatalf("%s: %v (cargo build --locked needs it)", p.ref(), err)
		}
		locked := map[string]string{}
		for _, m := range pkg.FindAllSubmatch(lock, -1) {
			locked[string(m[1])] = string(m[2])
		}
		if v := "v" + locked[p.Source.CargoDir]; v != p.Config.PluginVersion {
			t.Errorf("%s: Cargo.lock has %s %s", p.ref(), p.Source.CargoDir, v)
		}
		deps := p.Config.Registry.Cargo.Deps
		if len(deps) == 0 {
			t.Errorf("%s: no registry.cargo deps", p.ref())
		}
		for _, d := range deps {
			if d.Req != locked[d.Name] {
				t.Errorf("%s: registry.cargo dep %s req %q, but the generator is built with %q", p.ref(), d.Name, d.Req, locked[d.Name])
			}
		}
	}
}

// testCache is where built and fetched plugins are kept between test runs, because a
// cold build fetches modules and takes tens of seconds.
func testCache(t *testing.T) string {
	t.Helper()
	dir, err := os.UserCacheDir()
	if err != nil {
		t.Fatalf("no user cache directory for the test builds: %v", err)
	}
	return filepath.Join(dir, "lathe-test", "wellknown")
}

// buildCached returns p built for goos/goarch, building it with BuildGo unless an
// earlier run already did. The key includes the Go release, whose output differs.
func buildCached(t *testing.T, p Plugin, goos, goarch string) string {
	t.Helper()
	out := filepath.Join(testCache(t), strings.Join([]string{
		p.Config.Owner, p.Config.Name, p.Source.BuildID(), goos, goarch, runtime.Version(),
	}, "_"))
	if _, err := os.Stat(out); err == nil {
		t.Logf("using %s from an earlier run", out)
		return out
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	if err := BuildGo(ctx, p, goos, goarch, out); err != nil {
		t.Fatal(err)
	}
	t.Logf("built %s in %v", out, time.Since(start).Round(time.Millisecond))
	return out
}

func TestBuildGoNative(t *testing.T) {
	t.Parallel()
	for _, p := range List() {
		if p.Source.GoPackage == "" {
			continue
		}
		t.Run(p.Config.Owner+"/"+p.Config.Name, func(t *testing.T) {
			t.Parallel()
			bin := buildCached(t, p, runtime.GOOS, runtime.GOARCH)
			out, err := exec.CommandContext(t.Context(), bin, "--version").CombinedOutput()
			if err != nil {
				t.Fatalf("%s --version: %v\n%s", bin, err, out)
			}
			// protoc-gen-go prints "v1.36.11", the others "1.6.2".
			if v := strings.TrimPrefix(p.Source.GoVersion, "v"); !strings.Contains(string(out), v) {
				t.Errorf("%s --version = %q, want the version %s", bin, out, v)
			}
		})
	}
}

func TestBuildGoWASM(t *testing.T) {
	t.Parallel()
	p, _ := Lookup("protocolbuffers/go")
	wasm, err := os.ReadFile(buildCached(t, p, "wasip1", "wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(wasm, []byte("\x00asm")) {
		t.Fatalf("not a WebAssembly module: starts with %q", wasm[:min(8, len(wasm))])
	}
	// Run it under WASI. The interpreter, because compiling a Go program to machine code
	// takes wazero far longer (over a minute under -race) than interpreting --version.
	ctx := t.Context()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer r.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	var stdout, stderr bytes.Buffer
	cfg := wazero.NewModuleConfig().WithArgs("protoc-gen-go", "--version").WithStdout(&stdout).WithStderr(&stderr)
	_, err = r.InstantiateWithConfig(ctx, wasm, cfg)
	if exit := (*sys.ExitError)(nil); err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 0) {
		t.Fatalf("protoc-gen-go.wasm --version: %v\n%s", err, stderr.Bytes())
	}
	if got, want := strings.TrimSpace(stdout.String()), "protoc-gen-go "+p.Source.GoVersion; got != want {
		t.Errorf("protoc-gen-go.wasm --version = %q, want %q", got, want)
	}
}

func TestBuildGoErrors(t *testing.T) {
	t.Parallel()
	es, _ := Lookup("bufbuild/es")
	if err := BuildGo(t.Context(), es, runtime.GOOS, runtime.GOARCH, filepath.Join(t.TempDir(), "x")); err == nil || !strings.Contains(err.Error(), "not built from a Go package") {
		t.Errorf("BuildGo(bufbuild/es) = %v, want an error saying it is not a Go plugin", err)
	}
	p, _ := Lookup("protocolbuffers/go")
	if err := BuildGo(t.Context(), p, "", "", filepath.Join(t.TempDir(), "x")); err == nil || !strings.Contains(err.Error(), "GOOS and GOARCH must be set") {
		t.Errorf("BuildGo without GOOS = %v", err)
	}
	// A version the proxy does not have: the error carries go's explanation, and no
	// output file or work directory is left behind.
	p.Source.GoVersion = "v0.0.0-lathe-does-not-exist"
	dir := t.TempDir()
	err := BuildGo(t.Context(), p, runtime.GOOS, runtime.GOARCH, filepath.Join(dir, "protoc-gen-go"))
	if err == nil || !strings.Contains(err.Error(), "go get google.golang.org/protobuf/cmd/protoc-gen-go@v0.0.0-lathe-does-not-exist") {
		t.Errorf("BuildGo(missing version) = %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("BuildGo left %v behind", entries)
	}
}

func TestFetchNPM(t *testing.T) {
	t.Parallel()
	testenv.RequireTool(t, "npm")
	p, _ := Lookup("bufbuild/es")
	dir := filepath.Join(testCache(t), "npm-"+p.Config.Name+"-"+p.Source.NPMVersion)
	entry, err := NPMEntry(p, dir)
	if err == nil {
		t.Logf("using %s from an earlier run", entry)
	} else {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
		defer cancel()
		if entry, err = FetchNPM(ctx, p, dir); err != nil {
			t.Fatal(err)
		}
	}
	if !filepath.IsAbs(entry) || !strings.HasPrefix(entry, dir) {
		t.Errorf("entry %s is not an absolute path under %s", entry, dir)
	}
	out, err := exec.CommandContext(t.Context(), "node", entry, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("node %s --version: %v\n%s", entry, err, out)
	}
	if got, want := strings.TrimSpace(string(out)), "protoc-gen-es v"+p.Source.NPMVersion; got != want {
		t.Errorf("node %s --version = %q, want %q", entry, got, want)
	}
}

func TestNPMErrors(t *testing.T) {
	t.Parallel()
	p, _ := Lookup("protocolbuffers/go")
	if _, err := FetchNPM(t.Context(), p, t.TempDir()); err == nil || !strings.Contains(err.Error(), "not fetched from npm") {
		t.Errorf("FetchNPM(protocolbuffers/go) = %v", err)
	}
	es, _ := Lookup("bufbuild/es")
	dir := t.TempDir()
	if _, err := NPMEntry(es, dir); err == nil || !strings.Contains(err.Error(), "is not installed in") {
		t.Errorf("NPMEntry(empty dir) = %v", err)
	}
	// A stale installation is not mistaken for the pinned version.
	pkg := filepath.Join(dir, "node_modules", "@bufbuild", "protoc-gen-es")
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pkg, "package.json"), []byte(`{"version": "2.0.0", "bin": {"protoc-gen-es": "bin/protoc-gen-es"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NPMEntry(es, dir); err == nil || !strings.Contains(err.Error(), "is version 2.0.0, want 2.13.0") {
		t.Errorf("NPMEntry(old version) = %v", err)
	}
}

func TestBinPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw, name, want, err string
	}{
		{`"bin/x.js"`, "x", "bin/x.js", ""},
		{`{"x": "bin/x.js", "y": "bin/y.js"}`, "y", "bin/y.js", ""},
		{`{"x": "bin/x.js"}`, "", "bin/x.js", ""},
		{`{"x": "bin/x.js"}`, "z", "", `"bin" has no entry "z"`},
		{``, "x", "", `no "bin" entry`},
		{`[1]`, "x", "", `"bin" is neither a path nor an object`},
	}
	for _, tt := range tests {
		got, err := binPath([]byte(tt.raw), tt.name)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("binPath(%s, %q) = %q, %v; want %q, %q", tt.raw, tt.name, got, err, tt.want, tt.err)
		}
	}
}

// protoc-gen-go-grpc as Lathe builds it understands grpc/go's separate_package option:
// the stubs get a package of their own that imports the messages; without the option it
// generates what the stock plugin does.
func TestGRPCSeparatePackage(t *testing.T) {
	t.Parallel()
	p, _ := Lookup("grpc/go")
	bin := buildCached(t, p, runtime.GOOS, runtime.GOARCH)
	file := &descriptorpb.FileDescriptorProto{
		Name:        proto.String("acme/pet/v1/pet.proto"),
		Package:     proto.String("acme.pet.v1"),
		Syntax:      proto.String("proto3"),
		Options:     &descriptorpb.FileOptions{GoPackage: proto.String("example.com/gen/acme/pet/v1;petv1")},
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("Pet")}},
		Service: []*descriptorpb.ServiceDescriptorProto{{
			Name:   proto.String("PetService"),
			Method: []*descriptorpb.MethodDescriptorProto{{Name: proto.String("Get"), InputType: proto.String(".acme.pet.v1.Pet"), OutputType: proto.String(".acme.pet.v1.Pet")}},
		}},
	}
	for _, tc := range []struct {
		param, name string
		want        []string
	}{
		{"paths=source_relative,separate_package=true", "acme/pet/v1/petv1grpc/pet_grpc.pb.go",
			[]string{"package petv1grpc\n", "\tv1 \"example.com/gen/acme/pet/v1\"\n", "*v1.Pet"}},
		{"paths=source_relative", "acme/pet/v1/pet_grpc.pb.go", []string{"package petv1\n", "*Pet"}},
	} {
		req, err := proto.Marshal(&pluginpb.CodeGeneratorRequest{
			FileToGenerate: []string{file.GetName()}, Parameter: proto.String(tc.param), ProtoFile: []*descriptorpb.FileDescriptorProto{file},
		})
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.CommandContext(t.Context(), bin)
		cmd.Stdin = bytes.NewReader(req)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s with %s: %v", bin, tc.param, err)
		}
		var resp pluginpb.CodeGeneratorResponse
		if err := proto.Unmarshal(out, &resp); err != nil {
			t.Fatal(err)
		}
		if resp.Error != nil || len(resp.File) != 1 || resp.File[0].GetName() != tc.name {
			t.Fatalf("with %s: error %q, files %v; want one file %s", tc.param, resp.GetError(), resp.File, tc.name)
		}
		for _, w := range tc.want {
			if !strings.Contains(resp.File[0].GetContent(), w) {
				t.Errorf("with %s: %s lacks %q:\n%s", tc.param, tc.name, w, resp.File[0].GetContent())
			}
		}
	}
}

// An edit whose snippet is not in the source fails the build instead of building the
// program unedited.
func TestEditedCopyMissingSnippet(t *testing.T) {
	t.Parallel()
	mod := t.TempDir()
	if err := os.WriteFile(filepath.Join(mod, "main.go"), []byte("package main\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	_, err := editedCopy(filepath.Join(t.TempDir(), "src"), mod, mod, []GoEdit{{File: "main.go", Old: "func main() {", New: "x"}})
	if err == nil || !strings.Contains(err.Error(), "main.go has the snippet to replace 0 times") {
		t.Errorf("editedCopy = %v, want an error naming the missing snippet", err)
	}
}
