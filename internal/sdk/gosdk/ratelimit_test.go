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
	"github.com/lathe-registry/lathe/internal/blob/memblob"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/sdk"
	"github.com/lathe-registry/lathe/internal/store"
	"github.com/lathe-registry/lathe/internal/store/sqlitestore"
)

// Anonymous requests for versions never published generate at the configured rate per
// address, and beyond it answer 429 with a Retry-After; a token lifts the limit.
func TestAnonymousGenerationRate(t *testing.T) {
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
	sdks := sdk.New(reg, memblob.New(), nil, sdk.WithAnonymousGenerations(1))
	p := &Proxy{Packager: Packager{Paths: Paths{Host: "h.example"}, SDKs: sdks}, PublicURL: "http://h.example", Log: slog.New(slog.DiscardHandler)}
	token, hash, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	var commits []store.Commit
	err = st.Update(ctx, func(tx store.Tx) error {
		o, err := tx.CreateOwner(ctx, store.Owner{ID: registry.NewID(), Name: "acme", Kind: store.OwnerUser})
		if err != nil {
			return err
		}
		if err := tx.CreateToken(ctx, o.ID, hash); err != nil {
			return err
		}
		m, err := tx.CreateModule(ctx, store.Module{ID: registry.NewID(), OwnerID: o.ID, Name: "pub", Visibility: store.Public, State: store.Active, DefaultLabelName: "main"})
		if err != nil {
			return err
		}
		for range 3 {
			c, err := tx.CreateCommit(ctx, store.Commit{ID: registry.NewID(), ModuleID: m.ID, OwnerID: o.ID, Digest: make([]byte, 64), Manifest: "x", CreatedByUserID: o.ID})
			if err != nil {
				return err
			}
			commits = append(commits, c)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	get := func(c store.Commit, header ...string) *httptest.ResponseRecorder {
		// Commits never on the default label have a zero timestamp.
		r := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/gen/go/h.example/gen/go/acme/pub/protocolbuffers/go/@v/v1.36.11-00000000000000-%s.1.mod", c.ID[:12]), nil)
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, r)
		return rec
	}
	// This server generates nothing (no engine): the first request is let through to fail.
	if rec := get(commits[0]); rec.Code != http.StatusFailedDependency {
		t.Errorf("first anonymous generation: %d %s, want 424", rec.Code, rec.Body)
	}
	if rec := get(commits[1]); rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "60" {
		t.Errorf("second anonymous generation: %d, Retry-After %q, %s; want 429 after 60", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	// A version that failed is answered from memory, not generated: no limit applies.
	if rec := get(commits[0]); rec.Code != http.StatusFailedDependency {
		t.Errorf("the failed version again: %d %s, want 424", rec.Code, rec.Body)
	}
	if rec := get(commits[2], "Authorization", "Bearer "+token); rec.Code != http.StatusFailedDependency {
		t.Errorf("with a token: %d %s, want 424", rec.Code, rec.Body)
	}
	// The refused request left no failure behind.
	failed, err := st.Jobs(ctx, store.JobFailed, store.Page{})
	if err != nil || len(failed) != 2 || failed[0].CommitID != commits[0].ID || failed[1].CommitID != commits[2].ID {
		t.Errorf("failed jobs: %+v, %v; want those of the first and third commits", failed, err)
	}
}
