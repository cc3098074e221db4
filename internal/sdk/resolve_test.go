package sdk

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/lathe-registry/lathe/internal/blob/memblob"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/store"
	"github.com/lathe-registry/lathe/internal/store/sqlitestore"
)

// A plugin published as v36.0 is found by the canonical v36.0.0 that versions carry, and
// every Resolve pins what it names.
func TestResolve(t *testing.T) {
	ctx := context.Background()
	st, err := sqlitestore.Open(filepath.Join(t.TempDir(), "lathe.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg := registry.New(st, memblob.New())
	for _, v := range []string{"v36.0", "v36.1"} {
		if _, err := reg.PushPlugin(ctx, registry.PluginParams{Owner: "protocolbuffers", Name: "python", Version: v,
			Config:  []byte("version: v1\nname: buf.build/protocolbuffers/python\nplugin_version: " + v + "\n"),
			Runtime: "native", Program: []byte("x"), ProgramName: "protoc-gen-python"}); err != nil {
			t.Fatal(err)
		}
	}
	var commits []store.Commit
	err = st.Update(ctx, func(tx store.Tx) error {
		o, err := tx.CreateOwner(ctx, store.Owner{ID: registry.NewID(), Name: "acme", Kind: store.OwnerUser})
		if err != nil {
			return err
		}
		m, err := tx.CreateModule(ctx, store.Module{ID: registry.NewID(), OwnerID: o.ID, Name: "m", Visibility: store.Public, State: store.Active, DefaultLabelName: "main"})
		if err != nil {
			return err
		}
		for _, label := range []string{"main", "feature"} {
			c, err := tx.CreateCommit(ctx, store.Commit{ID: registry.NewID(), ModuleID: m.ID, OwnerID: o.ID, Digest: make([]byte, 64), Manifest: "x", CreatedByUserID: o.ID})
			if err != nil {
				return err
			}
			if _, err := tx.SetLabel(ctx, m.ID, label, c.ID, o.ID); err != nil {
				return err
			}
			commits = append(commits, c)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s := New(reg, memblob.New(), nil)
	target := SDK{Owner: "acme", Module: "m", Gen: Generator{Owner: "protocolbuffers", Name: "python"}}
	for _, c := range []struct {
		ref         CommitRef
		pin         Pin
		wantCommit  int
		wantVersion string
		onDefault   bool
	}{
		{CommitRef{}, Pin{}, 0, "v36.1", true},
		{CommitRef{Label: "feature"}, Pin{Version: "v36.0.0"}, 1, "v36.0", false},
		{CommitRef{ID: commits[1].ID[:12]}, Pin{Version: "v36.1.0", Revision: 1}, 1, "v36.1", false},
		{CommitRef{Seq: 1}, Pin{Version: "v36.0"}, 0, "v36.0", true},
	} {
		b, err := s.Resolve(ctx, target, c.ref, c.pin)
		if err != nil {
			t.Errorf("Resolve(%+v, %+v): %v", c.ref, c.pin, err)
			continue
		}
		if b.Commit.ID != commits[c.wantCommit].ID || b.Plugin().Version.Version != c.wantVersion || b.OnDefaultLabel != c.onDefault {
			t.Errorf("Resolve(%+v, %+v) = commit %d %s, %s, on default %v", c.ref, c.pin, b.Commit.Seq, b.Commit.ID, b.Plugin().Version.Version, b.OnDefaultLabel)
		}
	}
	for _, c := range []struct {
		ref CommitRef
		pin Pin
	}{
		{CommitRef{}, Pin{Version: "v37.0.0"}},
		{CommitRef{Label: "nope"}, Pin{}},
		{CommitRef{ID: "0123456789ab"}, Pin{}},
		{CommitRef{Seq: 3}, Pin{}},
		{CommitRef{}, Pin{Version: "v36.0.0", Revision: 2}},
	} {
		if _, err := s.Resolve(ctx, target, c.ref, c.pin); err == nil {
			t.Errorf("Resolve(%+v, %+v) succeeded", c.ref, c.pin)
		}
	}
}

// Owners are looked up case-insensitively, but an SDK has one spelling: any other is an
// SDK that does not exist, answered as one, so that it generates nothing.
func TestResolveCanonicalNames(t *testing.T) {
	ctx := context.Background()
	st, err := sqlitestore.Open(filepath.Join(t.TempDir(), "lathe.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg := registry.New(st, memblob.New())
	if _, err := reg.PushPlugin(ctx, registry.PluginParams{Owner: "protocolbuffers", Name: "python", Version: "v36.0",
		Config:  []byte("version: v1\nname: buf.build/protocolbuffers/python\nplugin_version: v36.0\n"),
		Runtime: "native", Program: []byte("x"), ProgramName: "protoc-gen-python"}); err != nil {
		t.Fatal(err)
	}
	err = st.Update(ctx, func(tx store.Tx) error {
		o, err := tx.CreateOwner(ctx, store.Owner{ID: registry.NewID(), Name: "acme", Kind: store.OwnerUser})
		if err != nil {
			return err
		}
		m, err := tx.CreateModule(ctx, store.Module{ID: registry.NewID(), OwnerID: o.ID, Name: "m", Visibility: store.Public, State: store.Active, DefaultLabelName: "main"})
		if err != nil {
			return err
		}
		c, err := tx.CreateCommit(ctx, store.Commit{ID: registry.NewID(), ModuleID: m.ID, OwnerID: o.ID, Digest: make([]byte, 64), Manifest: "x", CreatedByUserID: o.ID})
		if err != nil {
			return err
		}
		_, err = tx.SetLabel(ctx, m.ID, "main", c.ID, o.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	s := New(reg, memblob.New(), nil)
	gen := Generator{Owner: "protocolbuffers", Name: "python"}
	if _, err := s.Resolve(ctx, SDK{Owner: "acme", Module: "m", Gen: gen}, CommitRef{}, Pin{}); err != nil {
		t.Fatal(err)
	}
	for _, sdk := range []SDK{
		{Owner: "Acme", Module: "m", Gen: gen},
		{Owner: "ACME", Module: "m", Gen: gen},
		{Owner: "acme", Module: "M", Gen: gen},
		{Owner: "acme", Module: "m", Gen: Generator{Owner: "Protocolbuffers", Name: "python"}},
		{Owner: "acme", Module: "m", Gen: Generator{Owner: "protocolbuffers", Name: "Python"}},
	} {
		_, err := s.Resolve(ctx, sdk, CommitRef{}, Pin{})
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("Resolve(%v) = %v, want not found", sdk, err)
		}
	}
	// The answer is the one for a name never used.
	_, variant := s.Resolve(ctx, SDK{Owner: "Acme", Module: "m", Gen: gen}, CommitRef{}, Pin{})
	_, missing := s.Resolve(ctx, SDK{Owner: "Acme", Module: "nope", Gen: gen}, CommitRef{}, Pin{})
	if want := `module "Acme/m" not found`; variant == nil || variant.Error() != want || missing == nil || missing.Error() != `module "Acme/nope" not found` {
		t.Errorf("variant: %v (want %s); missing: %v", variant, want, missing)
	}
}
