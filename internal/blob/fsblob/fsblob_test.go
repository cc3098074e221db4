package fsblob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/lathe-registry/lathe/internal/blob"
	"github.com/lathe-registry/lathe/internal/blob/blobtest"
	"github.com/lathe-registry/lathe/internal/blob/fsblob"
)

func TestStore(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store { return open(t, t.TempDir()) })
}

func BenchmarkStore(b *testing.B) {
	blobtest.Bench(b, func(b *testing.B) blob.Store { return open(b, b.TempDir()) })
}

func TestLayout(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	data := []byte("layout")
	key, err := s.Put(t.Context(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, key[:2], key[2:])
	info, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode() != 0o644 {
		t.Errorf("mode of %s = %v, want -rw-r--r--", name, info.Mode())
	}
	if got, err := os.ReadFile(name); err != nil || !bytes.Equal(got, data) {
		t.Errorf("ReadFile(%s) = %q, %v, want %q", name, got, err, data)
	}
	if files := regularFiles(t, dir); len(files) != 1 {
		t.Errorf("files in store = %q, want just the blob", files)
	}
}

func TestOpenCreatesDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	s := open(t, dir)
	if _, err := s.Put(t.Context(), strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	key, err := open(t, dir).Put(t.Context(), strings.NewReader("persistent"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := blob.ReadAll(t.Context(), open(t, dir), key)
	if err != nil || string(got) != "persistent" {
		t.Fatalf("after reopening: ReadAll = %q, %v", got, err)
	}
}

// TestFailedPutLeavesNoFiles checks what the conformance suite cannot see: that a
// failed Put leaves no temp file behind either.
func TestFailedPutLeavesNoFiles(t *testing.T) {
	errRead := errors.New("read failed")
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	cases := []struct {
		name string
		ctx  context.Context
		r    io.Reader
	}{
		{"reader error", t.Context(), io.MultiReader(strings.NewReader("partial"), iotest.ErrReader(errRead))},
		{"canceled", canceled, strings.NewReader("never stored")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir)
			if _, err := s.Put(c.ctx, c.r); err == nil {
				t.Fatal("Put succeeded")
			}
			if files := regularFiles(t, dir); len(files) != 0 {
				t.Errorf("files left in store: %q", files)
			}
		})
	}
}

func TestOpenRemovesStaleTempFiles(t *testing.T) {
	dir := t.TempDir()
	open(t, dir)
	stale := filepath.Join(dir, "tmp", "put-stale")
	fresh := filepath.Join(dir, "tmp", "put-fresh")
	for _, name := range []string{stale, fresh} {
		if err := os.WriteFile(name, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}

	open(t, dir)
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale temp file: Stat error = %v, want it removed", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temp file, which may be another process's write: %v", err)
	}
}

func open(tb testing.TB, dir string) *fsblob.Store {
	tb.Helper()
	s, err := fsblob.Open(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// regularFiles returns the files in dir and below, relative to dir.
func regularFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, path)
			files = append(files, rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
