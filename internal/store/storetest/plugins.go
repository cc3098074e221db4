package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/lathe-registry/lathe/internal/store"
)

// Plugin and template helpers.

func createPlugin(t testing.TB, s store.Store, ownerID, name string) store.Plugin {
	t.Helper()
	var p store.Plugin
	update(t, s, func(tx store.Tx) (err error) {
		p, err = tx.CreatePlugin(t.Context(), store.Plugin{ID: newID(), OwnerID: ownerID, Name: name})
		return err
	})
	return p
}

// newPluginVersion returns a revision of version of p whose digest, program and
// configuration are derived from content: equal contents, equal digests.
func newPluginVersion(p store.Plugin, version, content string) store.PluginVersion {
	return store.PluginVersion{
		ID:          newID(),
		PluginID:    p.ID,
		Version:     version,
		Config:      []byte("version: " + version + "\n# " + content + "\n"),
		Runtime:     "wasm",
		Program:     "program-" + content,
		ProgramName: "protoc-gen-" + content,
		Digest:      digest(content),
	}
}

func createPluginVersion(t testing.TB, s store.Store, v store.PluginVersion) store.PluginVersion {
	t.Helper()
	update(t, s, func(tx store.Tx) (err error) {
		v, err = tx.CreatePluginVersion(t.Context(), v)
		return err
	})
	return v
}

func setDeprecated(t testing.TB, s store.Store, pluginID, version string, deprecated bool) {
	t.Helper()
	update(t, s, func(tx store.Tx) error {
		return tx.SetPluginVersionDeprecated(t.Context(), pluginID, version, deprecated)
	})
}

func createTemplate(t testing.TB, s store.Store, ownerID, name string) store.Template {
	t.Helper()
	var tm store.Template
	update(t, s, func(tx store.Tx) (err error) {
		tm, err = tx.CreateTemplate(t.Context(), store.Template{ID: newID(), OwnerID: ownerID, Name: name})
		return err
	})
	return tm
}

func createTemplateVersion(t testing.TB, s store.Store, templateID, spec string) store.TemplateVersion {
	t.Helper()
	var v store.TemplateVersion
	update(t, s, func(tx store.Tx) (err error) {
		v, err = tx.CreateTemplateVersion(t.Context(), store.TemplateVersion{TemplateID: templateID, Spec: []byte(spec)})
		return err
	})
	return v
}

func pluginIDs(ps []store.Plugin) []string {
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	return ids
}

func pluginNames(ps []store.Plugin) []string {
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	return names
}

// revisions names plugin versions as version#revision.
func revisions(vs ...store.PluginVersion) []string {
	var rs []string
	for _, v := range vs {
		rs = append(rs, fmt.Sprintf("%s#%d", v.Version, v.Revision))
	}
	return rs
}

func templateVersionNumbers(vs []store.TemplateVersion) []int {
	var ns []int
	for _, v := range vs {
		ns = append(ns, v.Version)
	}
	return ns
}

// wantPluginVersion checks what PluginVersion returns for (version, revision).
func wantPluginVersion(t testing.TB, s store.Reader, pluginID, version string, revision int, want store.PluginVersion) {
	t.Helper()
	what := fmt.Sprintf("PluginVersion(%q, %d)", version, revision)
	got, err := s.PluginVersion(t.Context(), pluginID, version, revision)
	check(t, what, err)
	wantEqual(t, what, got, want)
}

// Plugins.

func testPluginCreateAndGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	want := store.Plugin{ID: newID(), OwnerID: alice.ID, Name: "protoc-gen-go", Description: "Go messages"}
	var got store.Plugin
	update(t, s, func(tx store.Tx) (err error) {
		got, err = tx.CreatePlugin(ctx, want)
		return err
	})
	checkTime(t, "CreateTime", got.CreateTime)
	checkTime(t, "UpdateTime", got.UpdateTime)
	want.CreateTime, want.UpdateTime = got.CreateTime, got.UpdateTime
	wantEqual(t, "CreatePlugin", got, want)

	byID, err := s.PluginByID(ctx, want.ID)
	check(t, "PluginByID", err)
	wantEqual(t, "PluginByID", byID, want)
	byName, err := s.PluginByName(ctx, alice.ID, "protoc-gen-go")
	check(t, "PluginByName", err)
	wantEqual(t, "PluginByName", byName, want)

	_, err = s.PluginByID(ctx, newID())
	wantErr(t, "PluginByID(unknown)", err, store.ErrNotFound)
	_, err = s.PluginByName(ctx, alice.ID, "protoc-gen")
	wantErr(t, "PluginByName(unknown name)", err, store.ErrNotFound)
	bob := createUser(t, s, "bob")
	_, err = s.PluginByName(ctx, bob.ID, "protoc-gen-go")
	wantErr(t, "PluginByName(other owner)", err, store.ErrNotFound)
}

func testPluginUniquePerOwner(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	bob := createUser(t, s, "bob")
	p := createPlugin(t, s, alice.ID, "go")
	create := func(id, ownerID, name string) error {
		return updateErr(t, s, func(tx store.Tx) error {
			_, err := tx.CreatePlugin(ctx, store.Plugin{ID: id, OwnerID: ownerID, Name: name})
			return err
		})
	}
	wantErr(t, "CreatePlugin(taken name)", create(newID(), alice.ID, "go"), store.ErrAlreadyExists)
	wantErr(t, "CreatePlugin(taken id)", create(p.ID, alice.ID, "other"), store.ErrAlreadyExists)
	wantErr(t, "CreatePlugin(unknown owner)", create(newID(), newID(), "x"), store.ErrNotFound)
	if err := create(newID(), bob.ID, "go"); err != nil {
		t.Errorf("CreatePlugin(same name, other owner): %v", err)
	}
	got, err := s.PluginByName(ctx, alice.ID, "go")
	check(t, "PluginByName", err)
	wantEqual(t, "PluginByName", got, p)
	_, err = s.PluginByName(ctx, alice.ID, "other")
	wantErr(t, "PluginByName(name of a failed CreatePlugin)", err, store.ErrNotFound)
}

