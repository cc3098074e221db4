package registry

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/lathe-registry/lathe/internal/auth"
	"github.com/lathe-registry/lathe/internal/blob/memblob"
	"github.com/lathe-registry/lathe/internal/module"
	"github.com/lathe-registry/lathe/internal/store"
	"github.com/lathe-registry/lathe/internal/store/sqlitestore"
)

// accessFixture is alice's public module pub, her private module priv, and her public
// module pubdep whose commit imports priv (made public behind the closure rule's back), each with one commit on main, a package
// version, an interest and a job.
type accessFixture struct {
	r            *Registry
	st           store.Store
	alice, bob   store.Owner
	pub, priv    store.Module
	pubdep       store.Module
	commits      map[string]store.Commit
	jobs         map[string]int64
	labels       map[string]store.Label
	artifactName map[string]string
}

func newAccessFixture(t *testing.T) *accessFixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlitestore.Open(filepath.Join(t.TempDir(), "lathe.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &accessFixture{r: New(st, memblob.New()), st: st, commits: map[string]store.Commit{}, jobs: map[string]int64{}, labels: map[string]store.Label{}, artifactName: map[string]string{}}
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
	asAlice := auth.WithUser(ctx, f.alice)
	create := func(name string, v store.Visibility) store.Module {
		m, err := f.r.CreateModule(asAlice, CreateModuleParams{Owner: "alice", Name: name, Visibility: v})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	f.pub, f.priv, f.pubdep = create("pub", store.Public), create("priv", store.Private), create("pubdep", store.Private)
	push := func(name string, files map[string]string, deps ...string) {
		var fs []module.File
		for p, c := range files {
			fs = append(fs, module.File{Path: p, Content: []byte(c)})
		}
		cs, _, err := f.r.Upload(asAlice, []UploadContent{{Module: ModuleRef{Owner: "alice", Name: name}, Files: fs}}, deps)
		if err != nil {
			t.Fatalf("push %s: %v", name, err)
		}
		f.commits[name] = cs[0]
		l, err := st.LabelByName(ctx, cs[0].ModuleID, "main")
		if err != nil {
			t.Fatal(err)
		}
		f.labels[name] = l
	}
	push("pub", map[string]string{"pub/v1/pub.proto": "syntax = \"proto3\";\npackage pub.v1;\nmessage Pub {}\n"})
	push("priv", map[string]string{"priv/v1/priv.proto": "syntax = \"proto3\";\npackage priv.v1;\nmessage Secret {}\n"})
	push("pubdep", map[string]string{"pubdep/v1/pubdep.proto": "syntax = \"proto3\";\npackage pubdep.v1;\nimport \"priv/v1/priv.proto\";\nmessage Uses { priv.v1.Secret s = 1; }\n"}, f.commits["priv"].ID)
	// The closure rule refuses a public module depending on a private one; data stored
	// before the rule can still have one, and reads must stop at priv all the same.
	f.pubdep.Visibility = store.Public
	if err := st.Update(ctx, func(tx store.Tx) (err error) {
		f.pubdep, err = tx.UpdateModule(ctx, f.pubdep)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"pub", "priv", "pubdep"} {
		m := f.commits[name].ModuleID
		f.artifactName[name] = "alice_" + name
		err := st.Update(ctx, func(tx store.Tx) error {
			if _, err := tx.PutArtifact(ctx, store.Artifact{Ecosystem: "test", Name: f.artifactName[name], Version: "1.0.0", ModuleID: m, Blob: "b"}); err != nil {
				return err
			}
			if _, err := tx.AddInterest(ctx, store.Interest{ModuleID: m, Ecosystem: "test", Generator: "plugin:x/y"}); err != nil {
				return err
			}
			j, err := tx.EnqueueJob(ctx, store.Job{Ecosystem: "test", ModuleID: m, CommitID: f.commits[name].ID, Generator: "plugin:x/y", PluginVersion: "v1", PluginRevision: 1})
			f.jobs[name] = j.ID
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *accessFixture) module(name string) store.Module {
	switch name {
	case "pub":
		return f.pub
	case "priv":
		return f.priv
	}
	return f.pubdep
}

// outcome is what an access check answers.
type outcome int

const (
	allowed outcome = iota
	notFound
	unauthenticated
	denied
)

func (o outcome) String() string {
	return [...]string{"allowed", "not found", "unauthenticated", "permission denied"}[o]
}

func outcomeOf(err error) (outcome, error) {
	switch {
	case err == nil:
		return allowed, nil
	case errors.Is(err, ErrNotFound):
		return notFound, nil
	case errors.Is(err, ErrUnauthenticated):
		return unauthenticated, nil
	case errors.Is(err, ErrPermissionDenied):
		return denied, nil
	}
	return 0, err
}

// The actors of the grid.
const (
	anonymous = "anonymous"
	owner     = "owner"
	other     = "other user"
	system    = "system"
)

var actors = []string{anonymous, owner, other, system}

func (f *accessFixture) as(actor string) context.Context {
	ctx := context.Background()
	switch actor {
	case owner:
		return auth.WithUser(ctx, f.alice)
	case other:
		return auth.WithUser(ctx, f.bob)
	case system:
		return auth.AsSystem(ctx)
	}
	return ctx
}

// accessCase is one path of the registry, run by an actor against one of the fixture's
// modules.
type accessCase struct {
	// method is the Registry method the path goes through.
	method string
	// kind selects the expectations: reads of content, writes, owner-only creation or
	// the server's own bookkeeping.
	kind string
	run  func(ctx context.Context, f *accessFixture, target string) error
}

const (
	kindRead   = "read"
	kindWrite  = "write"
	kindSystem = "system"
)

// want is the outcome of a case for an actor on a target module.
func want(kind, method, actor, target string) outcome {
	private := target == "priv"
	switch kind {
	case kindSystem:
		if actor == system {
			return allowed
		}
		return denied
	case kindRead:
		if private && (actor == anonymous || actor == other) {
			return notFound
		}
		if target == "pubdep" {
			// Only the walks use this target: its stored edge to priv breaks the
			// visibility rule, so no walk follows it, not even the owner's or the server's.
			return notFound
		}
		return allowed
	}
	// Writes: the server's own work reads everything and writes nothing.
	switch {
	case actor == system, actor == anonymous && method == "Upload":
		// An upload needs a token before it names any module.
		return unauthenticated
	case private && actor != owner:
		return notFound
	case actor == owner:
		return allowed
	case actor == other:
		return denied
	}
	return unauthenticated
}

// present turns "not in the list" into a not-found outcome, for lists that filter.
func present(found bool) error {
	if found {
		return nil
	}
	return ErrNotFound
}

func accessCases() []accessCase {
	c := func(f *accessFixture, target string) store.Commit { return f.commits[target] }
	return []accessCase{
		{"Module", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			_, _, err := f.r.Module(ctx, ModuleRef{Owner: "alice", Name: target})
			return err
		}},
		{"Module", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			_, _, err := f.r.Module(ctx, ModuleRef{ID: f.module(target).ID})
			return err
		}},
		{"ReadableModule", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			_, err := f.r.ReadableModule(ctx, f.module(target).ID)
			return err
		}},
		{"ListModules", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			ms, _, err := f.r.ListModules(ctx, "alice", false, store.Page{})
			if err != nil {
				return err
			}
			return present(slices.ContainsFunc(ms, func(m store.Module) bool { return m.Name == target }))
		}},
		{"Resource", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			_, err := f.r.Resource(ctx, ResourceRef{Owner: "alice", Module: target, LabelName: "main"})
			return err
		}},
		{"Resource", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			_, err := f.r.Resource(ctx, ResourceRef{Owner: "alice", Module: target, Ref: c(f, target).ID})
			return err
		}},
		{"Resource", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			_, err := f.r.Resource(ctx, ResourceRef{ID: c(f, target).ID})
			return err
		}},
		{"Resource", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			_, err := f.r.Resource(ctx, ResourceRef{ID: f.labels[target].ID})
			return err
		}},
		{"Resource", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			_, err := f.r.Resource(ctx, ResourceRef{ID: f.module(target).ID})
			return err
		}},
		{"Commit", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			_, _, err := f.r.Commit(ctx, ResourceRef{Owner: "alice", Module: target})
			return err
		}},
		{"CommitByID", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			_, err := f.r.CommitByID(ctx, c(f, target).ID)
			return err
		}},
		{"ModuleCommit", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			_, err := f.r.ModuleCommit(ctx, f.module(target), CommitRef{ID: c(f, target).ID[:MinCommitPrefix]})
			return err
		}},
		{"ModuleCommit", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			_, err := f.r.ModuleCommit(ctx, f.module(target), CommitRef{Seq: 1})
			return err
		}},
		{"ModuleCommit", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			_, err := f.r.ModuleCommit(ctx, f.module(target), CommitRef{Label: "main"})
			return err
		}},
		{"OnDefaultLabel", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			_, err := f.r.OnDefaultLabel(ctx, f.module(target), c(f, target))
			return err
		}},
		{"ListCommits", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			_, err := f.r.ListCommits(ctx, f.module(target).ID, false, store.Page{})
			return err
		}},
		{"Label", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			_, _, err := f.r.Label(ctx, LabelRef{Owner: "alice", Module: target, Name: "main"})
			return err
		}},
		{"Label", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			_, _, err := f.r.Label(ctx, LabelRef{ID: f.labels[target].ID})
			return err
		}},
		{"ListLabels", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			_, err := f.r.ListLabels(ctx, f.module(target).ID, store.AllLabels, "", false, store.Page{})
			return err
		}},
		{"LabelHistory", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			_, _, err := f.r.LabelHistory(ctx, f.labels[target].ID, false, false, store.Page{})
			return err
		}},
		{"Files", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			_, err := f.r.Files(ctx, c(f, target), nil)
			return err
		}},
		{"Graph", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			_, err := f.r.Graph(ctx, []store.Commit{c(f, target)})
			return err
		}},
		{"GenerationFiles", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			_, _, err := f.r.GenerationFiles(ctx, c(f, target))
			return err
		}},
		{"Artifact", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			_, err := f.r.Artifact(ctx, "test", f.artifactName[target], "1.0.0")
			return err
		}},
		{"ListArtifacts", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			as, err := f.r.ListArtifacts(ctx, "test", f.artifactName[target], store.Page{})
			if err != nil {
				return err
			}
			return present(len(as) > 0 && as[0].ModuleID == f.module(target).ID)
		}},
		{"PublishArtifact", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			_, err := f.r.PublishArtifact(ctx, store.Artifact{Ecosystem: "test", Name: f.artifactName[target], Version: "2.0.0", ModuleID: f.module(target).ID, Blob: "b"})
			return err
		}},
		{"Interests", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			_, err := f.r.Interests(ctx, f.module(target).ID)
			return err
		}},
		{"AddInterest", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			_, err := f.r.AddInterest(ctx, store.Interest{ModuleID: f.module(target).ID, Ecosystem: "test", Generator: "plugin:x/z"})
			return err
		}},
		{"Jobs", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			js, err := f.r.Jobs(ctx, 0, store.Page{})
			if err != nil {
				return err
			}
			return present(slices.ContainsFunc(js, func(j store.Job) bool { return j.ModuleID == f.module(target).ID }))
		}},
		{"EnqueueJob", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			_, err := f.r.EnqueueJob(ctx, store.Job{Ecosystem: "test", ModuleID: f.module(target).ID, CommitID: c(f, target).ID, Generator: "plugin:x/z"})
			return err
		}},
		{"RecordFailedJob", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			return f.r.RecordFailedJob(ctx, store.Job{Ecosystem: "test", ModuleID: f.module(target).ID, CommitID: c(f, target).ID, Generator: "plugin:x/w"}, "failed")
		}},
		{"ClearJob", kindRead, func(ctx context.Context, f *accessFixture, target string) error {
			return f.r.ClearJob(ctx, store.Job{Ecosystem: "test", ModuleID: f.module(target).ID, CommitID: c(f, target).ID, Generator: "plugin:x/w"})
		}},
		{"FailJob", kindSystem, func(ctx context.Context, f *accessFixture, target string) error {
			return f.r.FailJob(ctx, f.jobs[target], "failed")
		}},
		{"FinishJob", kindSystem, func(ctx context.Context, f *accessFixture, target string) error {
			return f.r.FinishJob(ctx, f.jobs[target])
		}},
		{"UpdateModule", kindWrite, func(ctx context.Context, f *accessFixture, target string) error {
			d := "changed"
			_, err := f.r.UpdateModule(ctx, ModuleRef{Owner: "alice", Name: target}, ModuleUpdate{Description: &d})
			return err
		}},
		{"SetLabel", kindWrite, func(ctx context.Context, f *accessFixture, target string) error {
			_, err := f.r.SetLabel(ctx, LabelRef{Owner: "alice", Module: target, Name: "v1"}, c(f, target).ID)
			return err
		}},
		{"SetLabelArchived", kindWrite, func(ctx context.Context, f *accessFixture, target string) error {
			return f.r.SetLabelArchived(ctx, LabelRef{Owner: "alice", Module: target, Name: "main"}, false)
		}},
		{"Upload", kindWrite, func(ctx context.Context, f *accessFixture, target string) error {
			files, err := f.r.Files(auth.AsSystem(ctx), c(f, target), nil)
			if err != nil {
				return err
			}
			_, _, err = f.r.Upload(ctx, []UploadContent{{Module: ModuleRef{Owner: "alice", Name: target}, Files: files}}, c(f, target).DirectDeps)
			return err
		}},
		{"DeleteModule", kindWrite, func(ctx context.Context, f *accessFixture, target string) error {
			return f.r.DeleteModule(ctx, ModuleRef{Owner: "alice", Name: target})
		}},
	}
}

