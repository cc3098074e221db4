package gosdk

import (
	"context"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/lathe-registry/lathe/internal/auth"
	"github.com/lathe-registry/lathe/internal/blob"
	"github.com/lathe-registry/lathe/internal/blob/memblob"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/sdk"
	"github.com/lathe-registry/lathe/internal/store"
	"github.com/lathe-registry/lathe/internal/store/sqlitestore"
)

const testPluginConfig = `version: v1
name: buf.build/protocolbuffers/go
plugin_version: v1.36.11
registry:
  go:
    min_version: "1.23"
    deps:
      - module: google.golang.org/protobuf
        version: v1.36.11
  opts: [paths=source_relative]
`

func build(s sdk.SDK, pluginVersion string, rev int, tv int, seq int64, onDefault bool) sdk.Build {
	return sdk.Build{
		SDK:            s,
		Commit:         store.Commit{ID: "0123456789abcdef0123456789abcdef", Seq: seq, CreateTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		OnDefaultLabel: onDefault,
		Steps:          []sdk.Step{{Version: store.PluginVersion{Version: pluginVersion, Revision: rev}}},
		Template:       store.TemplateVersion{Version: tv},
	}
}

// fixture is a proxy for the host h.example over a store with the plugin
// protocolbuffers/go and the user acme, who has a token; modules, commits and published
// versions are added by inserting them directly.
type fixture struct {
	st    *sqlitestore.Store
	proxy *Proxy
	acme  store.Owner
	token string
}

func newFixture(tb testing.TB, opts ...sdk.Option) *fixture {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlitestore.Open(filepath.Join(tb.TempDir(), "lathe.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	reg := registry.New(st, memblob.New())
	if _, err := reg.PushPlugin(ctx, registry.PluginParams{Owner: "protocolbuffers", Name: "go", Version: "v1.36.11",
		Config: []byte(testPluginConfig), Runtime: "native", Program: []byte("#!/bin/false"), ProgramName: "protoc-gen-go"}); err != nil {
		tb.Fatal(err)
	}
	f := &fixture{st: st, proxy: &Proxy{Packager: Packager{Paths: Paths{Host: "h.example"}, SDKs: sdk.New(reg, memblob.New(), nil, opts...)},
		PublicURL: "http://h.example", Log: slog.New(slog.DiscardHandler)}}
	token, hash, err := auth.NewToken()
	if err != nil {
		tb.Fatal(err)
	}
	f.token = token
	err = st.Update(ctx, func(tx store.Tx) error {
		if f.acme, err = tx.CreateOwner(ctx, store.Owner{ID: registry.NewID(), Name: "acme", Kind: store.OwnerUser}); err != nil {
			return err
		}
		return tx.CreateToken(ctx, f.acme.ID, hash)
	})
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// module creates acme's module, with no commits.
func (f *fixture) module(tb testing.TB, name string, vis store.Visibility) store.Module {
	tb.Helper()
	ctx := context.Background()
	var m store.Module
	err := f.st.Update(ctx, func(tx store.Tx) (err error) {
		m, err = tx.CreateModule(ctx, store.Module{ID: registry.NewID(), OwnerID: f.acme.ID, Name: name, Visibility: vis, State: store.Active, DefaultLabelName: "main"})
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// commit creates a commit and points labels at it.
func (f *fixture) commit(tb testing.TB, m store.Module, labels ...string) store.Commit {
	tb.Helper()
	ctx := context.Background()
	var c store.Commit
	err := f.st.Update(ctx, func(tx store.Tx) (err error) {
		c, err = tx.CreateCommit(ctx, store.Commit{ID: registry.NewID(), ModuleID: m.ID, OwnerID: f.acme.ID, Digest: make([]byte, 64), Manifest: "x", CreatedByUserID: f.acme.ID})
		if err != nil {
			return err
		}
		for _, l := range labels {
			if _, err := tx.SetLabel(ctx, m.ID, l, c.ID, f.acme.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// publish publishes v1.0.0 of the module's SDK with protocolbuffers/go, whose zip is
// data.
func (f *fixture) publish(tb testing.TB, m store.Module, data []byte) {
	tb.Helper()
	ctx := context.Background()
	key, err := blob.PutBytes(ctx, f.proxy.SDKs.Blobs(), data)
	if err != nil {
		tb.Fatal(err)
	}
	err = f.st.Update(ctx, func(tx store.Tx) error {
		_, err := tx.PutArtifact(ctx, store.Artifact{Ecosystem: Ecosystem, Name: "h.example/gen/go/acme/" + m.Name + "/protocolbuffers/go",
			Version: "v1.0.0", ModuleID: m.ID, Blob: key, Meta: []byte("module x\n")})
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
}

func (f *fixture) get(path string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	f.proxy.ServeHTTP(rec, r)
	return rec
}

// Every version names one build, and the path and version are what the go command accepts.
func TestPathsAndVersions(t *testing.T) {
	p := Paths{Host: "lathe.example.com"}
	plugin := sdk.SDK{Owner: "acme", Module: "pet-apis", Gen: sdk.Generator{Owner: "protocolbuffers", Name: "go"}}
	tmpl := sdk.SDK{Owner: "acme", Module: "pet-apis", Gen: sdk.Generator{Template: true, Owner: "platform", Name: "go-sdk"}}
	for _, c := range []struct {
		b                 sdk.Build
		wantPath, wantVer string
		wantMajor         string
	}{
		{build(plugin, "v1.36.11", 2, 0, 7, true), "lathe.example.com/gen/go/acme/pet-apis/protocolbuffers/go", "v1.36.11-20260102030405-0123456789ab.2", ""},
		{build(plugin, "v1.36.11", 1, 0, 7, false), "lathe.example.com/gen/go/acme/pet-apis/protocolbuffers/go", "v1.36.11-00000000000000-0123456789ab.1", ""},
		{build(plugin, "v36.0", 1, 0, 7, true), "lathe.example.com/gen/go/acme/pet-apis/protocolbuffers/go/v36", "v36.0.0-20260102030405-0123456789ab.1", "v36"},
		{build(tmpl, "", 0, 3, 41, false), "lathe.example.com/gen/go/t/platform/go-sdk/acme/pet-apis", "v1.3.41", ""},
	} {
		path, v := p.Path(c.b), Version(c.b)
		if path != c.wantPath || v != c.wantVer {
			t.Errorf("Path, Version = %s, %s; want %s, %s", path, v, c.wantPath, c.wantVer)
		}
		if err := module.Check(path, v); err != nil {
			t.Errorf("module.Check(%s, %s): %v", path, v, err)
		}
		if module.IsPseudoVersion(v) {
			t.Errorf("%s is a pseudo-version; the go command would hide it from lists", v)
		}
		got, major, ok := p.Parse(path)
		if !ok || got != c.b.SDK || major != c.wantMajor {
			t.Errorf("Parse(%s) = %+v, %q, %v; want %+v, %q", path, got, major, ok, c.b.SDK, c.wantMajor)
		}
		vr, ok := parseVersion(c.b.SDK.Gen.Template, v)
		if !ok {
			t.Errorf("parseVersion(%s) failed", v)
		} else if c.b.SDK.Gen.Template && (vr.template != int64(c.b.Template.Version) || vr.seq != c.b.Commit.Seq) {
			t.Errorf("parseVersion(%s) = %+v", v, vr)
		} else if !c.b.SDK.Gen.Template && (vr.bsr.ShortCommit != "0123456789ab" || vr.bsr.Revision != c.b.Plugin().Version.Revision) {
			t.Errorf("parseVersion(%s) = %+v", v, vr)
		}
	}
}

func TestVersionOrder(t *testing.T) {
	// Newer default-label commits, newer revisions and newer plugin versions sort higher;
	// commits never on the default label sort lowest.
	ordered := []string{
		"v1.36.10-20270101000000-ffffffffffff.9",
		"v1.36.11-00000000000000-ffffffffffff.1",
		"v1.36.11-20260102030405-0123456789ab.1",
		"v1.36.11-20260102030405-0123456789ab.2",
		"v1.36.11-20260102030405-0123456789ab.10",
		"v1.36.11-20260102030406-0000000000aa.1",
		"v1.36.12-00000000000000-000000000000.1",
	}
	for i := 1; i < len(ordered); i++ {
		if semver.Compare(ordered[i-1], ordered[i]) >= 0 {
			t.Errorf("%s does not sort below %s", ordered[i-1], ordered[i])
		}
	}
	if semver.Compare("v1.2.9", "v1.3.1") >= 0 || semver.Compare("v1.3.1", "v1.3.10") >= 0 {
		t.Error("template versions do not grow with template version and commit number")
	}
}

func TestParseRejects(t *testing.T) {
	p := Paths{Host: "lathe.example.com"}
	for _, path := range []string{
		"lathe.example.com/gen/go", "lathe.example.com/gen/go/acme", "lathe.example.com/gen/go/acme/m/p",
		"lathe.example.com/gen/go/acme/m/p/n/extra", "lathe.example.com/gen/go/acme//p/n",
		"other.example.com/gen/go/acme/m/p/n", "lathe.example.com/gen/go/t/a/b/c",
		"lathe.example.com/gen/go/acme/m/p/n/v1", "lathe.example.com/gen/go/t/a/b/c/d/v2",
	} {
		if s, _, ok := p.Parse(path); ok {
			t.Errorf("Parse(%s) = %+v, want failure", path, s)
		}
	}
	for _, v := range []string{"v1.2", "v1.1.0+meta", "v2.1.1", "v1.0.1", "v1.1.0", "v1.x.1"} {
		if _, ok := parseVersion(true, v); ok {
			t.Errorf("parseVersion(template, %s) succeeded", v)
		}
	}
	for _, v := range []string{"v1.36.11", "v1.36-20260102030405-0123456789ab.1", "v1.36.11-20260102030405-0123456789ab.1+meta"} {
		if _, ok := parseVersion(false, v); ok {
			t.Errorf("parseVersion(plugin, %s) succeeded", v)
		}
	}
}

func TestSplitRequest(t *testing.T) {
	for _, c := range []struct{ in, mod, file string }{
		{"h/gen/go/a/b/c/d/@v/list", "h/gen/go/a/b/c/d", "@v/list"},
		{"h/gen/go/a/b/c/d/@v/v1.0.0.zip", "h/gen/go/a/b/c/d", "@v/v1.0.0.zip"},
		{"h/gen/go/a/b/c/d/@latest", "h/gen/go/a/b/c/d", "@latest"},
	} {
		mod, file, ok := splitRequest(c.in)
		if !ok || mod != c.mod || file != c.file {
			t.Errorf("splitRequest(%s) = %s, %s, %v", c.in, mod, file, ok)
		}
	}
	for _, in := range []string{"", "@latest", "/@v/list", "h/gen/go/a/@v/x/y.zip", "h/gen/go/a"} {
		if _, _, ok := splitRequest(in); ok {
			t.Errorf("splitRequest(%q) succeeded", in)
		}
	}
}

// One name per Go package, managed mode's where the directory's files agree; upstream
// go_package options do not count.
func TestPackageNames(t *testing.T) {
	type file struct{ path, pkg, goPackage string }
	for _, c := range []struct {
		files []file
		want  map[string]string
	}{
		{[]file{{"acme/weather/v1/w.proto", "acme.weather.v1", ""}}, map[string]string{"m/acme/weather/v1": "weatherv1"}},
		{[]file{{"acme/weather/v1/w.proto", "acme.weather.v1", "example.com/x;wpb"}}, map[string]string{"m/acme/weather/v1": "weatherv1"}},
		{[]file{{"acme/weather/w.proto", "acme.weather", ""}}, map[string]string{"m/acme/weather": "weather"}},
		{[]file{{"x/w.proto", "x.v1beta1", ""}, {"x/y.proto", "x.v1beta1", ""}}, map[string]string{"m/x": "xv1beta1"}},
		{[]file{{"g/v1p1beta1/w.proto", "g.v1p1beta1", ""}}, map[string]string{"m/g/v1p1beta1": "gv1p1beta1"}},
		// googleapis: one directory, many upstream names.
		{[]file{
			{"google/api/annotations.proto", "google.api", "google.golang.org/genproto/googleapis/api/annotations;annotations"},
			{"google/api/launch_stage.proto", "google.api", "google.golang.org/genproto/googleapis/api;api"},
			{"google/api/service.proto", "google.api", "google.golang.org/genproto/googleapis/api/serviceconfig;serviceconfig"},
			{"google/rpc/code.proto", "google.rpc", "google.golang.org/genproto/googleapis/rpc/code;code"},
			{"google/rpc/error_details.proto", "google.rpc", "google.golang.org/genproto/googleapis/rpc/errdetails;errdetails"},
			{"google/type/date.proto", "google.type", "google.golang.org/genproto/googleapis/type/date;date"},
			{"google/logging/type/log_severity.proto", "google.logging.type", "google.golang.org/genproto/googleapis/logging/type;ltype"},
		}, map[string]string{"m/google/api": "api", "m/google/rpc": "rpc", "m/google/type": "_type", "m/google/logging/type": "_type"}},
		// Files of one directory whose managed-mode names differ get the directory's.
		{[]file{{"a/v1/x.proto", "a.v1", ""}, {"a/v1/y.proto", "b.v1", ""}}, map[string]string{"m/a/v1": "v1"}},
		{[]file{{"a/my-dir/x.proto", "p", ""}, {"3d/x.proto", "p", ""}}, map[string]string{"m/a/my-dir": "my_dir", "m/3d": "_3d"}},
	} {
		var dirs []goDir
		for _, f := range c.files {
			fd := &descriptorpb.FileDescriptorProto{Name: proto.String(f.path), Package: proto.String(f.pkg)}
			if f.goPackage != "" {
				fd.Options = &descriptorpb.FileOptions{GoPackage: proto.String(f.goPackage)}
			}
			dirs = append(dirs, goDir{importPath: "m/" + path.Dir(f.path), file: sdk.InputFile{Path: f.path, Proto: fd}})
		}
		if got := packageNames(dirs); !maps.Equal(got, c.want) {
			t.Errorf("packageNames(%v) = %v, want %v", c.files, got, c.want)
		}
	}
}

func TestGoGetPage(t *testing.T) {
	p := &Proxy{Packager: Packager{Paths: Paths{Host: "lathe.example.com"}}, PublicURL: "https://lathe.example.com"}
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/gen/go/acme/m/protocolbuffers/go?go-get=1", nil))
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(body, `<meta name="go-import" content="lathe.example.com/gen/go mod https://lathe.example.com/gen/go">`) {
		t.Errorf("go-get=1 page: %d\n%s", rec.Code, body)
	}
	rec = httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/gen/go/x/@v/list", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
}

func TestOwns(t *testing.T) {
	p := Paths{Host: "lathe.example.com"}
	for path, want := range map[string]bool{
		"lathe.example.com/gen/go":                             true,
		"lathe.example.com/gen/go/acme/m/protocolbuffers/go":   true,
		"lathe.example.com/gen/go/acme/m/protocolbuffers/go/x": true,
		"lathe.example.com/gen/go/typo":                        true,
		"lathe.example.com/gen":                                true,
		"lathe.example.com":                                    true,
		"lathe.example.com/gen/gopher":                         false,
		"lathe.example.com/other":                              false,
		"lathe.example.co":                                     false,
		"google.golang.org/protobuf":                           false,
	} {
		if got := p.Owns(path); got != want {
			t.Errorf("Owns(%s) = %v, want %v", path, got, want)
		}
	}
}

// Other modules and the checksum database are forwarded upstream without Lathe's
// credentials; Lathe's paths never are, and neither are checksum lookups of them.
func TestUpstream(t *testing.T) {
	var got []string
	var auth []string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.Path)
		auth = append(auth, r.Header.Get("Authorization"))
		_, _ = w.Write([]byte("from upstream"))
	}))
	defer upstream.Close()
	u, err := url.Parse(upstream.URL + "/base")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Packager: Packager{Paths: Paths{Host: "lathe.example.com"}}, PublicURL: "https://lathe.example.com", Upstream: u}
	for _, c := range []struct {
		path, want string
		code       int
	}{
		{"/gen/go/google.golang.org/protobuf/@v/list", "from upstream", http.StatusOK},
		{"/gen/go/github.com/!burnt!sushi/toml/@v/v1.0.0.info", "from upstream", http.StatusOK},
		{"/gen/go/sumdb/sum.golang.org/supported", "from upstream", http.StatusOK},
		{"/gen/go/sumdb/sum.golang.org/lookup/golang.org/x/mod@v0.1.0", "from upstream", http.StatusOK},
		{"/gen/go/sumdb/sum.golang.org/lookup/lathe.example.com/gen/go/a/m/p/n@v1.0.0", "set GONOSUMDB=lathe.example.com/gen/go", http.StatusNotFound},
		{"/gen/go/lathe.example.com/gen/@v/list", "not a module of this registry", http.StatusNotFound},
		{"/gen/go/lathe.example.com/@latest", "not a module of this registry", http.StatusNotFound},
		{"/gen/go/lathe.example.com/gen/go/typo/@v/list", "not a module of this registry", http.StatusNotFound},
	} {
		req := httptest.NewRequest(http.MethodGet, c.path, nil)
		req.Header.Set("Authorization", "Basic c2VjcmV0")
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, req)
		if rec.Code != c.code || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("GET %s: %d %q, want %d with %q", c.path, rec.Code, rec.Body, c.code, c.want)
		}
	}
	want := []string{"/base/google.golang.org/protobuf/@v/list", "/base/github.com/!burnt!sushi/toml/@v/v1.0.0.info",
		"/base/sumdb/sum.golang.org/supported", "/base/sumdb/sum.golang.org/lookup/golang.org/x/mod@v0.1.0"}
	if !slices.Equal(got, want) {
		t.Errorf("upstream got %q, want %q", got, want)
	}
	for _, a := range auth {
		if a != "" {
			t.Errorf("upstream got credentials %q", a)
		}
	}

	// Without an upstream, other modules are 404 with what to do.
	p = &Proxy{Packager: Packager{Paths: Paths{Host: "lathe.example.com"}}}
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/gen/go/google.golang.org/protobuf/@v/list", nil))
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "google.golang.org/protobuf is not a module of this registry, and this server forwards nothing (--go-upstream off): list another proxy after it in GOPROXY") {
		t.Errorf("without upstream: %d %q", rec.Code, rec.Body)
	}
}

func TestEnclosing(t *testing.T) {
	p := Paths{Host: "h.example"}
	plugin := sdk.SDK{Owner: "a", Module: "m", Gen: sdk.Generator{Owner: "p", Name: "n"}}
	tmpl := sdk.SDK{Owner: "a", Module: "m", Gen: sdk.Generator{Template: true, Owner: "to", Name: "tn"}}
	for path, want := range map[string]sdk.SDK{
		"h.example/gen/go/a/m/p/n/x":        plugin,
		"h.example/gen/go/a/m/p/n/x/y/v1":   plugin,
		"h.example/gen/go/t/to/tn/a/m/x/v1": tmpl,
		"h.example/gen/go/a/m/p/n":          {},
		"h.example/gen/go/a/m/p":            {},
		"h.example/gen/go/t/to/tn/a/m":      {},
		"other.example/gen/go/a/m/p/n/x":    {},
	} {
		got, ok := p.Enclosing(path)
		if got != want || ok != (want != sdk.SDK{}) {
			t.Errorf("Enclosing(%s) = %+v, %v; want %+v", path, got, ok, want)
		}
	}
}
