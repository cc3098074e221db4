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

// TestQueryPlans checks that the reads, and the Seq lookup, search indexes instead of
// scanning tables or sorting.
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
	}{
		{"OwnerByName", "SELECT " + ownerCols + " FROM owners WHERE name = ?", 1},
		{"UserByTokenHash", "SELECT " + ownerCols + " FROM owners WHERE id = (SELECT user_id FROM tokens WHERE hash = ?)", 1},
		{"ModuleByName", "SELECT " + moduleCols + " FROM modules WHERE owner_id = ? AND name = ?", 2},
		{"ListModules(owner)", listModulesQuery(false, true), 3},
		{"CommitByID", commitSelect + "WHERE c.id = ?", 1},
		{"CommitsByIDPrefix", commitsByIDPrefixQuery, 3},
		{"LatestCommitByDigest", latestCommitByDigestQuery, 2},
		{"ListCommits(asc)", listCommitsQuery(false), 3},
		{"ListCommits(desc)", listCommitsQuery(true), 3},
		{"LabelByName", "SELECT " + labelCols + " FROM labels WHERE module_id = ? AND name = ?", 2},
		{"ListLabels", labels, 4},
		{"LabelHistory", labelHistoryQuery(false), 3},
		{"next Seq", "SELECT COALESCE(MAX(seq), 0) + 1 FROM commits WHERE module_id = ?", 1},
	} {
		args := make([]any, c.args)
		for i := range args {
			args[i] = "x"
		}
		plan := queryPlan(t.Context(), t, s.read.db, c.query, args...)
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN ") || strings.Contains(step, "TEMP B-TREE") {
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
