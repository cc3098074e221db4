package pluginconfig

import (
	"errors"
	"fmt"
	"math"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"buf.build/go/spdx"
	"golang.org/x/mod/semver"
)

func newConfig(f *fileConfig) (*Config, error) {
	c := &Config{
		PluginVersion:       f.PluginVersion,
		SourceURL:           f.SourceURL,
		Description:         f.Description,
		LicenseURL:          f.LicenseURL,
		IntegrationGuideURL: f.IntegrationGuideURL,
		OutputLanguages:     f.OutputLanguages,
		Deprecated:          f.Deprecated,
	}
	if f.Name == "" {
		return nil, errors.New("name is missing: set it to host/owner/name, like buf.build/protocolbuffers/go")
	}
	var err error
	if c.Host, c.Owner, c.Name, err = parseIdentity(f.Name); err != nil {
		return nil, fmt.Errorf("name: %w", err)
	}
	switch {
	case f.PluginVersion == "":
		return nil, errors.New("plugin_version is missing: set it to the plugin's version, like v1.2.3")
	case !semver.IsValid(f.PluginVersion):
		return nil, fmt.Errorf("plugin_version %q is not a valid semantic version like v1.2.3", f.PluginVersion)
	}
	seen := make(map[string]bool, len(f.Deps))
	for i, fd := range f.Deps {
		d, err := parseDep(fd)
		if err != nil {
			return nil, fmt.Errorf("deps[%d]: %w", i, err)
		}
		// Same rule as buf: a plugin and its dependencies live in one registry.
		if d.Host != c.Host {
			return nil, fmt.Errorf("deps[%d]: plugin %q must be on the same host as name (%s)", i, fd.Plugin, c.Host)
		}
		if id := d.Owner + "/" + d.Name; seen[id] {
			return nil, fmt.Errorf("deps[%d]: plugin %s is listed more than once", i, id)
		}
		seen[d.Owner+"/"+d.Name] = true
		c.Deps = append(c.Deps, d)
	}
	if c.Registry, err = newRegistry(&f.Registry, c); err != nil {
		return nil, err
	}
	if f.SPDXLicenseID != "" {
		l, ok := spdx.LicenseForID(f.SPDXLicenseID)
		if !ok {
			return nil, fmt.Errorf("spdx_license_id %q is not an SPDX license identifier (see https://spdx.org/licenses)", f.SPDXLicenseID)
		}
		c.SPDXLicenseID = l.ID
	}
	return c, nil
}

// nameRE is the rule for owner and plugin names: they end up in URLs and SDK package
// names (Go module paths, npm and Cargo names), where uppercase and other characters
// cause trouble.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,99}$`)

func parseIdentity(s string) (host, owner, name string, err error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 {
		return "", "", "", fmt.Errorf("%q must have the form host/owner/name, like buf.build/protocolbuffers/go", s)
	}
	host, owner, name = parts[0], parts[1], parts[2]
	if err := checkHost(host); err != nil {
		return "", "", "", fmt.Errorf("%q: host %q %w", s, host, err)
	}
	if !nameRE.MatchString(owner) {
		return "", "", "", fmt.Errorf("%q: owner %q must be lowercase letters, digits, '-', '_' and '.', starting with a letter or digit", s, owner)
	}
	if !nameRE.MatchString(name) {
		return "", "", "", fmt.Errorf("%q: plugin name %q must be lowercase letters, digits, '-', '_' and '.', starting with a letter or digit", s, name)
	}
	return host, owner, name, nil
}

