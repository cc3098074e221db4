package pysdk

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// A private project's wheels and metadata answer exactly as those of a project that
// does not exist, naming only what was asked for, whether or not its owner fetched them
// before (which caches their record); a project name spelled in another case redirects
// to its one name.
func TestPrivateLooksMissing(t *testing.T) {
	fx := newFixture(t)
	bearer := "Bearer " + fx.token
	page := SimplePrefix + "alice-vault-protocolbuffers-python/"
	w := fx.get(t, http.MethodGet, page, "Accept", pipAccept, "Authorization", bearer)
	var proj jsonProject
	if err := json.Unmarshal(w.Body.Bytes(), &proj); err != nil || len(proj.Files) != 1 {
		t.Fatalf("page %s: %v", w.Body, err)
	}
	for _, cached := range []bool{false, true} {
		if cached {
			if w := fx.get(t, http.MethodGet, page+proj.Files[0].URL, "Authorization", bearer); w.Code != http.StatusOK {
				t.Fatalf("wheel with the owner's token: %d %s", w.Code, w.Body)
			}
		}
		for _, file := range []string{"", proj.Files[0].URL, proj.Files[0].URL + ".metadata"} {
			private := fx.get(t, http.MethodGet, page+file)
			missingPath := strings.ReplaceAll(page+file, "vault", "nope")
			missing := fx.get(t, http.MethodGet, missingPath)
			want := strings.ReplaceAll(missing.Body.String(), "nope", "vault")
			if private.Code != http.StatusNotFound || missing.Code != http.StatusNotFound || private.Body.String() != want {
				t.Errorf("cached %v: private %s: %d %s; missing %s: %d %s", cached, page+file, private.Code, private.Body, missingPath, missing.Code, missing.Body)
			}
		}
	}
	if w := fx.get(t, http.MethodGet, SimplePrefix+"Alice-Money-V1-Protocolbuffers-Python/"); w.Code != http.StatusMovedPermanently ||
		w.Header().Get("Location") != SimplePrefix+"alice-money-v1-protocolbuffers-python/" {
		t.Errorf("GET another spelling: %d, Location %q", w.Code, w.Header().Get("Location"))
	}
}
