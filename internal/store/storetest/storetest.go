// Package storetest is the conformance suite of [store.Store] backends.
//
// A backend's tests call [Run], and its benchmarks [Bench], with a function that opens a
// fresh, empty store; the suite closes the stores it opens.
//
// Beyond the promises written in package store, the suite holds backends to a few that
// follow from them: a token belongs to a user (not an organization); a label points at a
// commit of its own module; ListLabels' nameQuery is a literal substring, without
// wildcards; deleting or updating a module that does not exist is not found;
// UpdateModule leaves the fields it does not replace alone; a value returned by a
// write equals what later reads return; creating a plugin, template or version of
// something that does not exist is not found.
//
// Of plugin versions: ids are unique across plugins; deprecation belongs to a version,
// so a new revision of a deprecated version is deprecated (and of one that is not, not,
// whatever its Deprecated field says), while a version's first revision is created as
// its Deprecated field says; the most recently created version, which version ""
// selects, is the one whose first revision was created last, whatever the later
// revisions of other versions, and version "" ignores the revision. Deprecating a
// version without revisions is not found. ListPlugins orders equal names of different
// owners in no particular order.
package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lathe-registry/lathe/internal/store"
)

// Run runs the conformance suite, one subtest per case, each on a store returned by open.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	for _, c := range []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"OwnerCreateAndGet", testOwnerCreateAndGet},
		{"OwnerNotFound", testOwnerNotFound},
		{"OwnerNamesCaseInsensitive", testOwnerNamesCaseInsensitive},
		{"Tokens", testTokens},
		{"ModuleCreateAndGet", testModuleCreateAndGet},
		{"ModuleUniquePerOwner", testModuleUniquePerOwner},
		{"UpdateModule", testUpdateModule},
		{"ListModules", testListModules},
		{"DeleteModule", testDeleteModule},
		{"CommitSeq", testCommitSeq},
		{"CommitRoundTrip", testCommitRoundTrip},
		{"CommitErrors", testCommitErrors},
		{"CommitsByIDPrefix", testCommitsByIDPrefix},
		{"LatestCommitByDigest", testLatestCommitByDigest},
		{"ListCommits", testListCommits},
		{"DependentAndDependencyModules", testDependentAndDependencyModules},
		{"SetLabel", testSetLabel},
		{"SetLabelErrors", testSetLabelErrors},
		{"SetLabelArchived", testSetLabelArchived},
		{"ListLabels", testListLabels},
		{"LabelHistory", testLabelHistory},
		{"TimesUTC", testTimesUTC},
		{"TxReadsOwnWrites", testTxReadsOwnWrites},
		{"RollbackOnError", testRollbackOnError},
		{"RollbackOnPanic", testRollbackOnPanic},
		{"ConcurrentCommits", testConcurrentCommits},
		{"PluginCreateAndGet", testPluginCreateAndGet},
		{"PluginUniquePerOwner", testPluginUniquePerOwner},
		{"ListPlugins", testListPlugins},
		{"PluginVersionRevisions", testPluginVersionRevisions},
		{"PluginVersionLookup", testPluginVersionLookup},
		{"PluginVersionErrors", testPluginVersionErrors},
		{"SetPluginVersionDeprecated", testSetPluginVersionDeprecated},
		{"ListPluginVersions", testListPluginVersions},
		{"TemplateCreateAndGet", testTemplateCreateAndGet},
		{"TemplateVersions", testTemplateVersions},
		{"GenerationOutputs", testGenerationOutputs},
		{"Artifacts", testArtifacts},
		{"LabelHadCommit", testLabelHadCommit},
		{"Interests", testInterests},
		{"Jobs", testJobs},
		{"TxReadsOwnPluginWrites", testTxReadsOwnPluginWrites},
		{"ConcurrentPluginVersions", testConcurrentPluginVersions},
		{"ConcurrentTemplateVersions", testConcurrentTemplateVersions},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			c.fn(t, s)
		})
	}
}

// Helpers.

// newID returns a random dashless lowercase UUID-like id.
func newID() string {
	return hex.EncodeToString(randBytes(16))
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// digest returns a b5-digest-sized value derived from s.
func digest(s string) []byte {
	a, b := sha256.Sum256([]byte(s)), sha256.Sum256([]byte(s+"'"))
	return append(a[:], b[:]...)
}

// tick waits long enough for any backend's clock to move on, so that consecutive writes
// get distinct times.
func tick() { time.Sleep(2 * time.Millisecond) }

// update runs fn in s.Update and fails the test if the update fails. Failing is left to
// after Update returns, so that a test never exits from inside a transaction.
func update(t testing.TB, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// updateErr runs fn in s.Update and returns the error of the update.
func updateErr(t testing.TB, s store.Store, fn func(tx store.Tx) error) error {
	t.Helper()
	return s.Update(t.Context(), fn)
}

func wantErr(t testing.TB, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", what, err, target)
	}
}

func check(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantEqual[T any](t testing.TB, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// checkTime checks that a time set by the store is in UTC and around now. The window is
// generous, as the store's clock may be a database server's.
func checkTime(t testing.TB, what string, got time.Time) {
	t.Helper()
	if got.Location() != time.UTC {
		t.Errorf("%s: location %v, want UTC", what, got.Location())
	}
	if d := time.Since(got); d < -time.Minute || d > time.Minute {
		t.Errorf("%s: %v is %v from now", what, got, d)
	}
}

func createOwner(t testing.TB, s store.Store, name string, kind store.OwnerKind) store.Owner {
	t.Helper()
	var o store.Owner
	update(t, s, func(tx store.Tx) (err error) {
		o, err = tx.CreateOwner(t.Context(), store.Owner{ID: newID(), Name: name, Kind: kind})
		return err
	})
	return o
}

func createUser(t testing.TB, s store.Store, name string) store.Owner {
	t.Helper()
	return createOwner(t, s, name, store.OwnerUser)
}

func createModule(t testing.TB, s store.Store, ownerID, name string) store.Module {
	t.Helper()
	var m store.Module
	update(t, s, func(tx store.Tx) (err error) {
		m, err = tx.CreateModule(t.Context(), store.Module{
			ID: newID(), OwnerID: ownerID, Name: name, Visibility: store.Public, State: store.Active,
		})
		return err
	})
	return m
}

func newCommit(m store.Module, id string, digest []byte, deps ...string) store.Commit {
	return store.Commit{
		ID:         id,
		ModuleID:   m.ID,
		OwnerID:    m.OwnerID,
		Digest:     digest,
		Manifest:   "manifest-" + id,
		DirectDeps: deps,
	}
}

func createCommit(t testing.TB, s store.Store, c store.Commit) store.Commit {
	t.Helper()
	update(t, s, func(tx store.Tx) (err error) {
		c, err = tx.CreateCommit(t.Context(), c)
		return err
	})
	return c
}

// createCommits creates n commits of m, each in its own Update.
func createCommits(t testing.TB, s store.Store, m store.Module, n int) []store.Commit {
	t.Helper()
	var cs []store.Commit
	for i := range n {
		cs = append(cs, createCommit(t, s, newCommit(m, newID(), digest(fmt.Sprint(m.ID, i)))))
	}
	return cs
}

func setLabel(t testing.TB, s store.Store, moduleID, name, commitID, userID string) store.Label {
	t.Helper()
	var l store.Label
	update(t, s, func(tx store.Tx) (err error) {
		l, err = tx.SetLabel(t.Context(), moduleID, name, commitID, userID)
		return err
	})
	return l
}

func setArchived(t testing.TB, s store.Store, labelID string, archived bool) store.Label {
	t.Helper()
	var l store.Label
	update(t, s, func(tx store.Tx) (err error) {
		l, err = tx.SetLabelArchived(t.Context(), labelID, archived)
		return err
	})
	return l
}

func moduleIDs(ms []store.Module) []string {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	return ids
}

func commitIDs(cs []store.Commit) []string {
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}

func labelNames(ls []store.Label) []string {
	var names []string
	for _, l := range ls {
		names = append(names, l.Name)
	}
	return names
}

func moveCommits(ms []store.LabelMove) []string {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.CommitID)
	}
	return ids
}

// Owners and tokens.

func testOwnerCreateAndGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	want := store.Owner{
		ID: newID(), Name: "alice", Kind: store.OwnerUser, Description: "Alice's", URL: "https://alice.example",
	}
	var got store.Owner
	update(t, s, func(tx store.Tx) (err error) {
		got, err = tx.CreateOwner(ctx, want)
		return err
	})
	checkTime(t, "CreateTime", got.CreateTime)
	checkTime(t, "UpdateTime", got.UpdateTime)
	want.CreateTime, want.UpdateTime = got.CreateTime, got.UpdateTime
	wantEqual(t, "CreateOwner", got, want)

	byID, err := s.OwnerByID(ctx, want.ID)
	check(t, "OwnerByID", err)
	wantEqual(t, "OwnerByID", byID, want)
	byName, err := s.OwnerByName(ctx, "alice")
	check(t, "OwnerByName", err)
	wantEqual(t, "OwnerByName", byName, want)

	org := createOwner(t, s, "acme", store.OwnerOrganization)
	got, err = s.OwnerByName(ctx, "acme")
	check(t, "OwnerByName(acme)", err)
	wantEqual(t, "OwnerByName(acme)", got, org)
	if got.Kind != store.OwnerOrganization {
		t.Errorf("Kind = %v, want organization", got.Kind)
	}
}

func testOwnerNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	createUser(t, s, "alice")
	_, err := s.OwnerByID(ctx, newID())
	wantErr(t, "OwnerByID", err, store.ErrNotFound)
	_, err = s.OwnerByName(ctx, "bob")
	wantErr(t, "OwnerByName", err, store.ErrNotFound)
	_, err = s.OwnerByName(ctx, "alic")
	wantErr(t, "OwnerByName(prefix)", err, store.ErrNotFound)
}

func testOwnerNamesCaseInsensitive(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "Alice")
	for _, name := range []string{"Alice", "alice", "ALICE", "aLiCe"} {
		got, err := s.OwnerByName(ctx, name)
		check(t, "OwnerByName("+name+")", err)
		wantEqual(t, "OwnerByName("+name+")", got, alice)
	}
	for _, c := range []struct {
		name string
		kind store.OwnerKind
	}{
		{"alice", store.OwnerUser},
		{"ALICE", store.OwnerOrganization},
		{"Alice", store.OwnerOrganization},
	} {
		err := updateErr(t, s, func(tx store.Tx) error {
			_, err := tx.CreateOwner(ctx, store.Owner{ID: newID(), Name: c.name, Kind: c.kind})
			return err
		})
		wantErr(t, fmt.Sprintf("CreateOwner(%q, kind %d)", c.name, c.kind), err, store.ErrAlreadyExists)
	}
	err := updateErr(t, s, func(tx store.Tx) error {
		_, err := tx.CreateOwner(ctx, store.Owner{ID: alice.ID, Name: "other", Kind: store.OwnerUser})
		return err
	})
	wantErr(t, "CreateOwner(same id)", err, store.ErrAlreadyExists)
	if _, err := s.OwnerByName(ctx, "other"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("owner of a failed CreateOwner: got %v, want not found", err)
	}
}

func testTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	bob := createUser(t, s, "bob")
	org := createOwner(t, s, "acme", store.OwnerOrganization)
	hash := func(token string) []byte { h := sha256.Sum256([]byte(token)); return h[:] }
	update(t, s, func(tx store.Tx) error {
		if err := tx.CreateToken(ctx, alice.ID, hash("a1")); err != nil {
			return err
		}
		if err := tx.CreateToken(ctx, alice.ID, hash("a2")); err != nil {
			return err
		}
		return tx.CreateToken(ctx, bob.ID, hash("b1"))
	})
	for token, want := range map[string]store.Owner{"a1": alice, "a2": alice, "b1": bob} {
		got, err := s.UserByTokenHash(ctx, hash(token))
		check(t, "UserByTokenHash("+token+")", err)
		wantEqual(t, "UserByTokenHash("+token+")", got, want)
	}
	_, err := s.UserByTokenHash(ctx, hash("unknown"))
	wantErr(t, "UserByTokenHash(unknown)", err, store.ErrNotFound)

	err = updateErr(t, s, func(tx store.Tx) error { return tx.CreateToken(ctx, bob.ID, hash("a1")) })
	wantErr(t, "CreateToken(taken hash)", err, store.ErrAlreadyExists)
	err = updateErr(t, s, func(tx store.Tx) error { return tx.CreateToken(ctx, newID(), hash("x")) })
	wantErr(t, "CreateToken(unknown user)", err, store.ErrNotFound)
	err = updateErr(t, s, func(tx store.Tx) error { return tx.CreateToken(ctx, org.ID, hash("y")) })
	wantErr(t, "CreateToken(organization)", err, store.ErrNotFound)
	got, err := s.UserByTokenHash(ctx, hash("a1"))
	check(t, "UserByTokenHash(a1) after failed CreateToken", err)
	wantEqual(t, "UserByTokenHash(a1) after failed CreateToken", got, alice)
}

// Modules.

func testModuleCreateAndGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	want := store.Module{
		ID:               newID(),
		OwnerID:          alice.ID,
		Name:             "petapis",
		Visibility:       store.Private,
		State:            store.Deprecated,
		Description:      "Pet APIs",
		URL:              "https://github.com/alice/petapis",
		DefaultLabelName: "main",
	}
	var got store.Module
	update(t, s, func(tx store.Tx) (err error) {
		got, err = tx.CreateModule(ctx, want)
		return err
	})
	checkTime(t, "CreateTime", got.CreateTime)
	checkTime(t, "UpdateTime", got.UpdateTime)
	want.CreateTime, want.UpdateTime = got.CreateTime, got.UpdateTime
	wantEqual(t, "CreateModule", got, want)

	byID, err := s.ModuleByID(ctx, want.ID)
	check(t, "ModuleByID", err)
	wantEqual(t, "ModuleByID", byID, want)
	byName, err := s.ModuleByName(ctx, alice.ID, "petapis")
	check(t, "ModuleByName", err)
	wantEqual(t, "ModuleByName", byName, want)

	_, err = s.ModuleByID(ctx, newID())
	wantErr(t, "ModuleByID(unknown)", err, store.ErrNotFound)
	_, err = s.ModuleByName(ctx, alice.ID, "other")
	wantErr(t, "ModuleByName(unknown name)", err, store.ErrNotFound)
	bob := createUser(t, s, "bob")
	_, err = s.ModuleByName(ctx, bob.ID, "petapis")
	wantErr(t, "ModuleByName(other owner)", err, store.ErrNotFound)
}

func testModuleUniquePerOwner(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	bob := createUser(t, s, "bob")
	m := createModule(t, s, alice.ID, "petapis")
	create := func(id, ownerID, name string) error {
		return updateErr(t, s, func(tx store.Tx) error {
			_, err := tx.CreateModule(ctx, store.Module{
				ID: id, OwnerID: ownerID, Name: name, Visibility: store.Public, State: store.Active,
			})
			return err
		})
	}
	wantErr(t, "CreateModule(taken name)", create(newID(), alice.ID, "petapis"), store.ErrAlreadyExists)
	wantErr(t, "CreateModule(taken id)", create(m.ID, alice.ID, "other"), store.ErrAlreadyExists)
	wantErr(t, "CreateModule(unknown owner)", create(newID(), newID(), "x"), store.ErrNotFound)
	if err := create(newID(), bob.ID, "petapis"); err != nil {
		t.Errorf("CreateModule(same name, other owner): %v", err)
	}
	got, err := s.ModuleByName(ctx, alice.ID, "petapis")
	check(t, "ModuleByName", err)
	wantEqual(t, "ModuleByName", got, m)
}

