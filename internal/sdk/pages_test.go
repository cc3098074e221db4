package sdk

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/lathe-registry/lathe/internal/auth"
	"github.com/lathe-registry/lathe/internal/blob/memblob"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/store"
	"github.com/lathe-registry/lathe/internal/store/sqlitestore"
)

// A cached page of a private module is rendered once, and given only to callers who may
// read the module; the others get not found, as if it did not exist.
func TestPagesCheckAccess(t *testing.T) {
	ctx := context.Background()
	reg, alice, m := pagesModule(t, store.Private)
	var pages Pages[string]
	renders := 0
	render := func() (string, string, error) {
		renders++
		return "page", m.ID, nil
	}
	asAlice := auth.WithUser(ctx, alice)
	for range 2 {
		if got, _, err := pages.Get(asAlice, reg, "k", "crate k", 0, render); err != nil || got != "page" {
			t.Fatalf("Get as the owner = %q, %v", got, err)
		}
	}
	if renders != 1 {
		t.Errorf("rendered %d times, want 1", renders)
	}
	_, _, err := pages.Get(ctx, reg, "k", "crate k", 0, render)
	if !errors.Is(err, ErrNotFound) || err.Error() != "not found: no crate k" {
		t.Errorf("Get anonymously: %v, want not found: no crate k", err)
	}
	if renders != 1 {
		t.Errorf("rendered %d times, want 1", renders)
	}
}

// A cached page is rendered again as soon as its package has a new publication, not
// only after PageTTL, so that a version published in this process is listed at once.
func TestPagesNewPublication(t *testing.T) {
	ctx := context.Background()
	reg, _, m := pagesModule(t, store.Public)
	s := New(reg, memblob.New(), nil)
	var pages Pages[int]
	renders := 0
	render := func() (int, string, error) {
		renders++
		return renders, m.ID, nil
	}
	get := func() int {
		t.Helper()
		got, _, err := pages.Get(ctx, reg, "k", "crate k", s.Publications("cargo", "k"), render)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if first, second := get(), get(); first != 1 || second != 1 {
		t.Fatalf("a page within PageTTL was rendered again")
	}
	if _, err := s.Artifact(ctx, "cargo", "k", "1.0.0", m.ID, func(context.Context) ([]byte, []byte, error) {
		return []byte("crate"), nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := get(); got != 2 {
		t.Errorf("after a publication the page is render %d, want 2", got)
	}
	if s.Publications("cargo", "other") != 0 {
		t.Errorf("another package counts publications it did not have")
	}
}

// pagesModule returns a registry on a new store with alice's module m of the given
// visibility.
func pagesModule(t *testing.T, vis store.Visibility) (*registry.Registry, store.Owner, store.Module) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlitestore.Open(filepath.Join(t.TempDir(), "lathe.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var alice store.Owner
	var m store.Module
	err = st.Update(ctx, func(tx store.Tx) (err error) {
		if alice, err = tx.CreateOwner(ctx, store.Owner{ID: registry.NewID(), Name: "alice", Kind: store.OwnerUser}); err != nil {
			return err
		}
		m, err = tx.CreateModule(ctx, store.Module{ID: registry.NewID(), OwnerID: alice.ID, Name: "m", Visibility: vis, State: store.Active, DefaultLabelName: "main"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return registry.New(st, memblob.New()), alice, m
}

// An archive served to a caller who may not read its module (one made private since it
// was found, say) answers as a version that does not exist, without the module's id.
func TestArtifactNotFoundNamesNoModule(t *testing.T) {
	ctx := context.Background()
	reg, _, m := pagesModule(t, store.Private)
	s := New(reg, memblob.New(), nil)
	a := store.Artifact{Ecosystem: "cargo", Name: "alice_m_x_y", Version: "1.0.0-1", ModuleID: m.ID}
	_, err := s.ArtifactCacheControl(ctx, a)
	if want := "cargo package alice_m_x_y 1.0.0-1 not found"; !errors.Is(err, ErrNotFound) || err.Error() != want {
		t.Errorf("ArtifactCacheControl anonymously: %v, want %s", err, want)
	}
}
