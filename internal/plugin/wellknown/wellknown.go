// Package wellknown holds the plugin definitions Lathe ships so an operator can install
// the common plugins without writing buf.plugin.yaml files: protocolbuffers/go, grpc/go,
// connectrpc/go, bufbuild/es, lathe/prost, protocolbuffers/python, grpc/python, and the
// Rust plugins community/neoeinstein-prost, community/neoeinstein-tonic, anthropics/buffa
// and anthropics/connect-rust. Each pairs an
// embedded buf.plugin.yaml (taken from, or adapted from, github.com/bufbuild/plugins) with
// where its program comes from at a pinned version: a Go package on the module proxy,
// built by [BuildGo]; an npm package, fetched by [FetchNPM]; Rust source embedded here,
// built by [BuildCargo]; a protoc release from Maven Central, fetched by [FetchProtoc],
// whose built-in generator runs behind the lathe binary (protocolbuffers/python, see
// package protocpy); a wheel from PyPI, fetched by [FetchWheel], whose generator runs
// with the host's python3 (grpc/python, see package grpcpy); or nowhere, for plugins whose binaries the operator brings.
//
// Versions are pinned rather than "latest" so that a plugin version in the registry
// always means the same generated code, and so the plugins' dependencies agree: grpc/go
// and connectrpc/go depend on exactly the protocolbuffers/go version listed here.
package wellknown

import (
	"crypto/sha256"
	"embed"
	"fmt"
	"io/fs"

	"github.com/lathe-registry/lathe/internal/plugin/pluginconfig"
)

// Source says how to obtain a plugin's program. At most one of the Go, npm, Cargo,
// protoc and PyPI parts is set; with none, the operator supplies the program.
type Source struct {
	// GoPackage is the main package, e.g. "google.golang.org/protobuf/cmd/protoc-gen-go".
	GoPackage string
	// GoVersion is the version of the module that contains GoPackage, e.g. "v1.36.11".
	GoVersion string
	// GoEdits change GoPackage's source before it is built.
	GoEdits []GoEdit

	// NPMPackage is the npm package, e.g. "@bufbuild/protoc-gen-es".
	NPMPackage string
	// NPMVersion is its exact version, without a leading v, e.g. "2.13.0".
	NPMVersion string
	// NPMBin names the package's bin entry that is the plugin, e.g. "protoc-gen-es".
	NPMBin string

	// CargoDir is the embedded directory, under rust/, of a Cargo package whose binary of
	// the same name is the plugin, e.g. "protoc-gen-lathe-prost".
	CargoDir string

	// ProtocVersion is the protoc release as Maven Central versions it
	// (com.google.protobuf:protoc), e.g. "4.36.1" for protoc 36.1.
	ProtocVersion string
	// ProtocSHA256 is the SHA-256 of that release's executable by Maven classifier
	// ("linux-x86_64", "linux-aarch_64"): the platforms Lathe installs it on.
	ProtocSHA256 map[string]string

	// PyPIProject is the project on the Python Package Index whose wheel holds the
	// plugin, e.g. "grpcio-tools".
	PyPIProject string
	// PyPIVersion is its exact version, e.g. "1.85.1".
	PyPIVersion string
	// WheelSHA256 is the SHA-256 of each of its wheels that Lathe installs, by file name:
	// one per CPython version and platform, as the wheels carry compiled code.
	WheelSHA256 map[string]string
}

// GoEdit is one change to a Go plugin's source, made to a copy of its module: Old, an
// exact snippet of File (in the package's directory) that must occur once, becomes New;
// with Old empty, File is a new file holding New. A snippet that is not there fails the
// build, so a new upstream version never builds silently without its edit.
type GoEdit struct {
	File, Old, New string
}

// BuildID names the program a Go source builds: its version, and a digest of its edits
// when it has some. Builds cached under it are rebuilt when the edits change.
func (s Source) BuildID() string {
	if len(s.GoEdits) == 0 {
		return s.GoVersion
	}
	h := sha256.New()
	for _, e := range s.GoEdits {
		fmt.Fprintf(h, "%q %q %q\n", e.File, e.Old, e.New)
	}
	return fmt.Sprintf("%s-edits-%x", s.GoVersion, h.Sum(nil)[:6])
}

// Plugin is one shipped plugin.
type Plugin struct {
	// Config is Raw, parsed.
	Config *pluginconfig.Config
	// Raw is the buf.plugin.yaml as shipped, to store alongside the plugin.
	Raw    []byte
	Source Source
}

//go:embed plugins rust
var files embed.FS

