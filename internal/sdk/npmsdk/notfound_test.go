package npmsdk

import (
	"net/http"
	"strings"
	"testing"

	"github.com/lathe-registry/lathe/internal/store"
)

// A private package answers exactly as one that does not exist, naming only what was
// asked for, whether or not its owner fetched it before (which caches its record).
func TestPrivateLooksMissing(t *testing.T) {
	f := newFixture(t)
	m := f.module(t, "secret", store.Private)
	v, _ := f.publish(t, m, f.commit(t, m, "main"), true)
	tarball := func(module string) string {
		return "/gen/npm/v1/@lathe/alice_" + module + ".bufbuild_es/-/alice_" + module + ".bufbuild_es-" + v + ".tgz"
	}
	packument := func(module string) string { return "/gen/npm/v1/@lathe/alice_" + module + ".bufbuild_es" }
	for _, cached := range []bool{false, true} {
		if cached {
			if r := f.get(tarball("secret"), "Authorization", "Bearer "+f.token); r.code != http.StatusOK {
				t.Fatalf("tarball with the owner's token: %d %s", r.code, r.body)
			}
		}
		for _, path := range []func(string) string{tarball, packument} {
			private, missing := f.get(path("secret")), f.get(path("nope"))
			want := strings.ReplaceAll(string(missing.body), "alice_nope", "alice_secret")
			if private.code != http.StatusNotFound || missing.code != http.StatusNotFound || string(private.body) != want {
				t.Errorf("cached %v: private %s: %d %s; missing: %d %s", cached, path("secret"), private.code, private.body, missing.code, missing.body)
			}
		}
	}
}