func testUpdateModule(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	orig := createModule(t, s, alice.ID, "petapis")
	tick()
	change := orig
	change.Visibility = store.Private
	change.State = store.Deprecated
	change.Description = "new description"
	change.URL = "https://example.com/new"
	change.DefaultLabelName = "release"
	// Not mutable: UpdateModule leaves these alone.
	change.Name = "renamed"
	change.OwnerID = newID()
	change.CreateTime = time.Unix(1, 0).UTC()
	change.UpdateTime = time.Unix(2, 0).UTC()
	var got store.Module
	update(t, s, func(tx store.Tx) (err error) {
		got, err = tx.UpdateModule(ctx, change)
		return err
	})
	if !got.UpdateTime.After(orig.UpdateTime) {
		t.Errorf("UpdateTime %v not after the previous %v", got.UpdateTime, orig.UpdateTime)
	}
	checkTime(t, "UpdateTime", got.UpdateTime)
	want := change
	want.Name, want.OwnerID, want.CreateTime, want.UpdateTime = orig.Name, orig.OwnerID, orig.CreateTime, got.UpdateTime
	wantEqual(t, "UpdateModule", got, want)
	byID, err := s.ModuleByID(ctx, orig.ID)
	check(t, "ModuleByID", err)
	wantEqual(t, "ModuleByID", byID, want)

	err = updateErr(t, s, func(tx store.Tx) error {
		_, err := tx.UpdateModule(ctx, store.Module{ID: newID(), Visibility: store.Public, State: store.Active})
		return err
	})
	wantErr(t, "UpdateModule(unknown)", err, store.ErrNotFound)
}

func testListModules(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	bob := createUser(t, s, "bob")
	var as, all []store.Module
	for i, owner := range []store.Owner{alice, bob, alice, bob, alice} {
		m := createModule(t, s, owner.ID, fmt.Sprint("m", i))
		all = append(all, m)
		if owner.ID == alice.ID {
			as = append(as, m)
		}
		tick()
	}
	list := func(ownerID string, desc bool, page store.Page) []store.Module {
		t.Helper()
		ms, err := s.ListModules(ctx, ownerID, desc, page)
		check(t, "ListModules", err)
		return ms
	}
	wantEqual(t, "ListModules(alice)", list(alice.ID, false, store.Page{}), as)
	wantEqual(t, "ListModules(alice, desc)", moduleIDs(list(alice.ID, true, store.Page{})),
		moduleIDs([]store.Module{as[2], as[1], as[0]}))
	wantEqual(t, "ListModules(all)", moduleIDs(list("", false, store.Page{})), moduleIDs(all))
	wantEqual(t, "ListModules(all, desc)", moduleIDs(list("", true, store.Page{})),
		moduleIDs([]store.Module{all[4], all[3], all[2], all[1], all[0]}))
	wantEqual(t, "ListModules(alice, offset 1, limit 1)", moduleIDs(list(alice.ID, false, store.Page{Offset: 1, Limit: 1})),
		moduleIDs(as[1:2]))
	wantEqual(t, "ListModules(all, desc, offset 1, limit 2)", moduleIDs(list("", true, store.Page{Offset: 1, Limit: 2})),
		moduleIDs([]store.Module{all[3], all[2]}))
	wantEqual(t, "ListModules(all, offset 3)", moduleIDs(list("", false, store.Page{Offset: 3})), moduleIDs(all[3:]))
	wantEqual(t, "ListModules(all, offset past the end)", len(list("", false, store.Page{Offset: 5, Limit: 2})), 0)
	wantEqual(t, "ListModules(unknown owner)", len(list(newID(), false, store.Page{})), 0)
}

func testDeleteModule(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	m := createModule(t, s, alice.ID, "petapis")
	other := createModule(t, s, alice.ID, "other")
	c1 := createCommit(t, s, newCommit(m, newID(), digest("1")))
	c2 := createCommit(t, s, newCommit(m, newID(), digest("2"), c1.ID))
	l := setLabel(t, s, m.ID, "main", c1.ID, alice.ID)
	setLabel(t, s, m.ID, "main", c2.ID, alice.ID)
	oc := createCommit(t, s, newCommit(other, newID(), digest("1")))
	ol := setLabel(t, s, other.ID, "main", oc.ID, alice.ID)

	update(t, s, func(tx store.Tx) error { return tx.DeleteModule(ctx, m.ID) })

	_, err := s.ModuleByID(ctx, m.ID)
	wantErr(t, "ModuleByID", err, store.ErrNotFound)
	_, err = s.ModuleByName(ctx, alice.ID, "petapis")
	wantErr(t, "ModuleByName", err, store.ErrNotFound)
	for _, c := range []store.Commit{c1, c2} {
		_, err = s.CommitByID(ctx, c.ID)
		wantErr(t, "CommitByID", err, store.ErrNotFound)
	}
	_, err = s.LatestCommitByDigest(ctx, m.ID, digest("1"))
	wantErr(t, "LatestCommitByDigest", err, store.ErrNotFound)
	_, err = s.LabelByID(ctx, l.ID)
	wantErr(t, "LabelByID", err, store.ErrNotFound)
	_, err = s.LabelByName(ctx, m.ID, "main")
	wantErr(t, "LabelByName", err, store.ErrNotFound)
	cs, err := s.ListCommits(ctx, m.ID, false, store.Page{})
	check(t, "ListCommits", err)
	wantEqual(t, "ListCommits", len(cs), 0)
	cs, err = s.CommitsByIDPrefix(ctx, m.ID, "")
	check(t, "CommitsByIDPrefix", err)
	wantEqual(t, "CommitsByIDPrefix", len(cs), 0)
	ls, err := s.ListLabels(ctx, m.ID, store.AllLabels, "", false, store.Page{})
	check(t, "ListLabels", err)
	wantEqual(t, "ListLabels", len(ls), 0)
	moves, err := s.LabelHistory(ctx, l.ID, false, store.Page{})
	check(t, "LabelHistory", err)
	wantEqual(t, "LabelHistory", len(moves), 0)

	// The other module is untouched.
	got, err := s.CommitByID(ctx, oc.ID)
	check(t, "CommitByID(other module)", err)
	wantEqual(t, "CommitByID(other module)", got, oc)
	gotLabel, err := s.LabelByID(ctx, ol.ID)
	check(t, "LabelByID(other module)", err)
	wantEqual(t, "LabelByID(other module)", gotLabel, ol)

	err = updateErr(t, s, func(tx store.Tx) error { return tx.DeleteModule(ctx, m.ID) })
	wantErr(t, "DeleteModule(deleted)", err, store.ErrNotFound)

	// The name is free again, and the new module's commits count from 1.
	again := createModule(t, s, alice.ID, "petapis")
	if c := createCommit(t, s, newCommit(again, newID(), digest("1"))); c.Seq != 1 {
		t.Errorf("Seq of first commit of recreated module = %d, want 1", c.Seq)
	}
}

// Commits.

func testCommitSeq(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	m := createModule(t, s, alice.ID, "m")
	n := createModule(t, s, alice.ID, "n")
	var got []int64
	for _, mod := range []store.Module{m, m, n, m, n} {
		got = append(got, createCommit(t, s, newCommit(mod, newID(), digest("x"))).Seq)
	}
	wantEqual(t, "Seqs of commits to m, m, n, m, n", got, []int64{1, 2, 1, 3, 2})

	// Seqs of commits created in one Update.
	var inTx []int64
	update(t, s, func(tx store.Tx) error {
		for range 3 {
			c, err := tx.CreateCommit(ctx, newCommit(n, newID(), digest("y")))
			if err != nil {
				return err
			}
			inTx = append(inTx, c.Seq)
		}
		return nil
	})
	wantEqual(t, "Seqs of commits created in one Update", inTx, []int64{3, 4, 5})
	cs, err := s.ListCommits(ctx, n.ID, false, store.Page{})
	check(t, "ListCommits", err)
	var seqs []int64
	for _, c := range cs {
		seqs = append(seqs, c.Seq)
	}
	wantEqual(t, "Seqs of ListCommits", seqs, []int64{1, 2, 3, 4, 5})
}

func testCommitRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	m := createModule(t, s, alice.ID, "m")
	dep := createModule(t, s, alice.ID, "dep")
	deps := []string{
		createCommit(t, s, newCommit(dep, "cccc"+newID()[4:], digest("c"))).ID,
		createCommit(t, s, newCommit(dep, "aaaa"+newID()[4:], digest("a"))).ID,
		createCommit(t, s, newCommit(dep, "bbbb"+newID()[4:], digest("b"))).ID,
	}
	d := make([]byte, 64)
	for i := range d {
		d[i] = byte(i * 4) // includes 0x00 and bytes over 0x7f
	}
	in := store.Commit{
		ID:               newID(),
		ModuleID:         m.ID,
		OwnerID:          alice.ID,
		Digest:           slices.Clone(d),
		Manifest:         strings.Repeat("f", 128),
		SourceControlURL: "https://github.com/alice/m/commit/abc",
		CreatedByUserID:  alice.ID,
		DirectDeps:       slices.Clone(deps),
	}
	got := createCommit(t, s, in)
	checkTime(t, "CreateTime", got.CreateTime)
	want := in
	want.Seq = 1
	want.CreateTime = got.CreateTime
	want.Digest = d
	want.DirectDeps = slices.Sorted(slices.Values(deps))
	wantEqual(t, "CreateCommit", got, want)
	byID, err := s.CommitByID(ctx, in.ID)
	check(t, "CommitByID", err)
	wantEqual(t, "CommitByID", byID, want)

	noDeps := createCommit(t, s, newCommit(m, newID(), digest("none")))
	byID, err = s.CommitByID(ctx, noDeps.ID)
	check(t, "CommitByID(no deps)", err)
	if len(byID.DirectDeps) != 0 || len(noDeps.DirectDeps) != 0 {
		t.Errorf("DirectDeps of a commit without dependencies: created %q, read %q", noDeps.DirectDeps, byID.DirectDeps)
	}
}

func testCommitErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	m := createModule(t, s, alice.ID, "m")
	c := createCommit(t, s, newCommit(m, newID(), digest("1")))

	_, err := s.CommitByID(ctx, newID())
	wantErr(t, "CommitByID(unknown)", err, store.ErrNotFound)
	err = updateErr(t, s, func(tx store.Tx) error {
		_, err := tx.CreateCommit(ctx, store.Commit{ID: newID(), ModuleID: newID(), Digest: digest("1")})
		return err
	})
	wantErr(t, "CreateCommit(unknown module)", err, store.ErrNotFound)
	err = updateErr(t, s, func(tx store.Tx) error {
		_, err := tx.CreateCommit(ctx, newCommit(m, c.ID, digest("2")))
		return err
	})
	wantErr(t, "CreateCommit(taken id)", err, store.ErrAlreadyExists)
	if next := createCommit(t, s, newCommit(m, newID(), digest("3"))); next.Seq != 2 {
		t.Errorf("Seq after a failed CreateCommit = %d, want 2", next.Seq)
	}
}

func testCommitsByIDPrefix(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	m := createModule(t, s, alice.ID, "m")
	other := createModule(t, s, alice.ID, "other")
	rest := newID()[4:]
	c1 := createCommit(t, s, newCommit(m, "abc1"+rest, digest("1")))
	c2 := createCommit(t, s, newCommit(m, "abc2"+rest, digest("2")))
	c3 := createCommit(t, s, newCommit(m, "abd0"+rest, digest("3")))
	createCommit(t, s, newCommit(other, "abc9"+rest, digest("9")))

	for _, c := range []struct {
		prefix string
		want   []store.Commit
	}{
		{"abc", []store.Commit{c1, c2}},
		{"ab", []store.Commit{c1, c2, c3}},
		{"abd", []store.Commit{c3}},
		{c1.ID, []store.Commit{c1}},
		{"abc9", nil},
		{"b", nil},
		{c1.ID + "0", nil},
		// The prefix is literal.
		{"ab_", nil},
		{"a%", nil},
	} {
		got, err := s.CommitsByIDPrefix(ctx, m.ID, c.prefix)
		check(t, "CommitsByIDPrefix("+c.prefix+")", err)
		sort.Slice(got, func(i, j int) bool { return got[i].ID < got[j].ID })
		wantEqual(t, "CommitsByIDPrefix("+c.prefix+")", commitIDs(got), commitIDs(c.want))
		if len(got) == len(c.want) {
			for i := range got {
				wantEqual(t, "CommitsByIDPrefix("+c.prefix+")", got[i], c.want[i])
			}
		}
	}
}

func testLatestCommitByDigest(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	m := createModule(t, s, alice.ID, "m")
	other := createModule(t, s, alice.ID, "other")
	createCommit(t, s, newCommit(m, newID(), digest("a")))
	b := createCommit(t, s, newCommit(m, newID(), digest("b")))
	a2 := createCommit(t, s, newCommit(m, newID(), digest("a")))
	otherA := createCommit(t, s, newCommit(other, newID(), digest("a")))

	for _, c := range []struct {
		module store.Module
		digest string
		want   store.Commit
	}{
		{m, "a", a2},
		{m, "b", b},
		{other, "a", otherA},
	} {
		got, err := s.LatestCommitByDigest(ctx, c.module.ID, digest(c.digest))
		check(t, "LatestCommitByDigest", err)
		wantEqual(t, fmt.Sprintf("LatestCommitByDigest(%s, %s)", c.module.Name, c.digest), got, c.want)
	}
	_, err := s.LatestCommitByDigest(ctx, m.ID, digest("c"))
	wantErr(t, "LatestCommitByDigest(unknown digest)", err, store.ErrNotFound)
	_, err = s.LatestCommitByDigest(ctx, other.ID, digest("b"))
	wantErr(t, "LatestCommitByDigest(digest of another module)", err, store.ErrNotFound)
	_, err = s.LatestCommitByDigest(ctx, m.ID, digest("a")[:32])
	wantErr(t, "LatestCommitByDigest(digest prefix)", err, store.ErrNotFound)
}

func testListCommits(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	m := createModule(t, s, alice.ID, "m")
	other := createModule(t, s, alice.ID, "other")
	cs := createCommits(t, s, m, 5)
	createCommits(t, s, other, 2)
	rev := slices.Clone(cs)
	slices.Reverse(rev)
	for _, c := range []struct {
		desc bool
		page store.Page
		want []store.Commit
	}{
		{false, store.Page{}, cs},
		{true, store.Page{}, rev},
		{false, store.Page{Offset: 1, Limit: 2}, cs[1:3]},
		{true, store.Page{Offset: 1, Limit: 2}, rev[1:3]},
		{false, store.Page{Limit: 10}, cs},
		{false, store.Page{Offset: 4, Limit: 10}, cs[4:]},
		{false, store.Page{Offset: 2}, cs[2:]},
		{true, store.Page{Offset: 5}, nil},
	} {
		got, err := s.ListCommits(ctx, m.ID, c.desc, c.page)
		what := fmt.Sprintf("ListCommits(desc %v, %+v)", c.desc, c.page)
		check(t, what, err)
		if len(got) != 0 || len(c.want) != 0 {
			wantEqual(t, what, got, c.want)
		}
	}
	got, err := s.ListCommits(ctx, newID(), false, store.Page{})
	check(t, "ListCommits(unknown module)", err)
	wantEqual(t, "ListCommits(unknown module)", len(got), 0)
}

// Labels.