func testListPlugins(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	bob := createUser(t, s, "bob")
	// Created out of name order.
	aGo := createPlugin(t, s, alice.ID, "go")
	aConnect := createPlugin(t, s, alice.ID, "connect")
	bGo := createPlugin(t, s, bob.ID, "go")
	aZod := createPlugin(t, s, alice.ID, "zod")
	bEs := createPlugin(t, s, bob.ID, "es")

	list := func(ownerID string, page store.Page) []store.Plugin {
		t.Helper()
		ps, err := s.ListPlugins(ctx, ownerID, page)
		check(t, "ListPlugins", err)
		for _, p := range ps {
			byID, err := s.PluginByID(ctx, p.ID)
			check(t, "PluginByID", err)
			wantEqual(t, "ListPlugins entry", p, byID)
		}
		return ps
	}
	wantEqual(t, "ListPlugins(alice)", list(alice.ID, store.Page{}), []store.Plugin{aConnect, aGo, aZod})
	wantEqual(t, "ListPlugins(bob)", list(bob.ID, store.Page{}), []store.Plugin{bEs, bGo})
	wantEqual(t, "ListPlugins(alice, offset 1, limit 1)", pluginIDs(list(alice.ID, store.Page{Offset: 1, Limit: 1})),
		[]string{aGo.ID})
	wantEqual(t, "ListPlugins(alice, offset 2)", pluginIDs(list(alice.ID, store.Page{Offset: 2})), []string{aZod.ID})

	// The order of equal names of different owners is not specified.
	all := list("", store.Page{})
	wantEqual(t, "ListPlugins(all) names", pluginNames(all), []string{"connect", "es", "go", "go", "zod"})
	wantEqual(t, "ListPlugins(all) plugins", slices.Sorted(slices.Values(pluginIDs(all))),
		slices.Sorted(slices.Values(pluginIDs([]store.Plugin{aGo, aConnect, bGo, aZod, bEs}))))
	wantEqual(t, "ListPlugins(all, offset 1, limit 1)", list("", store.Page{Offset: 1, Limit: 1}), []store.Plugin{bEs})
	wantEqual(t, "ListPlugins(all, offset 4)", list("", store.Page{Offset: 4}), []store.Plugin{aZod})
	wantEqual(t, "ListPlugins(all, offset past the end)", len(list("", store.Page{Offset: 5, Limit: 2})), 0)
	wantEqual(t, "ListPlugins(unknown owner)", len(list(newID(), store.Page{})), 0)
}

// Plugin versions.

func testPluginVersionRevisions(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	p := createPlugin(t, s, alice.ID, "go")
	q := createPlugin(t, s, alice.ID, "es")

	// The fields round-trip; Revision and CreateTime are the store's.
	in := newPluginVersion(p, "v1.0.0", "a")
	in.Revision = 7
	in.CreateTime = alice.CreateTime
	a := createPluginVersion(t, s, in)
	checkTime(t, "CreateTime", a.CreateTime)
	want := in
	want.Revision, want.CreateTime = 1, a.CreateTime
	wantEqual(t, "CreatePluginVersion", a, want)
	wantPluginVersion(t, s, p.ID, "v1.0.0", 1, want)

	// Revisions count per version, and per plugin.
	var created []store.PluginVersion
	for _, c := range []struct {
		plugin           store.Plugin
		version, content string
	}{
		{p, "v1.0.0", "b"},
		{p, "v2.0.0", "c"},
		{p, "v1.0.0", "d"},
		{p, "v2.0.0", "e"},
		{q, "v1.0.0", "f"},
	} {
		v := createPluginVersion(t, s, newPluginVersion(c.plugin, c.version, c.content))
		created = append(created, v)
		wantPluginVersion(t, s, c.plugin.ID, v.Version, v.Revision, v)
	}
	wantEqual(t, "revisions", revisions(created...), []string{"v1.0.0#2", "v2.0.0#1", "v1.0.0#3", "v2.0.0#2", "v1.0.0#1"})
	d := created[2]

	// Publishing the digest of a version's latest revision again writes nothing and
	// returns that revision, whatever the id and the rest say.
	again := newPluginVersion(p, "v1.0.0", "d")
	again.Program = "another program"
	wantEqual(t, "CreatePluginVersion(latest digest)", createPluginVersion(t, s, again), d)
	_, err := s.PluginVersion(ctx, p.ID, "v1.0.0", 4)
	wantErr(t, "PluginVersion(v1.0.0, 4) after republishing", err, store.ErrNotFound)
	all, err := s.ListPluginVersions(ctx, p.ID, store.Page{})
	check(t, "ListPluginVersions", err)
	wantEqual(t, "versions after republishing", len(all), 5)

	// Only the latest revision's digest counts: that of an older revision, or of
	// another version, makes a new revision.
	older := createPluginVersion(t, s, newPluginVersion(p, "v1.0.0", "a"))
	other := createPluginVersion(t, s, newPluginVersion(p, "v1.0.0", "e"))
	wantEqual(t, "revisions of older and other digests", revisions(older, other), []string{"v1.0.0#4", "v1.0.0#5"})

	// Revisions created in one Update, which sees the ones before.
	var inTx []store.PluginVersion
	update(t, s, func(tx store.Tx) error {
		for _, content := range []string{"g", "h", "h"} {
			v, err := tx.CreatePluginVersion(ctx, newPluginVersion(p, "v2.0.0", content))
			if err != nil {
				return err
			}
			inTx = append(inTx, v)
		}
		return nil
	})
	wantEqual(t, "revisions created in one Update", revisions(inTx...), []string{"v2.0.0#3", "v2.0.0#4", "v2.0.0#4"})
	wantEqual(t, "id of the republished revision in one Update", inTx[2].ID, inTx[1].ID)

	// A revision without configuration reads back as written.
	empty := newPluginVersion(p, "v3.0.0", "empty")
	empty.Config = nil
	empty = createPluginVersion(t, s, empty)
	wantPluginVersion(t, s, p.ID, "v3.0.0", 1, empty)
}

