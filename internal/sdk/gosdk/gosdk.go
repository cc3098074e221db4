// Package gosdk publishes generated SDKs as Go modules through a module proxy (the
// GOPROXY protocol), so that consumers go get generated code without running protoc.
//
// # Module paths
//
// With the proxy's host H (the public host name, without a port, since module paths
// cannot carry one):
//
//	H/gen/go/{owner}/{module}/{plugin-owner}/{plugin}           a plugin's SDK
//	H/gen/go/t/{template-owner}/{template}/{owner}/{module}     a template's SDK
//
// Owner names have at least two characters, so the "t" element cannot be an owner. A
// plugin whose major version is 2 or more gets the /vN suffix Go requires.
//
// # Versions
//
// A plugin SDK's versions are BSR style: {plugin version}-{timestamp}-{commit12}.{revision},
// e.g. v1.36.11-20261121143000-0123456789ab.1. Such a version is a prerelease of the
// plugin version, so newer plugin versions sort higher, and within one plugin version
// newer commits on the default label sort higher. Commits never on the default label
// carry the timestamp 00000000000000 and sort below them.
//
// A template SDK's versions are synthetic: v1.{template version}.{commit sequence number}.
// Each names exactly one template version and one commit; they grow with both.
//
// Both forms are canonical, so they are what go.sum records. The go command's other
// queries resolve to them: a label name (@main), or a commit id or its first 12
// characters, at the latest plugin or template version. @latest is the latest plugin
// (template) version at the head of the default label, and @v/list lists only that
// version: listing every commit would make the list grow without bound, and older
// versions stay available by version, label or commit.
//
// # Contents
//
// The go.mod names the module, takes its go directive from the plugin's
// registry.go.min_version, and requires the plugin's registry.go.deps, the SDK of the
// plugin it builds on (registry.go.base_plugin, or its first plugin dependency; e.g.
// connectrpc/go builds on protocolbuffers/go) at the same commit, and the SDKs of the
// module's direct dependencies at their exact commits. Plugins get M options mapping
// every .proto file to its Go package in the right SDK.
//
// # Go packages
//
// Each proto directory is one Go package: its import path is the directory under the
// module path of the SDK that holds the directory's files (H/gen/go/googleapis/googleapis/
// protocolbuffers/go/google/api), and it has one name for all its files, the name buf's
// managed mode (and so the BSR) gives them: for a proto package ending in a version, its
// last two elements (acme.weather.v1 → weatherv1), else the directory's last element as
// protoc-gen-go makes it an identifier (google/api → api, google/type → _type, since
// type is a keyword; my-dir → my_dir). Should a directory's files get different names
// that way, the directory's last element is the name. Plugins that write packages of
// their own add to it: connectrpc/go's {name}connect and grpc/go's {name}grpc
// subdirectories.
//
// Upstream go_package options are replaced, import path and name alike, as managed mode
// replaces them: they point at other repositories (google.golang.org/genproto/...), and
// their names often disagree within one directory (googleapis' google/api has
// annotations, api, serviceconfig, ...), which one Go package cannot. The well-known types
// keep theirs: they come with the protobuf runtime (google.golang.org/protobuf/types/...).
//
// The first time a version's .mod or .zip is asked for, both are generated and stored;
// they never change afterwards.
package gosdk

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/semver"

	"github.com/lathe-registry/lathe/internal/sdk"
)

// Ecosystem is the artifact ecosystem name of Go modules.
const Ecosystem = "go"

// Paths spells and parses the module paths of one host.
type Paths struct {
	// Host is the first element of module paths, e.g. "lathe.example.com".
	Host string
}

// Root is the common prefix of every module path, "{host}/gen/go".
func (p Paths) Root() string { return p.Host + "/gen/go" }

// Path returns the module path of a build.
func (p Paths) Path(b sdk.Build) string {
	s := b.SDK
	if s.Gen.Template {
		return fmt.Sprintf("%s/t/%s/%s/%s/%s", p.Root(), s.Gen.Owner, s.Gen.Name, s.Owner, s.Module)
	}
	path := fmt.Sprintf("%s/%s/%s/%s/%s", p.Root(), s.Owner, s.Module, s.Gen.Owner, s.Gen.Name)
	if major := majorSuffix(pluginVersion(b)); major != "" {
		path += "/" + major
	}
	return path
}

