package e2e

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// The real-world corpus: schemas nobody here wrote, fetched by pinned version and
// checksum (they are others' code, so they are never committed) and cached in the
// user cache between runs.
var (
	// googleapis as the npm package google-proto-files publishes it.
	googleapisArchive = corpusArchive{
		url:    "https://registry.npmjs.org/google-proto-files/-/google-proto-files-6.0.1.tgz",
		sha256: "711763f77ea15bbc7436aac53db013b421d2c7b86ae27f4013723970ce54a96e",
		name:   "google-proto-files-6.0.1.tgz",
	}
	// protovalidate's release as the Go module proxy serves it: a two-module buf
	// workspace whose testing module has editions files.
	protovalidateArchive = corpusArchive{
		url:    "https://proxy.golang.org/github.com/bufbuild/protovalidate/@v/v1.2.2.zip",
		sha256: "af40b626f5db1c3b9d47ca352f9fba83e820d8bad42bfab23684975670d08e24",
		name:   "protovalidate-v1.2.2.zip",
	}
)

// googleapisRoots are the googleapis directories the corpus module holds: their
// .proto files (google/api without its subdirectories, the others whole) and, from
// the rest of googleapis, everything they import.
var googleapisRoots = []struct {
	dir       string
	recursive bool
}{
	{"google/api", false},
	{"google/rpc", true},
	{"google/type", true},
	{"google/longrunning", true},
	{"google/geo", true},
	{"google/logging/type", true},
	{"google/cloud/location", true},
}

type corpusArchive struct {
	url, sha256, name string
}

var corpusMu sync.Mutex // one download at a time per test binary

// fetch returns the archive's bytes from the cache, downloading and verifying it first
// if it is not there.
func (a corpusArchive) fetch() ([]byte, error) {
	corpusMu.Lock()
	defer corpusMu.Unlock()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "lathe-test", "corpus")
	file := filepath.Join(dir, a.name)
	if data, err := os.ReadFile(file); err == nil && a.verify(data) == nil {
		return data, nil
	}
	client := &http.Client{Timeout: 5 * time.Minute}
	resp, err := client.Get(a.url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", a.url, resp.Status)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", a.url, err)
	}
	if err := a.verify(data); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, a.name+".*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	return data, os.Rename(tmp.Name(), file)
}

func (a corpusArchive) verify(data []byte) error {
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != a.sha256 {
		return fmt.Errorf("%s: SHA-256 %s, want %s", a.url, got, a.sha256)
	}
	return nil
}

// cmdCorpus writes the corpus under DIR, module names on the script's server:
//
//	DIR/googleapis     one module, $REMOTE/googleapis/googleapis
//	DIR/protovalidate  the released workspace: $REMOTE/bufbuild/protovalidate and
//	                   $REMOTE/bufbuild/protovalidate-testing (which depends on it)
func cmdCorpus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: corpus DIR")
	}
	remote := ts.Getenv("REMOTE")
	if remote == "" {
		ts.Fatalf("corpus: $REMOTE is not set; run lathe-serve first")
	}
	dir := ts.MkAbs(args[0])
	files, err := googleapisFiles()
	ts.Check(err)
	files["buf.yaml"] = []byte("version: v2\nname: " + remote + "/googleapis/googleapis\n")
	ts.Check(writeTree(filepath.Join(dir, "googleapis"), files))

	files, err = protovalidateFiles(remote)
	ts.Check(err)
	ts.Check(writeTree(filepath.Join(dir, "protovalidate"), files))
}

// googleapisFiles returns the googleapis module's files by path: the roots' .proto
// files, their import closure within googleapis, and the license.
func googleapisFiles() (map[string][]byte, error) {
	data, err := googleapisArchive.fetch()
	if err != nil {
		return nil, err
	}
	all := map[string][]byte{} // every file of the package, by path without "package/"
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		name, ok := strings.CutPrefix(hdr.Name, "package/")
		if !ok || hdr.Typeflag != tar.TypeReg || (name != "LICENSE" && !strings.HasSuffix(name, ".proto")) {
			continue
		}
		if all[name], err = io.ReadAll(tr); err != nil {
			return nil, err
		}
	}
	var todo []string
	for name := range all {
		for _, r := range googleapisRoots {
			if d := path.Dir(name); d == r.dir || (r.recursive && strings.HasPrefix(d, r.dir+"/")) {
				todo = append(todo, name)
			}
		}
	}
	slices.Sort(todo)
	if len(todo) == 0 {
		return nil, fmt.Errorf("%s holds none of the corpus directories", googleapisArchive.url)
	}
	files := map[string][]byte{"LICENSE": all["LICENSE"]}
	for len(todo) > 0 {
		name := todo[0]
		todo = todo[1:]
		if _, done := files[name]; done {
			continue
		}
		content, ok := all[name]
		if !ok {
			return nil, fmt.Errorf("googleapis: %s is imported but not in %s", name, googleapisArchive.url)
		}
		files[name] = content
		for _, m := range importRE.FindAllSubmatch(content, -1) {
			if imp := string(m[1]); !strings.HasPrefix(imp, "google/protobuf/") {
				todo = append(todo, imp)
			}
		}
	}
	return files, nil
}

var importRE = regexp.MustCompile(`(?m)^import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;`)

// protovalidateFiles returns the protovalidate workspace's buf.yaml (module names
// moved to remote), license and .proto files.
func protovalidateFiles(remote string) (map[string][]byte, error) {
	data, err := protovalidateArchive.fetch()
	if err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	const root = "github.com/bufbuild/protovalidate@v1.2.2/"
	files := map[string][]byte{}
	for _, f := range zr.File {
		name, ok := strings.CutPrefix(f.Name, root)
		if !ok || !(name == "buf.yaml" || name == "LICENSE" ||
			(strings.HasPrefix(name, "proto/") && strings.HasSuffix(name, ".proto"))) {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		content, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
		files[name] = content
	}
	bufYAML, ok := files["buf.yaml"]
	if !ok {
		return nil, fmt.Errorf("%s has no buf.yaml", protovalidateArchive.url)
	}
	files["buf.yaml"] = bytes.ReplaceAll(bufYAML, []byte("name: buf.build/"), []byte("name: "+remote+"/"))
	return files, nil
}

func writeTree(dir string, files map[string][]byte) error {
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
			return err
		}
	}
	return nil
}