func testPluginVersionLookup(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	p := createPlugin(t, s, alice.ID, "go")
	q := createPlugin(t, s, alice.ID, "es")
	notFound := func(pluginID, version string, revision int) {
		t.Helper()
		_, err := s.PluginVersion(ctx, pluginID, version, revision)
		wantErr(t, fmt.Sprintf("PluginVersion(%q, %d)", version, revision), err, store.ErrNotFound)
	}
	notFound(p.ID, "", 0)
	notFound(p.ID, "v1.0.0", 0)

	v1r1 := createPluginVersion(t, s, newPluginVersion(p, "v1.0.0", "a"))
	tick()
	v2r1 := createPluginVersion(t, s, newPluginVersion(p, "v2.0.0", "b"))
	tick()
	v1r2 := createPluginVersion(t, s, newPluginVersion(p, "v1.0.0", "c"))
	tick()
	qv := createPluginVersion(t, s, newPluginVersion(q, "v9.0.0", "q"))

	wantPluginVersion(t, s, p.ID, "v1.0.0", 1, v1r1)
	wantPluginVersion(t, s, p.ID, "v1.0.0", 2, v1r2)
	wantPluginVersion(t, s, p.ID, "v1.0.0", 0, v1r2)
	wantPluginVersion(t, s, p.ID, "v2.0.0", 0, v2r1)
	// The most recently created version is v2.0.0, although v1.0.0 has a newer revision.
	wantPluginVersion(t, s, p.ID, "", 0, v2r1)
	// Version "" is the latest revision of the latest version, whatever the revision.
	wantPluginVersion(t, s, p.ID, "", 1, v2r1)
	wantPluginVersion(t, s, p.ID, "", 2, v2r1)
	wantPluginVersion(t, s, q.ID, "", 0, qv)

	notFound(p.ID, "v1.0.0", 3)
	notFound(p.ID, "v3.0.0", 0)
	notFound(p.ID, "v3.0.0", 1)
	notFound(p.ID, "v9.0.0", 0) // a version of another plugin
	notFound(newID(), "v1.0.0", 1)
	notFound(newID(), "", 0)

	// A new revision of the latest version is the latest.
	tick()
	v2r2 := createPluginVersion(t, s, newPluginVersion(p, "v2.0.0", "d"))
	wantPluginVersion(t, s, p.ID, "", 0, v2r2)
	// The latest version is the most recently created one, not the highest: versions
	// are not compared.
	tick()
	v09 := createPluginVersion(t, s, newPluginVersion(p, "v0.9.0", "e"))
	wantPluginVersion(t, s, p.ID, "", 0, v09)
	tick()
	createPluginVersion(t, s, newPluginVersion(p, "v2.0.0", "f"))
	wantPluginVersion(t, s, p.ID, "", 0, v09)
}

func testPluginVersionErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	p := createPlugin(t, s, alice.ID, "go")
	q := createPlugin(t, s, alice.ID, "es")
	v := createPluginVersion(t, s, newPluginVersion(p, "v1.0.0", "a"))
	create := func(v store.PluginVersion) error {
		return updateErr(t, s, func(tx store.Tx) error {
			_, err := tx.CreatePluginVersion(ctx, v)
			return err
		})
	}
	wantErr(t, "CreatePluginVersion(unknown plugin)", create(store.PluginVersion{
		ID: newID(), PluginID: newID(), Version: "v1.0.0", Digest: digest("x"),
	}), store.ErrNotFound)
	taken := newPluginVersion(p, "v1.0.0", "b")
	taken.ID = v.ID
	wantErr(t, "CreatePluginVersion(taken id)", create(taken), store.ErrAlreadyExists)
	taken = newPluginVersion(q, "v1.0.0", "b")
	taken.ID = v.ID
	wantErr(t, "CreatePluginVersion(id taken by another plugin)", create(taken), store.ErrAlreadyExists)

	// The failures took no revision.
	next := createPluginVersion(t, s, newPluginVersion(p, "v1.0.0", "b"))
	wantEqual(t, "revision after failed CreatePluginVersions", next.Revision, 2)
	first := createPluginVersion(t, s, newPluginVersion(q, "v1.0.0", "b"))
	wantEqual(t, "revision of another plugin after failed CreatePluginVersions", first.Revision, 1)
	got, err := s.PluginVersion(ctx, p.ID, "v1.0.0", 1)
	check(t, "PluginVersion", err)
	wantEqual(t, "PluginVersion after failed CreatePluginVersions", got, v)
}

func testSetPluginVersionDeprecated(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	p := createPlugin(t, s, alice.ID, "go")
	q := createPlugin(t, s, alice.ID, "es")
	createPluginVersion(t, s, newPluginVersion(p, "v1.0.0", "a"))
	createPluginVersion(t, s, newPluginVersion(p, "v1.0.0", "b"))
	createPluginVersion(t, s, newPluginVersion(p, "v2.0.0", "c"))
	createPluginVersion(t, s, newPluginVersion(q, "v1.0.0", "d")) // the same version of another plugin

	// deprecated lists the deprecated revisions of plugin, checking each against PluginVersion.
	deprecated := func(plugin store.Plugin) []string {
		t.Helper()
		vs, err := s.ListPluginVersions(ctx, plugin.ID, store.Page{})
		check(t, "ListPluginVersions", err)
		var ds []store.PluginVersion
		for _, v := range vs {
			byRevision, err := s.PluginVersion(ctx, plugin.ID, v.Version, v.Revision)
			check(t, "PluginVersion", err)
			wantEqual(t, "PluginVersion of a listed revision", byRevision, v)
			if v.Deprecated {
				ds = append(ds, v)
			}
		}
		rs := revisions(ds...)
		slices.Sort(rs)
		return rs
	}
	wantEqual(t, "deprecated revisions at first", deprecated(p), []string(nil))

	setDeprecated(t, s, p.ID, "v1.0.0", true)
	wantEqual(t, "deprecated revisions after deprecating v1.0.0", deprecated(p), []string{"v1.0.0#1", "v1.0.0#2"})
	wantEqual(t, "deprecated revisions of another plugin", deprecated(q), []string(nil))
	latest, err := s.PluginVersion(ctx, p.ID, "v1.0.0", 0)
	check(t, "PluginVersion(v1.0.0, 0)", err)
	if !latest.Deprecated {
		t.Errorf("latest revision of a deprecated version not deprecated: %+v", latest)
	}
	setDeprecated(t, s, p.ID, "v1.0.0", true) // again: no change, no error
	wantEqual(t, "deprecated revisions after deprecating v1.0.0 again", deprecated(p), []string{"v1.0.0#1", "v1.0.0#2"})

	// A new revision of a deprecated version is deprecated: deprecation is the version's.
	r3 := createPluginVersion(t, s, newPluginVersion(p, "v1.0.0", "e"))
	if !r3.Deprecated {
		t.Errorf("new revision of a deprecated version not deprecated: %+v", r3)
	}
	wantEqual(t, "deprecated revisions after a new revision", deprecated(p), []string{"v1.0.0#1", "v1.0.0#2", "v1.0.0#3"})
	// Republishing the latest digest returns the deprecated revision.
	wantEqual(t, "republished revision of a deprecated version", createPluginVersion(t, s, newPluginVersion(p, "v1.0.0", "e")), r3)

	setDeprecated(t, s, p.ID, "v1.0.0", false)
	wantEqual(t, "deprecated revisions after undeprecating v1.0.0", deprecated(p), []string(nil))
	r4 := createPluginVersion(t, s, newPluginVersion(p, "v1.0.0", "f"))
	if r4.Deprecated {
		t.Errorf("new revision of an undeprecated version deprecated: %+v", r4)
	}

	// A version's first revision takes the Deprecated it is created with.
	first := newPluginVersion(p, "v0.1.0", "g")
	first.Deprecated = true
	first = createPluginVersion(t, s, first)
	if !first.Deprecated {
		t.Errorf("first revision created deprecated is not: %+v", first)
	}
	wantEqual(t, "deprecated revisions after a deprecated first revision", deprecated(p), []string{"v0.1.0#1"})

	for _, c := range []struct{ pluginID, version string }{
		{p.ID, "v3.0.0"},
		{p.ID, ""},
		{newID(), "v1.0.0"},
	} {
		err := updateErr(t, s, func(tx store.Tx) error {
			return tx.SetPluginVersionDeprecated(ctx, c.pluginID, c.version, true)
		})
		wantErr(t, fmt.Sprintf("SetPluginVersionDeprecated(%q)", c.version), err, store.ErrNotFound)
	}
}