// exempt are the exported methods of Registry outside the grid, and why.
var exempt = map[string]string{
	"Owner":           "owners are public",
	"PluginVersion":   "plugins are public",
	"PluginVersions":  "plugins are public",
	"Plugins":         "plugins are public",
	"TemplateVersion": "templates are public",
	"PushPlugin":      "operators only: not reachable through the API (TestCreateUnderOwner covers PublishPlugin)",
	"PushTemplate":    "operators only: not reachable through the API",
	"PublishPlugin":   "creation under an owner: TestCreateUnderOwner",
	"CreateModule":    "creation under an owner: TestCreateUnderOwner",
	"OnLabelMove":     "wiring, not a request path",
	"Users":           "token lookups for authentication",
}

// The grid: every actor × every path × a public module, a private one, and a public one
// that depends on the private one. Every exported method of Registry is in it or in
// exempt.
func TestAccessGrid(t *testing.T) {
	covered := map[string]bool{}
	for _, ac := range accessCases() {
		covered[ac.method] = true
	}
	rt := reflect.TypeFor[*Registry]()
	for i := range rt.NumMethod() {
		name := rt.Method(i).Name
		if !covered[name] && exempt[name] == "" {
			t.Errorf("Registry.%s is neither in the access grid nor exempt: add it to accessCases", name)
		}
	}
	cases := 0
	shared := newAccessFixture(t)
	for _, actor := range actors {
		for i, ac := range accessCases() {
			for _, target := range []string{"pub", "priv", "pubdep"} {
				walks := ac.method == "Graph" || ac.method == "GenerationFiles"
				if target == "pubdep" && !walks {
					continue
				}
				t.Run(fmt.Sprintf("%s/%s#%d/%s", actor, ac.method, i, target), func(t *testing.T) {
					// Writes (deletes included) get a fixture of their own.
					f := shared
					if ac.kind == kindWrite {
						f = newAccessFixture(t)
					}
					wantOut := want(ac.kind, ac.method, actor, target)
					got, err := outcomeOf(ac.run(f.as(actor), f, target))
					if err != nil {
						t.Fatalf("unexpected error: %v", err)
					}
					if got != wantOut {
						t.Errorf("got %s, want %s", got, wantOut)
					}
				})
				cases++
			}
		}
	}
	t.Logf("%d access cases", cases)
}

// Creating under an owner is the owner's alone.
func TestCreateUnderOwner(t *testing.T) {
	f := newAccessFixture(t)
	for _, actor := range actors {
		ctx := f.as(actor)
		_, err := f.r.CreateModule(ctx, CreateModuleParams{Owner: "alice", Name: "new-" + actor[:3]})
		gotModule, oerr := outcomeOf(err)
		_, err = f.r.PublishPlugin(ctx, PluginParams{Owner: "alice", Name: "p"})
		gotPlugin, perr := outcomeOf(err)
		wantOut := map[string]outcome{anonymous: unauthenticated, owner: allowed, other: denied, system: unauthenticated}[actor]
		if oerr != nil || gotModule != wantOut {
			t.Errorf("%s: CreateModule: %v %v, want %s", actor, gotModule, oerr, wantOut)
		}
		if actor == owner {
			continue // publishing needs a valid plugin; the check passed if it got past access
		}
		if perr != nil || gotPlugin != wantOut {
			t.Errorf("%s: PublishPlugin: %v %v, want %s", actor, gotPlugin, perr, wantOut)
		}
	}
}
