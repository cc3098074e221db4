package pluginconfig

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func readTestdata(t *testing.T, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "bufbuild-plugins", rel, "buf.plugin.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func mustEqual(t *testing.T, got, want *Config) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("got\n%s\nwant\n%s", g, w)
	}
}

// TestParseRealFiles parses files from github.com/bufbuild/plugins, unchanged.
func TestParseRealFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path string
		want *Config
	}{
		{"protocolbuffers/go/v1.36.11", &Config{
			Host: "buf.build", Owner: "protocolbuffers", Name: "go", PluginVersion: "v1.36.11",
			Registry: &Registry{
				Opts: []string{"paths=source_relative", "default_api_level=API_HYBRID"},
				Go: &GoRegistry{
					MinVersion: "1.23",
					Deps:       []GoDep{{Module: "google.golang.org/protobuf", Version: "v1.36.11"}},
				},
			},
			SourceURL:           "https://github.com/protocolbuffers/protobuf-go",
			Description:         "Base types for Go. Generates message and enum types.",
			SPDXLicenseID:       "BSD-3-Clause",
			LicenseURL:          "https://github.com/protocolbuffers/protobuf-go/blob/v1.36.11/LICENSE",
			IntegrationGuideURL: "https://protobuf.dev/getting-started/gotutorial",
			OutputLanguages:     []string{"go"},
		}},
		{"connectrpc/go/v1.20.0", &Config{
			Host: "buf.build", Owner: "connectrpc", Name: "go", PluginVersion: "v1.20.0",
			Deps: []Dep{{Host: "buf.build", Owner: "protocolbuffers", Name: "go", Version: "v1.36.11"}},
			Registry: &Registry{
				Opts: []string{"paths=source_relative"},
				Go: &GoRegistry{
					MinVersion: "1.25",
					Deps:       []GoDep{{Module: "connectrpc.com/connect", Version: "v1.20.0"}},
				},
			},
			SourceURL:           "https://github.com/connectrpc/connect-go",
			Description:         "Generates client and server stubs for connectrpc.com/connect. Compatible with the gRPC, gRPC-Web, and Connect RPC protocols.",
			SPDXLicenseID:       "Apache-2.0",
			LicenseURL:          "https://github.com/connectrpc/connect-go/blob/v1.20.0/LICENSE",
			IntegrationGuideURL: "https://connectrpc.com/docs/go/getting-started",
			OutputLanguages:     []string{"go"},
		}},
		{"grpc/go/v1.6.2", &Config{
			Host: "buf.build", Owner: "grpc", Name: "go", PluginVersion: "v1.6.2",
			Deps: []Dep{{Host: "buf.build", Owner: "protocolbuffers", Name: "go", Version: "v1.36.11"}},
			Registry: &Registry{
				Opts: []string{"paths=source_relative", "require_unimplemented_servers=false", "separate_package=true"},
				Go: &GoRegistry{
					MinVersion: "1.25",
					Deps:       []GoDep{{Module: "google.golang.org/grpc", Version: "v1.81.0"}},
				},
			},
			SourceURL:           "https://github.com/grpc/grpc-go",
			Description:         "Generates Go client and server stubs for the gRPC framework.",
			SPDXLicenseID:       "Apache-2.0",
			LicenseURL:          "https://github.com/grpc/grpc-go/blob/v1.6.2/LICENSE",
			IntegrationGuideURL: "https://grpc.io/docs/languages/go/quickstart",
			OutputLanguages:     []string{"go"},
		}},
		{"bufbuild/es/v2.14.0", &Config{
			Host: "buf.build", Owner: "bufbuild", Name: "es", PluginVersion: "v2.14.0",
			Registry: &Registry{
				Opts: []string{"import_extension=js"},
				NPM: &NPMRegistry{
					RewriteImportPathSuffix: "pb.js",
					ImportStyle:             "module",
					Deps:                    []NPMDep{{Package: "@bufbuild/protobuf", Version: "^2.14.0"}},
				},
			},
			SourceURL:           "https://github.com/bufbuild/protobuf-es",
			Description:         "Types for TypeScript/JavaScript for use in web browsers and Node.js. Generates message and enum types, but also services for use with Connect v2.",
			SPDXLicenseID:       "Apache-2.0",
			LicenseURL:          "https://github.com/bufbuild/protobuf-es/blob/v2.14.0/LICENSE",
			IntegrationGuideURL: "https://github.com/bufbuild/protobuf-es#quickstart",
			OutputLanguages:     []string{"javascript", "typescript"},
		}},
		{"community/neoeinstein-prost/v0.5.0", &Config{
			Host: "buf.build", Owner: "community", Name: "neoeinstein-prost", PluginVersion: "v0.5.0",
			Registry: &Registry{
				Opts: []string{"file_descriptor_set", "bytes=.", "flat_output_dir"},
				Cargo: &CargoRegistry{Deps: []CargoDep{
					{Name: "prost", Req: "0.14.1", DefaultFeatures: true},
					{Name: "prost-types", Req: "0.14.1", DefaultFeatures: true},
				}},
			},
			SourceURL:       "https://github.com/neoeinstein/protoc-gen-prost",
			Description:     "Generates code using the Prost! code generation engine.",
			SPDXLicenseID:   "Apache-2.0",
			LicenseURL:      "https://github.com/neoeinstein/protoc-gen-prost/blob/protoc-gen-prost-v0.5.0/LICENSE",
			OutputLanguages: []string{"rust"},
		}},
		{"community/neoeinstein-tonic/v0.5.0", &Config{
			Host: "buf.build", Owner: "community", Name: "neoeinstein-tonic", PluginVersion: "v0.5.0",
			Deps: []Dep{{Host: "buf.build", Owner: "community", Name: "neoeinstein-prost", Version: "v0.5.0"}},
			Registry: &Registry{
				Opts: []string{"no_include=true", "flat_output_dir"},
				Cargo: &CargoRegistry{Deps: []CargoDep{
					{Name: "tonic", Req: "0.14.1", DefaultFeatures: true},
					{Name: "tonic-prost", Req: "0.14.1"},
				}},
			},
			SourceURL:       "https://crates.io/crates/protoc-gen-tonic",
			Description:     "Generates Tonic gRPC server and client code using the Prost! code generation engine.",
			SPDXLicenseID:   "Apache-2.0",
			LicenseURL:      "https://github.com/neoeinstein/protoc-gen-prost/blob/protoc-gen-tonic-v0.5.0/LICENSE",
			OutputLanguages: []string{"rust"},
		}},
		{"protocolbuffers/python/v36.0", &Config{
			// The short semver form v36.0 is valid, as in buf.
			Host: "buf.build", Owner: "protocolbuffers", Name: "python", PluginVersion: "v36.0",
			Deps: []Dep{{Host: "buf.build", Owner: "protocolbuffers", Name: "pyi", Version: "v36.0"}},
			Registry: &Registry{
				Python: &PythonRegistry{Deps: []string{"protobuf>=3.20"}, RequiresPython: ">=3.10", PackageType: "runtime"},
			},
			SourceURL:       "https://github.com/protocolbuffers/protobuf",
			Description:     "Base types for Python. Generates message and enum types.",
			SPDXLicenseID:   "BSD-3-Clause",
			LicenseURL:      "https://github.com/protocolbuffers/protobuf/blob/v36.0/LICENSE",
			OutputLanguages: []string{"python"},
		}},
		{"protocolbuffers/java/v36.0", &Config{
			Host: "buf.build", Owner: "protocolbuffers", Name: "java", PluginVersion: "v36.0",
			Registry: &Registry{
				Maven: &MavenRegistry{
					Deps: []MavenDep{{GroupID: "com.google.protobuf", ArtifactID: "protobuf-java", Version: "4.36.0"}},
					AdditionalRuntimes: []MavenRuntime{{
						Name: "lite",
						Deps: []MavenDep{
							{GroupID: "com.google.protobuf", ArtifactID: "protobuf-javalite", Version: "4.36.0"},
							{GroupID: "build.buf", ArtifactID: "protobuf-javalite", Version: "4.36.0"},
						},
						Opts: []string{"lite"},
					}},
				},
			},
			SourceURL:       "https://github.com/protocolbuffers/protobuf",
			Description:     "Base types for Java. Generates message and enum types.",
			SPDXLicenseID:   "BSD-3-Clause",
			LicenseURL:      "https://github.com/protocolbuffers/protobuf/blob/v36.0/LICENSE",
			OutputLanguages: []string{"java"},
		}},
		{"protocolbuffers/pyi/v36.0", &Config{
			Host: "buf.build", Owner: "protocolbuffers", Name: "pyi", PluginVersion: "v36.0",
			Registry: &Registry{
				Python: &PythonRegistry{Deps: []string{"protobuf>=3.20", "types-protobuf"}, RequiresPython: ">=3.10", PackageType: "stub-only"},
			},
			SourceURL:       "https://github.com/protocolbuffers/protobuf",
			Description:     "Base types for Python Stubs. Generates stub files for message and enum types.",
			SPDXLicenseID:   "BSD-3-Clause",
			LicenseURL:      "https://github.com/protocolbuffers/protobuf/blob/v36.0/LICENSE",
			OutputLanguages: []string{"python"},
		}},
		{"connectrpc/kotlin/v0.9.0", &Config{
			Host: "buf.build", Owner: "connectrpc", Name: "kotlin", PluginVersion: "v0.9.0",
			Deps: []Dep{{Host: "buf.build", Owner: "protocolbuffers", Name: "kotlin", Version: "v35.1"}},
			Registry: &Registry{
				Opts: []string{"generateCallbackMethods=true"},
				Maven: &MavenRegistry{
					Compiler: MavenCompiler{Kotlin: MavenKotlinCompiler{APIVersion: "2.1", Version: "2.2.21"}},
					Deps: []MavenDep{
						{GroupID: "com.connectrpc", ArtifactID: "connect-kotlin", Version: "0.9.0"},
						{GroupID: "com.connectrpc", ArtifactID: "connect-kotlin-google-java-ext", Version: "0.9.0"},
						{GroupID: "com.connectrpc", ArtifactID: "connect-kotlin-okhttp", Version: "0.9.0"},
					},
					AdditionalRuntimes: []MavenRuntime{{
						Name: "lite",
						Deps: []MavenDep{
							{GroupID: "com.connectrpc", ArtifactID: "connect-kotlin", Version: "0.9.0"},
							{GroupID: "com.connectrpc", ArtifactID: "connect-kotlin-google-javalite-ext", Version: "0.9.0"},
							{GroupID: "com.connectrpc", ArtifactID: "connect-kotlin-okhttp", Version: "0.9.0"},
						},
					}},
				},
			},
			SourceURL:           "https://github.com/connectrpc/connect-kotlin",
			Description:         "Idiomatic gRPC & Connect RPCs for Kotlin.",
			SPDXLicenseID:       "Apache-2.0",
			LicenseURL:          "https://github.com/connectrpc/connect-kotlin/blob/v0.9.0/LICENSE",
			IntegrationGuideURL: "https://connectrpc.com/docs/kotlin/getting-started",
			OutputLanguages:     []string{"kotlin"},
		}},
		{"connectrpc/swift/v1.2.3", &Config{
			Host: "buf.build", Owner: "connectrpc", Name: "swift", PluginVersion: "v1.2.3",
			Deps: []Dep{{Host: "buf.build", Owner: "apple", Name: "swift", Version: "v1.38.0"}},
			Registry: &Registry{
				Opts: []string{"Visibility=Public", "FileNaming=PathToUnderscores"},
				Swift: &SwiftRegistry{Deps: []SwiftDep{{
					Source:        "https://github.com/connectrpc/connect-swift.git",
					Package:       "connect-swift",
					Version:       "1.2.3",
					Products:      []string{"Connect"},
					Platforms:     SwiftPlatforms{MacOS: "v10_15", IOS: "v12", TVOS: "v13", WatchOS: "v6"},
					SwiftVersions: []string{".v5", ".v6"},
				}}},
			},
			SourceURL:           "https://github.com/connectrpc/connect-swift",
			Description:         "Idiomatic gRPC & Connect RPCs for Swift.",
			SPDXLicenseID:       "Apache-2.0",
			LicenseURL:          "https://github.com/connectrpc/connect-swift/blob/1.2.3/LICENSE",
			IntegrationGuideURL: "https://connectrpc.com/docs/swift/getting-started",
			OutputLanguages:     []string{"swift"},
		}},
		{"grpc/csharp/v1.83.0", &Config{
			Host: "buf.build", Owner: "grpc", Name: "csharp", PluginVersion: "v1.83.0",
			Deps: []Dep{{Host: "buf.build", Owner: "protocolbuffers", Name: "csharp", Version: "v35.1"}},
			Registry: &Registry{
				Opts: []string{"base_namespace="},
				NuGet: &NuGetRegistry{
					TargetFrameworks: []string{"netstandard2.0"},
					Deps:             []NuGetDep{{Name: "Grpc.Net.Common", Version: "2.80.0"}},
				},
			},
			SourceURL:       "https://github.com/grpc/grpc",
			Description:     "Generates C# client and server stubs for the gRPC framework.",
			SPDXLicenseID:   "Apache-2.0",
			LicenseURL:      "https://github.com/grpc/grpc/blob/v1.83.0/LICENSE",
			OutputLanguages: []string{"csharp"},
		}},
		{"grpc/cpp/v1.83.0", &Config{
			Host: "buf.build", Owner: "grpc", Name: "cpp", PluginVersion: "v1.83.0",
			Deps:            []Dep{{Host: "buf.build", Owner: "protocolbuffers", Name: "cpp", Version: "v35.1"}},
			Registry:        &Registry{CMake: &CMakeRegistry{}},
			SourceURL:       "https://github.com/grpc/grpc",
			Description:     "Generates C++ client and server stubs for the gRPC framework.",
			SPDXLicenseID:   "Apache-2.0",
			LicenseURL:      "https://github.com/grpc/grpc/blob/v1.83.0/LICENSE",
			OutputLanguages: []string{"cpp"},
		}},
		{"protocolbuffers/js/v4.0.2", &Config{
			Host: "buf.build", Owner: "protocolbuffers", Name: "js", PluginVersion: "v4.0.2",
			Registry: &Registry{
				Opts: []string{"import_style=commonjs", "binary"},
				NPM: &NPMRegistry{
					ImportStyle: "commonjs",
					Deps:        []NPMDep{{Package: "google-protobuf", Version: "^4.0.2"}},
				},
			},
			SourceURL:       "https://github.com/protocolbuffers/protobuf-javascript",
			Description:     "Base types for JavaScript. Generates message and enum types.",
			SPDXLicenseID:   "BSD-3-Clause",
			LicenseURL:      "https://github.com/protocolbuffers/protobuf-javascript/blob/v4.0.2/LICENSE.md",
			OutputLanguages: []string{"javascript"},
		}},
		{"community/chrusty-jsonschema/v1.4.1", &Config{
			Host: "buf.build", Owner: "community", Name: "chrusty-jsonschema", PluginVersion: "v1.4.1",
			SourceURL:     "https://github.com/chrusty/protoc-gen-jsonschema",
			Description:   "Converts protobuf definitions into JSON Schemas, which can be used to dynamically validate JSON messages.",
			SPDXLicenseID: "Apache-2.0",
			LicenseURL:    "https://github.com/chrusty/protoc-gen-jsonschema/blob/1.4.1/LICENSE",
			Deprecated:    true,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(readTestdata(t, tt.path))
			if err != nil {
				t.Fatal(err)
			}
			mustEqual(t, got, tt.want)
		})
	}
}

