package gosdk

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lathe-registry/lathe/internal/store"
)

// Module paths may spell any case (!a is A), and owners are found whatever their case,
// but each SDK has one module path: the others answer 404 and generate nothing, where
// each used to publish its own copy of every version.
func TestOneSpelling(t *testing.T) {
	f := newFixture(t)
	commit := f.commit(t, f.module(t, "pub", store.Public), "main")
	f.publish(t, f.module(t, "sec", store.Private), []byte("zip")) // published, with no commits
	version := fmt.Sprintf("v1.36.11-%s-%s.1", commit.CreateTime.UTC().Format("20060102150405"), commit.ID[:12])
	for _, path := range []string{"!acme/pub/protocolbuffers/go", "!ac!me/pub/protocolbuffers/go", "acme/pub/!protocolbuffers/go"} {
		for _, file := range []string{"@v/" + version + ".mod", "@v/" + version + ".zip", "@v/" + version + ".info", "@latest", "@v/list"} {
			url := "/gen/go/h.example/gen/go/" + path + "/" + file
			rec := f.get(url)
			if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "not found") {
				t.Errorf("GET %s: %d %s, want 404", url, rec.Code, rec.Body)
			}
		}
	}
	// A private module's published version answers as one of a module that does not exist.
	for _, file := range []string{"@v/v1.0.0.zip", "@v/v1.0.0.mod", "@v/v1.0.0.info", "@latest"} {
		get := func(module string) *httptest.ResponseRecorder {
			return f.get("/gen/go/h.example/gen/go/acme/" + module + "/protocolbuffers/go/" + file)
		}
		private, missing := get("sec"), get("nope")
		if want := strings.ReplaceAll(missing.Body.String(), "nope", "sec"); private.Code != http.StatusNotFound || missing.Code != http.StatusNotFound || private.Body.String() != want {
			t.Errorf("%s: private: %d %s; missing: %d %s", file, private.Code, private.Body, missing.Code, missing.Body)
		}
	}
	// Nothing ran: no generation was tried (a failed one leaves a job) or published.
	if jobs, err := f.st.Jobs(context.Background(), 0, store.Page{}); err != nil || len(jobs) != 0 {
		t.Errorf("jobs: %v, %v; want none", jobs, err)
	}
	for _, name := range []string{"Acme/pub/protocolbuffers/go", "AcMe/pub/protocolbuffers/go", "acme/pub/Protocolbuffers/go"} {
		if arts, err := f.st.ListArtifacts(context.Background(), Ecosystem, "h.example/gen/go/"+name, store.Page{}); err != nil || len(arts) != 0 {
			t.Errorf("artifacts of %s: %v, %v; want none", name, arts, err)
		}
	}
}
