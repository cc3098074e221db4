package sdk

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"
	"time"
)

// Packing the same files gives the same bytes; every entry is a regular file under the
// prefix, in order, with fixed metadata, and names too long for ustar are kept whole.
func TestTarGzDeterministic(t *testing.T) {
	mtime := time.Date(1985, 10, 26, 8, 15, 0, 0, time.UTC)
	files := map[string][]byte{"package.json": []byte("{}\n"), "b/b_pb.js": []byte("// b\n"), "a/a_pb.js": []byte("// a\n"),
		strings.Repeat("long/", 30) + "x_pb.js": []byte("// long\n")}
	one, err := TarGz("package", mtime, files)
	if err != nil {
		t.Fatal(err)
	}
	two, _ := TarGz("package", mtime, files)
	if !bytes.Equal(one, two) {
		t.Fatal("two packings differ")
	}
	zr, err := gzip.NewReader(bytes.NewReader(one))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("gzip header has name %q, time %v", zr.Name, zr.ModTime)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Typeflag != tar.TypeReg || h.Mode != 0o644 || !h.ModTime.Equal(mtime) || h.Uid != 0 || h.Uname != "" {
			t.Errorf("%s: type %c, mode %o, time %v, uid %d, uname %q", h.Name, h.Typeflag, h.Mode, h.ModTime, h.Uid, h.Uname)
		}
		data, _ := io.ReadAll(tr)
		if want := files[strings.TrimPrefix(h.Name, "package/")]; !bytes.Equal(data, want) {
			t.Errorf("%s: %q, want %q", h.Name, data, want)
		}
	}
	want := "package/a/a_pb.js package/b/b_pb.js package/" + strings.Repeat("long/", 30) + "x_pb.js package/package.json"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("entries: %s", got)
	}
}