func testDependentAndDependencyModules(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := createUser(t, s, "alice")
	base := createModule(t, s, u.ID, "base")
	mid := createModule(t, s, u.ID, "mid")
	top := createModule(t, s, u.ID, "top")
	other := createModule(t, s, u.ID, "other")
	gone := createModule(t, s, u.ID, "gone")
	b1 := createCommit(t, s, newCommit(base, newID(), digest("b1")))
	b2 := createCommit(t, s, newCommit(base, newID(), digest("b2")))
	g1 := createCommit(t, s, newCommit(gone, newID(), digest("g1")))
	// mid depends on base through two commits, which must not list base twice.
	m1 := createCommit(t, s, newCommit(mid, newID(), digest("m1"), b1.ID))
	createCommit(t, s, newCommit(mid, newID(), digest("m2"), b2.ID, g1.ID))
	createCommit(t, s, newCommit(top, newID(), digest("t1"), m1.ID, b2.ID))
	update(t, s, func(tx store.Tx) error { return tx.DeleteModule(ctx, gone.ID) })

	sorted := func(ms ...store.Module) []string {
		ids := moduleIDs(ms)
		slices.Sort(ids)
		return ids
	}
	for _, c := range []struct {
		name       string
		m          store.Module
		dependents []string
		deps       []string
	}{
		{"base", base, sorted(mid, top), nil},
		{"mid", mid, sorted(top), sorted(base)},
		{"top", top, nil, sorted(base, mid)},
		{"other", other, nil, nil},
	} {
		got, err := s.DependentModules(ctx, c.m.ID)
		check(t, "DependentModules "+c.name, err)
		wantEqual(t, "DependentModules "+c.name, moduleIDs(got), c.dependents)
		got, err = s.DependencyModules(ctx, c.m.ID)
		check(t, "DependencyModules "+c.name, err)
		wantEqual(t, "DependencyModules "+c.name, moduleIDs(got), c.deps)
	}
	// A transaction sees its own new dependents.
	update(t, s, func(tx store.Tx) error {
		if _, err := tx.CreateCommit(ctx, newCommit(other, newID(), digest("o1"), b1.ID)); err != nil {
			return err
		}
		got, err := tx.DependentModules(ctx, base.ID)
		check(t, "DependentModules in a transaction", err)
		wantEqual(t, "DependentModules in a transaction", moduleIDs(got), sorted(mid, top, other))
		return nil
	})
	got, err := s.DependentModules(ctx, newID())
	check(t, "DependentModules of an unknown module", err)
	wantEqual(t, "DependentModules of an unknown module", len(got), 0)
}

func testSetLabel(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	bob := createUser(t, s, "bob")
	m := createModule(t, s, alice.ID, "m")
	cs := createCommits(t, s, m, 2)
	history := func() []store.LabelMove {
		t.Helper()
		l, err := s.LabelByName(ctx, m.ID, "main")
		check(t, "LabelByName", err)
		moves, err := s.LabelHistory(ctx, l.ID, false, store.Page{})
		check(t, "LabelHistory", err)
		return moves
	}
	reread := func(want store.Label) {
		t.Helper()
		byID, err := s.LabelByID(ctx, want.ID)
		check(t, "LabelByID", err)
		wantEqual(t, "LabelByID", byID, want)
		byName, err := s.LabelByName(ctx, m.ID, want.Name)
		check(t, "LabelByName", err)
		wantEqual(t, "LabelByName", byName, want)
	}

	// Creating.
	l1 := setLabel(t, s, m.ID, "main", cs[0].ID, alice.ID)
	if l1.ID == "" {
		t.Fatal("SetLabel returned a label without an id")
	}
	checkTime(t, "CreateTime", l1.CreateTime)
	checkTime(t, "UpdateTime", l1.UpdateTime)
	wantEqual(t, "SetLabel(create)", l1, store.Label{
		ID: l1.ID, ModuleID: m.ID, Name: "main", CommitID: cs[0].ID, UpdatedByUserID: alice.ID,
		CreateTime: l1.CreateTime, UpdateTime: l1.UpdateTime,
	})
	reread(l1)
	wantEqual(t, "history after creating", history(), []store.LabelMove{
		{CommitID: cs[0].ID, UpdatedByUserID: alice.ID, Time: l1.UpdateTime},
	})

	// Moving.
	tick()
	l2 := setLabel(t, s, m.ID, "main", cs[1].ID, bob.ID)
	if !l2.UpdateTime.After(l1.UpdateTime) {
		t.Errorf("UpdateTime after moving %v, not after %v", l2.UpdateTime, l1.UpdateTime)
	}
	wantEqual(t, "SetLabel(move)", l2, store.Label{
		ID: l1.ID, ModuleID: m.ID, Name: "main", CommitID: cs[1].ID, UpdatedByUserID: bob.ID,
		CreateTime: l1.CreateTime, UpdateTime: l2.UpdateTime,
	})
	reread(l2)
	wantEqual(t, "history after moving", history(), []store.LabelMove{
		{CommitID: cs[1].ID, UpdatedByUserID: bob.ID, Time: l2.UpdateTime},
		{CommitID: cs[0].ID, UpdatedByUserID: alice.ID, Time: l1.UpdateTime},
	})

	// Setting to the commit it already points at records nothing.
	tick()
	same := setLabel(t, s, m.ID, "main", cs[1].ID, alice.ID)
	wantEqual(t, "SetLabel(same commit).CommitID", same.CommitID, cs[1].ID)
	wantEqual(t, "history length after setting to the same commit", len(history()), 2)

	// Setting an archived label unarchives it, recording a move only if it moves.
	setArchived(t, s, l1.ID, true)
	tick()
	unarchived := setLabel(t, s, m.ID, "main", cs[1].ID, alice.ID)
	if unarchived.Archived() {
		t.Errorf("label still archived after SetLabel: %+v", unarchived)
	}
	reread(unarchived)
	wantEqual(t, "history length after unarchiving", len(history()), 2)
	setArchived(t, s, l1.ID, true)
	tick()
	moved := setLabel(t, s, m.ID, "main", cs[0].ID, alice.ID)
	if moved.Archived() || moved.CommitID != cs[0].ID {
		t.Errorf("SetLabel of archived label to another commit: %+v", moved)
	}
	reread(moved)
	wantEqual(t, "history after moving archived label", moveCommits(history()),
		[]string{cs[0].ID, cs[1].ID, cs[0].ID})

	// Labels are per module and per name.
	n := createModule(t, s, alice.ID, "n")
	nc := createCommit(t, s, newCommit(n, newID(), digest("n")))
	nl := setLabel(t, s, n.ID, "main", nc.ID, alice.ID)
	dev := setLabel(t, s, m.ID, "dev", cs[1].ID, alice.ID)
	if nl.ID == l1.ID || dev.ID == l1.ID || nl.ID == dev.ID {
		t.Errorf("labels share ids: %q, %q, %q", l1.ID, nl.ID, dev.ID)
	}
	got, err := s.LabelByName(ctx, m.ID, "main")
	check(t, "LabelByName", err)
	wantEqual(t, "LabelByName(m, main) after setting others", got, moved)
}

func testSetLabelErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	m := createModule(t, s, alice.ID, "m")
	n := createModule(t, s, alice.ID, "n")
	c := createCommit(t, s, newCommit(m, newID(), digest("m")))
	nc := createCommit(t, s, newCommit(n, newID(), digest("n")))
	set := func(moduleID, commitID string) error {
		return updateErr(t, s, func(tx store.Tx) error {
			_, err := tx.SetLabel(ctx, moduleID, "main", commitID, alice.ID)
			return err
		})
	}
	wantErr(t, "SetLabel(unknown module)", set(newID(), c.ID), store.ErrNotFound)
	wantErr(t, "SetLabel(unknown commit)", set(m.ID, newID()), store.ErrNotFound)
	wantErr(t, "SetLabel(commit of another module)", set(m.ID, nc.ID), store.ErrNotFound)
	_, err := s.LabelByName(ctx, m.ID, "main")
	wantErr(t, "LabelByName after failed SetLabels", err, store.ErrNotFound)
	_, err = s.LabelByID(ctx, newID())
	wantErr(t, "LabelByID(unknown)", err, store.ErrNotFound)
	setLabel(t, s, m.ID, "main", c.ID, alice.ID)
	_, err = s.LabelByName(ctx, n.ID, "main")
	wantErr(t, "LabelByName(other module)", err, store.ErrNotFound)
}

