package registry

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/lathe-registry/lathe/internal/auth"
	"github.com/lathe-registry/lathe/internal/blob/memblob"
	"github.com/lathe-registry/lathe/internal/store"
	"github.com/lathe-registry/lathe/internal/store/sqlitestore"
)

// ReadableModule remembers modules, but a visibility change through the registry takes
// effect at once.
func TestReadableModuleSeesVisibilityChanges(t *testing.T) {
	ctx := context.Background()
	st, err := sqlitestore.Open(filepath.Join(t.TempDir(), "lathe.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := New(st, memblob.New())
	var alice store.Owner
	var m store.Module
	err = st.Update(ctx, func(tx store.Tx) (err error) {
		if alice, err = tx.CreateOwner(ctx, store.Owner{ID: NewID(), Name: "alice", Kind: store.OwnerUser}); err != nil {
			return err
		}
		m, err = tx.CreateModule(ctx, store.Module{ID: NewID(), OwnerID: alice.ID, Name: "m", Visibility: store.Public, State: store.Active, DefaultLabelName: "main"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	asAlice := auth.WithUser(ctx, alice)
	if _, err := r.ReadableModule(ctx, m.ID); err != nil {
		t.Fatalf("public module, anonymous: %v", err)
	}
	private := store.Private
	if _, err := r.UpdateModule(asAlice, ModuleRef{ID: m.ID}, ModuleUpdate{Visibility: &private}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadableModule(ctx, m.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("private module, anonymous, right after the change: %v, want not found", err)
	}
	if _, err := r.ReadableModule(asAlice, m.ID); err != nil {
		t.Errorf("private module, owner: %v", err)
	}
	if err := r.DeleteModule(asAlice, ModuleRef{ID: m.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadableModule(asAlice, m.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted module: %v, want not found", err)
	}
}
