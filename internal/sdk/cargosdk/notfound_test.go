package cargosdk

import (
	"context"
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

// A private crate answers exactly as one that does not exist, naming only what was
// asked for, whether or not its owner fetched it before (which caches its record); and
// a crate name spelled in another case is no crate, whose index generates nothing.
func TestPrivateLooksMissing(t *testing.T) {
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
	sdks := sdk.New(r, memblob.New(), nil)
	log := slog.New(slog.DiscardHandler)
	p := &Packager{SDKs: sdks, IndexURL: "sparse+https://lathe.example.com/gen/cargo/"}
	reg := &Registry{Packager: p, Jobs: sdk.NewJobs(sdks, log, p), PublicURL: "https://lathe.example.com", Log: log}
	token, hash, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(ctx, func(tx store.Tx) error {
		o, err := tx.CreateOwner(ctx, store.Owner{ID: registry.NewID(), Name: "alice", Kind: store.OwnerUser})
		if err != nil {
			return err
		}
		if err := tx.CreateToken(ctx, o.ID, hash); err != nil {
			return err
		}
		for name, vis := range map[string]store.Visibility{"open": store.Public, "secret": store.Private} {
			m, err := tx.CreateModule(ctx, store.Module{ID: registry.NewID(), OwnerID: o.ID, Name: name, Visibility: vis, State: store.Active, DefaultLabelName: "main"})
			if err != nil {
				return err
			}
			c, err := tx.CreateCommit(ctx, store.Commit{ID: registry.NewID(), ModuleID: m.ID, OwnerID: o.ID, Digest: make([]byte, 64), Manifest: "x", CreatedByUserID: o.ID})
			if err != nil {
				return err
			}
			if _, err := tx.SetLabel(ctx, m.ID, "main", c.ID, o.ID); err != nil {
				return err
			}
			if vis == store.Public {
				continue // nothing published: its index would generate
			}
			key, err := blob.PutBytes(ctx, sdks.Blobs(), []byte("crate of "+name))
			if err != nil {
				return err
			}
			if _, err := tx.PutArtifact(ctx, store.Artifact{Ecosystem: Ecosystem, Name: "alice_" + name + "_community_neoeinstein-prost",
				Version: "0.4.0-1", ModuleID: m.ID, Blob: key, Meta: []byte(`{"name":"x"}`)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string, header ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		rec := httptest.NewRecorder()
		reg.ServeHTTP(rec, req)
		return rec
	}
	download := func(module string) string {
		return Prefix + "api/v1/crates/alice_" + module + "_community_neoeinstein-prost/0.4.0-1/download"
	}
	index := func(module string) string { return Prefix + indexPath("alice_"+module+"_community_neoeinstein-prost") }
	for _, cached := range []bool{false, true} {
		if cached {
			if rec := get(AuthPrefix+strings.TrimPrefix(download("secret"), Prefix), "Authorization", token); rec.Code != http.StatusOK {
				t.Fatalf("download with the owner's token: %d %s", rec.Code, rec.Body)
			}
		}
		for _, path := range []func(string) string{download, index} {
			private, missing := get(path("secret")), get(path("nope"))
			want := strings.ReplaceAll(missing.Body.String(), "alice_nope", "alice_secret")
			if private.Code != http.StatusNotFound || missing.Code != http.StatusNotFound || private.Body.String() != want {
				t.Errorf("cached %v: private %s: %d %s; missing: %d %s", cached, path("secret"), private.Code, private.Body, missing.Code, missing.Body)
			}
		}
	}
	for _, path := range []string{
		Prefix + "al/ic/Alice_open_community_neoeinstein-prost", Prefix + "al/ic/alice_Open_community_neoeinstein-prost",
		Prefix + "AL/IC/ALICE_OPEN_COMMUNITY_NEOEINSTEIN-PROST",
		Prefix + "api/v1/crates/Alice_secret_community_neoeinstein-prost/0.4.0-1/download",
	} {
		if rec := get(path, "Authorization", token); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d %s, want 404", path, rec.Code, rec.Body)
		}
	}
	if jobs, err := st.Jobs(ctx, 0, store.Page{}); err != nil || len(jobs) != 0 {
		t.Errorf("jobs: %v, %v; want none", jobs, err)
	}
}