func testListPluginVersions(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	p := createPlugin(t, s, alice.ID, "go")
	q := createPlugin(t, s, alice.ID, "es")
	var vs []store.PluginVersion // oldest first
	for i, version := range []string{"v1.0.0", "v2.0.0", "v1.0.0", "v3.0.0", "v2.0.0"} {
		tick()
		vs = append(vs, createPluginVersion(t, s, newPluginVersion(p, version, fmt.Sprint(i))))
		createPluginVersion(t, s, newPluginVersion(q, version, fmt.Sprint(i)))
	}
	rev := slices.Clone(vs)
	slices.Reverse(rev)
	wantEqual(t, "newest first", revisions(rev...), []string{"v2.0.0#2", "v3.0.0#1", "v1.0.0#2", "v2.0.0#1", "v1.0.0#1"})
	for _, c := range []struct {
		page store.Page
		want []store.PluginVersion
	}{
		{store.Page{}, rev},
		{store.Page{Limit: 10}, rev},
		{store.Page{Offset: 1, Limit: 2}, rev[1:3]},
		{store.Page{Offset: 3}, rev[3:]},
		{store.Page{Limit: 1}, rev[:1]},
		{store.Page{Offset: 5}, nil},
	} {
		what := fmt.Sprintf("ListPluginVersions(%+v)", c.page)
		got, err := s.ListPluginVersions(ctx, p.ID, c.page)
		check(t, what, err)
		if len(got) != 0 || len(c.want) != 0 {
			wantEqual(t, what, got, c.want)
		}
	}
	got, err := s.ListPluginVersions(ctx, newID(), store.Page{})
	check(t, "ListPluginVersions(unknown plugin)", err)
	wantEqual(t, "ListPluginVersions(unknown plugin)", len(got), 0)
}

// Templates.

func testTemplateCreateAndGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	bob := createUser(t, s, "bob")
	want := store.Template{ID: newID(), OwnerID: alice.ID, Name: "go-grpc", Description: "Go with gRPC"}
	var got store.Template
	update(t, s, func(tx store.Tx) (err error) {
		got, err = tx.CreateTemplate(ctx, want)
		return err
	})
	checkTime(t, "CreateTime", got.CreateTime)
	checkTime(t, "UpdateTime", got.UpdateTime)
	want.CreateTime, want.UpdateTime = got.CreateTime, got.UpdateTime
	wantEqual(t, "CreateTemplate", got, want)
	byName, err := s.TemplateByName(ctx, alice.ID, "go-grpc")
	check(t, "TemplateByName", err)
	wantEqual(t, "TemplateByName", byName, want)

	_, err = s.TemplateByName(ctx, alice.ID, "go")
	wantErr(t, "TemplateByName(unknown name)", err, store.ErrNotFound)
	_, err = s.TemplateByName(ctx, bob.ID, "go-grpc")
	wantErr(t, "TemplateByName(other owner)", err, store.ErrNotFound)

	create := func(id, ownerID, name string) error {
		return updateErr(t, s, func(tx store.Tx) error {
			_, err := tx.CreateTemplate(ctx, store.Template{ID: id, OwnerID: ownerID, Name: name})
			return err
		})
	}
	wantErr(t, "CreateTemplate(taken name)", create(newID(), alice.ID, "go-grpc"), store.ErrAlreadyExists)
	wantErr(t, "CreateTemplate(taken id)", create(want.ID, alice.ID, "other"), store.ErrAlreadyExists)
	wantErr(t, "CreateTemplate(unknown owner)", create(newID(), newID(), "x"), store.ErrNotFound)
	if err := create(newID(), bob.ID, "go-grpc"); err != nil {
		t.Errorf("CreateTemplate(same name, other owner): %v", err)
	}
	_, err = s.TemplateByName(ctx, alice.ID, "other")
	wantErr(t, "TemplateByName(name of a failed CreateTemplate)", err, store.ErrNotFound)
	byName, err = s.TemplateByName(ctx, alice.ID, "go-grpc")
	check(t, "TemplateByName", err)
	wantEqual(t, "TemplateByName after failed CreateTemplates", byName, want)
}

