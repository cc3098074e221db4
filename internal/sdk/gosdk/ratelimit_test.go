package gosdk

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lathe-registry/lathe/internal/sdk"
	"github.com/lathe-registry/lathe/internal/store"
)

// Anonymous requests for versions never published generate at the configured rate per
// address, and beyond it answer 429 with a Retry-After; a token lifts the limit.
func TestAnonymousGenerationRate(t *testing.T) {
	f := newFixture(t, sdk.WithAnonymousGenerations(1))
	m := f.module(t, "pub", store.Public)
	var commits []store.Commit
	for range 3 {
		commits = append(commits, f.commit(t, m)) // on no label
	}
	get := func(c store.Commit, header ...string) *httptest.ResponseRecorder {
		// Commits never on the default label have a zero timestamp.
		return f.get(fmt.Sprintf("/gen/go/h.example/gen/go/acme/pub/protocolbuffers/go/@v/v1.36.11-00000000000000-%s.1.mod", c.ID[:12]), header...)
	}
	// This server generates nothing (no engine): the first request is let through to fail.
	if rec := get(commits[0]); rec.Code != http.StatusFailedDependency {
		t.Errorf("first anonymous generation: %d %s, want 424", rec.Code, rec.Body)
	}
	if rec := get(commits[1]); rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "60" {
		t.Errorf("second anonymous generation: %d, Retry-After %q, %s; want 429 after 60", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	// A version that failed is answered from memory, not generated: no limit applies.
	if rec := get(commits[0]); rec.Code != http.StatusFailedDependency {
		t.Errorf("the failed version again: %d %s, want 424", rec.Code, rec.Body)
	}
	if rec := get(commits[2], "Authorization", "Bearer "+f.token); rec.Code != http.StatusFailedDependency {
		t.Errorf("with a token: %d %s, want 424", rec.Code, rec.Body)
	}
	// The refused request left no failure behind.
	failed, err := f.st.Jobs(context.Background(), store.JobFailed, store.Page{})
	if err != nil || len(failed) != 2 || failed[0].CommitID != commits[0].ID || failed[1].CommitID != commits[2].ID {
		t.Errorf("failed jobs: %+v, %v; want those of the first and third commits", failed, err)
	}
}
