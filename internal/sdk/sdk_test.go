package sdk

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lathe-registry/lathe/internal/store"
)

func TestBSRVersionRoundTrip(t *testing.T) {
	when := time.Date(2026, 11, 21, 14, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		pluginVersion string
		onDefault     bool
		rev           int
		want          string
	}{
		{"v1.36.11", true, 1, "v1.36.11-20261121143000-0123456789ab.1"},
		{"v1.36.11", false, 12, "v1.36.11-00000000000000-0123456789ab.12"},
		{"2.13.0", true, 3, "2.13.0-20261121143000-0123456789ab.3"},
		// A prerelease plugin version keeps its own dashes.
		{"v1.0.0-rc.1", true, 1, "v1.0.0-rc.1-20261121143000-0123456789ab.1"},
	} {
		b := Build{
			Commit:         store.Commit{ID: "0123456789abcdef0123456789abcdef", CreateTime: when.In(time.FixedZone("x", 3600))},
			OnDefaultLabel: c.onDefault,
			Steps:          []Step{{Version: store.PluginVersion{Revision: c.rev}}},
		}
		got := b.BSRVersion(c.pluginVersion)
		if got != c.want {
			t.Errorf("BSRVersion(%s) = %s, want %s", c.pluginVersion, got, c.want)
		}
		p, ok := ParseBSRVersion(got)
		want := BSRParts{PluginVersion: c.pluginVersion, Timestamp: b.Timestamp(), ShortCommit: "0123456789ab", Revision: c.rev}
		if !ok || p != want {
			t.Errorf("ParseBSRVersion(%s) = %+v, %v; want %+v", got, p, ok, want)
		}
	}
}

func TestParseBSRVersionRejects(t *testing.T) {
	for _, v := range []string{
		"", "v1.2.3", "v1.2.3-20261121143000-0123456789ab", "v1.2.3-20261121143000-0123456789ab.0",
		"v1.2.3-20261121143000-0123456789ab.01", "v1.2.3-2026112114300-0123456789ab.1",
		"v1.2.3-20261121143000-0123456789AB.1", "v1.2.3-20261121143000-0123456789a.1",
		"-20261121143000-0123456789ab.1", "v1.2.3-2026112114300x-0123456789ab.1",
	} {
		if p, ok := ParseBSRVersion(v); ok {
			t.Errorf("ParseBSRVersion(%q) = %+v, want failure", v, p)
		}
	}
}

// Over HTTP/1.1 a 424's message is its status line's reason phrase too, which uv, pnpm
// and Yarn print where they print no body; over HTTP/2, which has no phrases, it is the
// body alone.
func TestFailedDependencyReason(t *testing.T) {
	msg := "generating p v1 failed: plugin said \"no\"\n\tand \u00e9"
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { TextError(w, http.StatusFailedDependency, msg) })
	for _, h2 := range []bool{false, true} {
		srv := httptest.NewUnstartedServer(h)
		srv.EnableHTTP2 = h2
		srv.StartTLS()
		resp, err := srv.Client().Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		wantStatus := "424 generating p v1 failed: plugin said \"no\"??and ??"
		if h2 {
			wantStatus = "424 Failed Dependency"
		}
		if resp.StatusCode != http.StatusFailedDependency || resp.Status != wantStatus || string(body) != msg+"\n" ||
			resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("HTTP/2 %v: %q %q %q, want %q and the message", h2, resp.Status, resp.Header, body, wantStatus)
		}
	}
}