func testTemplateVersions(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	tm := createTemplate(t, s, alice.ID, "go")
	other := createTemplate(t, s, alice.ID, "es")
	notFound := func(templateID string, version int) {
		t.Helper()
		_, err := s.TemplateVersion(ctx, templateID, version)
		wantErr(t, fmt.Sprintf("TemplateVersion(%d)", version), err, store.ErrNotFound)
	}
	notFound(tm.ID, 0)
	notFound(tm.ID, 1)
	got, err := s.ListTemplateVersions(ctx, tm.ID, store.Page{})
	check(t, "ListTemplateVersions(no versions)", err)
	wantEqual(t, "ListTemplateVersions(no versions)", len(got), 0)

	// The fields round-trip; Version and CreateTime are the store's.
	in := store.TemplateVersion{TemplateID: tm.ID, Version: 7, Spec: []byte("plugins: [go]"), CreateTime: alice.CreateTime}
	var v1 store.TemplateVersion
	update(t, s, func(tx store.Tx) (err error) {
		v1, err = tx.CreateTemplateVersion(ctx, in)
		return err
	})
	checkTime(t, "CreateTime", v1.CreateTime)
	want := in
	want.Version, want.CreateTime = 1, v1.CreateTime
	wantEqual(t, "CreateTemplateVersion", v1, want)

	// Versions count per template.
	vs := []store.TemplateVersion{v1}
	var numbers []int
	for _, c := range []struct {
		template store.Template
		spec     string
	}{
		{other, "o1"},
		{tm, "2"},
		{other, "o2"},
		{tm, "3"},
	} {
		tick()
		v := createTemplateVersion(t, s, c.template.ID, c.spec)
		numbers = append(numbers, v.Version)
		if c.template.ID == tm.ID {
			vs = append(vs, v)
		}
	}
	wantEqual(t, "versions of templates go, es, go, es", numbers, []int{1, 2, 2, 3})
	for _, v := range vs {
		got, err := s.TemplateVersion(ctx, tm.ID, v.Version)
		check(t, "TemplateVersion", err)
		wantEqual(t, fmt.Sprintf("TemplateVersion(%d)", v.Version), got, v)
	}
	latest, err := s.TemplateVersion(ctx, tm.ID, 0)
	check(t, "TemplateVersion(0)", err)
	wantEqual(t, "TemplateVersion(0)", latest, vs[2])
	notFound(tm.ID, 4)
	notFound(newID(), 0)
	notFound(newID(), 1)

	err = updateErr(t, s, func(tx store.Tx) error {
		_, err := tx.CreateTemplateVersion(ctx, store.TemplateVersion{TemplateID: newID(), Spec: []byte("x")})
		return err
	})
	wantErr(t, "CreateTemplateVersion(unknown template)", err, store.ErrNotFound)

	// Versions created in one Update, which sees the ones before; an empty spec reads
	// back as written.
	update(t, s, func(tx store.Tx) error {
		for range 2 {
			v, err := tx.CreateTemplateVersion(ctx, store.TemplateVersion{TemplateID: tm.ID})
			if err != nil {
				return err
			}
			vs = append(vs, v)
		}
		return nil
	})
	wantEqual(t, "versions created in one Update", templateVersionNumbers(vs[3:]), []int{4, 5})
	latest, err = s.TemplateVersion(ctx, tm.ID, 0)
	check(t, "TemplateVersion(0)", err)
	wantEqual(t, "TemplateVersion(0) with an empty spec", latest, vs[4])

	rev := slices.Clone(vs)
	slices.Reverse(rev)
	for _, c := range []struct {
		page store.Page
		want []store.TemplateVersion
	}{
		{store.Page{}, rev},
		{store.Page{Limit: 10}, rev},
		{store.Page{Offset: 1, Limit: 2}, rev[1:3]},
		{store.Page{Offset: 3}, rev[3:]},
		{store.Page{Offset: 5, Limit: 1}, nil},
	} {
		what := fmt.Sprintf("ListTemplateVersions(%+v)", c.page)
		got, err := s.ListTemplateVersions(ctx, tm.ID, c.page)
		check(t, what, err)
		if len(got) != 0 || len(c.want) != 0 {
			wantEqual(t, what, got, c.want)
		}
	}
	got, err = s.ListTemplateVersions(ctx, newID(), store.Page{})
	check(t, "ListTemplateVersions(unknown template)", err)
	wantEqual(t, "ListTemplateVersions(unknown template)", len(got), 0)
}

// Generation outputs.

func testGenerationOutputs(t *testing.T, s store.Store) {
	ctx := t.Context()
	put := func(key, blobKey string) string {
		t.Helper()
		var got string
		update(t, s, func(tx store.Tx) (err error) {
			got, err = tx.PutGenerationOutput(ctx, key, blobKey)
			return err
		})
		return got
	}
	get := func(key string) string {
		t.Helper()
		got, err := s.GenerationOutput(ctx, key)
		check(t, "GenerationOutput("+key+")", err)
		return got
	}
	_, err := s.GenerationOutput(ctx, "k1")
	wantErr(t, "GenerationOutput(unknown)", err, store.ErrNotFound)

	wantEqual(t, "first PutGenerationOutput(k1)", put("k1", "blob-a"), "blob-a")
	wantEqual(t, "GenerationOutput(k1)", get("k1"), "blob-a")
	// The first write wins.
	wantEqual(t, "second PutGenerationOutput(k1)", put("k1", "blob-b"), "blob-a")
	wantEqual(t, "GenerationOutput(k1) after the second put", get("k1"), "blob-a")
	wantEqual(t, "PutGenerationOutput(k2)", put("k2", "blob-b"), "blob-b")
	wantEqual(t, "GenerationOutput(k2)", get("k2"), "blob-b")
	_, err = s.GenerationOutput(ctx, "k")
	wantErr(t, "GenerationOutput(prefix of a key)", err, store.ErrNotFound)

	// Also within one Update.
	update(t, s, func(tx store.Tx) error {
		for i, blobKey := range []string{"blob-c", "blob-d"} {
			got, err := tx.PutGenerationOutput(ctx, "k3", blobKey)
			if err != nil {
				return err
			}
			if got != "blob-c" {
				t.Errorf("PutGenerationOutput(k3) #%d in one Update = %q, want blob-c", i+1, got)
			}
		}
		if got, err := tx.GenerationOutput(ctx, "k3"); err != nil || got != "blob-c" {
			t.Errorf("tx.GenerationOutput(k3) = %q, %v; want blob-c", got, err)
		}
		return nil
	})
	wantEqual(t, "GenerationOutput(k3)", get("k3"), "blob-c")

	// Deleting them all forgets every key, and leaves artifacts alone.
	put2 := store.Artifact{Ecosystem: "go", Name: "p", Version: "v1", ModuleID: newID(), Blob: "blob-z"}
	var n int64
	update(t, s, func(tx store.Tx) (err error) {
		if _, err := tx.PutArtifact(ctx, put2); err != nil {
			return err
		}
		n, err = tx.DeleteGenerationOutputs(ctx)
		return err
	})
	wantEqual(t, "DeleteGenerationOutputs", n, int64(3))
	for _, k := range []string{"k1", "k2", "k3"} {
		_, err := s.GenerationOutput(ctx, k)
		wantErr(t, "GenerationOutput after DeleteGenerationOutputs", err, store.ErrNotFound)
	}
	_, err = s.Artifact(ctx, "go", "p", "v1")
	check(t, "Artifact after DeleteGenerationOutputs", err)
	wantEqual(t, "put after DeleteGenerationOutputs", put("k1", "blob-e"), "blob-e")
}

