package e2e

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	// nosecret [-token TOKEN] [-want REGEXP] SECRET TARGET... fails if the regular
	// expression SECRET matches anything in the targets: files, directories (walked),
	// archives in them (.zip, .whl, .crate, .tgz, .tar.gz, read inside), and URLs
	// (fetched, with TOKEN as bearer token, whatever the status). With -want, something
	// in the targets must match REGEXP, so that a check of nothing cannot pass.
	scriptCmds["nosecret"] = cmdNoSecret
	// try PROGRAM ARG... runs a program like exec but succeeds either way, for steps
	// whose outcome differs before and after a fix and is checked afterwards through
	// what they leave behind (stdout, stderr, files).
	scriptCmds["try"] = cmdTry
}

func cmdTry(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: try PROGRAM ARG...")
	}
	if err := ts.Exec(args[0], args[1:]...); err != nil {
		ts.Logf("try: %v", err)
	}
}

func cmdNoSecret(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! nosecret")
	}
	var token, want string
	for len(args) > 1 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-token":
			token = args[1]
		case "-want":
			want = args[1]
		default:
			ts.Fatalf("nosecret: unknown flag %s", args[0])
		}
		args = args[2:]
	}
	if len(args) < 2 {
		ts.Fatalf("usage: nosecret [-token TOKEN] [-want REGEXP] SECRET TARGET...")
	}
	secret := regexp.MustCompile(args[0])
	var wanted *regexp.Regexp
	if want != "" {
		wanted = regexp.MustCompile(want)
	}
	found, scanned := false, 0
	check := func(where string, data []byte) {
		scanned++
		if m := secret.Find(data); m != nil {
			i := bytes.Index(data, m)
			ctx := data[max(0, i-80):min(len(data), i+len(m)+80)]
			ts.Fatalf("nosecret: %s contains %q: …%s…", where, m, ctx)
		}
		if wanted != nil && wanted.Match(data) {
			found = true
		}
	}
	for _, target := range args[1:] {
		if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
			req, err := http.NewRequest(http.MethodGet, target, nil)
			ts.Check(err)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := state(ts).httpClient(ts).Do(req)
			ts.Check(err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			ts.Check(err)
			ts.Logf("nosecret: GET %s: %s, %d bytes", target, resp.Status, len(body))
			check(target, []byte(resp.Status+"\n"+headerText(resp.Header)+"\n"))
			scanArchive(target, body, check)
			continue
		}
		root := ts.MkAbs(target)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			check(p+" (name)", []byte(p))
			if d.IsDir() || !d.Type().IsRegular() {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			scanArchive(p, data, check)
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			ts.Fatalf("nosecret: %v", err)
		}
	}
	if wanted != nil && !found {
		ts.Fatalf("nosecret: nothing of the %d things scanned matches %q", scanned, want)
	}
	ts.Logf("nosecret: %d files and answers scanned", scanned)
}

func headerText(h http.Header) string {
	var b strings.Builder
	for k, v := range h {
		b.WriteString(k + ": " + strings.Join(v, ", ") + "\n")
	}
	return b.String()
}

// scanArchive checks data, and the members of data if it is an archive.
func scanArchive(name string, data []byte, check func(string, []byte)) {
	check(name, data)
	switch {
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		for _, f := range zr.File {
			check(name+"!"+f.Name+" (name)", []byte(f.Name))
			rc, err := f.Open()
			if err != nil {
				continue
			}
			b, _ := io.ReadAll(io.LimitReader(rc, 64<<20))
			rc.Close()
			scanArchive(name+"!"+f.Name, b, check)
		}
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		gz, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		raw, _ := io.ReadAll(io.LimitReader(gz, 256<<20))
		tr := tar.NewReader(bytes.NewReader(raw))
		isTar := false
		for {
			hdr, err := tr.Next()
			if err != nil {
				break
			}
			isTar = true
			check(name+"!"+hdr.Name+" (name)", []byte(hdr.Name))
			b, _ := io.ReadAll(tr)
			scanArchive(name+"!"+hdr.Name, b, check)
		}
		if !isTar {
			check(name+" (gunzipped)", raw)
		}
	}
}