// Parse returns the SDK a module path names, and the major version suffix it carries
// ("" for none).
func (p Paths) Parse(path string) (sdk.SDK, string, bool) {
	rest, ok := strings.CutPrefix(path, p.Root()+"/")
	if !ok {
		return sdk.SDK{}, "", false
	}
	elems := strings.Split(rest, "/")
	major := ""
	if n := len(elems); n > 0 && isMajorSuffix(elems[n-1]) && elems[0] != "t" {
		major, elems = elems[n-1], elems[:n-1]
	}
	for _, e := range elems {
		if e == "" {
			return sdk.SDK{}, "", false
		}
	}
	switch {
	case len(elems) == 5 && elems[0] == "t":
		return sdk.SDK{Owner: elems[3], Module: elems[4], Gen: sdk.Generator{Template: true, Owner: elems[1], Name: elems[2]}}, "", true
	case len(elems) == 4 && elems[0] != "t":
		return sdk.SDK{Owner: elems[0], Module: elems[1], Gen: sdk.Generator{Owner: elems[2], Name: elems[3]}}, major, true
	}
	return sdk.SDK{}, "", false
}

// Owns reports whether a module path is one of Lathe's, so that no other proxy is asked
// about it: the root, any path under it, and the root's prefixes (which the go command
// looks up as possible modules of a package path under the root).
func (p Paths) Owns(path string) bool {
	root := p.Root()
	return path == root || strings.HasPrefix(path, root+"/") || strings.HasPrefix(root, path+"/")
}

// Enclosing returns the SDK whose module holds a longer path, such as a package path.
func (p Paths) Enclosing(path string) (sdk.SDK, bool) {
	rest, ok := strings.CutPrefix(path, p.Root()+"/")
	if !ok {
		return sdk.SDK{}, false
	}
	n := 4
	if strings.HasPrefix(rest, "t/") {
		n = 5
	}
	elems := strings.SplitN(rest, "/", n+1)
	if len(elems) <= n {
		return sdk.SDK{}, false
	}
	s, _, ok := p.Parse(p.Root() + "/" + strings.Join(elems[:n], "/"))
	return s, ok
}

func isMajorSuffix(s string) bool {
	n, err := strconv.Atoi(strings.TrimPrefix(s, "v"))
	return strings.HasPrefix(s, "v") && err == nil && n >= 2 && "v"+strconv.Itoa(n) == s
}

// majorSuffix is the path suffix Go requires for a version: "" for v0 and v1.
func majorSuffix(v string) string {
	if m := semver.Major(v); m != "v0" && m != "v1" {
		return m
	}
	return ""
}

// pluginVersion is a plugin build's plugin version in canonical form (v36.0 → v36.0.0).
func pluginVersion(b sdk.Build) string {
	return semver.Canonical(b.Plugin().Version.Version)
}

// Version returns the canonical version of a build.
func Version(b sdk.Build) string {
	if b.SDK.Gen.Template {
		return fmt.Sprintf("v1.%d.%d", b.Template.Version, b.Commit.Seq)
	}
	return b.BSRVersion(pluginVersion(b))
}

// versionRequest is what a version names: a template version and commit sequence number,
// or BSR parts.
type versionRequest struct {
	template, seq int64
	bsr           sdk.BSRParts
}

// parseVersion parses a canonical version of the SDK's kind.
func parseVersion(template bool, v string) (versionRequest, bool) {
	if semver.Canonical(v) != v {
		return versionRequest{}, false
	}
	if template {
		parts := strings.Split(strings.TrimPrefix(v, "v1."), ".")
		if !strings.HasPrefix(v, "v1.") || len(parts) != 2 {
			return versionRequest{}, false
		}
		tv, err1 := strconv.ParseInt(parts[0], 10, 64)
		seq, err2 := strconv.ParseInt(parts[1], 10, 64)
		if err := cmp.Or(err1, err2); err != nil || tv < 1 || seq < 1 {
			return versionRequest{}, false
		}
		return versionRequest{template: tv, seq: seq}, true
	}
	bsr, ok := sdk.ParseBSRVersion(v)
	if !ok || semver.Canonical(bsr.PluginVersion) != bsr.PluginVersion {
		return versionRequest{}, false
	}
	return versionRequest{bsr: bsr}, true
}
