package gosdk

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/lathe-registry/lathe/internal/sdk"
	"github.com/lathe-registry/lathe/internal/store"
)

// Only a public module's immutable files may be kept by shared caches; a private
// module's answers, which need a token, are private, and version lists and queries are
// revalidated.
func TestCacheControl(t *testing.T) {
	f := newFixture(t)
	commits := map[store.Visibility]store.Commit{}
	for name, vis := range map[string]store.Visibility{"pub": store.Public, "sec": store.Private} {
		m := f.module(t, name, vis)
		commits[vis] = f.commit(t, m, "main")
		f.publish(t, m, []byte("zip of "+name))
	}
	for _, c := range []struct {
		module string
		vis    store.Visibility
	}{{"pub", store.Public}, {"sec", store.Private}} {
		root := "/gen/go/h.example/gen/go/acme/" + c.module + "/protocolbuffers/go/@"
		commit := commits[c.vis]
		info := fmt.Sprintf("v/v1.36.11-%s-%s.1.info", commit.CreateTime.UTC().Format("20060102150405"), commit.ID[:12])
		for file, immutable := range map[string]bool{"v/v1.0.0.zip": true, "v/v1.0.0.mod": true, info: true,
			"v/list": false, "latest": false, "v/main.info": false} {
			rec := f.get(root+file, "Authorization", "Bearer "+f.token)
			if want := sdk.CacheControl(c.vis, immutable); rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != want {
				t.Errorf("GET %s: %d, Cache-Control %q, want %q", root+file, rec.Code, rec.Header().Get("Cache-Control"), want)
			}
		}
	}
}
