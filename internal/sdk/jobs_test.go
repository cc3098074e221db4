package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lathe-registry/lathe/internal/auth"
	"github.com/lathe-registry/lathe/internal/blob/memblob"
	"github.com/lathe-registry/lathe/internal/codegen"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/store"
	"github.com/lathe-registry/lathe/internal/store/sqlitestore"
)

// testEcosystem packs a build's commit id, or fails for commits in fail.
type testEcosystem struct {
	packs atomic.Int64
	fail  map[string]bool
}

func (e *testEcosystem) Name() string { return "test" }
func (e *testEcosystem) Package(b Build) (string, string, error) {
	return b.SDK.Owner + "-" + b.SDK.Module, b.Commit.ID, nil
}
func (e *testEcosystem) Pack(_ context.Context, b Build) ([]byte, []byte, error) {
	e.packs.Add(1)
	if e.fail[b.Commit.ID] {
		return nil, nil, errors.New("the plugin failed on " + b.Commit.ID)
	}
	return []byte(b.Commit.ID), nil, nil
}

// The queue is durable: jobs enqueued before a runner starts (or while none runs) are
// done once it runs; failures are recorded with their errors and reported to waiters;
// a move of the default label enqueues every interest; other labels do not.
func TestJobs(t *testing.T) {
	ctx := auth.AsSystem(context.Background())
	st, reg := registryWithPlugin(t)
	var err error
	var m store.Module
	var alice store.Owner
	newCommit := func(label string) store.Commit {
		t.Helper()
		var c store.Commit
		err := st.Update(ctx, func(tx store.Tx) (err error) {
			if c, err = tx.CreateCommit(ctx, store.Commit{ID: registry.NewID(), ModuleID: m.ID, OwnerID: alice.ID, Digest: make([]byte, 64), Manifest: "x", CreatedByUserID: alice.ID}); err != nil {
				return err
			}
			_, err = tx.SetLabel(ctx, m.ID, label, c.ID, alice.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	err = st.Update(ctx, func(tx store.Tx) (err error) {
		if alice, err = tx.CreateOwner(ctx, store.Owner{ID: registry.NewID(), Name: "alice", Kind: store.OwnerUser}); err != nil {
			return err
		}
		m, err = tx.CreateModule(ctx, store.Module{ID: registry.NewID(), OwnerID: alice.ID, Name: "m", Visibility: store.Private, State: store.Active, DefaultLabelName: "main"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	first := newCommit("main")
	bad := newCommit("feature")

	s := New(reg, memblob.New(), nil)
	eco := &testEcosystem{fail: map[string]bool{bad.ID: true}}
	jobs := NewJobs(s, slog.New(slog.DiscardHandler), eco)
	target := SDK{Owner: "alice", Module: "m", Gen: Generator{Owner: "acme", Name: "gen"}}
	b, err := s.Resolve(ctx, target, CommitRef{}, Pin{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jobs.Interest(ctx, "test", b); err != nil {
		t.Fatal(err)
	}
	badJob, _, _, err := jobs.Request(ctx, "test", target, CommitRef{Label: "feature"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := jobs.Request(ctx, "nope", target, CommitRef{}); !errors.Is(err, registry.ErrInvalid) {
		t.Errorf("Request for an unknown ecosystem: %v", err)
	}
	// Nothing runs yet: both jobs wait in the store.
	pending, err := st.Jobs(ctx, store.JobPending, store.Page{})
	if err != nil || len(pending) != 2 {
		t.Fatalf("pending jobs = %d, %v; want 2", len(pending), err)
	}

	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { jobs.Run(runCtx, 2); close(done) }()
	defer func() { stop(); <-done }()

	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := jobs.Wait(wctx, pending[0].ID); err != nil {
		t.Errorf("first job: %v", err)
	}
	if err := jobs.Wait(wctx, badJob.ID); err == nil || !strings.Contains(err.Error(), "the plugin failed on "+bad.ID) {
		t.Errorf("failing job: %v", err)
	}
	if _, err := st.Artifact(ctx, "test", "alice-m", first.ID); err != nil {
		t.Errorf("the first job published nothing: %v", err)
	}
	failed, err := st.Jobs(ctx, store.JobFailed, store.Page{})
	if err != nil || len(failed) != 1 || !strings.Contains(failed[0].Error, "the plugin failed") {
		t.Errorf("failed jobs = %+v, %v", failed, err)
	}

	// Moving another label enqueues nothing; moving the default label publishes.
	before := eco.packs.Load()
	c2 := newCommit("feature")
	asAlice := auth.WithUser(context.Background(), alice)
	for _, label := range []string{"other", "main"} {
		if _, err := reg.SetLabel(asAlice, registry.LabelRef{Owner: "alice", Module: "m", Name: label}, c2.ID); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := st.Artifact(ctx, "test", "alice-m", c2.ID); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the default label's new commit was not published")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := eco.packs.Load() - before; got != 1 {
		t.Errorf("%d packs after the label moves, want 1", got)
	}
}

// A failed generation is reported with what failed and remembered: requests within its
// retry time get the same error without running the plugin, a queued job (an explicit
// request) runs it at once, and the failure is listed as a failed job.
func TestFailuresRemembered(t *testing.T) {
	ctx := auth.AsSystem(context.Background())
	st, reg := registryWithPlugin(t)
	var err error
	var c store.Commit
	err = st.Update(ctx, func(tx store.Tx) error {
		alice, err := tx.CreateOwner(ctx, store.Owner{ID: registry.NewID(), Name: "alice", Kind: store.OwnerUser})
		if err != nil {
			return err
		}
		m, err := tx.CreateModule(ctx, store.Module{ID: registry.NewID(), OwnerID: alice.ID, Name: "m", Visibility: store.Public, State: store.Active, DefaultLabelName: "main"})
		if err != nil {
			return err
		}
		if c, err = tx.CreateCommit(ctx, store.Commit{ID: registry.NewID(), ModuleID: m.ID, OwnerID: alice.ID, Digest: make([]byte, 64), Manifest: "x", CreatedByUserID: alice.ID}); err != nil {
			return err
		}
		_, err = tx.SetLabel(ctx, m.ID, "main", c.ID, alice.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	s := New(reg, memblob.New(), nil)
	eco := &pluginFailure{}
	b, err := s.Resolve(ctx, SDK{Owner: "alice", Module: "m", Gen: Generator{Owner: "acme", Name: "gen"}}, CommitRef{}, Pin{})
	if err != nil {
		t.Fatal(err)
	}

	_, err = s.Publish(ctx, eco, b)
	var ge *GenerationError
	if !errors.As(err, &ge) || !errors.Is(err, codegen.ErrPlugin) {
		t.Fatalf("Publish = %v, want a GenerationError of the plugin", err)
	}
	if want := "generating test package alice-m " + c.ID + " of module alice/m at commit " + c.ID[:12] + " with acme/gen:v1.0.0 failed: plugin failed: x.proto: no good"; err.Error() != want {
		t.Errorf("the error is %q, want %q", err, want)
	}
	if d := time.Until(ge.RetryAt); d <= 0 || d > firstRetry {
		t.Errorf("first retry in %v, want within %v", d, firstRetry)
	}
	if _, err := s.Publish(ctx, eco, b); err != ge || eco.packs.Load() != 1 {
		t.Errorf("second Publish = %v after %d packs; want the remembered error after 1", err, eco.packs.Load())
	}
	if err := s.RecentFailure(ctx, eco, b); err != ge {
		t.Errorf("RecentFailure = %v", err)
	}
	failed, err := st.Jobs(ctx, store.JobFailed, store.Page{})
	if err != nil || len(failed) != 1 || failed[0].CommitID != c.ID || !strings.Contains(failed[0].Error, "no good") {
		t.Errorf("failed jobs = %+v, %v; want the failure", failed, err)
	}

	// Listing a package with nothing published answers with the remembered failure and
	// runs nothing.
	jobs := NewJobs(s, slog.New(slog.DiscardHandler), eco)
	if err := jobs.List(ctx, "test", b, "package p", func(context.Context) (int, error) { return 0, nil }); err != ge || eco.packs.Load() != 1 {
		t.Errorf("List = %v after %d packs; want the remembered error after 1", err, eco.packs.Load())
	}

	// A queued job is deliberate: it runs, fails again, and waits longer to be retried.
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { jobs.Run(runCtx, 1); close(done) }()
	defer func() { stop(); <-done }()
	job, err := jobs.Enqueue(ctx, "test", b)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := jobs.Wait(wctx, job.ID); err == nil || eco.packs.Load() != 2 {
		t.Fatalf("the queued job: %v after %d packs; want a failure after 2", err, eco.packs.Load())
	}
	if err := s.RecentFailure(ctx, eco, b); !errors.As(err, &ge) {
		t.Fatalf("RecentFailure after the job = %v", err)
	}
	if d := time.Until(ge.RetryAt); d <= firstRetry || d > 2*firstRetry {
		t.Errorf("second retry in %v, want within %v", d, 2*firstRetry)
	}

	// Once the retry time has passed, a request runs the plugin again; success forgets.
	s.failures.mu.Lock()
	for k, f := range s.failures.m {
		f.retryAt = time.Now().Add(-time.Second)
		s.failures.m[k] = f
	}
	s.failures.mu.Unlock()
	eco.fixed.Store(true)
	if _, err := s.Publish(ctx, eco, b); err != nil || eco.packs.Load() != 3 {
		t.Errorf("Publish after the retry time = %v after %d packs", err, eco.packs.Load())
	}
	if err := s.RecentFailure(ctx, eco, b); err != nil {
		t.Errorf("RecentFailure after success = %v", err)
	}
	if jobs, err := st.Jobs(ctx, 0, store.Page{}); err != nil || len(jobs) != 0 {
		t.Errorf("jobs after success = %+v, %v; want none", jobs, err)
	}
}

// pluginFailure is an ecosystem whose plugin fails until fixed.
type pluginFailure struct {
	packs atomic.Int64
	fixed atomic.Bool
}

func (e *pluginFailure) Name() string { return "test" }
func (e *pluginFailure) Package(b Build) (string, string, error) {
	return b.SDK.Owner + "-" + b.SDK.Module, b.Commit.ID, nil
}
func (e *pluginFailure) Pack(context.Context, Build) ([]byte, []byte, error) {
	e.packs.Add(1)
	if !e.fixed.Load() {
		return nil, nil, fmt.Errorf("%w: x.proto: no good", codegen.ErrPlugin)
	}
	return []byte("ok"), nil, nil
}

// A failure outlives the process: a new one (a restarted server) answers with the
// stored failed job, running nothing, until its retry time; a new plugin revision is
// another generation, run at once.
func TestFailuresDurable(t *testing.T) {
	ctx := auth.AsSystem(context.Background())
	st, reg := registryWithPlugin(t)
	err := st.Update(ctx, func(tx store.Tx) error {
		alice, err := tx.CreateOwner(ctx, store.Owner{ID: registry.NewID(), Name: "alice", Kind: store.OwnerUser})
		if err != nil {
			return err
		}
		m, err := tx.CreateModule(ctx, store.Module{ID: registry.NewID(), OwnerID: alice.ID, Name: "m", Visibility: store.Public, State: store.Active, DefaultLabelName: "main"})
		if err != nil {
			return err
		}
		c, err := tx.CreateCommit(ctx, store.Commit{ID: registry.NewID(), ModuleID: m.ID, OwnerID: alice.ID, Digest: make([]byte, 64), Manifest: "x", CreatedByUserID: alice.ID})
		if err != nil {
			return err
		}
		_, err = tx.SetLabel(ctx, m.ID, "main", c.ID, alice.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	target := SDK{Owner: "alice", Module: "m", Gen: Generator{Owner: "acme", Name: "gen"}}
	eco := &pluginFailure{}
	first := New(reg, memblob.New(), nil)
	b, err := first.Resolve(ctx, target, CommitRef{}, Pin{})
	if err != nil {
		t.Fatal(err)
	}
	_, failed := first.Publish(ctx, eco, b)
	if failed == nil {
		t.Fatal("Publish succeeded")
	}

	restarted := New(reg, memblob.New(), nil)
	anonymous := context.Background()
	_, err = restarted.Publish(anonymous, eco, b)
	var ge *GenerationError
	if !errors.As(err, &ge) || err.Error() != failed.Error() || !errors.Is(err, codegen.ErrPlugin) || eco.packs.Load() != 1 {
		t.Fatalf("Publish after a restart = %v after %d packs; want %v after 1", err, eco.packs.Load(), failed)
	}
	if d := time.Until(ge.RetryAt); d <= 0 || d > firstRetry {
		t.Errorf("retry in %v, want within %v", d, firstRetry)
	}
	if err := restarted.RecentFailure(anonymous, eco, b); err != ge {
		t.Errorf("RecentFailure after a restart = %v", err)
	}

	if _, err := reg.PushPlugin(ctx, registry.PluginParams{Owner: "acme", Name: "gen", Version: "v1.0.0",
		Config: []byte("version: v1\nname: buf.build/acme/gen\nplugin_version: v1.0.0\n"), Runtime: "native", Program: []byte("y"), ProgramName: "protoc-gen-x"}); err != nil {
		t.Fatal(err)
	}
	b2, err := restarted.Resolve(ctx, target, CommitRef{}, Pin{})
	if err != nil || b2.Plugin().Version.Revision != 2 {
		t.Fatalf("Resolve after a new revision: revision %d, %v", b2.Plugin().Version.Revision, err)
	}
	eco.fixed.Store(true)
	if _, err := restarted.Publish(anonymous, eco, b2); err != nil || eco.packs.Load() != 2 {
		t.Errorf("Publish of the new revision = %v after %d packs, want success after 2", err, eco.packs.Load())
	}
}

func TestFailuresBounded(t *testing.T) {
	var f failures
	now := time.Now()
	for i := range maxFailures + 10 {
		f.add(strconv.Itoa(i), &GenerationError{}, now)
	}
	if len(f.m) > maxFailures {
		t.Errorf("%d failures kept, want at most %d", len(f.m), maxFailures)
	}
	e := &GenerationError{}
	for range 20 {
		f.add("x", e, now)
	}
	if d := e.RetryAt.Sub(now); d != maxRetry {
		t.Errorf("retry after 20 failures in %v, want %v", d, maxRetry)
	}
}

// registryWithPlugin returns a registry on a new store that has the plugin acme/gen:v1.0.0.
func registryWithPlugin(t *testing.T) (store.Store, *registry.Registry) {
	t.Helper()
	ctx := auth.AsSystem(context.Background())
	st, err := sqlitestore.Open(filepath.Join(t.TempDir(), "lathe.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := registry.New(st, memblob.New())
	if _, err := reg.PushPlugin(ctx, registry.PluginParams{Owner: "acme", Name: "gen", Version: "v1.0.0",
		Config: []byte("version: v1\nname: buf.build/acme/gen\nplugin_version: v1.0.0\n"), Runtime: "native", Program: []byte("x"), ProgramName: "protoc-gen-x"}); err != nil {
		t.Fatal(err)
	}
	return st, reg
}

// A waiter of a job that another process finishes or fails returns when the store says
// so, and one that gives up leaves nothing behind; past the bound, waiters only poll.
func TestWaitJobDoneElsewhere(t *testing.T) {
	ctx := auth.AsSystem(context.Background())
	st, reg := registryWithPlugin(t)
	var m store.Module
	var c store.Commit
	err := st.Update(ctx, func(tx store.Tx) error {
		alice, err := tx.CreateOwner(ctx, store.Owner{ID: registry.NewID(), Name: "alice", Kind: store.OwnerUser})
		if err != nil {
			return err
		}
		if m, err = tx.CreateModule(ctx, store.Module{ID: registry.NewID(), OwnerID: alice.ID, Name: "m", Visibility: store.Public, State: store.Active, DefaultLabelName: "main"}); err != nil {
			return err
		}
		c, err = tx.CreateCommit(ctx, store.Commit{ID: registry.NewID(), ModuleID: m.ID, OwnerID: alice.ID, Digest: make([]byte, 64), Manifest: "x", CreatedByUserID: alice.ID})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	jobs := NewJobs(New(reg, memblob.New(), nil), slog.New(slog.DiscardHandler), &testEcosystem{})
	jobs.poll = 10 * time.Millisecond
	enqueue := func(gen string) store.Job {
		t.Helper()
		var job store.Job
		err := st.Update(ctx, func(tx store.Tx) (err error) {
			job, err = tx.EnqueueJob(ctx, store.Job{Ecosystem: "test", ModuleID: m.ID, CommitID: c.ID, Generator: gen, PluginVersion: "v1.0.0", PluginRevision: 1})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return job
	}
	// wait starts a waiter, lets it register, has "another process" end the job with
	// end, and returns what the waiter returned.
	wait := func(ctx context.Context, job store.Job, end func(tx store.Tx) error) error {
		t.Helper()
		res := make(chan error, 1)
		go func() { res <- jobs.Wait(ctx, job.ID) }()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
			jobs.mu.Lock()
			n := jobs.nwaiters
			jobs.mu.Unlock()
			if n > 0 || jobs.maxWaiters == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the waiter did not register")
			}
		}
		if end != nil {
			if err := st.Update(ctx, end); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case err := <-res:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("the waiter did not return")
			return nil
		}
	}
	noWaiters := func() {
		t.Helper()
		jobs.mu.Lock()
		defer jobs.mu.Unlock()
		if len(jobs.waiters) != 0 || jobs.nwaiters != 0 {
			t.Errorf("%d waiters of %d jobs left", jobs.nwaiters, len(jobs.waiters))
		}
	}

	job := enqueue("plugin:acme/a")
	if err := wait(ctx, job, func(tx store.Tx) error { return tx.FinishJob(ctx, job.ID) }); err != nil {
		t.Errorf("a job finished elsewhere: %v", err)
	}
	noWaiters()
	job = enqueue("plugin:acme/b")
	if err := wait(ctx, job, func(tx store.Tx) error { return tx.FailJob(ctx, job.ID, "it broke") }); err == nil || err.Error() != "it broke" {
		t.Errorf("a job failed elsewhere: %v", err)
	}
	noWaiters()
	job = enqueue("plugin:acme/c")
	gone, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := wait(gone, job, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a waiter that gave up: %v", err)
	}
	noWaiters()
	jobs.SetMaxWaiters(0)
	if err := wait(ctx, job, func(tx store.Tx) error { return tx.FinishJob(ctx, job.ID) }); err != nil {
		t.Errorf("a waiter past the bound: %v", err)
	}
	noWaiters()
}