var hostLabelRE = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$`)

// checkHost accepts a DNS name or IP address with an optional numeric port, as buf does.
func checkHost(host string) error {
	h := host
	if hh, port, err := net.SplitHostPort(host); err == nil {
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return errors.New("has an invalid port")
		}
		h = hh
	}
	if net.ParseIP(h) != nil {
		return nil
	}
	if h == "" || len(h) > 253 {
		return errors.New("must be a host name or IP address")
	}
	for label := range strings.SplitSeq(h, ".") {
		if !hostLabelRE.MatchString(label) {
			return errors.New("must be a host name or IP address")
		}
	}
	return nil
}

func parseDep(fd fileDep) (Dep, error) {
	if fd.Plugin == "" {
		return Dep{}, errors.New("plugin is missing: set it to host/owner/name:version, like buf.build/protocolbuffers/go:v1.36.11")
	}
	i := strings.LastIndexByte(fd.Plugin, ':')
	// A ':' inside the host (a port) is not a version separator.
	if i < 0 || strings.LastIndexByte(fd.Plugin, '/') > i {
		return Dep{}, fmt.Errorf("plugin %q has no version: write host/owner/name:version, like buf.build/protocolbuffers/go:v1.36.11", fd.Plugin)
	}
	ident, version := fd.Plugin[:i], fd.Plugin[i+1:]
	host, owner, name, err := parseIdentity(ident)
	if err != nil {
		return Dep{}, fmt.Errorf("plugin: %w", err)
	}
	if !semver.IsValid(version) {
		return Dep{}, fmt.Errorf("plugin %q: version %q is not a valid semantic version like v1.2.3", fd.Plugin, version)
	}
	if fd.Revision < 0 || fd.Revision > math.MaxInt32 {
		return Dep{}, fmt.Errorf("revision %d is out of range 0 to %d", fd.Revision, math.MaxInt32)
	}
	return Dep{Host: host, Owner: owner, Name: name, Version: version, Revision: int(fd.Revision)}, nil
}

func newRegistry(f *fileRegistry, c *Config) (*Registry, error) {
	var kinds []string
	for _, k := range []struct {
		name string
		set  bool
	}{
		{"go", f.Go != nil}, {"npm", f.NPM != nil}, {"maven", f.Maven != nil}, {"swift", f.Swift != nil},
		{"python", f.Python != nil}, {"cargo", f.Cargo != nil}, {"nuget", f.NuGet != nil}, {"cmake", f.CMake != nil},
	} {
		if k.set {
			kinds = append(kinds, k.name)
		}
	}
	switch {
	case len(kinds) > 1:
		return nil, fmt.Errorf("registry: contains multiple registry configurations (%s)", strings.Join(kinds, ", "))
	case len(kinds) == 0 && len(f.Opts) > 0:
		return nil, errors.New("registry: opts need a registry configuration: add one of go, npm, maven, swift, python, cargo, nuget or cmake")
	case len(kinds) == 0:
		return nil, nil //nolint:nilnil // no registry section is valid: the plugin has no SDKs
	}
	r := &Registry{}
	for i, o := range f.Opts {
		if o == "" {
			return nil, fmt.Errorf("registry.opts[%d]: is empty", i)
		}
		r.Opts = append(r.Opts, o)
	}
	var err error
	switch {
	case f.Go != nil:
		r.Go, err = newGo(f.Go, c)
	case f.NPM != nil:
		r.NPM, err = newNPM(f.NPM)
	case f.Maven != nil:
		r.Maven, err = newMaven(f.Maven)
	case f.Swift != nil:
		r.Swift, err = newSwift(f.Swift)
	case f.Python != nil:
		r.Python, err = newPython(f.Python)
	case f.Cargo != nil:
		r.Cargo, err = newCargo(f.Cargo)
	case f.NuGet != nil:
		r.NuGet, err = newNuGet(f.NuGet)
	case f.CMake != nil:
		r.CMake = &CMakeRegistry{}
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// goVersionRE is the form of a go directive: 1.23, 1.21.0, 1.21rc1.
var goVersionRE = regexp.MustCompile(`^[1-9][0-9]*\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?([a-z]+[0-9]+)?$`)

func newGo(f *fileGo, c *Config) (*GoRegistry, error) {
	if f.MinVersion != "" && !goVersionRE.MatchString(f.MinVersion) {
		return nil, fmt.Errorf("registry.go.min_version %q is not a Go version like 1.23", f.MinVersion)
	}
	g := &GoRegistry{MinVersion: f.MinVersion}
	for i, d := range f.Deps {
		switch {
		case d.Module == "":
			return nil, fmt.Errorf("registry.go.deps[%d].module is missing", i)
		case d.Version == "":
			return nil, fmt.Errorf("registry.go.deps[%d].version is missing", i)
		case !semver.IsValid(d.Version):
			return nil, fmt.Errorf("registry.go.deps[%d].version %q is not a valid semantic version like v1.2.3", i, d.Version)
		}
		g.Deps = append(g.Deps, GoDep{Module: d.Module, Version: d.Version})
	}
	if f.BasePlugin != "" {
		host, owner, name, err := parseIdentity(f.BasePlugin)
		if err != nil {
			return nil, fmt.Errorf("registry.go.base_plugin: %w", err)
		}
		// As in buf: the generated imports and go.mod need the base plugin's SDK, so it
		// must be a dependency whenever dependencies are given.
		if len(c.Deps) > 0 && !slices.ContainsFunc(c.Deps, func(d Dep) bool {
			return d.Host == host && d.Owner == owner && d.Name == name
		}) {
			return nil, fmt.Errorf("registry.go.base_plugin %q is not one of the plugin's deps", f.BasePlugin)
		}
		g.BasePlugin = owner + "/" + name
	}
	return g, nil
}

func newNPM(f *fileNPM) (*NPMRegistry, error) {
	n := &NPMRegistry{RewriteImportPathSuffix: f.RewriteImportPathSuffix, ImportStyle: f.ImportStyle}
	for i, d := range f.Deps {
		switch {
		case d.Package == "":
			return nil, fmt.Errorf("registry.npm.deps[%d].package is missing", i)
		case d.Version == "":
			return nil, fmt.Errorf("registry.npm.deps[%d].version is missing", i)
		}
		n.Deps = append(n.Deps, NPMDep{Package: d.Package, Version: d.Version})
	}
	switch f.ImportStyle {
	case "module", "commonjs":
	case "":
		return nil, errors.New(`registry.npm.import_style is missing: set it to "module" or "commonjs"`)
	default:
		return nil, fmt.Errorf(`registry.npm.import_style %q must be "module" or "commonjs"`, f.ImportStyle)
	}
	return n, nil
}

func newMaven(f *fileMaven) (*MavenRegistry, error) {
	m := &MavenRegistry{
		Compiler: MavenCompiler{
			Java: MavenJavaCompiler{
				Encoding: f.Compiler.Java.Encoding,
				Release:  f.Compiler.Java.Release,
				Source:   f.Compiler.Java.Source,
				Target:   f.Compiler.Java.Target,
			},
			Kotlin: MavenKotlinCompiler{
				APIVersion:      f.Compiler.Kotlin.APIVersion,
				JVMTarget:       f.Compiler.Kotlin.JVMTarget,
				LanguageVersion: f.Compiler.Kotlin.LanguageVersion,
				Version:         f.Compiler.Kotlin.Version,
			},
		},
	}
	var err error
	if m.Deps, err = parseMavenDeps(f.Deps, "registry.maven.deps"); err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for i, rt := range f.AdditionalRuntimes {
		path := fmt.Sprintf("registry.maven.additional_runtimes[%d]", i)
		// buf documents the name as required and unique; it becomes an artifact suffix.
		switch {
		case rt.Name == "":
			return nil, fmt.Errorf("%s.name is missing", path)
		case names[rt.Name]:
			return nil, fmt.Errorf("%s.name %q is used by another runtime", path, rt.Name)
		}
		names[rt.Name] = true
		deps, err := parseMavenDeps(rt.Deps, path+".deps")
		if err != nil {
			return nil, err
		}
		m.AdditionalRuntimes = append(m.AdditionalRuntimes, MavenRuntime{Name: rt.Name, Deps: deps, Opts: rt.Opts})
	}
	return m, nil
}

func parseMavenDeps(deps []string, path string) ([]MavenDep, error) {
	var out []MavenDep
	for i, s := range deps {
		coords, ext, _ := strings.Cut(s, "@")
		parts := strings.Split(coords, ":")
		if len(parts) < 3 || len(parts) > 4 || slices.Contains(parts, "") {
			return nil, fmt.Errorf("%s[%d] %q must have the form groupId:artifactId:version[:classifier][@type]", path, i, s)
		}
		d := MavenDep{GroupID: parts[0], ArtifactID: parts[1], Version: parts[2], Extension: ext}
		if len(parts) == 4 {
			d.Classifier = parts[3]
		}
		out = append(out, d)
	}
	return out, nil
}

func newSwift(f *fileSwift) (*SwiftRegistry, error) {
	s := &SwiftRegistry{}
	for i, d := range f.Deps {
		path := fmt.Sprintf("registry.swift.deps[%d]", i)
		switch {
		case d.Source == "":
			return nil, fmt.Errorf("%s.source is missing", path)
		case d.Package == "":
			return nil, fmt.Errorf("%s.package is missing", path)
		case d.Version == "":
			return nil, fmt.Errorf("%s.version is missing", path)
		case !semver.IsValid("v" + d.Version):
			// Swift versions have no leading v.
			return nil, fmt.Errorf("%s.version %q is not a valid semantic version like 1.2.3", path, d.Version)
		}
		s.Deps = append(s.Deps, SwiftDep{
			Source:        d.Source,
			Package:       d.Package,
			Version:       d.Version,
			Products:      d.Products,
			SwiftVersions: d.SwiftVersions,
			Platforms: SwiftPlatforms{
				MacOS:   d.Platforms.MacOS,
				IOS:     d.Platforms.IOS,
				TVOS:    d.Platforms.TVOS,
				WatchOS: d.Platforms.WatchOS,
			},
		})
	}
	return s, nil
}

func newPython(f *filePython) (*PythonRegistry, error) {
	for i, d := range f.Deps {
		if d == "" {
			return nil, fmt.Errorf("registry.python.deps[%d] is empty", i)
		}
	}
	switch f.PackageType {
	case "runtime", "stub-only":
	case "":
		return nil, errors.New(`registry.python.package_type is missing: set it to "runtime" or "stub-only"`)
	default:
		return nil, fmt.Errorf(`registry.python.package_type %q must be "runtime" or "stub-only"`, f.PackageType)
	}
	return &PythonRegistry{Deps: f.Deps, RequiresPython: f.RequiresPython, PackageType: f.PackageType}, nil
}

func newCargo(f *fileCargo) (*CargoRegistry, error) {
	c := &CargoRegistry{RustVersion: f.RustVersion}
	for i, d := range f.Deps {
		switch {
		case d.Name == "":
			return nil, fmt.Errorf("registry.cargo.deps[%d].name is missing", i)
		case d.Req == "":
			return nil, fmt.Errorf("registry.cargo.deps[%d].req is missing", i)
		}
		c.Deps = append(c.Deps, CargoDep{Name: d.Name, Req: d.Req, DefaultFeatures: d.DefaultFeatures, Features: d.Features})
	}
	return c, nil
}

// nugetFrameworks are the target frameworks buf v1.75.0 accepts.
var nugetFrameworks = []string{ //nolint:gochecknoglobals // read-only
	"netstandard1.0", "netstandard1.1", "netstandard1.2", "netstandard1.3", "netstandard1.4",
	"netstandard1.5", "netstandard1.6", "netstandard2.0", "netstandard2.1",
	"net5.0", "net6.0", "net7.0", "net8.0",
}

func newNuGet(f *fileNuGet) (*NuGetRegistry, error) {
	if len(f.TargetFrameworks) == 0 {
		return nil, errors.New("registry.nuget.target_frameworks is missing: list at least one, like netstandard2.0")
	}
	if err := checkFrameworks(f.TargetFrameworks, "registry.nuget.target_frameworks"); err != nil {
		return nil, err
	}
	n := &NuGetRegistry{TargetFrameworks: f.TargetFrameworks}
	for i, d := range f.Deps {
		path := fmt.Sprintf("registry.nuget.deps[%d]", i)
		switch {
		case d.Name == "":
			return nil, fmt.Errorf("%s.name is missing", path)
		case d.Version == "":
			return nil, fmt.Errorf("%s.version is missing", path)
		}
		if err := checkFrameworks(d.TargetFrameworks, path+".target_frameworks"); err != nil {
			return nil, err
		}
		n.Deps = append(n.Deps, NuGetDep{Name: d.Name, Version: d.Version, TargetFrameworks: d.TargetFrameworks})
	}
	return n, nil
}

func checkFrameworks(fws []string, path string) error {
	for i, fw := range fws {
		if !slices.Contains(nugetFrameworks, fw) {
			return fmt.Errorf("%s[%d] %q is not a supported target framework (%s)", path, i, fw, strings.Join(nugetFrameworks, ", "))
		}
		if slices.Contains(fws[:i], fw) {
			return fmt.Errorf("%s[%d] %q is listed more than once", path, i, fw)
		}
	}
	return nil
}