// TestRealFilesAllCovered guards against testdata files that no test parses.
func TestRealFilesAllCovered(t *testing.T) {
	t.Parallel()
	n := 0
	err := filepath.WalkDir(filepath.Join("testdata", "bufbuild-plugins"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.Name() != "buf.plugin.yaml" {
			return err
		}
		n++
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if _, err := Parse(data); err != nil {
			t.Errorf("%s: %v", path, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 15 {
		t.Errorf("found %d real files, want at least 15", n)
	}
}

const minimal = "version: v1\nname: buf.build/acme/gen\nplugin_version: v1.0.0\n"

func TestParseValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want *Config
	}{
		{
			name: "minimal",
			in:   minimal,
			want: &Config{Host: "buf.build", Owner: "acme", Name: "gen", PluginVersion: "v1.0.0"},
		},
		{
			name: "document markers, and an empty trailing document",
			in:   "---\n" + minimal + "---\n",
			want: &Config{Host: "buf.build", Owner: "acme", Name: "gen", PluginVersion: "v1.0.0"},
		},
		{
			name: "JSON",
			in:   `{"version": "v1", "name": "buf.build/acme/gen", "plugin_version": "v1.0.0", "registry": {"go": {"min_version": "1.22"}}}`,
			want: &Config{Host: "buf.build", Owner: "acme", Name: "gen", PluginVersion: "v1.0.0", Registry: &Registry{Go: &GoRegistry{MinVersion: "1.22"}}},
		},
		{
			name: "any host, with a port, and revisions",
			in: `version: v1
name: registry.example.com:8443/acme/gen-connect
plugin_version: v2.0.0-rc.1
deps:
  - plugin: registry.example.com:8443/acme/gen:v1.0.0
    revision: 3
`,
			want: &Config{
				Host: "registry.example.com:8443", Owner: "acme", Name: "gen-connect", PluginVersion: "v2.0.0-rc.1",
				Deps: []Dep{{Host: "registry.example.com:8443", Owner: "acme", Name: "gen", Version: "v1.0.0", Revision: 3}},
			},
		},
		{
			name: "SPDX identifiers are normalized",
			in:   minimal + "spdx_license_id: apache-2.0\n",
			want: &Config{Host: "buf.build", Owner: "acme", Name: "gen", PluginVersion: "v1.0.0", SPDXLicenseID: "Apache-2.0"},
		},
		{
			name: "empty and null registry sections",
			in:   minimal + "registry:\n  go:\n  opts: []\n",
			want: &Config{Host: "buf.build", Owner: "acme", Name: "gen", PluginVersion: "v1.0.0"},
		},
		{
			name: "empty go registry",
			in:   minimal + "registry:\n  go: {}\n",
			want: &Config{Host: "buf.build", Owner: "acme", Name: "gen", PluginVersion: "v1.0.0", Registry: &Registry{Go: &GoRegistry{}}},
		},
		{
			name: "go base_plugin among deps, unquoted min_version",
			in: minimal + `deps:
  - plugin: buf.build/acme/base:v1.0.0
registry:
  go:
    min_version: 1.20
    base_plugin: buf.build/acme/base
`,
			want: &Config{
				Host: "buf.build", Owner: "acme", Name: "gen", PluginVersion: "v1.0.0",
				Deps:     []Dep{{Host: "buf.build", Owner: "acme", Name: "base", Version: "v1.0.0"}},
				Registry: &Registry{Go: &GoRegistry{MinVersion: "1.20", BasePlugin: "acme/base"}},
			},
		},
		{
			name: "go base_plugin without deps",
			in:   minimal + "registry:\n  go:\n    base_plugin: buf.build/acme/base\n",
			want: &Config{
				Host: "buf.build", Owner: "acme", Name: "gen", PluginVersion: "v1.0.0",
				Registry: &Registry{Go: &GoRegistry{BasePlugin: "acme/base"}},
			},
		},
		{
			name: "maven compiler settings and full coordinates",
			in: minimal + `registry:
  maven:
    compiler:
      java:
        encoding: UTF-8
        release: 11
        source: 8
        target: 17
      kotlin:
        api_version: 1.8
        jvm_target: 9
        language_version: 1.7
        version: 1.8.0
    deps:
      - "io.grpc:protoc-gen-grpc-java:1.52.1:linux-x86_64@exe"
`,
			want: &Config{
				Host: "buf.build", Owner: "acme", Name: "gen", PluginVersion: "v1.0.0",
				Registry: &Registry{Maven: &MavenRegistry{
					Compiler: MavenCompiler{
						Java:   MavenJavaCompiler{Encoding: "UTF-8", Release: 11, Source: 8, Target: 17},
						Kotlin: MavenKotlinCompiler{APIVersion: "1.8", JVMTarget: "9", LanguageVersion: "1.7", Version: "1.8.0"},
					},
					Deps: []MavenDep{{GroupID: "io.grpc", ArtifactID: "protoc-gen-grpc-java", Version: "1.52.1", Classifier: "linux-x86_64", Extension: "exe"}},
				}},
			},
		},
		{
			name: "nuget dependency frameworks",
			in: minimal + `registry:
  nuget:
    target_frameworks: [netstandard2.0, net8.0]
    deps:
      - {name: Grpc.Core.Api, version: 2.63.0, target_frameworks: [net8.0]}
`,
			want: &Config{
				Host: "buf.build", Owner: "acme", Name: "gen", PluginVersion: "v1.0.0",
				Registry: &Registry{NuGet: &NuGetRegistry{
					TargetFrameworks: []string{"netstandard2.0", "net8.0"},
					Deps:             []NuGetDep{{Name: "Grpc.Core.Api", Version: "2.63.0", TargetFrameworks: []string{"net8.0"}}},
				}},
			},
		},
		{
			name: "cargo features and YAML 1.1 booleans, as yaml.v3 and buf accept them",
			in: minimal + `registry:
  cargo:
    rust_version: "1.82"
    deps:
      - {name: serde, req: "1", default_features: no, features: [derive]}
      - {name: prost, req: "0.14", default_features: yes}
`,
			want: &Config{
				Host: "buf.build", Owner: "acme", Name: "gen", PluginVersion: "v1.0.0",
				Registry: &Registry{Cargo: &CargoRegistry{RustVersion: "1.82", Deps: []CargoDep{
					{Name: "serde", Req: "1", Features: []string{"derive"}},
					{Name: "prost", Req: "0.14", DefaultFeatures: true},
				}}},
			},
		},
		{
			name: "anchors and aliases",
			in: minimal + `registry:
  maven:
    deps: &deps
      - a.b:c:1.0
    additional_runtimes:
      - name: lite
        deps: *deps
`,
			want: &Config{
				Host: "buf.build", Owner: "acme", Name: "gen", PluginVersion: "v1.0.0",
				Registry: &Registry{Maven: &MavenRegistry{
					Deps:               []MavenDep{{GroupID: "a.b", ArtifactID: "c", Version: "1.0"}},
					AdditionalRuntimes: []MavenRuntime{{Name: "lite", Deps: []MavenDep{{GroupID: "a.b", ArtifactID: "c", Version: "1.0"}}}},
				}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			mustEqual(t, got, tt.want)
		})
	}
}

func TestParseInvalid(t *testing.T) {
	t.Parallel()
	const goReg = minimal + "registry:\n  go:\n"
	const goEmpty = minimal + "registry:\n  go: {}\n"
	tests := []struct {
		name string
		in   string
		want string // the whole error, or a prefix of it ending in "…"
	}{
		// The file as a whole.
		{"empty", "", `the file is empty: it needs at least "version: v1", name and plugin_version`},
		{"comments only", "# nothing\n", `the file is empty: …`},
		{"not a mapping", "- version: v1\n", "the file must be a YAML mapping of keys to values, not a list (line 1)"},
		{"bad YAML", "version: v1\nname: [\n", "invalid YAML: line 2: …"},
		{"two documents", minimal + "---\nname: buf.build/acme/other\n", "the file has more than one YAML document (another starts on line 5)"},
		{"null list item", minimal + "deps:\n  -\n", "deps[0]: is empty (line 5)"},
		{"custom tag", minimal + "description: !secret x\n", "description: custom YAML tag !secret is not allowed (line 4)"},

		// version.
		{"no version", "name: buf.build/acme/gen\nplugin_version: v1.0.0\n", `version is missing: add "version: v1"`},
		{"empty version", "version:\nname: buf.build/acme/gen\n", `version is empty: set "version: v1"`},
		{"version v2", "version: v2\nname: buf.build/acme/gen\nunknown: 1\n", `version "v2" is not supported: the only buf.plugin.yaml version is v1`},
		{"version list", "version: [v1]\n", `version: must be "v1", not a list (line 1)`},

		// Unknown keys and wrong shapes.
		{"unknown top-level key", minimal + "plugin_name: x\n", `top level: unknown field "plugin_name" (line 4); known fields: version, name, plugin_version, source_url, description, deps, output_languages, registry, spdx_license_id, license_url, integration_guide_url, deprecated`},
		{"unknown nested key", goReg + "    min_versoin: \"1.23\"\n", `registry.go: unknown field "min_versoin" (line 6); known fields: min_version, deps, base_plugin`},
		{"unknown key in a list item", minimal + "deps:\n  - plugin: buf.build/acme/x:v1.0.0\n    revison: 1\n", `deps[0]: unknown field "revison" (line 6); known fields: plugin, revision`},
		{"unknown key in cmake", minimal + "registry:\n  cmake: {x: 1}\n", `registry.cmake: unknown field "x" (line 5); known fields: (none)`},
		{"unknown registry", minimal + "registry:\n  gradle: {}\n", `registry: unknown field "gradle" (line 5); known fields: go, npm, maven, swift, python, cargo, nuget, cmake, opts`},
		{"duplicate key", minimal + "description: a\ndescription: b\n", "description: appears twice, on lines 4 and 5"},
		{"list expected", minimal + "output_languages: go\n", `output_languages: must be a list, not the string "go" (line 4)`},
		{"mapping expected", minimal + "registry: [go]\n", "registry: must be a mapping of keys to values, not a list (line 4)"},
		{"string expected", minimal + "description: {a: b}\n", "description: must be a string, not a mapping (line 4)"},
		{"bool expected", minimal + "deprecated: maybe\n", `deprecated: must be true or false, not the string "maybe" (line 4)`},
		{"int expected", minimal + "registry:\n  maven:\n    compiler:\n      java:\n        release: \"11\"\n", `registry.maven.compiler.java.release: must be an integer, not the string "11" (line 8)`},
		{"merge key", minimal + "registry:\n  go:\n    <<: {min_version: \"1.2\"}\n", `registry.go: keys must be plain names, not the string "<<" (line 6)`},

		// name.
		{"no name", "version: v1\nplugin_version: v1.0.0\n", "name is missing: set it to host/owner/name, like buf.build/protocolbuffers/go"},
		{"name without host", "version: v1\nname: acme/gen\nplugin_version: v1.0.0\n", `name: "acme/gen" must have the form host/owner/name, like buf.build/protocolbuffers/go`},
		{"name with version", "version: v1\nname: buf.build/acme/gen:v1.0.0\nplugin_version: v1.0.0\n", `name: "buf.build/acme/gen:v1.0.0": plugin name "gen:v1.0.0" must be lowercase letters, digits, '-', '_' and '.', starting with a letter or digit`},
		{"uppercase owner", "version: v1\nname: buf.build/Acme/gen\nplugin_version: v1.0.0\n", `name: "buf.build/Acme/gen": owner "Acme" must be lowercase letters, digits, '-', '_' and '.', starting with a letter or digit`},
		{"bad host", "version: v1\nname: buf build/acme/gen\nplugin_version: v1.0.0\n", `name: "buf build/acme/gen": host "buf build" must be a host name or IP address`},
		{"bad port", "version: v1\nname: localhost:99999/acme/gen\nplugin_version: v1.0.0\n", `name: "localhost:99999/acme/gen": host "localhost:99999" has an invalid port`},

		// plugin_version.
		{"no plugin_version", "version: v1\nname: buf.build/acme/gen\n", "plugin_version is missing: set it to the plugin's version, like v1.2.3"},
		{"plugin_version without v", "version: v1\nname: buf.build/acme/gen\nplugin_version: \"1.2\"\n", `plugin_version "1.2" is not a valid semantic version like v1.2.3`},
		{"plugin_version not semver", "version: v1\nname: buf.build/acme/gen\nplugin_version: v1.2.3.4\n", `plugin_version "v1.2.3.4" is not a valid semantic version like v1.2.3`},

		// deps.
		{"dep without plugin", minimal + "deps:\n  - revision: 1\n", "deps[0]: plugin is missing: set it to host/owner/name:version, like buf.build/protocolbuffers/go:v1.36.11"},
		{"dep without version", minimal + "deps:\n  - plugin: buf.build/acme/base\n", `deps[0]: plugin "buf.build/acme/base" has no version: write host/owner/name:version, like buf.build/protocolbuffers/go:v1.36.11`},
		{"dep with port but no version", "version: v1\nname: localhost:80/acme/gen\nplugin_version: v1.0.0\ndeps:\n  - plugin: localhost:80/acme/base\n", `deps[0]: plugin "localhost:80/acme/base" has no version: …`},
		{"dep bad version", minimal + "deps:\n  - plugin: buf.build/acme/base:latest\n", `deps[0]: plugin "buf.build/acme/base:latest": version "latest" is not a valid semantic version like v1.2.3`},
		{"dep bad identity", minimal + "deps:\n  - plugin: acme/base:v1.0.0\n", `deps[0]: plugin: "acme/base" must have the form host/owner/name, like buf.build/protocolbuffers/go`},
		{"dep other host", minimal + "deps:\n  - plugin: other.example/acme/base:v1.0.0\n", `deps[0]: plugin "other.example/acme/base:v1.0.0" must be on the same host as name (buf.build)`},
		{"dep twice", minimal + "deps:\n  - plugin: buf.build/acme/base:v1.0.0\n  - plugin: buf.build/acme/base:v1.1.0\n", "deps[1]: plugin acme/base is listed more than once"},
		{"dep negative revision", minimal + "deps:\n  - plugin: buf.build/acme/base:v1.0.0\n    revision: -1\n", "deps[0]: revision -1 is out of range 0 to 2147483647"},

		// registry.
		{"two registries", minimal + "registry:\n  go: {}\n  npm:\n    import_style: module\n", "registry: contains multiple registry configurations (go, npm)"},
		{"opts without registry", minimal + "registry:\n  opts: [paths=source_relative]\n", "registry: opts need a registry configuration: add one of go, npm, maven, swift, python, cargo, nuget or cmake"},
		{"empty opt", goEmpty + "  opts: [a, \"\"]\n", "registry.opts[1]: is empty"},
		{"go min_version", goReg + "    min_version: go1.23\n", `registry.go.min_version "go1.23" is not a Go version like 1.23`},
		{"go dep without module", goReg + "    deps: [{version: v1.0.0}]\n", "registry.go.deps[0].module is missing"},
		{"go dep without version", goReg + "    deps: [{module: example.com/m}]\n", "registry.go.deps[0].version is missing"},
		{"go dep bad version", goReg + "    deps: [{module: example.com/m, version: 1.0.0}]\n", `registry.go.deps[0].version "1.0.0" is not a valid semantic version like v1.2.3`},
		{"go base_plugin malformed", goReg + "    base_plugin: acme/base\n", `registry.go.base_plugin: "acme/base" must have the form host/owner/name, like buf.build/protocolbuffers/go`},
		{"go base_plugin not a dep", minimal + "deps:\n  - plugin: buf.build/acme/base:v1.0.0\nregistry:\n  go:\n    base_plugin: buf.build/acme/other\n", `registry.go.base_plugin "buf.build/acme/other" is not one of the plugin's deps`},
		{"npm without import_style", minimal + "registry:\n  npm: {}\n", `registry.npm.import_style is missing: set it to "module" or "commonjs"`},
		{"npm bad import_style", minimal + "registry:\n  npm: {import_style: esm}\n", `registry.npm.import_style "esm" must be "module" or "commonjs"`},
		{"npm dep without package", minimal + "registry:\n  npm: {import_style: module, deps: [{version: ^1}]}\n", "registry.npm.deps[0].package is missing"},
		{"npm dep without version", minimal + "registry:\n  npm: {import_style: module, deps: [{package: x}]}\n", "registry.npm.deps[0].version is missing"},
		{"maven short coordinates", minimal + "registry:\n  maven: {deps: [\"com.google:protobuf\"]}\n", `registry.maven.deps[0] "com.google:protobuf" must have the form groupId:artifactId:version[:classifier][@type]`},
		{"maven long coordinates", minimal + "registry:\n  maven: {deps: [\"a:b:c:d:e\"]}\n", `registry.maven.deps[0] "a:b:c:d:e" must have the form …`},
		{"maven runtime dep", minimal + "registry:\n  maven: {additional_runtimes: [{name: lite, deps: [\"a::1\"]}]}\n", `registry.maven.additional_runtimes[0].deps[0] "a::1" must have the form …`},
		{"maven runtime without name", minimal + "registry:\n  maven: {additional_runtimes: [{opts: [lite]}]}\n", "registry.maven.additional_runtimes[0].name is missing"},
		{"maven runtime twice", minimal + "registry:\n  maven: {additional_runtimes: [{name: lite}, {name: lite}]}\n", `registry.maven.additional_runtimes[1].name "lite" is used by another runtime`},
		{"swift without source", minimal + "registry:\n  swift: {deps: [{package: p, version: 1.0.0}]}\n", "registry.swift.deps[0].source is missing"},
		{"swift without package", minimal + "registry:\n  swift: {deps: [{source: s, version: 1.0.0}]}\n", "registry.swift.deps[0].package is missing"},
		{"swift without version", minimal + "registry:\n  swift: {deps: [{source: s, package: p}]}\n", "registry.swift.deps[0].version is missing"},
		{"swift version with v", minimal + "registry:\n  swift: {deps: [{source: s, package: p, version: v1.0.0}]}\n", `registry.swift.deps[0].version "v1.0.0" is not a valid semantic version like 1.2.3`},
		{"python without package_type", minimal + "registry:\n  python: {}\n", `registry.python.package_type is missing: set it to "runtime" or "stub-only"`},
		{"python bad package_type", minimal + "registry:\n  python: {package_type: wheel}\n", `registry.python.package_type "wheel" must be "runtime" or "stub-only"`},
		{"python empty dep", minimal + "registry:\n  python: {package_type: runtime, deps: [\"\"]}\n", "registry.python.deps[0] is empty"},
		{"cargo dep without name", minimal + "registry:\n  cargo: {deps: [{req: \"1\"}]}\n", "registry.cargo.deps[0].name is missing"},
		{"cargo dep without req", minimal + "registry:\n  cargo: {deps: [{name: prost}]}\n", "registry.cargo.deps[0].req is missing"},
		{"nuget without frameworks", minimal + "registry:\n  nuget: {}\n", "registry.nuget.target_frameworks is missing: list at least one, like netstandard2.0"},
		{"nuget bad framework", minimal + "registry:\n  nuget: {target_frameworks: [net9.0]}\n", `registry.nuget.target_frameworks[0] "net9.0" is not a supported target framework (netstandard1.0, …`},
		{"nuget framework twice", minimal + "registry:\n  nuget: {target_frameworks: [net8.0, net8.0]}\n", `registry.nuget.target_frameworks[1] "net8.0" is listed more than once`},
		{"nuget dep without name", minimal + "registry:\n  nuget: {target_frameworks: [net8.0], deps: [{version: \"1\"}]}\n", "registry.nuget.deps[0].name is missing"},
		{"nuget dep without version", minimal + "registry:\n  nuget: {target_frameworks: [net8.0], deps: [{name: x}]}\n", "registry.nuget.deps[0].version is missing"},
		{"nuget dep bad framework", minimal + "registry:\n  nuget: {target_frameworks: [net8.0], deps: [{name: x, version: \"1\", target_frameworks: [net4]}]}\n", `registry.nuget.deps[0].target_frameworks[0] "net4" is not a supported target framework …`},

		// Descriptive fields.
		{"unknown license", minimal + "spdx_license_id: Apache\n", `spdx_license_id "Apache" is not an SPDX license identifier (see https://spdx.org/licenses)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("no error; parsed %+v", c)
			}
			if prefix, ok := strings.CutSuffix(tt.want, "…"); ok {
				if !strings.HasPrefix(err.Error(), prefix) {
					t.Errorf("error:\n  %s\nwant prefix:\n  %s", err, prefix)
				}
			} else if err.Error() != tt.want {
				t.Errorf("error:\n  %s\nwant:\n  %s", err, tt.want)
			}
		})
	}
}

func TestRegistryKind(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"go", "npm", "maven", "swift", "python", "cargo", "nuget", "cmake"} {
		body := map[string]string{
			"npm":    "{import_style: module}",
			"python": "{package_type: runtime}",
			"nuget":  "{target_frameworks: [net8.0]}",
		}[kind]
		if body == "" {
			body = "{}"
		}
		c, err := Parse([]byte(minimal + "registry:\n  " + kind + ": " + body + "\n"))
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if got := c.Registry.Kind(); got != kind {
			t.Errorf("Kind() = %q, want %q", got, kind)
		}
	}
}

func TestStrings(t *testing.T) {
	t.Parallel()
	c, err := Parse(readTestdata(t, "connectrpc/go/v1.20.0"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Ref(), "connectrpc/go:v1.20.0"; got != want {
		t.Errorf("Ref() = %q, want %q", got, want)
	}
	if got, want := c.Deps[0].String(), "protocolbuffers/go:v1.36.11"; got != want {
		t.Errorf("Dep.String() = %q, want %q", got, want)
	}
	d := MavenDep{GroupID: "io.grpc", ArtifactID: "protoc-gen-grpc-java", Version: "1.52.1", Classifier: "linux-x86_64", Extension: "exe"}
	if got, want := d.String(), "io.grpc:protoc-gen-grpc-java:1.52.1:linux-x86_64@exe"; got != want {
		t.Errorf("MavenDep.String() = %q, want %q", got, want)
	}
}
