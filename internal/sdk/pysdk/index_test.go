package pysdk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-registry/lathe/internal/auth"
	"github.com/lathe-registry/lathe/internal/blob"
	"github.com/lathe-registry/lathe/internal/blob/memblob"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/sdk"
	"github.com/lathe-registry/lathe/internal/store"
	"github.com/lathe-registry/lathe/internal/store/sqlitestore"
)

const pipAccept = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"

func TestNegotiate(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		accept, format, want string
	}{
		{pipAccept, "", typeJSON},
		{"", "", typeTextHTML},
		{"*/*", "", typeTextHTML},
		{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "", typeTextHTML},
		{"application/vnd.pypi.simple.v1+html", "", typeHTML},
		{"application/vnd.pypi.simple.latest+json", "", typeJSON},
		{"application/json, application/*;q=0.5", "", typeJSON},
		{"application/vnd.pypi.simple.v1+json;q=0.2, text/html;q=0.5", "", typeTextHTML},
		{"text/html;q=0, */*", "", typeJSON},
		{"application/json", "", ""},
		{"application/vnd.pypi.simple.v2+json", "", ""},
		{pipAccept, "text/html", typeTextHTML},
		{"", "application/vnd.pypi.simple.v1 json", typeJSON}, // a raw '+' in the query
		{"", "application/json", ""},
	} {
		r := httptest.NewRequest(http.MethodGet, "/gen/python/simple/", nil)
		if c.accept != "" {
			r.Header.Set("Accept", c.accept)
		}
		if c.format != "" {
			r.URL.RawQuery = "format=" + strings.ReplaceAll(c.format, " ", "+")
		}
		got, ok := negotiate(r)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("negotiate(Accept %q, format %q) = %q, %v; want %q", c.accept, c.format, got, ok, c.want)
		}
	}
}

func TestProjectPages(t *testing.T) {
	t.Parallel()
	m := &Meta{Filename: "a_b_c_d-1.0.0.1.20261121143000.1-py3-none-any.whl", SHA256: strings.Repeat("1", 64), Size: 10,
		RequiresPython: ">=3.8", Metadata: []byte("Metadata-Version: 2.1\n"), Commit: "<c>", Module: "a/b", Plugin: "c/d:v1.0.0", Revision: 1}
	files := []fileEntry{{meta: m, version: "1.0.0.1.20261121143000.1"}}
	h := string(projectHTML("a-b-c-d", files))
	md := m.MetadataSHA256()
	want := `<a href="a_b_c_d-1.0.0.1.20261121143000.1-py3-none-any.whl#sha256=` + m.SHA256 + `" data-requires-python="&gt;=3.8" data-core-metadata="sha256=` + md +
		`" data-dist-info-metadata="sha256=` + md + `" data-lathe-commit="&lt;c&gt;">a_b_c_d-1.0.0.1.20261121143000.1-py3-none-any.whl</a><br>`
	if !strings.Contains(h, want) || !strings.Contains(h, `<meta name="pypi:repository-version" content="1.1">`) {
		t.Errorf("HTML page:\n%s\nwant a line\n%s", h, want)
	}
	j, err := projectJSON("a-b-c-d", files)
	if err != nil {
		t.Fatal(err)
	}
	var page map[string]any
	if err := json.Unmarshal(j, &page); err != nil {
		t.Fatal(err)
	}
	f := page["files"].([]any)[0].(map[string]any)
	if page["name"] != "a-b-c-d" || page["meta"].(map[string]any)["api-version"] != "1.1" || f["url"] != m.Filename ||
		f["hashes"].(map[string]any)["sha256"] != m.SHA256 || f["core-metadata"].(map[string]any)["sha256"] != md ||
		f["requires-python"] != ">=3.8" || f["size"] != 10.0 || f["yanked"] != false || f["_lathe"].(map[string]any)["commit"] != "<c>" {
		t.Errorf("JSON page: %s", j)
	}
	if _, ok := f["dist-info-metadata"]; ok {
		t.Error("the JSON page has dist-info-metadata, which breaks pip 23.0")
	}
	if !strings.Contains(string(j), `">=3.8"`) {
		t.Errorf("JSON page escapes HTML: %s", j)
	}
}

