// Package pluginconfig parses and validates buf.plugin.yaml, the file that describes a
// remote code-generation plugin in the Buf Schema Registry. It reads the same schema as
// the files in github.com/bufbuild/plugins (plugins/<owner>/<name>/<version>/buf.plugin.yaml)
// so operators can publish those files to Lathe unchanged.
//
// The rules follow the buf CLI v1.75.0 (private/bufpkg/bufremoteplugin/bufremotepluginconfig):
//
//   - Only "version: v1" exists; it is checked first, so a file for another version
//     gets a version error rather than a list of unknown fields.
//   - Unknown keys are errors at every level, as in buf (which decodes with KnownFields):
//     a typo such as "min_versoin" would otherwise silently drop a setting that changes
//     the generated SDK. Duplicate keys and custom YAML tags are errors too.
//   - plugin_version and the versions in deps are semantic versions with a leading v in
//     the golang.org/x/mod/semver sense, which, like buf, accepts short forms such as
//     the v36.0 of protocolbuffers/python and protocolbuffers/java.
//   - registry holds at most one ecosystem (go, npm, maven, swift, python, cargo, nuget,
//     cmake). Without one, Config.Registry is nil.
//   - spdx_license_id must be an SPDX identifier; any casing is accepted and normalized.
//
// Where Lathe differs from buf:
//
//   - The host part of names ("buf.build" in buf.build/protocolbuffers/go) may be any
//     registry host. It is kept in Config.Host but otherwise ignored, because Lathe
//     serves every plugin under its own host.
//   - Owner and plugin names must be lowercase letters, digits, '-', '_' and '.',
//     because they become parts of URLs and SDK package names.
//   - Some mistakes buf lets through are errors: registry.opts without an ecosystem
//     (buf drops the opts), empty list items (yaml.v3 drops null ones), a second YAML
//     document (buf ignores it), and a Maven additional runtime without a unique name
//     (buf documents the name as required and unique but does not check).
//
// None of these rejects a file of github.com/bufbuild/plugins: all 1,833 buf.plugin.yaml
// files at its commit 8110a05 parse.
//
// JSON input works too, since YAML is a superset of JSON.
package pluginconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Version is the only supported value of the file's version key.
const Version = "v1"

// Config is a validated buf.plugin.yaml.
type Config struct {
	// Host is the registry host of name, e.g. "buf.build". Lathe ignores it.
	Host string
	// Owner and Name identify the plugin, e.g. "protocolbuffers" and "go".
	Owner string
	Name  string
	// PluginVersion is the version of the plugin's implementation, e.g. "v1.36.11".
	PluginVersion string
	// Deps are the plugins whose generated code this plugin's output imports, e.g.
	// connectrpc/go depends on protocolbuffers/go. Generated SDKs depend on each other
	// the same way.
	Deps []Dep
	// Registry configures generated SDKs; nil when the plugin has no SDK ecosystem.
	Registry *Registry

	SourceURL           string
	Description         string
	SPDXLicenseID       string // canonical SPDX casing, e.g. "Apache-2.0"
	LicenseURL          string
	IntegrationGuideURL string
	OutputLanguages     []string
	Deprecated          bool
}

// Ref returns "owner/name:version".
func (c *Config) Ref() string { return c.Owner + "/" + c.Name + ":" + c.PluginVersion }

// Dep is a dependency on another plugin, written "host/owner/name:version" in the file.
type Dep struct {
	Host    string
	Owner   string
	Name    string
	Version string
	// Revision pins a revision of that version; 0 means the latest.
	Revision int
}

// String returns "owner/name:version".
func (d Dep) String() string { return d.Owner + "/" + d.Name + ":" + d.Version }

// Registry is the registry section: options for SDK generation and exactly one ecosystem.
type Registry struct {
	// Opts are passed to the plugin whenever it generates an SDK, in file order, e.g.
	// "paths=source_relative".
	Opts []string

	Go     *GoRegistry
	NPM    *NPMRegistry
	Maven  *MavenRegistry
	Swift  *SwiftRegistry
	Python *PythonRegistry
	Cargo  *CargoRegistry
	NuGet  *NuGetRegistry
	CMake  *CMakeRegistry
}

// Kind returns the key of the configured ecosystem: "go", "npm", "maven", "swift",
// "python", "cargo", "nuget" or "cmake".
func (r *Registry) Kind() string {
	switch {
	case r.Go != nil:
		return "go"
	case r.NPM != nil:
		return "npm"
	case r.Maven != nil:
		return "maven"
	case r.Swift != nil:
		return "swift"
	case r.Python != nil:
		return "python"
	case r.Cargo != nil:
		return "cargo"
	case r.NuGet != nil:
		return "nuget"
	case r.CMake != nil:
		return "cmake"
	}
	return ""
}

// GoRegistry configures generated Go modules.
type GoRegistry struct {
	// MinVersion is the go directive of the generated go.mod, e.g. "1.23"; may be empty.
	MinVersion string
	Deps       []GoDep
	// BasePlugin is "owner/name" of the plugin whose generated package this plugin's
	// output builds on, or empty. If the plugin has deps, it is one of them.
	BasePlugin string
}

// GoDep is a module the generated code requires.
type GoDep struct {
	Module  string
	Version string // semantic version with a leading v
}

// NPMRegistry configures generated npm packages.
type NPMRegistry struct {
	// RewriteImportPathSuffix replaces the import suffix of generated files that import
	// each other across SDKs, e.g. "pb.js".
	RewriteImportPathSuffix string
	// ImportStyle is the package.json "type": "module" or "commonjs".
	ImportStyle string
	Deps        []NPMDep
}

// NPMDep is an npm package dependency; Version is an npm version range, e.g. "^2.14.0".
type NPMDep struct {
	Package string
	Version string
}

