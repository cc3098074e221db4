package wellknown

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// MavenCentral is the Maven repository that protoc releases are fetched from by default.
const MavenCentral = "https://repo1.maven.org/maven2"

// protocClassifiers maps GOOS/GOARCH to the classifier of protoc's Maven artifacts.
var protocClassifiers = map[string]string{ //nolint:gochecknoglobals // read-only table
	"linux/amd64": "linux-x86_64",
	"linux/arm64": "linux-aarch_64",
}

// ProtocURL returns where the protoc of p for goos/goarch is in the Maven repository at
// repo (e.g. [MavenCentral]): com.google.protobuf:protoc:VERSION:exe:CLASSIFIER.
func ProtocURL(p Plugin, repo, goos, goarch string) (string, error) {
	v := p.Source.ProtocVersion
	if v == "" {
		return "", fmt.Errorf("%s does not run protoc", p.ref())
	}
	classifier, ok := protocClassifiers[goos+"/"+goarch]
	if !ok || p.Source.ProtocSHA256[classifier] == "" {
		var have []string
		for c := range p.Source.ProtocSHA256 {
			have = append(have, c)
		}
		slices.Sort(have)
		return "", fmt.Errorf("%s: Lathe pins protoc %s for %s, not for %s/%s", p.ref(), v, strings.Join(have, " and "), goos, goarch)
	}
	return fmt.Sprintf("%s/com/google/protobuf/protoc/%s/protoc-%s-%s.exe", strings.TrimSuffix(repo, "/"), v, v, classifier), nil
}

// FetchProtoc downloads the protoc of p for goos/goarch from the Maven repository at
// repo into outFile and checks it against the SHA-256 Lathe pins, so that a mirror, a
// proxy or the repository itself cannot change the program. outFile is replaced
// atomically and only by a verified file.
func FetchProtoc(ctx context.Context, p Plugin, repo, goos, goarch, outFile string) error {
	url, err := ProtocURL(p, repo, goos, goarch)
	if err != nil {
		return err
	}
	want := p.Source.ProtocSHA256[protocClassifiers[goos+"/"+goarch]]
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("fetching protoc for %s: %w", p.ref(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetching protoc for %s: GET %s: %s", p.ref(), url, resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(outFile), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(outFile), ".protoc-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	// protoc is about 10 MiB; the cap keeps a misbehaving server from filling the disk.
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(resp.Body, 256<<20))
	if err == nil {
		err = tmp.Chmod(0o755)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fetching protoc for %s: GET %s: %w", p.ref(), url, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("fetching protoc for %s: %s (%d bytes) has SHA-256 %s, but Lathe pins %s: the repository serves another file; use Maven Central or a faithful mirror",
			p.ref(), url, n, got, want)
	}
	return os.Rename(tmp.Name(), outFile)
}
