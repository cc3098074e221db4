package gosdk

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-registry/lathe/internal/blob"
	"github.com/lathe-registry/lathe/internal/blob/memblob"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/sdk"
	"github.com/lathe-registry/lathe/internal/store"
	"github.com/lathe-registry/lathe/internal/store/sqlitestore"
)

// Module paths may spell any case (!a is A), and owners are found whatever their case,
// but each SDK has one module path: the others answer 404 and generate nothing, where
// each used to publish its own copy of every version.
func TestOneSpelling(t *testing.T) {
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
	var commit store.Commit
	err = st.Update(ctx, func(tx store.Tx) error {
		o, err := tx.CreateOwner(ctx, store.Owner{ID: registry.NewID(), Name: "acme", Kind: store.OwnerUser})
		if err != nil {
			return err
		}
		m, err := tx.CreateModule(ctx, store.Module{ID: registry.NewID(), OwnerID: o.ID, Name: "pub", Visibility: store.Public, State: store.Active, DefaultLabelName: "main"})
		if err != nil {
			return err
		}
		if commit, err = tx.CreateCommit(ctx, store.Commit{ID: registry.NewID(), ModuleID: m.ID, OwnerID: o.ID, Digest: make([]byte, 64), Manifest: "x", CreatedByUserID: o.ID}); err != nil {
			return err
		}
		if _, err = tx.SetLabel(ctx, m.ID, "main", commit.ID, o.ID); err != nil {
			return err
		}
		sec, err := tx.CreateModule(ctx, store.Module{ID: registry.NewID(), OwnerID: o.ID, Name: "sec", Visibility: store.Private, State: store.Active, DefaultLabelName: "main"})
		if err != nil {
			return err
		}
		key, err := blob.PutBytes(ctx, p.SDKs.Blobs(), []byte("zip"))
		if err != nil {
			return err
		}
		_, err = tx.PutArtifact(ctx, store.Artifact{Ecosystem: Ecosystem, Name: "h.example/gen/go/acme/sec/protocolbuffers/go",
			Version: "v1.0.0", ModuleID: sec.ID, Blob: key, Meta: []byte("module x\n")})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	version := fmt.Sprintf("v1.36.11-%s-%s.1", commit.CreateTime.UTC().Format("20060102150405"), commit.ID[:12])
	for _, path := range []string{"!acme/pub/protocolbuffers/go", "!ac!me/pub/protocolbuffers/go", "acme/pub/!protocolbuffers/go"} {
		for _, file := range []string{"@v/" + version + ".mod", "@v/" + version + ".zip", "@v/" + version + ".info", "@latest", "@v/list"} {
			url := "/gen/go/h.example/gen/go/" + path + "/" + file
			rec := httptest.NewRecorder()
			p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, url, nil))
			if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "not found") {
				t.Errorf("GET %s: %d %s, want 404", url, rec.Code, rec.Body)
			}
		}
	}
	// A private module's published version answers as one of a module that does not exist.
	for _, file := range []string{"@v/v1.0.0.zip", "@v/v1.0.0.mod", "@v/v1.0.0.info", "@latest"} {
		get := func(module string) *httptest.ResponseRecorder {
			rec := httptest.NewRecorder()
			p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/gen/go/h.example/gen/go/acme/"+module+"/protocolbuffers/go/"+file, nil))
			return rec
		}
		private, missing := get("sec"), get("nope")
		if want := strings.ReplaceAll(missing.Body.String(), "nope", "sec"); private.Code != http.StatusNotFound || missing.Code != http.StatusNotFound || private.Body.String() != want {
			t.Errorf("%s: private: %d %s; missing: %d %s", file, private.Code, private.Body, missing.Code, missing.Body)
		}
	}
	// Nothing ran: no generation was tried (a failed one leaves a job) or published.
	if jobs, err := st.Jobs(ctx, 0, store.Page{}); err != nil || len(jobs) != 0 {
		t.Errorf("jobs: %v, %v; want none", jobs, err)
	}
	for _, name := range []string{"Acme/pub/protocolbuffers/go", "AcMe/pub/protocolbuffers/go", "acme/pub/Protocolbuffers/go"} {
		if arts, err := st.ListArtifacts(ctx, Ecosystem, "h.example/gen/go/"+name, store.Page{}); err != nil || len(arts) != 0 {
			t.Errorf("artifacts of %s: %v, %v; want none", name, arts, err)
		}
	}
}
