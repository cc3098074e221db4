package npmsdk

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lathe-registry/lathe/internal/auth"
	"github.com/lathe-registry/lathe/internal/blob"
	"github.com/lathe-registry/lathe/internal/blob/memblob"
	"github.com/lathe-registry/lathe/internal/codegen"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/sdk"
	"github.com/lathe-registry/lathe/internal/store"
	"github.com/lathe-registry/lathe/internal/store/sqlitestore"
)

const testPluginConfig = `version: v1
name: buf.build/bufbuild/es
plugin_version: v2.13.0
registry:
  opts: [import_extension=js]
  npm:
    import_style: module
    rewrite_import_path_suffix: pb.js
    deps:
      - package: '@bufbuild/protobuf'
        version: ^2.13.0
`

const testURL = "https://lathe.example.com/gen/npm/v1"

// fixture is a registry with the plugin bufbuild/es and the user alice, whose modules
// get versions published by inserting artifacts directly.
type fixture struct {
	st    *sqlitestore.Store
	sdks  *sdk.Service
	reg   *Registry
	alice store.Owner
	token string
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlitestore.Open(filepath.Join(tb.TempDir(), "lathe.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	r := registry.New(st, memblob.New())
	if _, err := r.PushPlugin(ctx, registry.PluginParams{Owner: "bufbuild", Name: "es", Version: "v2.13.0",
		Config: []byte(testPluginConfig), Runtime: "native", Program: []byte("#!/bin/false"), ProgramName: "protoc-gen-es"}); err != nil {
		tb.Fatal(err)
	}
	f := &fixture{st: st, sdks: sdk.New(r, memblob.New(), nil)}
	token, hash, err := auth.NewToken()
	if err != nil {
		tb.Fatal(err)
	}
	f.token = token
	err = st.Update(ctx, func(tx store.Tx) error {
		if f.alice, err = tx.CreateOwner(ctx, store.Owner{ID: registry.NewID(), Name: "alice", Kind: store.OwnerUser}); err != nil {
			return err
		}
		return tx.CreateToken(ctx, f.alice.ID, hash)
	})
	if err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	p := &Packager{SDKs: f.sdks, RegistryURL: testURL}
	f.reg = &Registry{Packager: p, Jobs: sdk.NewJobs(f.sdks, log, p), Log: log}
	return f
}

func (f *fixture) module(tb testing.TB, name string, vis store.Visibility) store.Module {
	tb.Helper()
	ctx := context.Background()
	var m store.Module
	err := f.st.Update(ctx, func(tx store.Tx) (err error) {
		m, err = tx.CreateModule(ctx, store.Module{ID: registry.NewID(), OwnerID: f.alice.ID, Name: name, Visibility: vis, State: store.Active, DefaultLabelName: "main"})
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
		c, err = tx.CreateCommit(ctx, store.Commit{ID: registry.NewID(), ModuleID: m.ID, OwnerID: f.alice.ID, Digest: make([]byte, 64), Manifest: "x", CreatedByUserID: f.alice.ID})
		if err != nil {
			return err
		}
		for _, l := range labels {
			if _, err := tx.SetLabel(ctx, m.ID, l, c.ID, f.alice.ID); err != nil {
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

// publish publishes the version of a commit as Pack would, with a small tarball.
func (f *fixture) publish(tb testing.TB, m store.Module, c store.Commit, onDefault bool) (version string, tgz []byte) {
	tb.Helper()
	ctx := context.Background()
	b := sdk.Build{SDK: sdk.SDK{Owner: "alice", Module: m.Name, Gen: sdk.Generator{Owner: "bufbuild", Name: "es"}},
		Module: m, Commit: c, OnDefaultLabel: onDefault, Steps: []sdk.Step{{Owner: "bufbuild", Name: "es", Version: store.PluginVersion{Version: "v2.13.0", Revision: 1}}}}
	name, version, err := f.reg.Packager.Package(b)
	if err != nil {
		tb.Fatal(err)
	}
	pj := PackageJSON{Name: name, Version: version, Description: "Generated from the module alice/" + m.Name + " at commit " + c.ID + " by the plugin bufbuild/es:v2.13.0, revision 1.",
		Type: "module", Dependencies: map[string]string{"@bufbuild/protobuf": "^2.13.0"},
		Lathe: Provenance{Module: "alice/" + m.Name, Commit: c.ID, Plugin: "bufbuild/es:v2.13.0", Revision: 1}}
	manifest, _ := json.Marshal(pj)
	tgz, err = sdk.TarGz("package", tarTime, map[string][]byte{"package.json": manifest, "acme/v1/a_pb.js": []byte("export const x = \"" + c.ID + "\";\n")})
	if err != nil {
		tb.Fatal(err)
	}
	meta, _ := json.Marshal(VersionDoc{PackageJSON: pj, ID: name + "@" + version, Dist: dist(tgz, TarballURL("http://old.example", name, version))})
	key, err := blob.PutBytes(ctx, f.sdks.Blobs(), tgz)
	if err != nil {
		tb.Fatal(err)
	}
	err = f.st.Update(ctx, func(tx store.Tx) error {
		_, err := tx.PutArtifact(ctx, store.Artifact{Ecosystem: Ecosystem, Name: name, Version: version, ModuleID: m.ID, Blob: key, Meta: meta})
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return version, tgz
}

type response struct {
	code   int
	header http.Header
	body   []byte
}

func (f *fixture) get(path string, header ...string) response {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	f.reg.ServeHTTP(rec, req)
	return response{rec.Code, rec.Header(), rec.Body.Bytes()}
}

type packument struct {
	ID       string                       `json:"_id"`
	Name     string                       `json:"name"`
	DistTags map[string]string            `json:"dist-tags"`
	Modified string                       `json:"modified"`
	Time     map[string]string            `json:"time"`
	Versions map[string]map[string]any    `json:"versions"`
	Raw      map[string]json.RawMessage   `json:"-"`
	Dists    map[string]map[string]string `json:"-"`
}

func decode(t *testing.T, r response) packument {
	t.Helper()
	if r.code != http.StatusOK {
		t.Fatalf("status %d: %s", r.code, r.body)
	}
	var p packument
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	_ = json.Unmarshal(r.body, &p.Raw)
	p.Dists = map[string]map[string]string{}
	for v, doc := range p.Versions {
		p.Dists[v] = map[string]string{}
		for k, x := range doc["dist"].(map[string]any) {
			p.Dists[v][k] = x.(string)
		}
	}
	return p
}

func TestPackument(t *testing.T) {
	f := newFixture(t)
	m := f.module(t, "pet.apis", store.Public) // a '.' in the module name
	c1 := f.commit(t, m, "main")
	v1, tgz1 := f.publish(t, m, c1, true)
	feature := f.commit(t, m, "feature", "user/topic")
	vf, _ := f.publish(t, m, feature, false)
	c2 := f.commit(t, m, "main")
	v2, _ := f.publish(t, m, c2, true)
	const name = "@lathe/alice_pet.apis.bufbuild_es"
	const path = "/gen/npm/v1/@lathe/alice_pet.apis.bufbuild_es"

	full := f.get(path)
	p := decode(t, full)
	if ct := full.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if vary := full.header.Get("Vary"); !strings.Contains(vary, "Accept") {
		t.Errorf("Vary = %q", vary)
	}
	if p.ID != name || p.Name != name || len(p.Versions) != 3 {
		t.Errorf("packument %s %s with %d versions", p.ID, p.Name, len(p.Versions))
	}
	wantTags := map[string]string{
		"latest": v2, "label-main": v2, "label-feature": vf,
		"commit-" + c1.ID: v1, "commit-" + feature.ID: vf, "commit-" + c2.ID: v2,
	}
	if len(p.DistTags) != len(wantTags) {
		t.Errorf("dist-tags = %v, want %v (no tag for user/topic)", p.DistTags, wantTags)
	}
	for k, v := range wantTags {
		if p.DistTags[k] != v {
			t.Errorf("dist-tags[%s] = %s, want %s", k, p.DistTags[k], v)
		}
	}
	if !strings.Contains(vf, "-00000000000000-") {
		t.Errorf("the feature commit's version %s has a timestamp", vf)
	}
	if p.Time["created"] == "" || p.Time["modified"] == "" || p.Time[v1] == "" || p.Time[v2] != p.Time["modified"] {
		t.Errorf("time = %v", p.Time)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", p.Time[v1]); err != nil {
		t.Errorf("time of %s: %v", v1, err)
	}
	doc := p.Versions[v1]
	if doc["_id"] != name+"@"+v1 || doc["name"] != name || doc["version"] != v1 || doc["type"] != "module" {
		t.Errorf("version object: %v", doc)
	}
	// The tarball URL follows the registry's URL, whatever it was at publication; the
	// integrity is that of the bytes served.
	d := p.Dists[v1]
	wantURL := testURL + "/" + name + "/-/alice_pet.apis.bufbuild_es-" + v1 + ".tgz"
	sum := sha512.Sum512(tgz1)
	if d["tarball"] != wantURL || d["integrity"] != "sha512-"+base64.StdEncoding.EncodeToString(sum[:]) || len(d["shasum"]) != 40 {
		t.Errorf("dist = %v", d)
	}
	tarball := f.get(strings.TrimPrefix(d["tarball"], "https://lathe.example.com"))
	if tarball.code != http.StatusOK || !bytes.Equal(tarball.body, tgz1) {
		t.Errorf("tarball: %d, %d bytes", tarball.code, len(tarball.body))
	}

	// Abbreviated: only install fields.
	abbr := f.get(path, "Accept", "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*")
	a := decode(t, abbr)
	if ct := abbr.header.Get("Content-Type"); ct != "application/vnd.npm.install-v1+json" {
		t.Errorf("abbreviated Content-Type = %q", ct)
	}
	if a.Name != name || a.Modified == "" || a.Time != nil || a.ID != "" || len(a.Versions) != 3 || a.DistTags["latest"] != v2 {
		t.Errorf("abbreviated packument: %s", abbr.body)
	}
	for v, doc := range a.Versions {
		for k := range doc {
			if !abbreviatedFields[k] {
				t.Errorf("abbreviated version %s has %s", v, k)
			}
		}
		if a.Dists[v]["integrity"] != p.Dists[v]["integrity"] || doc["dependencies"] == nil {
			t.Errorf("abbreviated version %s: %v", v, doc)
		}
	}
	if len(abbr.body) >= len(full.body) {
		t.Errorf("abbreviated packument (%d bytes) is not smaller than the full one (%d)", len(abbr.body), len(full.body))
	}
	// Literal '/' and %2f both name the package (Go decodes the path).
	if r := f.get("/gen/npm/v1/@lathe%2falice_pet.apis.bufbuild_es"); r.code != http.StatusOK || !bytes.Equal(r.body, full.body) {
		t.Errorf("escaped name: %d", r.code)
	}

	// Revalidation and compression.
	if r := f.get(path, "If-None-Match", full.header.Get("ETag")); r.code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", r.code)
	}
	if r := f.get(path, "If-None-Match", abbr.header.Get("ETag")); r.code != http.StatusOK {
		t.Errorf("If-None-Match with the abbreviated ETag on the full packument: %d", r.code)
	}
	gz := f.get(path, "Accept-Encoding", "gzip, deflate")
	if gz.header.Get("Content-Encoding") != "gzip" {
		t.Errorf("Content-Encoding = %q", gz.header.Get("Content-Encoding"))
	} else {
		zr, err := gzip.NewReader(bytes.NewReader(gz.body))
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := io.ReadAll(zr)
		if !bytes.Equal(plain, full.body) {
			t.Error("the gzipped packument differs")
		}
	}

	// Version documents and dist-tags.
	if r := f.get(path + "/latest"); r.code != http.StatusOK || !strings.Contains(string(r.body), `"version":"`+v2+`"`) {
		t.Errorf("version document of latest: %d %s", r.code, r.body)
	}
	if r := f.get(path + "/" + v1); r.code != http.StatusOK || !strings.Contains(string(r.body), `"version":"`+v1+`"`) {
		t.Errorf("version document of %s: %d %s", v1, r.code, r.body)
	}
	if r := f.get(path + "/9.9.9"); r.code != http.StatusNotFound {
		t.Errorf("unknown version: %d", r.code)
	}
	if r := f.get("/gen/npm/v1/-/package/" + name + "/dist-tags"); r.code != http.StatusOK || !strings.Contains(string(r.body), `"latest":"`+v2+`"`) {
		t.Errorf("dist-tags: %d %s", r.code, r.body)
	}

	// A push to main whose version is not published yet: latest stays on the newest
	// published version of the default label; the package gets a new version listed.
	c3 := f.commit(t, m, "main")
	p = decode(t, f.get(path))
	if p.DistTags["latest"] != v2 || p.DistTags["label-main"] != "" || len(p.Versions) != 3 {
		t.Errorf("before c3 is published: dist-tags %v", p.DistTags)
	}
	v3, _ := f.publish(t, m, c3, true)
	p = decode(t, f.get(path))
	if p.DistTags["latest"] != v3 || p.DistTags["label-main"] != v3 || len(p.Versions) != 4 {
		t.Errorf("after c3 is published: dist-tags %v", p.DistTags)
	}
	// Moving main back to c1 moves latest back.
	ctx := context.Background()
	if err := f.st.Update(ctx, func(tx store.Tx) error { _, err := tx.SetLabel(ctx, m.ID, "main", c1.ID, f.alice.ID); return err }); err != nil {
		t.Fatal(err)
	}
	if p = decode(t, f.get(path)); p.DistTags["latest"] != v1 {
		t.Errorf("after main moved back: latest %s, want %s", p.DistTags["latest"], v1)
	}
}

func TestNotFoundAndAuth(t *testing.T) {
	f := newFixture(t)
	m := f.module(t, "secret", store.Private)
	c := f.commit(t, m, "main")
	v, tgz := f.publish(t, m, c, true)
	const path = "/gen/npm/v1/@lathe/alice_secret.bufbuild_es"
	tarball := path + "/-/alice_secret.bufbuild_es-" + v + ".tgz"
	for _, p := range []string{path, tarball, path + "/latest", "/gen/npm/v1/-/package/@lathe/alice_secret.bufbuild_es/dist-tags"} {
		if r := f.get(p); r.code != http.StatusNotFound || !strings.Contains(string(r.body), `"error":`) {
			t.Errorf("anonymous GET %s: %d %s", p, r.code, r.body)
		}
	}
	bearer := "Bearer " + f.token
	r := f.get(path, "Authorization", bearer)
	if r.code != http.StatusOK || r.header.Get("Cache-Control") != "private, no-cache" {
		t.Errorf("GET with the owner's token: %d, Cache-Control %q", r.code, r.header.Get("Cache-Control"))
	}
	if r := f.get(tarball, "Authorization", bearer); r.code != http.StatusOK || !bytes.Equal(r.body, tgz) {
		t.Errorf("tarball with the owner's token: %d", r.code)
	}
	if r := f.get(path, "Authorization", "Bearer nope"); r.code != http.StatusUnauthorized {
		t.Errorf("GET with a wrong token: %d", r.code)
	}
	for _, p := range []string{
		"/gen/npm/v1/@lathe/alice_nope.bufbuild_es", "/gen/npm/v1/@other/alice_secret.bufbuild_es",
		"/gen/npm/v1/alice_secret.bufbuild_es", "/gen/npm/v1/@lathe/alice_secret.bufbuild_nope",
		"/gen/npm/v1/@lathe/ALICE_secret.bufbuild_es", "/gen/npm/v1/@lathe/alice_secret.bufbuild_es/-/x.tgz",
		"/gen/npm/v1/@lathe/alice_secret.bufbuild_es/a/b",
	} {
		if r := f.get(p, "Authorization", bearer); r.code != http.StatusNotFound {
			t.Errorf("GET %s: %d %s", p, r.code, r.body)
		}
	}
	if r := f.get("/gen/npm/v1/-/whoami", "Authorization", bearer); r.code != http.StatusOK || !strings.Contains(string(r.body), `"username":"alice"`) {
		t.Errorf("whoami: %d %s", r.code, r.body)
	}
	if r := f.get("/gen/npm/v1/-/whoami"); r.code != http.StatusUnauthorized {
		t.Errorf("anonymous whoami: %d %s", r.code, r.body)
	}
	if r := f.get("/gen/npm/v1/-/ping"); r.code != http.StatusOK {
		t.Errorf("ping: %d %s", r.code, r.body)
	}
	rec := httptest.NewRecorder()
	f.reg.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, path, nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("PUT: %d", rec.Code)
	}
}

// failingPackager fails every generation as a plugin would.
type failingPackager struct{ *Packager }

func (failingPackager) Pack(context.Context, sdk.Build) ([]byte, []byte, error) {
	return nil, nil, fmt.Errorf("%w: plugin exited with status 3: giving up", codegen.ErrPlugin)
}

// A package whose first version fails to generate answers with the failure, not with
// a 404 that says nothing, and not with a 5xx that npm would retry for a minute.
func TestGenerationFailure(t *testing.T) {
	f := newFixture(t)
	f.reg.Jobs = sdk.NewJobs(f.sdks, f.reg.Log, failingPackager{f.reg.Packager})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.reg.Jobs.Run(ctx, 1)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	m := f.module(t, "shop", store.Public)
	f.commit(t, m, "main")
	// The failure is remembered: a second request gets the same answer.
	for range 2 {
		r := f.get("/gen/npm/v1/@lathe%2falice_shop.bufbuild_es")
		var body struct{ Error string }
		if err := json.Unmarshal(r.body, &body); err != nil || r.code != http.StatusFailedDependency ||
			!regexp.MustCompile(`^generating npm package @lathe/alice_shop\.bufbuild_es 2\.13\.0-\d{14}-[0-9a-f]{12}\.1 of module alice/shop at commit [0-9a-f]{12} with bufbuild/es:v2\.13\.0 failed: plugin failed: plugin exited with status 3: giving up\. The plugin cannot generate this commit`).MatchString(body.Error) {
			t.Fatalf("GET the packument: %d %s", r.code, r.body)
		}
	}
}

func TestAccepts(t *testing.T) {
	for h, want := range map[string]bool{
		"application/json": false,
		"application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*": true,
		"application/vnd.npm.install-v1+json":                                      true,
		"application/vnd.npm.install-v1+json;q=0, application/json":                false,
		"": false,
	} {
		if got := acceptsAbbreviated(h); got != want {
			t.Errorf("acceptsAbbreviated(%q) = %v", h, got)
		}
	}
	for h, want := range map[string]bool{"gzip, deflate": true, "gzip;q=0": false, "br": false, "deflate, gzip;q=0.5": true} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v", h, got)
		}
	}
}

// Metadata that is not exactly what Pack writes keeps its fields; the abbreviated
// packument only those npm allows there.
func TestForeignMeta(t *testing.T) {
	f := newFixture(t)
	m := f.module(t, "m", store.Public)
	c := f.commit(t, m, "main")
	version := "2.13.0-00000000000000-" + c.ID[:12] + ".1"
	meta := `{"name":"@lathe/alice_m.bufbuild_es","version":"` + version + `","deprecated":"use n","extra":{"a":1},` +
		`"lathe":{"commit":"` + c.ID + `"},"dist":{"integrity":"sha512-x","shasum":"y","tarball":"http://old/x.tgz"}}`
	ctx := context.Background()
	err := f.st.Update(ctx, func(tx store.Tx) error {
		_, err := tx.PutArtifact(ctx, store.Artifact{Ecosystem: Ecosystem, Name: "@lathe/alice_m.bufbuild_es", Version: version, ModuleID: m.ID, Blob: "k", Meta: []byte(meta)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	p := decode(t, f.get("/gen/npm/v1/@lathe/alice_m.bufbuild_es"))
	doc := p.Versions[version]
	if doc["deprecated"] != "use n" || doc["extra"] == nil || !strings.HasPrefix(p.Dists[version]["tarball"], testURL+"/") || p.DistTags["latest"] != version {
		t.Errorf("full packument: %v %v", doc, p.DistTags)
	}
	a := decode(t, f.get("/gen/npm/v1/@lathe/alice_m.bufbuild_es", "Accept", abbreviatedType))
	if doc := a.Versions[version]; doc["deprecated"] != "use n" || doc["extra"] != nil || doc["lathe"] != nil {
		t.Errorf("abbreviated packument: %v", doc)
	}
}

// Concurrent requests, some while versions are published, see consistent documents.
func TestConcurrent(t *testing.T) {
	f := newFixture(t)
	m := f.module(t, "m", store.Public)
	f.publish(t, m, f.commit(t, m, "main"), true)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for range 10 {
				r := f.get("/gen/npm/v1/@lathe/alice_m.bufbuild_es", "Accept", []string{fullType, abbreviatedType}[i%2])
				var p packument
				if r.code != http.StatusOK || json.Unmarshal(r.body, &p) != nil || p.Versions[p.DistTags["latest"]] == nil {
					t.Errorf("%d %s", r.code, r.body)
					return
				}
			}
		})
	}
	for range 5 {
		f.publish(t, m, f.commit(t, m, "main"), true)
	}
	wg.Wait()
}

// Only a public module's tarballs may be kept by shared caches; a private module's
// answers are private, and packuments are revalidated.
func TestCacheControl(t *testing.T) {
	f := newFixture(t)
	bearer := "Bearer " + f.token
	for _, vis := range []store.Visibility{store.Public, store.Private} {
		name := map[store.Visibility]string{store.Public: "open", store.Private: "closed"}[vis]
		m := f.module(t, name, vis)
		v, _ := f.publish(t, m, f.commit(t, m, "main"), true)
		path := "/gen/npm/v1/@lathe/alice_" + name + ".bufbuild_es"
		for p, immutable := range map[string]bool{
			path + "/-/alice_" + name + ".bufbuild_es-" + v + ".tgz": true,
			path: false, path + "/latest": false, "/gen/npm/v1/-/package/@lathe/alice_" + name + ".bufbuild_es/dist-tags": false,
		} {
			r := f.get(p, "Authorization", bearer)
			if want := sdk.CacheControl(vis, immutable); r.code != http.StatusOK || r.header.Get("Cache-Control") != want {
				t.Errorf("GET %s: %d, Cache-Control %q, want %q", p, r.code, r.header.Get("Cache-Control"), want)
			}
		}
	}
}

// A store that fails is a 500 whose cause is in the log, with the request.
func TestStoreErrorLogged(t *testing.T) {
	f := newFixture(t)
	m := f.module(t, "shop", store.Public)
	f.publish(t, m, f.commit(t, m, "main"), true)
	var log bytes.Buffer
	f.reg.Log = slog.New(slog.NewTextHandler(&log, nil))
	f.st.Close()
	r := f.get("/gen/npm/v1/@lathe/alice_shop.bufbuild_es")
	if r.code != http.StatusInternalServerError || !strings.Contains(string(r.body), `"error":"internal error`) {
		t.Errorf("GET with a closed store: %d %s", r.code, r.body)
	}
	for _, s := range []string{"method=GET", "path=/gen/npm/v1/@lathe/alice_shop.bufbuild_es", "ecosystem=npm", "err="} {
		if !strings.Contains(log.String(), s) {
			t.Errorf("the log %q lacks %s", log.String(), s)
		}
	}
}
