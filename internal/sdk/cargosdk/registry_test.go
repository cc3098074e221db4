package cargosdk

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/lathe-registry/lathe/internal/auth"
	"github.com/lathe-registry/lathe/internal/blob"
	"github.com/lathe-registry/lathe/internal/blob/memblob"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/sdk"
	"github.com/lathe-registry/lathe/internal/store"
	"github.com/lathe-registry/lathe/internal/store/sqlitestore"
)

const testPluginConfig = `version: v1
name: buf.build/community/neoeinstein-prost
plugin_version: v0.4.0
registry:
  cargo:
    rust_version: "1.74"
    deps:
      - name: prost
        req: "0.13"
`

// fixture is a crate registry over a store with the plugin community/neoeinstein-prost
// and the user alice, who has a token; modules and their crates are added by inserting
// them directly.
type fixture struct {
	st    *sqlitestore.Store
	sdks  *sdk.Service
	reg   *Registry
	alice store.Owner
	token string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlitestore.Open(filepath.Join(t.TempDir(), "lathe.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := registry.New(st, memblob.New())
	if _, err := r.PushPlugin(ctx, registry.PluginParams{Owner: "community", Name: "neoeinstein-prost", Version: "v0.4.0",
		Config: []byte(testPluginConfig), Runtime: "native", Program: []byte("#!/bin/false"), ProgramName: "protoc-gen-prost"}); err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, sdks: sdk.New(r, memblob.New(), nil)}
	log := slog.New(slog.DiscardHandler)
	p := &Packager{SDKs: f.sdks, IndexURL: "sparse+https://lathe.example.com/gen/cargo/"}
	f.reg = &Registry{Packager: p, Jobs: sdk.NewJobs(f.sdks, log, p), PublicURL: "https://lathe.example.com", Log: log}
	token, hash, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	f.token = token
	err = st.Update(ctx, func(tx store.Tx) error {
		if f.alice, err = tx.CreateOwner(ctx, store.Owner{ID: registry.NewID(), Name: "alice", Kind: store.OwnerUser}); err != nil {
			return err
		}
		return tx.CreateToken(ctx, f.alice.ID, hash)
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// module creates alice's module with a commit on main.
func (f *fixture) module(t *testing.T, name string, vis store.Visibility) store.Module {
	t.Helper()
	ctx := context.Background()
	var m store.Module
	err := f.st.Update(ctx, func(tx store.Tx) (err error) {
		m, err = tx.CreateModule(ctx, store.Module{ID: registry.NewID(), OwnerID: f.alice.ID, Name: name, Visibility: vis, State: store.Active, DefaultLabelName: "main"})
		if err != nil {
			return err
		}
		c, err := tx.CreateCommit(ctx, store.Commit{ID: registry.NewID(), ModuleID: m.ID, OwnerID: f.alice.ID, Digest: make([]byte, 64), Manifest: "x", CreatedByUserID: f.alice.ID})
		if err != nil {
			return err
		}
		_, err = tx.SetLabel(ctx, m.ID, "main", c.ID, f.alice.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// publish publishes the crate alice_<module>_community_neoeinstein-prost 0.4.0-1 of a
// module, its bytes naming the module.
func (f *fixture) publish(t *testing.T, m store.Module) {
	t.Helper()
	ctx := context.Background()
	key, err := blob.PutBytes(ctx, f.sdks.Blobs(), []byte("crate of "+m.Name))
	if err != nil {
		t.Fatal(err)
	}
	err = f.st.Update(ctx, func(tx store.Tx) error {
		_, err := tx.PutArtifact(ctx, store.Artifact{Ecosystem: Ecosystem, Name: "alice_" + m.Name + "_community_neoeinstein-prost",
			Version: "0.4.0-1", ModuleID: m.ID, Blob: key, Meta: []byte(`{"name":"x"}`)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) get(path string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	f.reg.ServeHTTP(rec, req)
	return rec
}

// Only a public module's crates may be kept by shared caches; a private module's
// answers, which need a token, are private, and index files are revalidated.
func TestCacheControl(t *testing.T) {
	f := newFixture(t)
	for name, vis := range map[string]store.Visibility{"open": store.Public, "closed": store.Private} {
		f.publish(t, f.module(t, name, vis))
	}
	for name, vis := range map[string]store.Visibility{"open": store.Public, "closed": store.Private} {
		crate := "alice_" + name + "_community_neoeinstein-prost"
		for path, immutable := range map[string]bool{
			AuthPrefix + indexPath(crate):                               false,
			AuthPrefix + "api/v1/crates/" + crate + "/0.4.0-1/download": true,
		} {
			rec := f.get(path, "Authorization", f.token)
			if want := sdk.CacheControl(vis, immutable); rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != want {
				t.Errorf("GET %s: %d %s, Cache-Control %q, want %q", path, rec.Code, rec.Body, rec.Header().Get("Cache-Control"), want)
			}
		}
	}
	// The index asks cargo for a token it lacks, and revalidates with weak and listed tags.
	if rec := f.get(AuthPrefix + "config.json"); rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") != `Cargo login_url="https://lathe.example.com"` {
		t.Errorf("GET config.json without a token: %d, WWW-Authenticate %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
	index := Prefix + indexPath("alice_open_community_neoeinstein-prost")
	etag := f.get(index).Header().Get("ETag")
	if rec := f.get(index, "If-None-Match", `"x", W/`+etag); etag == "" || rec.Code != http.StatusNotModified {
		t.Errorf("GET %s with If-None-Match W/%s: %d", index, etag, rec.Code)
	}
}
