package cargosdk

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/lathe-registry/lathe/internal/store"
)

// A private crate answers exactly as one that does not exist, naming only what was
// asked for, whether or not its owner fetched it before (which caches its record); and
// a crate name spelled in another case is no crate, whose index generates nothing.
func TestPrivateLooksMissing(t *testing.T) {
	f := newFixture(t)
	f.module(t, "open", store.Public) // nothing published: its index would generate
	f.publish(t, f.module(t, "secret", store.Private))
	download := func(module string) string {
		return Prefix + "api/v1/crates/alice_" + module + "_community_neoeinstein-prost/0.4.0-1/download"
	}
	index := func(module string) string { return Prefix + indexPath("alice_"+module+"_community_neoeinstein-prost") }
	for _, cached := range []bool{false, true} {
		if cached {
			if rec := f.get(AuthPrefix+strings.TrimPrefix(download("secret"), Prefix), "Authorization", f.token); rec.Code != http.StatusOK {
				t.Fatalf("download with the owner's token: %d %s", rec.Code, rec.Body)
			}
		}
		for _, path := range []func(string) string{download, index} {
			private, missing := f.get(path("secret")), f.get(path("nope"))
			want := strings.ReplaceAll(missing.Body.String(), "alice_nope", "alice_secret")
			if private.Code != http.StatusNotFound || missing.Code != http.StatusNotFound || private.Body.String() != want {
				t.Errorf("cached %v: private %s: %d %s; missing: %d %s", cached, path("secret"), private.Code, private.Body, missing.Code, missing.Body)
			}
		}
	}
	for _, path := range []string{
		Prefix + "al/ic/Alice_open_community_neoeinstein-prost", Prefix + "al/ic/alice_Open_community_neoeinstein-prost",
		Prefix + "AL/IC/ALICE_OPEN_COMMUNITY_NEOEINSTEIN-PROST",
		Prefix + "api/v1/crates/Alice_secret_community_neoeinstein-prost/0.4.0-1/download",
	} {
		if rec := f.get(path, "Authorization", f.token); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d %s, want 404", path, rec.Code, rec.Body)
		}
	}
	if jobs, err := f.st.Jobs(context.Background(), 0, store.Page{}); err != nil || len(jobs) != 0 {
		t.Errorf("jobs: %v, %v; want none", jobs, err)
	}
}

// A name longer than any crate's is not split into candidate SDKs, whose number grows
// with the square of its length: it is no crate, even when a module it spells exists.
func TestLongNameIsNoCrate(t *testing.T) {
	f := newFixture(t)
	long := strings.Repeat("m_", 30) + "m"
	f.module(t, long, store.Public)
	for _, name := range []string{"alice_" + long + "_community_neoeinstein-prost", "alice" + strings.Repeat("_", 5000)} {
		rec := f.get(Prefix+indexPath(name), "Authorization", f.token)
		if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "at most 64 characters") {
			t.Errorf("index of a %d-character name: %d %s", len(name), rec.Code, rec.Body)
		}
	}
	if jobs, err := f.st.Jobs(context.Background(), 0, store.Page{}); err != nil || len(jobs) != 0 {
		t.Errorf("jobs: %v, %v; want none", jobs, err)
	}
}