// Reads within transactions, concurrency.

func testTxReadsOwnPluginWrites(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	update(t, s, func(tx store.Tx) error {
		p, err := tx.CreatePlugin(ctx, store.Plugin{ID: newID(), OwnerID: alice.ID, Name: "go"})
		if err != nil {
			return err
		}
		if got, err := tx.PluginByName(ctx, alice.ID, "go"); err != nil || got != p {
			t.Errorf("tx.PluginByName = %+v, %v; want %+v", got, err, p)
		}
		if got, err := tx.PluginByID(ctx, p.ID); err != nil || got != p {
			t.Errorf("tx.PluginByID = %+v, %v; want %+v", got, err, p)
		}
		if got, err := tx.ListPlugins(ctx, alice.ID, store.Page{}); err != nil || len(got) != 1 {
			t.Errorf("tx.ListPlugins = %+v, %v; want 1 plugin", got, err)
		}
		v, err := tx.CreatePluginVersion(ctx, newPluginVersion(p, "v1.0.0", "a"))
		if err != nil {
			return err
		}
		for _, c := range []struct {
			version  string
			revision int
		}{{"v1.0.0", 1}, {"v1.0.0", 0}, {"", 0}} {
			if got, err := tx.PluginVersion(ctx, p.ID, c.version, c.revision); err != nil || !reflect.DeepEqual(got, v) {
				t.Errorf("tx.PluginVersion(%q, %d) = %+v, %v; want %+v", c.version, c.revision, got, err, v)
			}
		}
		if got, err := tx.ListPluginVersions(ctx, p.ID, store.Page{}); err != nil || len(got) != 1 {
			t.Errorf("tx.ListPluginVersions = %+v, %v; want 1 version", got, err)
		}
		if err := tx.SetPluginVersionDeprecated(ctx, p.ID, "v1.0.0", true); err != nil {
			return err
		}
		if got, err := tx.PluginVersion(ctx, p.ID, "v1.0.0", 1); err != nil || !got.Deprecated {
			t.Errorf("tx.PluginVersion after deprecating = %+v, %v; want deprecated", got, err)
		}
		tm, err := tx.CreateTemplate(ctx, store.Template{ID: newID(), OwnerID: alice.ID, Name: "go"})
		if err != nil {
			return err
		}
		if got, err := tx.TemplateByName(ctx, alice.ID, "go"); err != nil || got != tm {
			t.Errorf("tx.TemplateByName = %+v, %v; want %+v", got, err, tm)
		}
		tv, err := tx.CreateTemplateVersion(ctx, store.TemplateVersion{TemplateID: tm.ID, Spec: []byte("spec")})
		if err != nil {
			return err
		}
		if got, err := tx.TemplateVersion(ctx, tm.ID, 0); err != nil || !reflect.DeepEqual(got, tv) {
			t.Errorf("tx.TemplateVersion(0) = %+v, %v; want %+v", got, err, tv)
		}
		if got, err := tx.ListTemplateVersions(ctx, tm.ID, store.Page{}); err != nil || len(got) != 1 {
			t.Errorf("tx.ListTemplateVersions = %+v, %v; want 1 version", got, err)
		}
		if _, err := tx.PutGenerationOutput(ctx, "key", "blob"); err != nil {
			return err
		}
		if got, err := tx.GenerationOutput(ctx, "key"); err != nil || got != "blob" {
			t.Errorf("tx.GenerationOutput = %q, %v; want blob", got, err)
		}
		return nil
	})
}

func testConcurrentPluginVersions(t *testing.T, s store.Store) {
	const perVersion = 16
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	p := createPlugin(t, s, alice.ID, "go")
	versions := []string{"v1.0.0", "v2.0.0"}
	var (
		wg              sync.WaitGroup
		mu              sync.Mutex
		revs            = map[string][]int{}
		sameIDs         = map[string]bool{}
		samePublication = newPluginVersion(p, "v3.0.0", "same")
	)
	for i := range perVersion * len(versions) {
		version := versions[i%len(versions)]
		wg.Go(func() {
			var v store.PluginVersion
			err := s.Update(ctx, func(tx store.Tx) (err error) {
				v, err = tx.CreatePluginVersion(ctx, newPluginVersion(p, version, fmt.Sprint(i)))
				return err
			})
			if err != nil {
				t.Errorf("CreatePluginVersion: %v", err)
				return
			}
			mu.Lock()
			revs[version] = append(revs[version], v.Revision)
			mu.Unlock()
		})
		// Publishers of one digest to one version all get its one revision.
		wg.Go(func() {
			same := samePublication
			same.ID = newID()
			var v store.PluginVersion
			err := s.Update(ctx, func(tx store.Tx) (err error) {
				v, err = tx.CreatePluginVersion(ctx, same)
				return err
			})
			if err != nil {
				t.Errorf("CreatePluginVersion(same digest): %v", err)
				return
			}
			mu.Lock()
			sameIDs[fmt.Sprintf("%s#%d", v.ID, v.Revision)] = true
			mu.Unlock()
		})
		// Readers run alongside the writers.
		wg.Go(func() {
			if _, err := s.PluginVersion(ctx, p.ID, "", 0); err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Errorf("PluginVersion: %v", err)
			}
			if _, err := s.ListPluginVersions(ctx, p.ID, store.Page{Limit: 5}); err != nil {
				t.Errorf("ListPluginVersions: %v", err)
			}
		})
	}
	wg.Wait()
	want := make([]int, perVersion)
	for i := range want {
		want[i] = i + 1
	}
	for _, version := range versions {
		wantEqual(t, "revisions of concurrent publications of "+version, slices.Sorted(slices.Values(revs[version])), want)
		latest, err := s.PluginVersion(ctx, p.ID, version, 0)
		check(t, "PluginVersion", err)
		wantEqual(t, "latest revision of "+version, latest.Revision, perVersion)
	}
	wantEqual(t, "distinct revisions returned for one digest", len(sameIDs), 1)
	all, err := s.ListPluginVersions(ctx, p.ID, store.Page{})
	check(t, "ListPluginVersions", err)
	wantEqual(t, "number of revisions", len(all), perVersion*len(versions)+1)
}

