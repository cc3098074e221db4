package pysdk

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// Paths of the simple index (PEP 503 project pages and their files) are answered without
// a panic or a server error, and redirects stay in the index.
func FuzzIndexPath(f *testing.F) {
	for _, s := range []string{
		"", "simple", "simple/", "simple/alice-money-v1-protocolbuffers-python/", "simple/Alice_Money.V1-protocolbuffers-python",
		"simple/alice-money-v1-protocolbuffers-python/alice_money_v1_protocolbuffers_python-21.12.0.1.20261121143000.1-py3-none-any.whl",
		"simple/alice-money-v1-protocolbuffers-python/x.whl.metadata", "simple/a/b/c", "simple/-/", "simple/a--b/", "other",
	} {
		f.Add(s)
	}
	fx := newFixture(f)
	f.Fuzz(func(t *testing.T, rest string) {
		// The path as the server hands it over, decoded.
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL.Path = Prefix + rest
		w := httptest.NewRecorder()
		fx.ix.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Errorf("GET %s: %d %s", Prefix+rest, w.Code, w.Body)
		}
		if loc := w.Header().Get("Location"); w.Code == http.StatusMovedPermanently && !strings.HasPrefix(loc, SimplePrefix) {
			t.Errorf("GET %s redirects to %s", Prefix+rest, loc)
		}
	})
}

// Versions and wheel file names parse without panicking, and what they parse to spells
// them back.
func FuzzVersion(f *testing.F) {
	for _, s := range []string{"21.12.0.1.20261121143000.7", "21.12.0.1.dev9", "1.0.0.0.dev1", "01.2.3.1.dev1", "1.2.3.1.2026.1", ""} {
		f.Add(s, "alice-money-v1-protocolbuffers-python")
	}
	f.Fuzz(func(t *testing.T, v, project string) {
		if p, ok := ParseVersion(v); ok {
			got := strings.TrimPrefix(p.PluginVersion, "v") + "." + strconv.Itoa(p.Revision) + ".dev" + strconv.FormatInt(p.Seq, 10)
			if p.Timestamp != "" {
				got = strings.TrimPrefix(p.PluginVersion, "v") + "." + strconv.Itoa(p.Revision) + "." + p.Timestamp + "." + strconv.FormatInt(p.Seq, 10)
			}
			if got != v {
				t.Errorf("ParseVersion(%q) = %+v, which spells %q", v, p, got)
			}
		}
		if n := Normalize(project); Normalize(n) != n {
			t.Errorf("Normalize(%q) = %q is not normalized", project, n)
		}
		if wv, ok := wheelVersion(project, v); ok && WheelName(project, wv) != v {
			t.Errorf("wheelVersion(%q, %q) = %q", project, v, wv)
		}
	})
}
