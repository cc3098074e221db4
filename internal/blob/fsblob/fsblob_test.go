package fsblob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"golang.org/x/sys/unix"

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

// TestOpenRemovesOrphans checks that Open removes the temp files of writes whose
// process died, however recent, and keeps those of writes in flight elsewhere.
func TestOpenRemovesOrphans(t *testing.T) {
	dir := t.TempDir()
	open(t, dir)
	orphans := []string{filepath.Join(dir, "tmp", "put-old"), filepath.Join(dir, "tmp", "put-new")}
	for _, name := range orphans {
		if err := os.WriteFile(name, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(orphans[0], old, old); err != nil {
		t.Fatal(err)
	}
	// A write in flight, in another process as far as flock is concerned: its own
	// open file, locked.
	inFlight := filepath.Join(dir, "tmp", "put-inflight")
	f, err := os.Create(inFlight)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}

	var log bytes.Buffer
	if _, err := fsblob.Open(dir, fsblob.WithLogger(slog.New(slog.NewTextHandler(&log, nil)))); err != nil {
		t.Fatal(err)
	}
	for _, name := range orphans {
		if _, err := os.Stat(name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("orphan %s: Stat error = %v, want it removed", filepath.Base(name), err)
		}
	}
	if _, err := os.Stat(inFlight); err != nil {
		t.Errorf("temp file of a write in flight: %v", err)
	}
	if !strings.Contains(log.String(), "removed orphaned temporary blob files") || !strings.Contains(log.String(), "count=2") {
		t.Errorf("log = %q, want the count of removed files", log.String())
	}
}

// TestOpenBesidePuts checks that Opens sweeping the temp directory never break the Puts
// of another store on it.
func TestOpenBesidePuts(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 50 {
			if _, err := fsblob.Open(dir); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; ; i++ {
		select {
		case <-done:
			if files := regularFiles(t, filepath.Join(dir, "tmp")); len(files) != 0 {
				t.Errorf("temp files left: %q", files)
			}
			return
		default:
		}
		data := strings.Repeat("blob", i%1000)
		key, err := s.Put(t.Context(), strings.NewReader(data))
		if err != nil {
			t.Fatalf("Put %d beside Opens: %v", i, err)
		}
		if got, err := blob.ReadAll(t.Context(), s, key); err != nil || string(got) != data {
			t.Fatalf("ReadAll after Put %d: %v", i, err)
		}
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
