package wellknown

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWheelName(t *testing.T) {
	t.Parallel()
	p, ok := Lookup("grpc/python")
	if !ok {
		t.Fatal("grpc/python is not shipped")
	}
	for _, c := range []struct{ tag, goos, goarch, want string }{
		{"cp311", "linux", "amd64", "grpcio_tools-1.85.1-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"},
		{"cp313", "linux", "arm64", "grpcio_tools-1.85.1-cp313-cp313-manylinux2014_aarch64.manylinux_2_17_aarch64.whl"},
	} {
		got, err := WheelName(p, c.tag, c.goos, c.goarch)
		if err != nil || got != c.want {
			t.Errorf("WheelName(%s, %s/%s) = %q, %v; want %q", c.tag, c.goos, c.goarch, got, err, c.want)
		}
	}
	for _, c := range [][3]string{{"cp39", "linux", "amd64"}, {"cp311", "darwin", "arm64"}, {"cp311", "linux", "riscv64"}} {
		if _, err := WheelName(p, c[0], c[1], c[2]); err == nil || !strings.Contains(err.Error(), "cp310, cp311") {
			t.Errorf("WheelName(%q): %v", c, err)
		}
	}
}

func TestFetchWheel(t *testing.T) {
	t.Parallel()
	wheel := []byte("PK wheel")
	sum := sha256.Sum256(wheel)
	p, _ := Lookup("grpc/python")
	p.Source.WheelSHA256 = map[string]string{"w-1-cp311-cp311-x.whl": hex.EncodeToString(sum[:]), "other.whl": strings.Repeat("0", 64)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/simple/grpcio-tools/":
			// Relative links, resolved against the page, as mirrors serve them.
			fmt.Fprint(w, `<a href="../../files/other.whl#sha256=00">other.whl</a><a href="../../files/w-1-cp311-cp311-x.whl#sha256=ab">w</a>`)
		case "/files/w-1-cp311-cp311-x.whl", "/files/other.whl":
			w.Write(wheel)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	got, err := FetchWheel(t.Context(), p, srv.URL+"/simple", "w-1-cp311-cp311-x.whl")
	if err != nil || string(got) != string(wheel) {
		t.Fatalf("FetchWheel = %q, %v", got, err)
	}
	if _, err := FetchWheel(t.Context(), p, srv.URL+"/simple/", "other.whl"); err == nil || !strings.Contains(err.Error(), "but Lathe pins") {
		t.Errorf("a wheel with another hash: %v", err)
	}
	if _, err := FetchWheel(t.Context(), p, srv.URL+"/simple/", "unpinned.whl"); err == nil {
		t.Error("an unpinned wheel was fetched")
	}
	if _, err := FetchWheel(t.Context(), p, srv.URL+"/nowhere/", "other.whl"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("a missing index page: %v", err)
	}
}