// shipped is in dependency order: a plugin comes after the plugins it depends on, so
// installing in this order never meets a missing dependency.
var shipped = []struct { //nolint:gochecknoglobals // read-only table
	path   string // under plugins/, also owner/name
	source Source
}{
	{"protocolbuffers/go", Source{GoPackage: "google.golang.org/protobuf/cmd/protoc-gen-go", GoVersion: "v1.36.11"}},
	{"grpc/go", Source{GoPackage: "google.golang.org/grpc/cmd/protoc-gen-go-grpc", GoVersion: "v1.6.2", GoEdits: grpcSeparatePackage}},
	{"connectrpc/go", Source{GoPackage: "connectrpc.com/connect/cmd/protoc-gen-connect-go", GoVersion: "v1.21.1"}},
	// protoc-gen-es 2.14 and later declare node >= 22; 2.13 is the newest that runs on Node.js 20.
	{"bufbuild/es", Source{NPMPackage: "@bufbuild/protoc-gen-es", NPMVersion: "2.13.0", NPMBin: "protoc-gen-es"}},
	{"lathe/prost", Source{CargoDir: "protoc-gen-lathe-prost"}},
	{"community/neoeinstein-prost", Source{}},
	{"community/neoeinstein-tonic", Source{}},
	{"anthropics/buffa", Source{}},
	{"anthropics/connect-rust", Source{}},
	// protoc's Python generator behind the lathe binary, protoc bundled; see protocpy.
	// Checksums computed from Maven Central's files (which carry only SHA-1s).
	{"protocolbuffers/python", Source{ProtocVersion: "4.36.1", ProtocSHA256: map[string]string{
		"linux-x86_64":   "65143da2d7a01c7ab24c287fb06de20fb07ef0a346f17d39fc284393f0ca0457",
		"linux-aarch_64": "8e7a4c1e85b3e780bc9a68a5b47ef10a336de639966ba70b335c05d16509d318",
	}}},
	// grpcio-tools' generator run by the host's python3; see grpcpy. Checksums as PyPI
	// lists them.
	{"grpc/python", Source{PyPIProject: "grpcio-tools", PyPIVersion: "1.85.1", WheelSHA256: map[string]string{
		"grpcio_tools-1.85.1-cp310-cp310-manylinux2014_x86_64.manylinux_2_17_x86_64.whl":   "95f3f77f66304e5a2103bbf118fe3408d5ce47a2aa8271a1b9d3ff6437772d42",
		"grpcio_tools-1.85.1-cp310-cp310-manylinux2014_aarch64.manylinux_2_17_aarch64.whl": "ac210df8a3ced388c8c3aec3d7ea36acdf0aa247301a80f1a2b52f8e53b88f92",
		"grpcio_tools-1.85.1-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl":   "38b8307a9e7f36678dad9d2590a5e849238a7c2d1178a433fbdd46ab3f6aa452",
		"grpcio_tools-1.85.1-cp311-cp311-manylinux2014_aarch64.manylinux_2_17_aarch64.whl": "74c5ba2513391513f002aff95131589759b33447e2b66da466d8551c3cce4d98",
		"grpcio_tools-1.85.1-cp312-cp312-manylinux2014_x86_64.manylinux_2_17_x86_64.whl":   "207e2e65147a744d7cb43949b0c8b898a6f290984d10f025409311563804163f",
		"grpcio_tools-1.85.1-cp312-cp312-manylinux2014_aarch64.manylinux_2_17_aarch64.whl": "a6f9de0c7d3684953be29952ea6b85bb3f1cf86d5ecb0dae6ae1ccc555aa2c75",
		"grpcio_tools-1.85.1-cp313-cp313-manylinux2014_x86_64.manylinux_2_17_x86_64.whl":   "7fdc3b869ad79254cb570eb043b5a940a775f367fd43682ce51aa518f45fec8f",
		"grpcio_tools-1.85.1-cp313-cp313-manylinux2014_aarch64.manylinux_2_17_aarch64.whl": "64ffd646c5baee5c33c816128924accca1099b4a07158f13ac22cafa3407a639",
		"grpcio_tools-1.85.1-cp314-cp314-manylinux2014_x86_64.manylinux_2_17_x86_64.whl":   "a3d13e21ac9551cc8cd4baf49abefda3a6a30b1051c12367e7150dfe08c513e2",
		"grpcio_tools-1.85.1-cp314-cp314-manylinux2014_aarch64.manylinux_2_17_aarch64.whl": "0c67018ba8c0f8bf0426746b5faf5cccd5a0b82b5d26c98cedc77f9d068984d6",
	}}},
}

// Sources returns the embedded Rust sources, by [Source.CargoDir].
func Sources() fs.FS {
	sub, err := fs.Sub(files, "rust")
	if err != nil {
		panic(err) // embedded at build time
	}
	return sub
}

// List returns the shipped plugins in dependency order. Each call returns fresh values
// that the caller may modify.
func List() []Plugin {
	out := make([]Plugin, 0, len(shipped))
	for _, s := range shipped {
		raw, err := files.ReadFile("plugins/" + s.path + "/buf.plugin.yaml")
		if err != nil {
			panic(fmt.Sprintf("wellknown: %s: %v", s.path, err)) // embedded at build time
		}
		cfg, err := pluginconfig.Parse(raw)
		if err != nil {
			panic(fmt.Sprintf("wellknown: %s/buf.plugin.yaml: %v", s.path, err)) // covered by tests
		}
		out = append(out, Plugin{Config: cfg, Raw: raw, Source: s.source})
	}
	return out
}

// Lookup returns the shipped plugin owner/name, e.g. "protocolbuffers/go".
func Lookup(ownerName string) (Plugin, bool) {
	for _, p := range List() {
		if p.Config.Owner+"/"+p.Config.Name == ownerName {
			return p, true
		}
	}
	return Plugin{}, false
}

func (p Plugin) ref() string {
	if p.Config == nil {
		return "plugin"
	}
	return p.Config.Ref()
}
