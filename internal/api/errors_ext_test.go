package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	modulev1 "buf.build/gen/go/bufbuild/registry/protocolbuffers/go/buf/registry/module/v1"
	"connectrpc.com/connect"

	"github.com/lathe-registry/lathe/internal/store"
)

// errDisk stands for a backend failure whose text must reach the log, not the client.
var errDisk = errors.New("disk I/O error in /var/lib/lathe")

// failingStore fails token lookups or commit listings on demand.
type failingStore struct {
	store.Store
	failTokens, failListings atomic.Bool
}

func (s *failingStore) UserByTokenHash(ctx context.Context, hash []byte) (store.Owner, error) {
	if s.failTokens.Load() {
		return store.Owner{}, errDisk
	}
	return s.Store.UserByTokenHash(ctx, hash)
}

func (s *failingStore) ListCommits(ctx context.Context, moduleID string, desc bool, page store.Page) ([]store.Commit, error) {
	if s.failListings.Load() {
		return nil, errDisk
	}
	return s.Store.ListCommits(ctx, moduleID, desc, page)
}

// logBuffer collects the server's JSON log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// drain returns the records written since the last drain.
func (l *logBuffer) drain(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for line := range strings.Lines(l.buf.String()) {
		rec := map[string]any{}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
	l.buf.Reset()
	return out
}

// requireInternal checks that err is an internal error that hides errDisk, and that the
// server logged errDisk for it with the procedure and the caller.
func requireInternal(t *testing.T, err error, log *logBuffer, procedure, caller string) {
	t.Helper()
	if connect.CodeOf(err) != connect.CodeInternal || strings.Contains(err.Error(), "disk") {
		t.Fatalf("error = %v, want internal without the cause", err)
	}
	records := log.drain(t)
	for _, rec := range records {
		if rec["level"] == "ERROR" && rec["procedure"] == procedure && strings.Contains(rec["err"].(string), errDisk.Error()) {
			if got, _ := rec["caller"].(string); got != caller {
				t.Errorf("log record %v: caller %q, want %q", rec, got, caller)
			}
			return
		}
	}
	t.Fatalf("no error record for %s naming the cause in the log: %v", procedure, records)
}

// TestStoreErrorIsInternal checks that a store failure, in a handler or in the token
// lookup before it, reaches the client as internal, without its text, and the log with it.
func TestStoreErrorIsInternal(t *testing.T) {
	var failing *failingStore
	log := &logBuffer{}
	f := newFixtureWith(t, fixtureConfig{
		wrapStore: func(s store.Store) store.Store { failing = &failingStore{Store: s}; return failing },
		log:       log,
	})
	ctx := context.Background()
	const procedure = "/buf.registry.module.v1.CommitService/ListCommits"
	list := &modulev1.ListCommitsRequest{ResourceRef: resourceName("base")}

	failing.failListings.Store(true)
	_, err := f.commits.ListCommits(ctx, authed(f, list))
	requireInternal(t, err, log, procedure, "alice")
	_, err = f.commits.ListCommits(ctx, connect.NewRequest(list))
	requireInternal(t, err, log, procedure, "")
	failing.failListings.Store(false)

	failing.failTokens.Store(true)
	_, err = f.commits.ListCommits(ctx, authed(f, list))
	requireInternal(t, err, log, procedure, "")
}
