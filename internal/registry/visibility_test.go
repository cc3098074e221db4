package registry

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-registry/lathe/internal/auth"
	"github.com/lathe-registry/lathe/internal/blob"
	"github.com/lathe-registry/lathe/internal/blob/memblob"
	"github.com/lathe-registry/lathe/internal/module"
	"github.com/lathe-registry/lathe/internal/store"
	"github.com/lathe-registry/lathe/internal/store/sqlitestore"
)

// visFixture is a registry with users alice and bob and no modules.
type visFixture struct {
	t          *testing.T
	r          *Registry
	st         store.Store
	blobs      *memblob.Store
	alice, bob store.Owner
}

func newVisFixture(t *testing.T) *visFixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlitestore.Open(filepath.Join(t.TempDir(), "lathe.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &visFixture{t: t, st: st, blobs: memblob.New()}
	f.r = New(st, f.blobs)
	err = st.Update(ctx, func(tx store.Tx) (err error) {
		if f.alice, err = tx.CreateOwner(ctx, store.Owner{ID: NewID(), Name: "alice", Kind: store.OwnerUser}); err != nil {
			return err
		}
		f.bob, err = tx.CreateOwner(ctx, store.Owner{ID: NewID(), Name: "bob", Kind: store.OwnerUser})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *visFixture) as(u store.Owner) context.Context { return auth.WithUser(context.Background(), u) }

func (f *visFixture) create(u store.Owner, name string, v store.Visibility) store.Module {
	f.t.Helper()
	m, err := f.r.CreateModule(f.as(u), CreateModuleParams{Owner: u.Name, Name: name, Visibility: v})
	if err != nil {
		f.t.Fatal(err)
	}
	return m
}

// protoFile is a file of package name.v1 defining message M, importing the files of
// the named packages.
func protoFile(name string, imports ...string) module.File {
	var b strings.Builder
	b.WriteString("syntax = \"proto3\";\npackage " + name + ".v1;\n")
	for _, imp := range imports {
		b.WriteString("import \"" + imp + "/v1/" + imp + ".proto\";\n")
	}
	b.WriteString("message M {\n")
	for i, imp := range imports {
		b.WriteString("  " + imp + ".v1.M f" + string(rune('0'+i)) + " = " + string(rune('1'+i)) + ";\n")
	}
	b.WriteString("}\n")
	return module.File{Path: name + "/v1/" + name + ".proto", Content: []byte(b.String())}
}

func (f *visFixture) push(u store.Owner, name string, deps []string, imports ...string) (store.Commit, error) {
	cs, _, err := f.r.Upload(f.as(u), []UploadContent{{Module: ModuleRef{Owner: u.Name, Name: name}, Files: []module.File{protoFile(name, imports...)}}}, deps)
	if err != nil {
		return store.Commit{}, err
	}
	return cs[0], nil
}

func (f *visFixture) mustPush(u store.Owner, name string, deps []string, imports ...string) store.Commit {
	f.t.Helper()
	c, err := f.push(u, name, deps, imports...)
	if err != nil {
		f.t.Fatalf("push %s: %v", name, err)
	}
	return c
}

func (f *visFixture) setVisibility(u store.Owner, name string, v store.Visibility) error {
	_, err := f.r.UpdateModule(f.as(u), ModuleRef{Owner: u.Name, Name: name}, ModuleUpdate{Visibility: &v})
	return err
}

func wantRefusal(t *testing.T, what string, err error, parts ...string) {
	t.Helper()
	if !errors.Is(err, ErrFailedPrecondition) {
		t.Fatalf("%s: got %v, want a failed precondition", what, err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: message %q does not say %q", what, err, p)
		}
	}
}

// A push whose closure holds a module not every reader of the pushed module may read
// is refused, names the dependency, says what to do, and stores nothing.
func TestPushClosureRule(t *testing.T) {
	f := newVisFixture(t)
	ctx := f.as(f.alice)
	f.create(f.alice, "secretmod", store.Private)
	secret := f.mustPush(f.alice, "secretmod", nil)
	pubdep := f.create(f.alice, "pubdep", store.Public)

	_, err := f.push(f.alice, "pubdep", []string{secret.ID}, "secretmod")
	wantRefusal(t, "public pubdep importing private secretmod", err,
		"module alice/pubdep is public and may not depend on alice/secretmod, which is private",
		"make alice/secretmod public, or make alice/pubdep private")
	if cs, err := f.st.ListCommits(ctx, pubdep.ID, false, store.Page{}); err != nil || len(cs) != 0 {
		t.Errorf("pubdep has commits %v (%v) after the refused push", cs, err)
	}
	if _, err := f.st.LabelByName(ctx, pubdep.ID, "main"); !isNotFound(err) {
		t.Errorf("pubdep has a main label after the refused push: %v", err)
	}
	file := protoFile("pubdep", "secretmod")
	manifest, _ := module.Manifest([]module.File{file})
	for _, data := range [][]byte{file.Content, manifest} {
		if ok, err := f.blobs.Exists(ctx, blob.Key(data)); err != nil || ok {
			t.Errorf("a blob of the refused push was stored (%v)", err)
		}
	}

	// The same, with the private module pushed in the same upload.
	f.create(f.alice, "secret2", store.Private)
	f.create(f.alice, "pub2", store.Public)
	_, _, err = f.r.Upload(ctx, []UploadContent{
		{Module: ModuleRef{Owner: "alice", Name: "pub2"}, Files: []module.File{protoFile("pub2", "secret2")}},
		{Module: ModuleRef{Owner: "alice", Name: "secret2"}, Files: []module.File{protoFile("secret2")}},
	}, nil)
	wantRefusal(t, "one upload of public pub2 importing private secret2", err, "alice/pub2", "alice/secret2")

	// A private module may depend on its owner's private modules and on public ones.
	f.create(f.alice, "privdep", store.Private)
	f.create(f.alice, "lib", store.Public)
	lib := f.mustPush(f.alice, "lib", nil)
	f.mustPush(f.alice, "privdep", []string{secret.ID, lib.ID}, "secretmod", "lib")
	// A public module may depend on public ones, also of other owners.
	f.create(f.bob, "bobpub", store.Public)
	f.mustPush(f.bob, "bobpub", []string{lib.ID}, "lib")
	f.create(f.bob, "bobpriv", store.Private)
	f.mustPush(f.bob, "bobpriv", []string{lib.ID}, "lib")
	// Another owner's private module is no dependency at all: its pusher cannot read it.
	f.create(f.bob, "bobsteal", store.Private)
	if _, err := f.push(f.bob, "bobsteal", []string{secret.ID}, "secretmod"); !isNotFound(err) || strings.Contains(err.Error(), "secretmod") {
		t.Errorf("bob pushing against alice's private commit: %v, want a not-found naming nothing", err)
	}
}

// A transitive dependency counts: a closure is checked whole, not only its direct
// dependencies, for data stored before the rule.
func TestPushClosureRuleTransitive(t *testing.T) {
	f := newVisFixture(t)
	f.create(f.alice, "secretmod", store.Private)
	secret := f.mustPush(f.alice, "secretmod", nil)
	mid := f.create(f.alice, "mid", store.Private)
	midC := f.mustPush(f.alice, "mid", []string{secret.ID}, "secretmod")
	mid.Visibility = store.Public // behind the rule's back
	if err := f.st.Update(context.Background(), func(tx store.Tx) error {
		_, err := tx.UpdateModule(context.Background(), mid)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	f.r.modules.forget(mid.ID)
	f.create(f.alice, "top", store.Public)
	_, err := f.push(f.alice, "top", []string{midC.ID, secret.ID}, "mid")
	wantRefusal(t, "public top importing public mid importing private secretmod", err, "alice/top", "alice/secretmod")
}

// Visibility changes that would break the rule are refused in both directions, and
// the ones that keep it are allowed.
func TestVisibilityChangeRule(t *testing.T) {
	f := newVisFixture(t)
	f.create(f.alice, "secretmod", store.Private)
	secret := f.mustPush(f.alice, "secretmod", nil)
	f.create(f.alice, "pubdep", store.Private)
	f.mustPush(f.alice, "pubdep", []string{secret.ID}, "secretmod")

	// Public while a commit depends on a private module: refused.
	wantRefusal(t, "making pubdep public", f.setVisibility(f.alice, "pubdep", store.Public),
		"module alice/pubdep cannot be made public: its commits depend on alice/secretmod", "make alice/secretmod public first")
	// Settings other than visibility still change, and so does setting the same visibility.
	desc := "uses the secret"
	if _, err := f.r.UpdateModule(f.as(f.alice), ModuleRef{Owner: "alice", Name: "pubdep"}, ModuleUpdate{Description: &desc}); err != nil {
		t.Errorf("changing pubdep's description: %v", err)
	}
	if err := f.setVisibility(f.alice, "pubdep", store.Private); err != nil {
		t.Errorf("setting pubdep private again: %v", err)
	}
	// Dependencies first, then the dependent: allowed.
	if err := f.setVisibility(f.alice, "secretmod", store.Public); err != nil {
		t.Fatalf("making secretmod public: %v", err)
	}
	if err := f.setVisibility(f.alice, "pubdep", store.Public); err != nil {
		t.Fatalf("making pubdep public after secretmod: %v", err)
	}
	// Private while a public module depends on it: refused; the dependent first: allowed.
	wantRefusal(t, "making secretmod private", f.setVisibility(f.alice, "secretmod", store.Private),
		"module alice/secretmod cannot be made private: alice/pubdep depends on it", "make alice/pubdep private first")
	if err := f.setVisibility(f.alice, "pubdep", store.Private); err != nil {
		t.Fatalf("making pubdep private: %v", err)
	}
	if err := f.setVisibility(f.alice, "secretmod", store.Private); err != nil {
		t.Fatalf("making secretmod private after pubdep (a private module of the same owner may depend on it): %v", err)
	}

	// Other owners' modules, even private ones, keep a module public; they are counted,
	// not named.
	f.create(f.alice, "lib", store.Public)
	lib := f.mustPush(f.alice, "lib", nil)
	f.create(f.bob, "bobpriv", store.Private)
	f.mustPush(f.bob, "bobpriv", []string{lib.ID}, "lib")
	err := f.setVisibility(f.alice, "lib", store.Private)
	wantRefusal(t, "making lib private", err, "alice/lib cannot be made private: 1 module you cannot see depends on it",
		"alice/lib stays public until it is made private or deleted")
	if strings.Contains(err.Error(), "bobpriv") {
		t.Errorf("the refusal names bob's private module: %v", err)
	}
	f.create(f.alice, "app", store.Public)
	f.mustPush(f.alice, "app", []string{lib.ID}, "lib")
	f.create(f.bob, "bobpub", store.Public)
	f.mustPush(f.bob, "bobpub", []string{lib.ID}, "lib")
	wantRefusal(t, "making lib private", f.setVisibility(f.alice, "lib", store.Private),
		"alice/app, bob/bobpub and 1 module you cannot see depend on it", "make alice/app and bob/bobpub private first")
}

// A private commit, label or module looked up by id answers exactly what an id of
// nothing answers, to anonymous callers and other users, and names no internal id.
func TestNotFoundUniform(t *testing.T) {
	f := newVisFixture(t)
	secretmod := f.create(f.alice, "secretmod", store.Private)
	secret := f.mustPush(f.alice, "secretmod", nil)
	label, err := f.st.LabelByName(context.Background(), secretmod.ID, "main")
	if err != nil {
		t.Fatal(err)
	}
	const asked = "<id>"
	lookups := []struct {
		name string
		run  func(ctx context.Context, id string) error
	}{
		{"Resource", func(ctx context.Context, id string) error {
			_, err := f.r.Resource(ctx, ResourceRef{ID: id})
			return err
		}},
		{"Commit", func(ctx context.Context, id string) error {
			_, _, err := f.r.Commit(ctx, ResourceRef{ID: id})
			return err
		}},
		{"Label", func(ctx context.Context, id string) error {
			_, _, err := f.r.Label(ctx, LabelRef{ID: id})
			return err
		}},
		{"Module", func(ctx context.Context, id string) error {
			_, _, err := f.r.Module(ctx, ModuleRef{ID: id})
			return err
		}},
		{"ReadableModule", func(ctx context.Context, id string) error {
			_, err := f.r.ReadableModule(ctx, id)
			return err
		}},
		{"CommitByID", func(ctx context.Context, id string) error {
			_, err := f.r.CommitByID(ctx, id)
			return err
		}},
		{"LabelHistory", func(ctx context.Context, id string) error {
			_, _, err := f.r.LabelHistory(ctx, id, false, false, store.Page{})
			return err
		}},
		{"ListCommits", func(ctx context.Context, id string) error {
			_, err := f.r.ListCommits(ctx, id, false, store.Page{})
			return err
		}},
		{"ListLabels", func(ctx context.Context, id string) error {
			_, err := f.r.ListLabels(ctx, id, store.AllLabels, "", false, store.Page{})
			return err
		}},
	}
	callers := map[string]context.Context{"anonymous": context.Background(), "bob": f.as(f.bob)}
	privateIDs := map[string]string{"commit": secret.ID, "label": label.ID, "module": secretmod.ID}
	for cname, ctx := range callers {
		for _, l := range lookups {
			random := NewID()
			wantErr := l.run(ctx, random)
			if !isNotFound(wantErr) {
				t.Fatalf("%s %s of a random id: %v, want not found", cname, l.name, wantErr)
			}
			want := strings.ReplaceAll(wantErr.Error(), random, asked)
			for kind, id := range privateIDs {
				err := l.run(ctx, id)
				if !isNotFound(err) {
					t.Errorf("%s %s of the private %s's id: %v, want not found", cname, l.name, kind, err)
					continue
				}
				if got := strings.ReplaceAll(err.Error(), id, asked); got != want {
					t.Errorf("%s %s of the private %s's id: %q, want %q as for a random id", cname, l.name, kind, got, want)
				}
				for other, oid := range privateIDs {
					if oid != id && strings.Contains(err.Error(), oid) {
						t.Errorf("%s %s of the private %s's id names the %s: %q", cname, l.name, kind, other, err)
					}
				}
			}
		}
	}
}

// A module looked up by an id that is often not the caller's own (a commit's module,
// an artifact's) answers without naming it.
func TestModuleNotFoundNamesNoID(t *testing.T) {
	f := newVisFixture(t)
	m := f.create(f.alice, "secretmod", store.Private)
	for _, id := range []string{m.ID, NewID()} {
		_, _, err := f.r.Module(context.Background(), ModuleRef{ID: id})
		_, rerr := f.r.ReadableModule(context.Background(), id)
		for _, e := range []error{err, rerr} {
			if !isNotFound(e) || strings.Contains(e.Error(), id) {
				t.Errorf("lookup of module id %s: %v, want a not-found naming no id", id, e)
			}
		}
	}
}