func testConcurrentTemplateVersions(t *testing.T, s store.Store) {
	const perTemplate = 16
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	templates := []store.Template{createTemplate(t, s, alice.ID, "go"), createTemplate(t, s, alice.ID, "es")}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		versions = map[string][]int{}
	)
	for i := range perTemplate * len(templates) {
		tm := templates[i%len(templates)]
		wg.Go(func() {
			var v store.TemplateVersion
			err := s.Update(ctx, func(tx store.Tx) (err error) {
				v, err = tx.CreateTemplateVersion(ctx, store.TemplateVersion{TemplateID: tm.ID, Spec: []byte(fmt.Sprint(i))})
				return err
			})
			if err != nil {
				t.Errorf("CreateTemplateVersion: %v", err)
				return
			}
			mu.Lock()
			versions[tm.ID] = append(versions[tm.ID], v.Version)
			mu.Unlock()
		})
		wg.Go(func() {
			if _, err := s.TemplateVersion(ctx, tm.ID, 0); err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Errorf("TemplateVersion: %v", err)
			}
		})
	}
	wg.Wait()
	want := make([]int, perTemplate)
	for i := range want {
		want[i] = i + 1
	}
	for _, tm := range templates {
		wantEqual(t, "versions of concurrent versions of "+tm.Name, slices.Sorted(slices.Values(versions[tm.ID])), want)
		vs, err := s.ListTemplateVersions(ctx, tm.ID, store.Page{})
		check(t, "ListTemplateVersions", err)
		listed := templateVersionNumbers(vs)
		slices.Reverse(listed)
		wantEqual(t, "versions listed after concurrent versions of "+tm.Name, listed, want)
	}
}

// Artifacts.

func testArtifacts(t *testing.T, s store.Store) {
	ctx := t.Context()
	put := func(a store.Artifact) store.Artifact {
		t.Helper()
		var got store.Artifact
		update(t, s, func(tx store.Tx) (err error) {
			got, err = tx.PutArtifact(ctx, a)
			return err
		})
		return got
	}
	_, err := s.Artifact(ctx, "go", "p", "v1")
	wantErr(t, "Artifact(unknown)", err, store.ErrNotFound)

	first := store.Artifact{Ecosystem: "go", Name: "p", Version: "v1", ModuleID: newID(), Blob: "blob-a", Meta: []byte("module p\n")}
	got := put(first)
	checkTime(t, "PutArtifact: CreateTime", got.CreateTime)
	first.CreateTime = got.CreateTime
	wantEqual(t, "PutArtifact", got, first)
	stored, err := s.Artifact(ctx, "go", "p", "v1")
	check(t, "Artifact", err)
	wantEqual(t, "Artifact", stored, first)

	// The first write wins.
	tick()
	again := first
	again.Blob, again.Meta = "blob-b", []byte("other")
	wantEqual(t, "second PutArtifact", put(again), first)
	stored, err = s.Artifact(ctx, "go", "p", "v1")
	check(t, "Artifact after the second put", err)
	wantEqual(t, "Artifact after the second put", stored, first)

	// Names and versions are exact; ecosystems are separate namespaces.
	for _, k := range [][3]string{{"cargo", "p", "v1"}, {"go", "P", "v1"}, {"go", "p", "v1.0"}, {"go", "", "v1"}} {
		_, err := s.Artifact(ctx, k[0], k[1], k[2])
		wantErr(t, fmt.Sprintf("Artifact%q", k), err, store.ErrNotFound)
	}

	// Versions list in publication order, whatever their spelling; empty Meta reads back nil.
	var want []store.Artifact
	want = append(want, first)
	for _, v := range []string{"v3", "v0", "v2"} {
		tick()
		want = append(want, put(store.Artifact{Ecosystem: "go", Name: "p", Version: v, ModuleID: first.ModuleID, Blob: "blob-" + v}))
	}
	put(store.Artifact{Ecosystem: "cargo", Name: "p", Version: "v9", ModuleID: first.ModuleID, Blob: "blob-c"})
	if want[1].Meta != nil {
		t.Errorf("empty Meta read back as %q, want nil", want[1].Meta)
	}
	for _, c := range []struct {
		page store.Page
		want []store.Artifact
	}{
		{store.Page{}, want},
		{store.Page{Offset: 1, Limit: 2}, want[1:3]},
		{store.Page{Offset: 4}, nil},
	} {
		got, err := s.ListArtifacts(ctx, "go", "p", c.page)
		check(t, "ListArtifacts", err)
		if len(got) != 0 || len(c.want) != 0 {
			wantEqual(t, fmt.Sprintf("ListArtifacts(%+v)", c.page), got, c.want)
		}
	}
	got2, err := s.ListArtifacts(ctx, "npm", "p", store.Page{})
	check(t, "ListArtifacts(unknown)", err)
	if len(got2) != 0 {
		t.Errorf("ListArtifacts(unknown) = %v, want none", got2)
	}

	// A failed transaction publishes nothing.
	boom := errors.New("boom")
	err = updateErr(t, s, func(tx store.Tx) error {
		if _, err := tx.PutArtifact(ctx, store.Artifact{Ecosystem: "go", Name: "q", Version: "v1", ModuleID: first.ModuleID, Blob: "x"}); err != nil {
			return err
		}
		return boom
	})
	wantErr(t, "Update", err, boom)
	_, err = s.Artifact(ctx, "go", "q", "v1")
	wantErr(t, "Artifact after a rolled-back put", err, store.ErrNotFound)
}