func testSetLabelArchived(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	m := createModule(t, s, alice.ID, "m")
	c := createCommit(t, s, newCommit(m, newID(), digest("m")))
	l := setLabel(t, s, m.ID, "main", c.ID, alice.ID)

	archived := setArchived(t, s, l.ID, true)
	if !archived.Archived() {
		t.Fatalf("SetLabelArchived(true) returned an unarchived label: %+v", archived)
	}
	checkTime(t, "ArchiveTime", archived.ArchiveTime)
	wantEqual(t, "SetLabelArchived(true).CommitID", archived.CommitID, c.ID)
	got, err := s.LabelByID(ctx, l.ID)
	check(t, "LabelByID", err)
	wantEqual(t, "LabelByID after archiving", got, archived)
	again := setArchived(t, s, l.ID, true)
	if !again.Archived() {
		t.Errorf("archiving an archived label unarchived it: %+v", again)
	}

	unarchived := setArchived(t, s, l.ID, false)
	if unarchived.Archived() || !unarchived.ArchiveTime.IsZero() {
		t.Errorf("SetLabelArchived(false) returned %+v", unarchived)
	}
	got, err = s.LabelByName(ctx, m.ID, "main")
	check(t, "LabelByName", err)
	wantEqual(t, "LabelByName after unarchiving", got, unarchived)
	moves, err := s.LabelHistory(ctx, l.ID, false, store.Page{})
	check(t, "LabelHistory", err)
	wantEqual(t, "history length after archiving", len(moves), 1)

	err = updateErr(t, s, func(tx store.Tx) error {
		_, err := tx.SetLabelArchived(ctx, newID(), true)
		return err
	})
	wantErr(t, "SetLabelArchived(unknown)", err, store.ErrNotFound)
}

func testListLabels(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	m := createModule(t, s, alice.ID, "m")
	other := createModule(t, s, alice.ID, "other")
	cs := createCommits(t, s, m, 2)
	oc := createCommit(t, s, newCommit(other, newID(), digest("o")))
	setLabel(t, s, other.ID, "v1_main", oc.ID, alice.ID)
	for _, name := range []string{"main", "dev", "v1_0", "v1x0", "old"} {
		tick()
		setLabel(t, s, m.ID, name, cs[0].ID, alice.ID)
	}
	old, err := s.LabelByName(ctx, m.ID, "old")
	check(t, "LabelByName(old)", err)
	setArchived(t, s, old.ID, true)
	tick()
	setLabel(t, s, m.ID, "dev", cs[1].ID, alice.ID) // now the most recently updated

	for _, c := range []struct {
		filter    store.ArchiveFilter
		nameQuery string
		desc      bool
		page      store.Page
		want      []string
	}{
		{store.UnarchivedOnly, "", false, store.Page{}, []string{"main", "v1_0", "v1x0", "dev"}},
		{store.UnarchivedOnly, "", true, store.Page{}, []string{"dev", "v1x0", "v1_0", "main"}},
		{store.ArchivedOnly, "", false, store.Page{}, []string{"old"}},
		{store.AllLabels, "", false, store.Page{}, []string{"main", "v1_0", "v1x0", "old", "dev"}},
		{store.AllLabels, "", true, store.Page{}, []string{"dev", "old", "v1x0", "v1_0", "main"}},
		{store.UnarchivedOnly, "v1", false, store.Page{}, []string{"v1_0", "v1x0"}},
		{store.UnarchivedOnly, "ai", false, store.Page{}, []string{"main"}},
		{store.AllLabels, "o", false, store.Page{}, []string{"old"}},
		{store.ArchivedOnly, "v1", false, store.Page{}, nil},
		// The name query is literal, not a pattern.
		{store.UnarchivedOnly, "1_", false, store.Page{}, []string{"v1_0"}},
		{store.UnarchivedOnly, "%", false, store.Page{}, nil},
		{store.UnarchivedOnly, "", false, store.Page{Offset: 1, Limit: 2}, []string{"v1_0", "v1x0"}},
		{store.AllLabels, "", true, store.Page{Offset: 1, Limit: 2}, []string{"old", "v1x0"}},
		{store.UnarchivedOnly, "", false, store.Page{Offset: 3}, []string{"dev"}},
		{store.UnarchivedOnly, "", false, store.Page{Offset: 4, Limit: 1}, nil},
	} {
		what := fmt.Sprintf("ListLabels(filter %d, %q, desc %v, %+v)", c.filter, c.nameQuery, c.desc, c.page)
		got, err := s.ListLabels(ctx, m.ID, c.filter, c.nameQuery, c.desc, c.page)
		check(t, what, err)
		wantEqual(t, what, labelNames(got), c.want)
		for _, l := range got {
			byID, err := s.LabelByID(ctx, l.ID)
			check(t, "LabelByID", err)
			wantEqual(t, what+" entry", l, byID)
		}
	}
	got, err := s.ListLabels(ctx, newID(), store.AllLabels, "", false, store.Page{})
	check(t, "ListLabels(unknown module)", err)
	wantEqual(t, "ListLabels(unknown module)", len(got), 0)
}

func testLabelHistory(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	bob := createUser(t, s, "bob")
	m := createModule(t, s, alice.ID, "m")
	cs := createCommits(t, s, m, 3)
	var moves []store.LabelMove // oldest first
	for i, c := range []store.Commit{cs[0], cs[1], cs[2], cs[0]} {
		tick()
		user := []store.Owner{alice, bob}[i%2]
		l := setLabel(t, s, m.ID, "main", c.ID, user.ID)
		moves = append(moves, store.LabelMove{CommitID: c.ID, UpdatedByUserID: user.ID, Time: l.UpdateTime})
	}
	other := setLabel(t, s, m.ID, "other", cs[1].ID, alice.ID)
	l, err := s.LabelByName(ctx, m.ID, "main")
	check(t, "LabelByName", err)
	rev := slices.Clone(moves)
	slices.Reverse(rev)
	for _, c := range []struct {
		asc  bool
		page store.Page
		want []store.LabelMove
	}{
		{false, store.Page{}, rev},
		{true, store.Page{}, moves},
		{false, store.Page{Offset: 1, Limit: 2}, rev[1:3]},
		{true, store.Page{Offset: 1, Limit: 2}, moves[1:3]},
		{true, store.Page{Offset: 3}, moves[3:]},
		{false, store.Page{Offset: 4}, nil},
	} {
		what := fmt.Sprintf("LabelHistory(asc %v, %+v)", c.asc, c.page)
		got, err := s.LabelHistory(ctx, l.ID, c.asc, c.page)
		check(t, what, err)
		if len(got) != 0 || len(c.want) != 0 {
			wantEqual(t, what, got, c.want)
		}
	}
	got, err := s.LabelHistory(ctx, other.ID, false, store.Page{})
	check(t, "LabelHistory(other)", err)
	wantEqual(t, "LabelHistory(other)", got, []store.LabelMove{
		{CommitID: cs[1].ID, UpdatedByUserID: alice.ID, Time: other.UpdateTime},
	})
}

// Times, transactions, concurrency.

