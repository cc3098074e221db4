package storetest

import (
	"fmt"
	"testing"

	"github.com/lathe-registry/lathe/internal/store"
)

// benchSizes are the numbers of commits (and labels) of the benchmarked module. Reads
// should take about as long with the largest as with the smallest.
var benchSizes = []int{10, 10_000} //nolint:gochecknoglobals // read-only table

// benchFixture is a store holding one module with n commits, each with a label.
type benchFixture struct {
	s       store.Store
	module  store.Module
	commits []store.Commit
	labels  []string
}

// Bench benchmarks the hot reads on stores returned by open, as sub-benchmarks named
// Op/commits=N for each module size N.
func Bench(b *testing.B, open func(b *testing.B) store.Store) {
	fixtures := make([]benchFixture, len(benchSizes))
	for i, n := range benchSizes {
		fixtures[i] = newBenchFixture(b, open, n)
	}
	for _, bm := range []struct {
		name string
		fn   func(b *testing.B, f benchFixture)
	}{
		{"CommitByID", benchCommitByID},
		{"LabelByName", benchLabelByName},
		{"ListCommits", benchListCommits},
	} {
		b.Run(bm.name, func(b *testing.B) {
			for _, f := range fixtures {
				b.Run(fmt.Sprintf("commits=%d", len(f.commits)), func(b *testing.B) { bm.fn(b, f) })
			}
		})
	}
}

func newBenchFixture(b *testing.B, open func(b *testing.B) store.Store, n int) benchFixture {
	s := open(b)
	b.Cleanup(func() {
		if err := s.Close(); err != nil {
			b.Errorf("Close: %v", err)
		}
	})
	ctx := b.Context()
	f := benchFixture{s: s}
	owner := createUser(b, s, "bench")
	f.module = createModule(b, s, owner.ID, "bench")
	const batch = 1000
	for start := 0; start < n; start += batch {
		update(b, s, func(tx store.Tx) error {
			for i := start; i < min(start+batch, n); i++ {
				var deps []string
				if i > 0 {
					deps = []string{f.commits[i-1].ID}
				}
				c, err := tx.CreateCommit(ctx, newCommit(f.module, newID(), digest(fmt.Sprint(i)), deps...))
				if err != nil {
					return err
				}
				name := fmt.Sprintf("label-%d", i)
				if _, err := tx.SetLabel(ctx, f.module.ID, name, c.ID, owner.ID); err != nil {
					return err
				}
				f.commits = append(f.commits, c)
				f.labels = append(f.labels, name)
			}
			return nil
		})
	}
	return f
}

func benchCommitByID(b *testing.B, f benchFixture) {
	ctx := b.Context()
	i := 0
	for b.Loop() {
		if _, err := f.s.CommitByID(ctx, f.commits[i%len(f.commits)].ID); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func benchLabelByName(b *testing.B, f benchFixture) {
	ctx := b.Context()
	i := 0
	for b.Loop() {
		if _, err := f.s.LabelByName(ctx, f.module.ID, f.labels[i%len(f.labels)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// benchListCommits lists the newest page of commits, as a module's page does.
func benchListCommits(b *testing.B, f benchFixture) {
	ctx := b.Context()
	for b.Loop() {
		cs, err := f.s.ListCommits(ctx, f.module.ID, true, store.Page{Limit: 10})
		if err != nil {
			b.Fatal(err)
		}
		if len(cs) != 10 {
			b.Fatalf("got %d commits, want 10", len(cs))
		}
	}
}
