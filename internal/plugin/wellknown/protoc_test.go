package wellknown

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFetchProtoc serves a stand-in Maven repository: the pinned checksum decides what
// is installed, whatever the repository serves.
func TestFetchProtoc(t *testing.T) {
	t.Parallel()
	good := []byte("\x7fELF the real protoc")
	sum := sha256.Sum256(good)
	p, _ := Lookup("protocolbuffers/python")
	p.Source.ProtocSHA256 = map[string]string{"linux-x86_64": hex.EncodeToString(sum[:])}
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/maven2/com/google/protobuf/protoc/"+p.Source.ProtocVersion+"/protoc-"+p.Source.ProtocVersion+"-linux-x86_64.exe" {
			http.NotFound(w, r)
			return
		}
		w.Write(body)
	}))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "protoc")
	body = good
	if err := FetchProtoc(context.Background(), p, srv.URL+"/maven2/", "linux", "amd64", out); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(out); err != nil || string(data) != string(good) {
		t.Fatalf("installed %q, %v", data, err)
	}
	body = []byte("\x7fELF something else")
	err := FetchProtoc(context.Background(), p, srv.URL+"/maven2", "linux", "amd64", out)
	if err == nil || !strings.Contains(err.Error(), "but Lathe pins "+p.Source.ProtocSHA256["linux-x86_64"]) {
		t.Errorf("tampered file: %v", err)
	}
	if data, _ := os.ReadFile(out); string(data) != string(good) {
		t.Errorf("a tampered download replaced the verified file")
	}
	if err := FetchProtoc(context.Background(), p, srv.URL, "linux", "amd64", out); err == nil || !strings.Contains(err.Error(), "404 Not Found") {
		t.Errorf("missing file: %v", err)
	}
	if err := FetchProtoc(context.Background(), p, srv.URL, "darwin", "arm64", out); err == nil || !strings.Contains(err.Error(), "not for darwin/arm64") {
		t.Errorf("unpinned platform: %v", err)
	}
}