func testLabelHadCommit(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	m := createModule(t, s, alice.ID, "m")
	cs := createCommits(t, s, m, 3)
	main := setLabel(t, s, m.ID, "main", cs[0].ID, alice.ID)
	setLabel(t, s, m.ID, "main", cs[1].ID, alice.ID)
	other := setLabel(t, s, m.ID, "other", cs[2].ID, alice.ID)
	for _, c := range []struct {
		label  store.Label
		commit store.Commit
		want   bool
	}{
		{main, cs[0], true}, // a commit the label moved away from
		{main, cs[1], true},
		{main, cs[2], false},
		{other, cs[2], true},
		{other, cs[0], false},
	} {
		got, err := s.LabelHadCommit(ctx, c.label.ID, c.commit.ID)
		check(t, "LabelHadCommit", err)
		if got != c.want {
			t.Errorf("LabelHadCommit(%s, commit %d) = %v, want %v", c.label.Name, c.commit.Seq, got, c.want)
		}
	}
	got, err := s.LabelHadCommit(ctx, newID(), cs[0].ID)
	check(t, "LabelHadCommit(unknown label)", err)
	if got {
		t.Error("LabelHadCommit(unknown label) = true")
	}
}

// Interests and jobs.

func testInterests(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	m := createModule(t, s, alice.ID, "m")
	other := createModule(t, s, alice.ID, "other")
	add := func(i store.Interest) bool {
		t.Helper()
		var created bool
		update(t, s, func(tx store.Tx) (err error) {
			created, err = tx.AddInterest(ctx, i)
			return err
		})
		return created
	}
	wantEqual(t, "first AddInterest", add(store.Interest{ModuleID: m.ID, Ecosystem: "cargo", Generator: "plugin:a/b"}), true)
	tick()
	wantEqual(t, "second AddInterest", add(store.Interest{ModuleID: m.ID, Ecosystem: "cargo", Generator: "plugin:a/b"}), false)
	wantEqual(t, "AddInterest, other generator", add(store.Interest{ModuleID: m.ID, Ecosystem: "cargo", Generator: "plugin:a/c"}), true)
	wantEqual(t, "AddInterest, other ecosystem", add(store.Interest{ModuleID: m.ID, Ecosystem: "npm", Generator: "plugin:a/b"}), true)
	add(store.Interest{ModuleID: other.ID, Ecosystem: "cargo", Generator: "plugin:a/b"})
	got, err := s.Interests(ctx, m.ID)
	check(t, "Interests", err)
	if len(got) != 3 {
		t.Fatalf("Interests = %+v, want 3", got)
	}
	checkTime(t, "Interest.CreateTime", got[0].CreateTime)
	wantEqual(t, "first interest", [3]string{got[0].ModuleID, got[0].Ecosystem, got[0].Generator}, [3]string{m.ID, "cargo", "plugin:a/b"})
	// Deleting the module deletes its interests.
	update(t, s, func(tx store.Tx) error { return tx.DeleteModule(ctx, m.ID) })
	got, err = s.Interests(ctx, m.ID)
	check(t, "Interests after DeleteModule", err)
	if len(got) != 0 {
		t.Errorf("Interests after DeleteModule = %+v", got)
	}
}

func testJobs(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, "alice")
	m := createModule(t, s, alice.ID, "m")
	enqueue := func(j store.Job) store.Job {
		t.Helper()
		var got store.Job
		update(t, s, func(tx store.Tx) (err error) {
			got, err = tx.EnqueueJob(ctx, j)
			return err
		})
		return got
	}
	j1 := enqueue(store.Job{Ecosystem: "cargo", ModuleID: m.ID, CommitID: "c1", Generator: "plugin:a/b", PluginVersion: "v1.0.0", PluginRevision: 1})
	if j1.ID == 0 || j1.State != store.JobPending || j1.Error != "" {
		t.Fatalf("EnqueueJob = %+v", j1)
	}
	checkTime(t, "Job.CreateTime", j1.CreateTime)
	// The same job again is the same job.
	wantEqual(t, "EnqueueJob again", enqueue(store.Job{Ecosystem: "cargo", ModuleID: m.ID, CommitID: "c1", Generator: "plugin:a/b", PluginVersion: "v1.0.0", PluginRevision: 1}), j1)
	j2 := enqueue(store.Job{Ecosystem: "cargo", ModuleID: m.ID, CommitID: "c1", Generator: "plugin:a/b", PluginVersion: "v1.0.0", PluginRevision: 2})
	j3 := enqueue(store.Job{Ecosystem: "go", ModuleID: m.ID, CommitID: "c2", Generator: "template:a/t", TemplateVersion: 3})
	if j2.ID == j1.ID || j3.ID <= j2.ID {
		t.Fatalf("job ids %d, %d, %d are not new and ascending", j1.ID, j2.ID, j3.ID)
	}
	jobs, err := s.Jobs(ctx, store.JobPending, store.Page{})
	check(t, "Jobs", err)
	wantEqual(t, "pending jobs", len(jobs), 3)
	wantEqual(t, "third job", jobs[2], j3)

	update(t, s, func(tx store.Tx) error { return tx.FailJob(ctx, j2.ID, "plugin failed: boom") })
	failed, err := s.Jobs(ctx, store.JobFailed, store.Page{})
	check(t, "Jobs(failed)", err)
	if len(failed) != 1 || failed[0].ID != j2.ID || failed[0].Error != "plugin failed: boom" {
		t.Errorf("failed jobs = %+v", failed)
	}
	// Asking again retries a failed job.
	again := enqueue(store.Job{Ecosystem: "cargo", ModuleID: m.ID, CommitID: "c1", Generator: "plugin:a/b", PluginVersion: "v1.0.0", PluginRevision: 2})
	if again.ID != j2.ID || again.State != store.JobPending || again.Error != "" {
		t.Errorf("re-enqueued failed job = %+v", again)
	}
	update(t, s, func(tx store.Tx) error { return tx.FinishJob(ctx, j1.ID) })
	all, err := s.Jobs(ctx, 0, store.Page{})
	check(t, "Jobs(all)", err)
	wantEqual(t, "jobs after FinishJob", len(all), 2)
	page, err := s.Jobs(ctx, 0, store.Page{Offset: 1, Limit: 1})
	check(t, "Jobs(page)", err)
	if len(page) != 1 || page[0].ID != j3.ID {
		t.Errorf("Jobs(offset 1, limit 1) = %+v", page)
	}
	err = updateErr(t, s, func(tx store.Tx) error { return tx.FinishJob(ctx, j1.ID) })
	wantErr(t, "FinishJob(finished)", err, store.ErrNotFound)
	err = updateErr(t, s, func(tx store.Tx) error { return tx.FailJob(ctx, 999999, "x") })
	wantErr(t, "FailJob(unknown)", err, store.ErrNotFound)
}