// MavenRegistry configures generated Maven artifacts.
type MavenRegistry struct {
	Compiler MavenCompiler
	Deps     []MavenDep
	// AdditionalRuntimes are extra artifacts built with other options and dependencies,
	// such as the "lite" runtime of protocolbuffers/java.
	AdditionalRuntimes []MavenRuntime
}

// MavenCompiler holds compiler settings; zero fields mean the builder's defaults.
type MavenCompiler struct {
	Java   MavenJavaCompiler
	Kotlin MavenKotlinCompiler
}

// MavenJavaCompiler holds javac settings.
type MavenJavaCompiler struct {
	Encoding string
	Release  int
	Source   int
	Target   int
}

// MavenKotlinCompiler holds kotlinc settings.
type MavenKotlinCompiler struct {
	APIVersion      string
	JVMTarget       string
	LanguageVersion string
	Version         string
}

// MavenDep is a Maven dependency, written
// "groupId:artifactId:version[:classifier][@extension]" in the file.
type MavenDep struct {
	GroupID    string
	ArtifactID string
	Version    string
	Classifier string
	Extension  string
}

// String returns the dependency in the file's notation.
func (d MavenDep) String() string {
	s := d.GroupID + ":" + d.ArtifactID + ":" + d.Version
	if d.Classifier != "" {
		s += ":" + d.Classifier
	}
	if d.Extension != "" {
		s += "@" + d.Extension
	}
	return s
}

// MavenRuntime is an additional Maven artifact. Its Deps and Opts replace the main ones.
type MavenRuntime struct {
	Name string
	Deps []MavenDep
	Opts []string
}

// SwiftRegistry configures generated Swift packages.
type SwiftRegistry struct {
	Deps []SwiftDep
}

// SwiftDep is a Swift package dependency.
type SwiftDep struct {
	Source        string // git URL
	Package       string
	Version       string // semantic version without a leading v
	Products      []string
	Platforms     SwiftPlatforms
	SwiftVersions []string
}

// SwiftPlatforms are minimum platform versions, e.g. MacOS "v10_15".
type SwiftPlatforms struct {
	MacOS   string
	IOS     string
	TVOS    string
	WatchOS string
}

// PythonRegistry configures generated Python packages.
type PythonRegistry struct {
	// Deps are requirement specifiers, e.g. "protobuf>=3.20".
	Deps []string
	// RequiresPython is the Requires-Python metadata, e.g. ">=3.10"; may be empty.
	RequiresPython string
	// PackageType is "runtime" or "stub-only".
	PackageType string
}

// CargoRegistry configures generated Rust crates.
type CargoRegistry struct {
	// RustVersion is the crate's rust-version (MSRV); may be empty.
	RustVersion string
	Deps        []CargoDep
}

// CargoDep is a crates.io dependency.
type CargoDep struct {
	Name string
	// Req is the version requirement, e.g. "0.14.1".
	Req             string
	DefaultFeatures bool
	Features        []string
}

// NuGetRegistry configures generated NuGet packages.
type NuGetRegistry struct {
	// TargetFrameworks are the frameworks to build, e.g. "netstandard2.0"; never empty.
	TargetFrameworks []string
	Deps             []NuGetDep
}

// NuGetDep is a NuGet package dependency.
type NuGetDep struct {
	Name string
	// Version is an exact version or a range.
	Version string
	// TargetFrameworks limits the dependency to these frameworks; empty means all.
	TargetFrameworks []string
}

// CMakeRegistry marks a plugin that generates CMake packages; it has no settings.
type CMakeRegistry struct{}

// Parse parses and validates the contents of a buf.plugin.yaml (or its JSON form).
// Errors name the offending field, e.g.
// `registry: contains multiple registry configurations (go, npm)`.
func Parse(data []byte) (*Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("invalid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	// buf reads only the first document; a second one would be silently ignored there,
	// and here it would be stored with the plugin without meaning anything.
	for {
		var extra yaml.Node
		err := dec.Decode(&extra)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("invalid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		if len(extra.Content) == 1 && !isNull(extra.Content[0]) {
			return nil, fmt.Errorf("the file has more than one YAML document (another starts on line %d)", extra.Content[0].Line)
		}
	}
	var root *yaml.Node
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		root = resolveAlias(doc.Content[0])
	}
	if root == nil || isNull(root) {
		return nil, errors.New(`the file is empty: it needs at least "version: v1", name and plugin_version`)
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("the file must be a YAML mapping of keys to values, not %s (line %d)", describeNode(root), root.Line)
	}
	// Version first, like buf: a file of an unknown version should say so, not list
	// the keys this version does not know.
	if err := checkVersion(root); err != nil {
		return nil, err
	}
	if err := checkNode(root, fileType, ""); err != nil {
		return nil, err
	}
	var f fileConfig
	if err := root.Decode(&f); err != nil {
		// checkNode has already rejected every shape Decode could trip on.
		return nil, fmt.Errorf("invalid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return newConfig(&f)
}

func checkVersion(root *yaml.Node) error {
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "version" {
			continue
		}
		v := resolveAlias(root.Content[i+1])
		switch {
		case v.Kind != yaml.ScalarNode:
			return fmt.Errorf("version: must be %q, not %s (line %d)", Version, describeNode(v), v.Line)
		case v.Tag == nullTag || v.Value == "":
			return fmt.Errorf(`version is empty: set "version: %s"`, Version)
		case v.Value != Version:
			return fmt.Errorf("version %q is not supported: the only buf.plugin.yaml version is %s", v.Value, Version)
		}
		return nil
	}
	return fmt.Errorf(`version is missing: add "version: %s"`, Version)
}