const pluginYAML = `version: v1
name: buf.build/protocolbuffers/python
plugin_version: v21.12
registry:
  python:
    package_type: runtime
    requires_python: ">=3.8"
    deps: ["protobuf>=4.21"]
`

// fixture is an index over a store with the public modules alice/money_v1 and
// alice/tail_ and the private module alice/vault, each with a commit on main, the plugin
// protocolbuffers/python, and one published wheel of each.
type fixture struct {
	ix    *Index
	token string
	wheel []byte
	meta  *Meta
	name  string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlitestore.Open(filepath.Join(t.TempDir(), "lathe.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := registry.New(st, memblob.New())
	if _, err := reg.PushPlugin(ctx, registry.PluginParams{Owner: "protocolbuffers", Name: "python", Version: "v21.12",
		Config: []byte(pluginYAML), Runtime: "native", Program: []byte("#!/bin/false"), ProgramName: "protoc-gen-python"}); err != nil {
		t.Fatal(err)
	}
	svc := sdk.New(reg, memblob.New(), nil)
	p := &Packager{SDKs: svc}
	fx := &fixture{ix: &Index{Packager: p, Jobs: sdk.NewJobs(svc, slog.New(slog.DiscardHandler), p), Log: slog.New(slog.DiscardHandler)}, token: "secret-token"}
	var modules []store.Module
	err = st.Update(ctx, func(tx store.Tx) error {
		o, err := tx.CreateOwner(ctx, store.Owner{ID: registry.NewID(), Name: "alice", Kind: store.OwnerUser})
		if err != nil {
			return err
		}
		if err := tx.CreateToken(ctx, o.ID, auth.HashToken(fx.token)); err != nil {
			return err
		}
		for _, m := range []store.Module{{Name: "money_v1", Visibility: store.Public}, {Name: "vault", Visibility: store.Private}, {Name: "tail_", Visibility: store.Public}} {
			m.ID, m.OwnerID, m.State, m.DefaultLabelName = registry.NewID(), o.ID, store.Active, "main"
			if m, err = tx.CreateModule(ctx, m); err != nil {
				return err
			}
			c, err := tx.CreateCommit(ctx, store.Commit{ID: registry.NewID(), ModuleID: m.ID, OwnerID: o.ID, Digest: make([]byte, 64), Manifest: "x", CreatedByUserID: o.ID})
			if err != nil {
				return err
			}
			if _, err := tx.SetLabel(ctx, m.ID, "main", c.ID, o.ID); err != nil {
				return err
			}
			modules = append(modules, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Publish a wheel for each module as Pack would, without running a plugin.
	for _, m := range modules {
		b, err := svc.Resolve(auth.AsSystem(ctx), sdk.SDK{Owner: "alice", Module: m.Name, Gen: sdk.Generator{Owner: "protocolbuffers", Name: "python"}}, sdk.CommitRef{}, sdk.Pin{})
		if err != nil {
			t.Fatal(err)
		}
		name, version, err := p.Package(b)
		if err != nil {
			t.Fatal(err)
		}
		cfg, _ := pythonConfig(b.Plugin())
		meta := &Meta{Filename: WheelName(name, version), RequiresPython: cfg.RequiresPython, Commit: b.Commit.ID, Module: "alice/" + m.Name, Plugin: b.Plugin().Ref(), Revision: 1}
		meta.Metadata = metadata(name, version, cfg, nil, meta)
		whl, err := buildWheel(name, version, map[string][]byte{"acme/x_pb2.py": []byte("x = 1\n")}, meta.Metadata)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(whl)
		meta.SHA256, meta.Size = hex.EncodeToString(sum[:]), len(whl)
		raw, err := marshal(meta)
		if err != nil {
			t.Fatal(err)
		}
		key, err := blob.PutBytes(ctx, svc.Blobs(), whl)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Update(ctx, func(tx store.Tx) error {
			_, err := tx.PutArtifact(ctx, store.Artifact{Ecosystem: Ecosystem, Name: name, Version: version, ModuleID: m.ID, Blob: key, Meta: raw})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if m.Name == "money_v1" {
			fx.wheel, fx.meta, fx.name = whl, meta, name
		}
		if err := p.checkName(auth.AsSystem(ctx), b, name); err != nil {
			t.Errorf("checkName: %v", err)
		}
	}
	return fx
}

func (fx *fixture) get(t testing.TB, method, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	fx.ix.ServeHTTP(w, r)
	return w
}

func TestIndex(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	page := SimplePrefix + "alice-money-v1-protocolbuffers-python/"
	if fx.name != "alice-money-v1-protocolbuffers-python" {
		t.Fatalf("project name %q", fx.name)
	}

	// pip's request gets JSON, whose hashes match the wheel and its metadata.
	w := fx.get(t, http.MethodGet, page, "Accept", pipAccept)
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != typeJSON {
		t.Fatalf("GET %s: %d %s %s", page, w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	var proj jsonProject
	if err := json.Unmarshal(w.Body.Bytes(), &proj); err != nil {
		t.Fatal(err)
	}
	if len(proj.Files) != 1 || proj.Name != fx.name || len(proj.Versions) != 1 {
		t.Fatalf("page %s", w.Body)
	}
	f := proj.Files[0]
	whl := fx.get(t, http.MethodGet, page+f.URL)
	sum := sha256.Sum256(whl.Body.Bytes())
	if whl.Code != http.StatusOK || hex.EncodeToString(sum[:]) != f.Hashes["sha256"] || f.Size != whl.Body.Len() {
		t.Errorf("wheel %s: %d, sha256 %x, page says %s", f.URL, whl.Code, sum, f.Hashes["sha256"])
	}
	md := fx.get(t, http.MethodGet, page+f.URL+".metadata")
	sum = sha256.Sum256(md.Body.Bytes())
	if md.Code != http.StatusOK || hex.EncodeToString(sum[:]) != f.CoreMetadata["sha256"] || !strings.Contains(md.Body.String(), "Name: "+fx.name+"\n") {
		t.Errorf("metadata: %d, sha256 %x, page says %s:\n%s", md.Code, sum, f.CoreMetadata["sha256"], md.Body)
	}
	if head := fx.get(t, http.MethodHead, page+f.URL); head.Code != http.StatusOK || head.Body.Len() != 0 {
		t.Errorf("HEAD wheel: %d, %d bytes", head.Code, head.Body.Len())
	}

	// Browsers get HTML; an unchanged page is 304.
	w = fx.get(t, http.MethodGet, page)
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(w.Body.String(), f.Filename+"#sha256="+f.Hashes["sha256"]) {
		t.Errorf("HTML page: %d %s\n%s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	if w2 := fx.get(t, http.MethodGet, page, "If-None-Match", w.Header().Get("ETag")); w2.Code != http.StatusNotModified {
		t.Errorf("conditional GET: %d", w2.Code)
	}
	if w2 := fx.get(t, http.MethodGet, page, "Accept", "application/json"); w2.Code != http.StatusNotAcceptable {
		t.Errorf("Accept: application/json: %d", w2.Code)
	}

	// Unnormalized names and a missing slash redirect.
	for path, to := range map[string]string{
		SimplePrefix + "Alice_Money.V1-protocolbuffers-python":  page,
		SimplePrefix + "alice-money-v1-protocolbuffers-python":  page,
		SimplePrefix + "Alice-Money-V1-protocolbuffers-python/": page,
		Prefix: SimplePrefix,
	} {
		if w := fx.get(t, http.MethodGet, path); w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != to {
			t.Errorf("GET %s: %d to %q, want a redirect to %s", path, w.Code, w.Header().Get("Location"), to)
		}
	}

	// Private projects: 404 without the token, found with it (HTTP basic, the token as
	// password), 401 with a wrong one.
	vault := SimplePrefix + "alice-vault-protocolbuffers-python/"
	if w := fx.get(t, http.MethodGet, vault); w.Code != http.StatusNotFound {
		t.Errorf("anonymous private page: %d", w.Code)
	}
	basic := func(user, pass string) string {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.SetBasicAuth(user, pass)
		return r.Header.Get("Authorization")
	}
	w = fx.get(t, http.MethodGet, vault, "Authorization", basic("alice", fx.token), "Accept", pipAccept)
	if w.Code != http.StatusOK {
		t.Fatalf("private page with the token: %d %s", w.Code, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &proj); err != nil {
		t.Fatal(err)
	}
	vf := proj.Files[0].URL
	if w := fx.get(t, http.MethodGet, vault+vf); w.Code != http.StatusNotFound {
		t.Errorf("anonymous private wheel: %d", w.Code)
	}
	if w := fx.get(t, http.MethodGet, vault+vf+".metadata"); w.Code != http.StatusNotFound {
		t.Errorf("anonymous private metadata: %d", w.Code)
	}
	if w := fx.get(t, http.MethodGet, vault+vf, "Authorization", basic("__token__", fx.token)); w.Code != http.StatusOK {
		t.Errorf("private wheel with the token: %d", w.Code)
	}
	if w := fx.get(t, http.MethodGet, vault, "Authorization", basic("alice", "wrong")); w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") == "" {
		t.Errorf("wrong token: %d %v", w.Code, w.Header())
	}

	// The root lists what the caller can see.
	root := fx.get(t, http.MethodGet, SimplePrefix, "Accept", pipAccept)
	if root.Code != http.StatusOK || root.Body.String() != `{"meta":{"api-version":"1.1"},"projects":[{"name":"alice-money-v1-protocolbuffers-python"},{"name":"alice-tail-protocolbuffers-python"}]}`+"\n" {
		t.Errorf("root: %d %s", root.Code, root.Body)
	}
	root = fx.get(t, http.MethodGet, SimplePrefix, "Authorization", basic("alice", fx.token))
	if !strings.Contains(root.Body.String(), `<a href="alice-vault-protocolbuffers-python/">`) {
		t.Errorf("root with the token:\n%s", root.Body)
	}

	// Everything else is 404 or 405.
	for _, path := range []string{
		SimplePrefix + "alice-nope-protocolbuffers-python/",
		SimplePrefix + "alice-money-v1-protocolbuffers/",
		SimplePrefix + "x/",
		SimplePrefix + "-x-/",
		SimplePrefix + "a%0d%0ab/",
		page + "alice_money_v1_protocolbuffers_python-9.9.9.1.20261121143000.1-py3-none-any.whl",
		page + "other-1.0-py3-none-any.whl",
		page + f.URL + "/x",
		page + strings.TrimSuffix(f.URL, ".whl") + ".tar.gz",
		Prefix + "files/x",
	} {
		if w := fx.get(t, http.MethodGet, path); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d %s", path, w.Code, w.Body)
		}
	}
	if w := fx.get(t, http.MethodPost, page); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", w.Code)
	}
	_, _ = io.Copy(io.Discard, w.Body)
}

// Only a public module's wheels and metadata may be kept by shared caches; a private
// module's answers are private, and pages are revalidated (the root page, which lists
// what the caller may see, is private for a caller with a token).
func TestCacheControl(t *testing.T) {
	fx := newFixture(t)
	bearer := "Bearer " + fx.token
	for project, vis := range map[string]store.Visibility{"alice-money-v1-protocolbuffers-python": store.Public, "alice-vault-protocolbuffers-python": store.Private} {
		page := SimplePrefix + project + "/"
		w := fx.get(t, http.MethodGet, page, "Accept", pipAccept, "Authorization", bearer)
		if want := sdk.CacheControl(vis, false); w.Code != http.StatusOK || w.Header().Get("Cache-Control") != want {
			t.Errorf("GET %s: %d, Cache-Control %q, want %q", page, w.Code, w.Header().Get("Cache-Control"), want)
		}
		var proj jsonProject
		if err := json.Unmarshal(w.Body.Bytes(), &proj); err != nil || len(proj.Files) != 1 {
			t.Fatalf("page %s: %v", w.Body, err)
		}
		for _, file := range []string{proj.Files[0].URL, proj.Files[0].URL + ".metadata"} {
			w := fx.get(t, http.MethodGet, page+file, "Authorization", bearer)
			if want := sdk.CacheControl(vis, true); w.Code != http.StatusOK || w.Header().Get("Cache-Control") != want {
				t.Errorf("GET %s: %d, Cache-Control %q, want %q", page+file, w.Code, w.Header().Get("Cache-Control"), want)
			}
		}
	}
	for auth, want := range map[string]string{"": "no-cache", bearer: "private, no-cache"} {
		if w := fx.get(t, http.MethodGet, SimplePrefix, "Authorization", auth); w.Code != http.StatusOK || w.Header().Get("Cache-Control") != want {
			t.Errorf("GET %s with %q: %d, Cache-Control %q, want %q", SimplePrefix, auth, w.Code, w.Header().Get("Cache-Control"), want)
		}
	}
}
