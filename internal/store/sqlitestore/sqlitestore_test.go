package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lathe-registry/lathe/internal/store"
	"github.com/lathe-registry/lathe/internal/store/storetest"
)

func openTemp(tb testing.TB) *Store {
	tb.Helper()
	s, err := Open(filepath.Join(tb.TempDir(), "lathe.db"))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store { return openTemp(b) })
}

func mustOpen(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func createModule(t *testing.T, s store.Store, name string) store.Module {
	t.Helper()
	var m store.Module
	err := s.Update(t.Context(), func(tx store.Tx) error {
		o, err := tx.CreateOwner(t.Context(), store.Owner{ID: name + "-owner", Name: name, Kind: store.OwnerUser})
		if err != nil {
			return err
		}
		m, err = tx.CreateModule(t.Context(), store.Module{
			ID: name + "-module", OwnerID: o.ID, Name: name, Visibility: store.Public, State: store.Active,
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSharedFile opens two Stores on one file, as the server and the admin CLI do, and
// writes through both at once.
func TestSharedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lathe.db")
	a, b := mustOpen(t, path), mustOpen(t, path)
	ctx := t.Context()

	m := createModule(t, a, "alice")
	got, err := b.ModuleByID(ctx, m.ID)
	if err != nil || got != m {
		t.Fatalf("b.ModuleByID = %+v, %v; want %+v", got, err, m)
	}
	n := createModule(t, b, "bob")
	if got, err := a.ModuleByName(ctx, n.OwnerID, "bob"); err != nil || got != n {
		t.Fatalf("a.ModuleByName = %+v, %v; want %+v", got, err, n)
	}

	// Writers of both Stores contend for the same write lock and the same Seqs.
	const perStore = 10
	var wg sync.WaitGroup
	for i := range 2 * perStore {
		s := []*Store{a, b}[i%2]
		wg.Go(func() {
			err := s.Update(ctx, func(tx store.Tx) error {
				_, err := tx.CreateCommit(ctx, store.Commit{ID: fmt.Sprintf("%032x", i), ModuleID: m.ID, Digest: []byte{byte(i)}})
				return err
			})
			if err != nil {
				t.Errorf("CreateCommit through store %d: %v", i%2, err)
			}
		})
	}
	wg.Wait()
	for _, s := range []*Store{a, b} {
		cs, err := s.ListCommits(ctx, m.ID, false, store.Page{})
		if err != nil {
			t.Fatal(err)
		}
		var seqs []int64
		for _, c := range cs {
			seqs = append(seqs, c.Seq)
		}
		if want := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}; !slices.Equal(seqs, want) {
			t.Errorf("Seqs = %v, want %v", seqs, want)
		}
	}
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lathe.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	m := createModule(t, s, "alice")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, path)
	if got, err := s.ModuleByID(t.Context(), m.ID); err != nil || got != m {
		t.Errorf("ModuleByID after reopening = %+v, %v; want %+v", got, err, m)
	}
}

func TestNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lathe.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", len(migrations)+1)); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(path); err == nil {
		s.Close()
		t.Fatal("Open of a database with a newer schema succeeded")
	}
}

// TestMigrateFromVersion1 opens a database made by the first version of the schema, with
// data in it, and checks that Open upgrades it to the current schema, keeping the data.
func TestMigrateFromVersion1(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "lathe.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrateTo(ctx, db, 1); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE name = 'plugins'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("version 1 database has a plugins table (%d, %v)", n, err)
	}
	if _, err := db.ExecContext(ctx, `
		INSERT INTO owners (id, name, kind, description, url, create_time, update_time)
			VALUES ('o1', 'alice', 1, '', '', 1000000, 1000000);
		INSERT INTO modules (id, owner_id, name, visibility, state, description, url, default_label_name, create_time, update_time)
			VALUES ('m1', 'o1', 'petapis', 2, 1, '', '', 'main', 2000000, 2000000);`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := mustOpen(t, path)
	var version int
	if err := s.write.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != len(migrations) {
		t.Errorf("user_version after Open = %d, want %d", version, len(migrations))
	}
	if m, err := s.ModuleByName(ctx, "o1", "petapis"); err != nil || m.ID != "m1" {
		t.Errorf("ModuleByName after migrating = %+v, %v; want module m1", m, err)
	}
	// The new tables work with the old data.
	err = s.Update(ctx, func(tx store.Tx) error {
		p, err := tx.CreatePlugin(ctx, store.Plugin{ID: "p1", OwnerID: "o1", Name: "go"})
		if err != nil {
			return err
		}
		_, err = tx.CreatePluginVersion(ctx, store.PluginVersion{ID: "v1", PluginID: p.ID, Version: "v1.0.0", Digest: []byte{1}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.PluginVersion(ctx, "p1", "", 0); err != nil || v.ID != "v1" {
		t.Errorf("PluginVersion after migrating = %+v, %v; want v1", v, err)
	}

	// The migrated schema is the one a new database gets.
	fresh := mustOpen(t, filepath.Join(t.TempDir(), "fresh.db"))
	if got, want := schemaSQL(t, s.write), schemaSQL(t, fresh.write); !slices.Equal(got, want) {
		t.Errorf("schema after migrating:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// schemaSQL returns the definitions of a database's tables and indexes.
func schemaSQL(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "SELECT type, name, coalesce(sql, '') FROM sqlite_schema ORDER BY type, name")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var defs []string
	for rows.Next() {
		var typ, name, def string
		if err := rows.Scan(&typ, &name, &def); err != nil {
			t.Fatal(err)
		}
		defs = append(defs, typ+" "+name+": "+def)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return defs
}

// TestPragmas checks that the DSN's pragmas apply to the connections of both pools.
func TestPragmas(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "lathe.db"))
	ctx := t.Context()
	for _, c := range []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"foreign_keys", "1"},
		{"busy_timeout", "10000"},
	} {
		for name, db := range map[string]*sql.DB{"read": s.read.db, "write": s.write} {
			var got string
			if err := db.QueryRowContext(ctx, "PRAGMA "+c.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("%s pool: PRAGMA %s = %s, want %s", name, c.pragma, got, c.want)
			}
		}
	}
	if _, err := s.read.db.ExecContext(ctx, "DELETE FROM owners"); err == nil {
		t.Error("the read pool can write")
	}
}

// TestQueryPlans checks that the reads, and the lookups of writes, search indexes instead
// of scanning tables or sorting. Lists of everything (scan set) may walk a whole index in
// order, but not scan a table or sort.
func TestQueryPlans(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "lathe.db"))
	labels, err := listLabelsQuery(store.UnarchivedOnly, true, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		query string
		args  int
		scan  bool
	}{
		{"OwnerByName", "SELECT " + ownerCols + " FROM owners WHERE name = ?", 1, false},
		{"UserByTokenHash", "SELECT " + ownerCols + " FROM owners WHERE id = (SELECT user_id FROM tokens WHERE hash = ?)", 1, false},
		{"ModuleByName", "SELECT " + moduleCols + " FROM modules WHERE owner_id = ? AND name = ?", 2, false},
		{"ListModules(owner)", listModulesQuery(false, true), 3, false},
		{"CommitByID", commitSelect + "WHERE c.id = ?", 1, false},
		{"CommitsByIDPrefix", commitsByIDPrefixQuery, 3, false},
		{"LatestCommitByDigest", latestCommitByDigestQuery, 2, false},
		{"ListCommits(asc)", listCommitsQuery(false), 3, false},
		{"ListCommits(desc)", listCommitsQuery(true), 3, false},
		{"LabelByName", "SELECT " + labelCols + " FROM labels WHERE module_id = ? AND name = ?", 2, false},
		{"ListLabels", labels, 4, false},
		{"LabelHistory", labelHistoryQuery(false), 3, false},
		{"next Seq", "SELECT COALESCE(MAX(seq), 0) + 1 FROM commits WHERE module_id = ?", 1, false},
		{"ListModules(all)", listModulesQuery(true, true), 2, true},

		{"PluginByName", "SELECT " + pluginCols + " FROM plugins WHERE owner_id = ? AND name = ?", 2, false},
		{"PluginByID", "SELECT " + pluginCols + " FROM plugins WHERE id = ?", 1, false},
		{"ListPlugins(owner)", listPluginsQuery(false), 3, false},
		{"ListPlugins(all)", listPluginsQuery(true), 2, true},
		{"PluginVersion(version, revision)", pluginRevisionQuery, 3, false},
		{"PluginVersion(version, 0)", latestPluginRevisionQuery, 2, false},
		{"PluginVersion(\"\", 0)", latestPluginVersionQuery, 2, false},
		{"ListPluginVersions", listPluginVersionsQuery, 3, false},
		{"SetPluginVersionDeprecated", "UPDATE plugin_versions SET deprecated = ? WHERE plugin_id = ? AND version = ?", 3, false},
		{"TemplateByName", "SELECT " + templateCols + " FROM templates WHERE owner_id = ? AND name = ?", 2, false},
		{"TemplateVersion(version)", templateVersionQuery, 2, false},
		{"TemplateVersion(0)", latestTemplateVersionQuery, 1, false},
		{"ListTemplateVersions", listTemplateVersionsQuery, 3, false},
		{"next template Version", nextTemplateVersionQuery, 2, false},
		{"GenerationOutput", "SELECT blob_key FROM generation_outputs WHERE key = ?", 1, false},
	} {
		args := make([]any, c.args)
		for i := range args {
			args[i] = "x"
		}
		plan := queryPlan(t.Context(), t, s.read.db, c.query, args...)
		for _, step := range plan {
			scan := strings.HasPrefix(step, "SCAN ")
			if c.scan {
				scan = scan && !strings.Contains(step, " USING INDEX ") && !strings.Contains(step, " USING COVERING INDEX ")
			}
			if scan || strings.Contains(step, "TEMP B-TREE") {
				t.Errorf("%s: plan %q", c.name, plan)
				break
			}
		}
	}
}

func queryPlan(ctx context.Context, t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}

func TestUpdateGoexitRollsBack(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "lathe.db"))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Update(context.Background(), func(tx store.Tx) error {
			if _, err := tx.CreateOwner(context.Background(), store.Owner{ID: "a", Name: "a", Kind: store.OwnerUser}); err != nil {
				t.Error(err)
			}
			runtime.Goexit()
			return nil
		})
	}()
	<-done
	if _, err := s.OwnerByID(t.Context(), "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("OwnerByID after Goexit: %v, want not found", err)
	}
	// The write connection was given back.
	createModule(t, s, "b")
}

func TestClockIncreases(t *testing.T) {
	var c clock
	last := c.now()
	for range 1000 {
		now := c.now()
		if now <= last {
			t.Fatalf("clock went from %d to %d", last, now)
		}
		last = now
	}
}

// TestReadsEndTheirTransactions checks that the read pool's prepared statements do not
// keep read transactions open after a read, which would stop checkpoints from emptying
// the WAL, so that it grew without bound.
func TestReadsEndTheirTransactions(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "lathe.db"))
	ctx := t.Context()
	m := createModule(t, s, "alice")
	if _, err := s.ModuleByID(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ListModules(ctx, "", false, store.Page{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ModuleByID(ctx, "unknown"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	createModule(t, s, "bob")
	var busy, logPages, checkpointed int
	if err := s.write.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logPages, &checkpointed); err != nil {
		t.Fatal(err)
	}
	if busy != 0 || logPages != 0 {
		t.Errorf("checkpoint: busy %d, %d pages left in the WAL", busy, logPages)
	}
}