func testTimesUTC(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	m := createModule(t, s, alice.ID, "m")
	c := createCommit(t, s, newCommit(m, newID(), digest("m")))
	l := setLabel(t, s, m.ID, "main", c.ID, alice.ID)
	setArchived(t, s, l.ID, true)

	o, err := s.OwnerByID(ctx, alice.ID)
	check(t, "OwnerByID", err)
	checkTime(t, "Owner.CreateTime", o.CreateTime)
	checkTime(t, "Owner.UpdateTime", o.UpdateTime)
	m, err = s.ModuleByID(ctx, m.ID)
	check(t, "ModuleByID", err)
	checkTime(t, "Module.CreateTime", m.CreateTime)
	checkTime(t, "Module.UpdateTime", m.UpdateTime)
	c, err = s.CommitByID(ctx, c.ID)
	check(t, "CommitByID", err)
	checkTime(t, "Commit.CreateTime", c.CreateTime)
	l, err = s.LabelByID(ctx, l.ID)
	check(t, "LabelByID", err)
	checkTime(t, "Label.CreateTime", l.CreateTime)
	checkTime(t, "Label.UpdateTime", l.UpdateTime)
	checkTime(t, "Label.ArchiveTime", l.ArchiveTime)
	moves, err := s.LabelHistory(ctx, l.ID, false, store.Page{})
	check(t, "LabelHistory", err)
	for _, mv := range moves {
		checkTime(t, "LabelMove.Time", mv.Time)
	}
	p, err := s.PluginByID(ctx, createPlugin(t, s, alice.ID, "go").ID)
	check(t, "PluginByID", err)
	checkTime(t, "Plugin.CreateTime", p.CreateTime)
	checkTime(t, "Plugin.UpdateTime", p.UpdateTime)
	createPluginVersion(t, s, newPluginVersion(p, "v1.0.0", "a"))
	pv, err := s.PluginVersion(ctx, p.ID, "v1.0.0", 1)
	check(t, "PluginVersion", err)
	checkTime(t, "PluginVersion.CreateTime", pv.CreateTime)
	createTemplate(t, s, alice.ID, "go")
	tm, err := s.TemplateByName(ctx, alice.ID, "go")
	check(t, "TemplateByName", err)
	checkTime(t, "Template.CreateTime", tm.CreateTime)
	checkTime(t, "Template.UpdateTime", tm.UpdateTime)
	createTemplateVersion(t, s, tm.ID, "spec")
	tv, err := s.TemplateVersion(ctx, tm.ID, 1)
	check(t, "TemplateVersion", err)
	checkTime(t, "TemplateVersion.CreateTime", tv.CreateTime)
	// Times have microseconds: three of them all being whole milliseconds is a one in
	// a billion chance.
	if c.CreateTime.Nanosecond()%1e6 == 0 && l.CreateTime.Nanosecond()%1e6 == 0 && m.CreateTime.Nanosecond()%1e6 == 0 {
		t.Errorf("times are whole milliseconds: %v, %v, %v", c.CreateTime, l.CreateTime, m.CreateTime)
	}
}

func testTxReadsOwnWrites(t *testing.T, s store.Store) {
	ctx := t.Context()
	tokenHash := sha256.Sum256([]byte("token"))
	update(t, s, func(tx store.Tx) error {
		alice, err := tx.CreateOwner(ctx, store.Owner{ID: newID(), Name: "alice", Kind: store.OwnerUser})
		if err != nil {
			return err
		}
		if got, err := tx.OwnerByName(ctx, "alice"); err != nil || got != alice {
			t.Errorf("tx.OwnerByName = %+v, %v; want %+v", got, err, alice)
		}
		if got, err := tx.OwnerByID(ctx, alice.ID); err != nil || got != alice {
			t.Errorf("tx.OwnerByID = %+v, %v; want %+v", got, err, alice)
		}
		if err := tx.CreateToken(ctx, alice.ID, tokenHash[:]); err != nil {
			return err
		}
		if got, err := tx.UserByTokenHash(ctx, tokenHash[:]); err != nil || got != alice {
			t.Errorf("tx.UserByTokenHash = %+v, %v; want %+v", got, err, alice)
		}
		m, err := tx.CreateModule(ctx, store.Module{
			ID: newID(), OwnerID: alice.ID, Name: "m", Visibility: store.Public, State: store.Active,
		})
		if err != nil {
			return err
		}
		if got, err := tx.ModuleByName(ctx, alice.ID, "m"); err != nil || got != m {
			t.Errorf("tx.ModuleByName = %+v, %v; want %+v", got, err, m)
		}
		if got, err := tx.ModuleByID(ctx, m.ID); err != nil || got != m {
			t.Errorf("tx.ModuleByID = %+v, %v; want %+v", got, err, m)
		}
		if got, err := tx.ListModules(ctx, alice.ID, false, store.Page{}); err != nil || len(got) != 1 {
			t.Errorf("tx.ListModules = %+v, %v; want 1 module", got, err)
		}
		c, err := tx.CreateCommit(ctx, newCommit(m, newID(), digest("m")))
		if err != nil {
			return err
		}
		if got, err := tx.CommitByID(ctx, c.ID); err != nil || !reflect.DeepEqual(got, c) {
			t.Errorf("tx.CommitByID = %+v, %v; want %+v", got, err, c)
		}
		if got, err := tx.CommitsByIDPrefix(ctx, m.ID, c.ID[:8]); err != nil || len(got) != 1 {
			t.Errorf("tx.CommitsByIDPrefix = %+v, %v; want 1 commit", got, err)
		}
		if got, err := tx.LatestCommitByDigest(ctx, m.ID, digest("m")); err != nil || got.ID != c.ID {
			t.Errorf("tx.LatestCommitByDigest = %+v, %v; want %+v", got, err, c)
		}
		if got, err := tx.ListCommits(ctx, m.ID, false, store.Page{}); err != nil || len(got) != 1 {
			t.Errorf("tx.ListCommits = %+v, %v; want 1 commit", got, err)
		}
		l, err := tx.SetLabel(ctx, m.ID, "main", c.ID, alice.ID)
		if err != nil {
			return err
		}
		if got, err := tx.LabelByName(ctx, m.ID, "main"); err != nil || got != l {
			t.Errorf("tx.LabelByName = %+v, %v; want %+v", got, err, l)
		}
		if got, err := tx.LabelByID(ctx, l.ID); err != nil || got != l {
			t.Errorf("tx.LabelByID = %+v, %v; want %+v", got, err, l)
		}
		if got, err := tx.ListLabels(ctx, m.ID, store.UnarchivedOnly, "", false, store.Page{}); err != nil || len(got) != 1 {
			t.Errorf("tx.ListLabels = %+v, %v; want 1 label", got, err)
		}
		if got, err := tx.LabelHistory(ctx, l.ID, false, store.Page{}); err != nil || len(got) != 1 {
			t.Errorf("tx.LabelHistory = %+v, %v; want 1 move", got, err)
		}
		if err := tx.DeleteModule(ctx, m.ID); err != nil {
			return err
		}
		if _, err := tx.CommitByID(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("tx.CommitByID after DeleteModule: %v, want not found", err)
		}
		return nil
	})
}

// rollbackFixture is a store's state before a failed Update, and the writes the Update
// makes before it fails.
type rollbackFixture struct {
	alice    store.Owner
	m, del   store.Module
	c        store.Commit
	label    store.Label
	plugin   store.Plugin
	pv       store.PluginVersion
	template store.Template
	tv       store.TemplateVersion
}

func newRollbackFixture(t *testing.T, s store.Store) rollbackFixture {
	var f rollbackFixture
	f.alice = createUser(t, s, "alice")
	f.m = createModule(t, s, f.alice.ID, "m")
	f.del = createModule(t, s, f.alice.ID, "del")
	f.c = createCommit(t, s, newCommit(f.m, newID(), digest("1")))
	f.label = setLabel(t, s, f.m.ID, "main", f.c.ID, f.alice.ID)
	f.plugin = createPlugin(t, s, f.alice.ID, "go")
	f.pv = createPluginVersion(t, s, newPluginVersion(f.plugin, "v1.0.0", "1"))
	f.template = createTemplate(t, s, f.alice.ID, "go")
	f.tv = createTemplateVersion(t, s, f.template.ID, "1")
	update(t, s, func(tx store.Tx) error {
		_, err := tx.PutGenerationOutput(t.Context(), "key-1", "blob-1")
		return err
	})
	return f
}

