package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/store"
	"github.com/lathe-registry/lathe/internal/store/sqlitestore"
)

// lathe sdk retry makes a module's failed jobs, or the jobs named, pending again, so
// that the server's queue runs them at once.
func TestSDKRetry(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	ctx := context.Background()
	lathe := func(args ...string) (int, string, string) {
		var stdout, stderr strings.Builder
		code := run(ctx, args, mapEnv(map[string]string{"LATHE_DATA": data}), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	if code, _, stderr := lathe("user", "create", "alice"); code != 0 {
		t.Fatalf("user create: %s", stderr)
	}
	st, err := sqlitestore.Open(filepath.Join(data, "lathe.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.Update(ctx, func(tx store.Tx) error {
		alice, err := tx.OwnerByName(ctx, "alice")
		if err != nil {
			return err
		}
		m, err := tx.CreateModule(ctx, store.Module{ID: registry.NewID(), OwnerID: alice.ID, Name: "m", Visibility: store.Private, State: store.Active, DefaultLabelName: "main"})
		if err != nil {
			return err
		}
		for _, eco := range []string{"cargo", "npm"} {
			j, err := tx.EnqueueJob(ctx, store.Job{Ecosystem: eco, ModuleID: m.ID, CommitID: strings.Repeat("a", 32), Generator: "plugin:acme/gen", PluginVersion: "v1.0.0", PluginRevision: 1})
			if err != nil {
				return err
			}
			if err := tx.FailJob(ctx, j.ID, "plugin failed"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	pending := func() int {
		jobs, err := st.Jobs(ctx, store.JobPending, store.Page{})
		if err != nil {
			t.Fatal(err)
		}
		return len(jobs)
	}
	if code, stdout, stderr := lathe("sdk", "retry", "1"); code != 0 || !strings.Contains(stdout, "queued job 1 again: cargo alice/m at commit aaaa") || pending() != 1 {
		t.Errorf("sdk retry 1: exit %d, %q %q, %d pending", code, stdout, stderr, pending())
	}
	if code, _, stderr := lathe("sdk", "retry", "1"); code != 1 || !strings.Contains(stderr, "job 1 is not a failed job") {
		t.Errorf("sdk retry of a pending job: exit %d, %q", code, stderr)
	}
	if code, stdout, stderr := lathe("sdk", "retry", "alice/m"); code != 0 || !strings.Contains(stdout, "queued job 2 again: npm alice/m") || pending() != 2 {
		t.Errorf("sdk retry alice/m: exit %d, %q %q, %d pending", code, stdout, stderr, pending())
	}
	if code, _, stderr := lathe("sdk", "retry", "alice/m"); code != 1 || !strings.Contains(stderr, "alice/m has no failed SDK generations") {
		t.Errorf("sdk retry with nothing failed: exit %d, %q", code, stderr)
	}
	if code, _, stderr := lathe("sdk", "retry", "alice/nope"); code != 1 || !strings.Contains(stderr, "not found") {
		t.Errorf("sdk retry of a missing module: exit %d, %q", code, stderr)
	}
	if code, _, _ := lathe("sdk", "retry", "x"); code != 2 {
		t.Errorf("sdk retry x: exit %d, want a usage error", code)
	}
}
