package gosdk

import (
	"context"
	"fmt"
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

// Only a public module's immutable files may be kept by shared caches; a private
// module's answers, which need a token, are private, and version lists and queries are
// revalidated.
func TestCacheControl(t *testing.T) {
	ctx := context.Background()
	st, err := sqlitestore.Open(filepath.Join(t.TempDir(), "lathe.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := registry.New(st, memblob.New())
	if _, err := reg.PushPlugin(ctx, registry.PluginParams{Owner: "protocolbuffers", Name: "go", Version: "v1.36.11",
		Config: []byte(benchPluginConfig), Runtime: "native", Program: []byte("#!/bin/false"), ProgramName: "protoc-gen-go"}); err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Packager: Packager{Paths: Paths{Host: "h.example"}, SDKs: sdk.New(reg, memblob.New(), nil)}, PublicURL: "http://h.example", Log: slog.New(slog.DiscardHandler)}
	token, hash, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	commits := map[store.Visibility]store.Commit{}
	err = st.Update(ctx, func(tx store.Tx) error {
		o, err := tx.CreateOwner(ctx, store.Owner{ID: registry.NewID(), Name: "acme", Kind: store.OwnerUser})
		if err != nil {
			return err
		}
		if err := tx.CreateToken(ctx, o.ID, hash); err != nil {
			return err
		}
		for name, vis := range map[string]store.Visibility{"pub": store.Public, "sec": store.Private} {
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
			key, err := blob.PutBytes(ctx, p.SDKs.Blobs(), []byte("zip of "+name))
			if err != nil {
				return err
			}
			if _, err := tx.PutArtifact(ctx, store.Artifact{Ecosystem: Ecosystem, Name: "h.example/gen/go/acme/" + name + "/protocolbuffers/go",
				Version: "v1.0.0", ModuleID: m.ID, Blob: key, Meta: []byte("module x\n")}); err != nil {
				return err
			}
			commits[vis] = c
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		module string
		vis    store.Visibility
	}{{"pub", store.Public}, {"sec", store.Private}} {
		root := "/gen/go/h.example/gen/go/acme/" + c.module + "/protocolbuffers/go/@"
		commit := commits[c.vis]
		info := fmt.Sprintf("v/v1.36.11-%s-%s.1.info", commit.CreateTime.UTC().Format("20060102150405"), commit.ID[:12])
		for file, immutable := range map[string]bool{"v/v1.0.0.zip": true, "v/v1.0.0.mod": true, info: true,
			"v/list": false, "latest": false, "v/main.info": false} {
			r := httptest.NewRequest(http.MethodGet, root+file, nil)
			r.Header.Set("Authorization", "Bearer "+token)
			rec := httptest.NewRecorder()
			p.ServeHTTP(rec, r)
			if want := sdk.CacheControl(c.vis, immutable); rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != want {
				t.Errorf("GET %s: %d, Cache-Control %q, want %q", root+file, rec.Code, rec.Header().Get("Cache-Control"), want)
			}
		}
	}
}