// write makes writes of every kind, all of which must be rolled back.
func (f rollbackFixture) write(ctx context.Context, tx store.Tx) error {
	bob, err := tx.CreateOwner(ctx, store.Owner{ID: newID(), Name: "bob", Kind: store.OwnerUser})
	if err != nil {
		return err
	}
	if err := tx.CreateToken(ctx, bob.ID, []byte("token-hash")); err != nil {
		return err
	}
	n, err := tx.CreateModule(ctx, store.Module{ID: newID(), OwnerID: bob.ID, Name: "n", Visibility: store.Public, State: store.Active})
	if err != nil {
		return err
	}
	if _, err := tx.CreateCommit(ctx, newCommit(n, newID(), digest("n"))); err != nil {
		return err
	}
	m := f.m
	m.Description = "changed"
	if _, err := tx.UpdateModule(ctx, m); err != nil {
		return err
	}
	c2, err := tx.CreateCommit(ctx, newCommit(f.m, newID(), digest("2")))
	if err != nil {
		return err
	}
	if _, err := tx.SetLabel(ctx, f.m.ID, "main", c2.ID, bob.ID); err != nil {
		return err
	}
	if _, err := tx.SetLabel(ctx, f.m.ID, "new", c2.ID, bob.ID); err != nil {
		return err
	}
	if _, err := tx.SetLabelArchived(ctx, f.label.ID, true); err != nil {
		return err
	}
	if err := tx.DeleteModule(ctx, f.del.ID); err != nil {
		return err
	}

	p, err := tx.CreatePlugin(ctx, store.Plugin{ID: newID(), OwnerID: f.alice.ID, Name: "es"})
	if err != nil {
		return err
	}
	for _, v := range []store.PluginVersion{
		newPluginVersion(p, "v1.0.0", "p"),
		newPluginVersion(f.plugin, "v1.0.0", "2"),
		newPluginVersion(f.plugin, "v2.0.0", "2"),
	} {
		if _, err := tx.CreatePluginVersion(ctx, v); err != nil {
			return err
		}
	}
	if err := tx.SetPluginVersionDeprecated(ctx, f.plugin.ID, "v1.0.0", true); err != nil {
		return err
	}
	tm, err := tx.CreateTemplate(ctx, store.Template{ID: newID(), OwnerID: f.alice.ID, Name: "es"})
	if err != nil {
		return err
	}
	for _, id := range []string{tm.ID, f.template.ID} {
		if _, err := tx.CreateTemplateVersion(ctx, store.TemplateVersion{TemplateID: id, Spec: []byte("2")}); err != nil {
			return err
		}
	}
	_, err = tx.PutGenerationOutput(ctx, "key-2", "blob-2")
	return err
}

// checkUnchanged checks that nothing of write is visible.
func (f rollbackFixture) checkUnchanged(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	_, err := s.OwnerByName(ctx, "bob")
	wantErr(t, "OwnerByName(bob)", err, store.ErrNotFound)
	_, err = s.UserByTokenHash(ctx, []byte("token-hash"))
	wantErr(t, "UserByTokenHash", err, store.ErrNotFound)
	ms, err := s.ListModules(ctx, "", false, store.Page{})
	check(t, "ListModules", err)
	wantEqual(t, "ListModules", ms, []store.Module{f.m, f.del})
	cs, err := s.ListCommits(ctx, f.m.ID, false, store.Page{})
	check(t, "ListCommits", err)
	wantEqual(t, "ListCommits", cs, []store.Commit{f.c})
	ls, err := s.ListLabels(ctx, f.m.ID, store.AllLabels, "", false, store.Page{})
	check(t, "ListLabels", err)
	wantEqual(t, "ListLabels", ls, []store.Label{f.label})
	moves, err := s.LabelHistory(ctx, f.label.ID, false, store.Page{})
	check(t, "LabelHistory", err)
	wantEqual(t, "LabelHistory", moveCommits(moves), []string{f.c.ID})

	ps, err := s.ListPlugins(ctx, "", store.Page{})
	check(t, "ListPlugins", err)
	wantEqual(t, "ListPlugins", ps, []store.Plugin{f.plugin})
	pvs, err := s.ListPluginVersions(ctx, f.plugin.ID, store.Page{})
	check(t, "ListPluginVersions", err)
	wantEqual(t, "ListPluginVersions", pvs, []store.PluginVersion{f.pv})
	_, err = s.TemplateByName(ctx, f.alice.ID, "es")
	wantErr(t, "TemplateByName(es)", err, store.ErrNotFound)
	tvs, err := s.ListTemplateVersions(ctx, f.template.ID, store.Page{})
	check(t, "ListTemplateVersions", err)
	wantEqual(t, "ListTemplateVersions", tvs, []store.TemplateVersion{f.tv})
	_, err = s.GenerationOutput(ctx, "key-2")
	wantErr(t, "GenerationOutput(key-2)", err, store.ErrNotFound)

	// The store still works, and the rolled-back commit's Seq, plugin revision and
	// template version are free again.
	if c := createCommit(t, s, newCommit(f.m, newID(), digest("2"))); c.Seq != 2 {
		t.Errorf("Seq after rollback = %d, want 2", c.Seq)
	}
	if v := createPluginVersion(t, s, newPluginVersion(f.plugin, "v1.0.0", "2")); v.Revision != 2 || v.Deprecated {
		t.Errorf("plugin version after rollback = %+v, want revision 2, not deprecated", v)
	}
	if v := createTemplateVersion(t, s, f.template.ID, "2"); v.Version != 2 {
		t.Errorf("template version after rollback = %d, want 2", v.Version)
	}
	// The first value of a key written by a rolled-back Update is not the first.
	update(t, s, func(tx store.Tx) error {
		got, err := tx.PutGenerationOutput(ctx, "key-2", "blob-3")
		if err == nil && got != "blob-3" {
			t.Errorf("PutGenerationOutput(key-2) after rollback = %q, want blob-3", got)
		}
		return err
	})
}

func testRollbackOnError(t *testing.T, s store.Store) {
	f := newRollbackFixture(t, s)
	errBoom := errors.New("boom")
	err := s.Update(t.Context(), func(tx store.Tx) error {
		if err := f.write(t.Context(), tx); err != nil {
			t.Errorf("writes before the error: %v", err)
		}
		return fmt.Errorf("failing: %w", errBoom)
	})
	wantErr(t, "Update", err, errBoom)
	f.checkUnchanged(t, s)
}

func testRollbackOnPanic(t *testing.T, s store.Store) {
	f := newRollbackFixture(t, s)
	type boom struct{}
	recovered := func() (r any) {
		defer func() { r = recover() }()
		_ = s.Update(t.Context(), func(tx store.Tx) error {
			if err := f.write(t.Context(), tx); err != nil {
				t.Errorf("writes before the panic: %v", err)
			}
			panic(boom{})
		})
		return nil
	}()
	if _, ok := recovered.(boom); !ok {
		t.Errorf("Update panicked with %v, want the callback's panic", recovered)
	}
	f.checkUnchanged(t, s)
}

func testConcurrentCommits(t *testing.T, s store.Store) {
	const perModule = 16
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	modules := []store.Module{createModule(t, s, alice.ID, "m"), createModule(t, s, alice.ID, "n")}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seqs = map[string][]int64{}
	)
	for i := range perModule * len(modules) {
		m := modules[i%len(modules)]
		wg.Go(func() {
			var c store.Commit
			err := s.Update(ctx, func(tx store.Tx) (err error) {
				c, err = tx.CreateCommit(ctx, newCommit(m, newID(), digest(fmt.Sprint(i))))
				return err
			})
			if err != nil {
				t.Errorf("CreateCommit: %v", err)
				return
			}
			mu.Lock()
			seqs[m.ID] = append(seqs[m.ID], c.Seq)
			mu.Unlock()
		})
		// Readers run alongside the writers.
		wg.Go(func() {
			if _, err := s.ListCommits(ctx, m.ID, true, store.Page{Limit: 5}); err != nil {
				t.Errorf("ListCommits: %v", err)
			}
		})
	}
	wg.Wait()
	want := make([]int64, perModule)
	for i := range want {
		want[i] = int64(i + 1)
	}
	for _, m := range modules {
		got := slices.Sorted(slices.Values(seqs[m.ID]))
		wantEqual(t, "Seqs of concurrent commits to "+m.Name, got, want)
		cs, err := s.ListCommits(ctx, m.ID, false, store.Page{})
		check(t, "ListCommits", err)
		var listed []int64
		for _, c := range cs {
			listed = append(listed, c.Seq)
		}
		wantEqual(t, "Seqs listed after concurrent commits to "+m.Name, listed, want)
	}
}
