// Package fsblob is a [blob.Store] in a directory of the local file system.
//
// The blob with key abcdef… is the file ab/cdef… inside the store's directory: the
// 256 fan-out directories keep any one directory to a size file systems handle well.
// In-flight writes go to the tmp directory, which is on the same file system, so a
// finished write can be renamed into place atomically.
//
// Put writes the content to a temp file while hashing it, fsyncs the file, renames it
// to its key and fsyncs the fan-out directory. A crash before the rename leaves only
// a temp file, which a later [Open] removes; after the rename the file under the key
// is complete. So a key never names a partial blob.
//
// A writer holds a flock on its temp file until the file is renamed or removed, and
// the kernel releases it when the writer's process ends, however it ends. So a temp
// file nobody holds locked is an orphan, whatever its age, and one that is locked is
// another process's write in flight: [Open] removes exactly the orphans.
package fsblob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/lathe-registry/lathe/internal/blob"
)

const (
	tmpDirName = "tmp" // cannot clash with a fan-out directory: those are two hex digits
	fileMode   = 0o644
	dirMode    = 0o755
)

// Store is a [blob.Store] in a directory. It is safe for simultaneous use by multiple
// goroutines, and by multiple processes sharing the directory.
type Store struct {
	dir string
	tmp string
}

var _ blob.Store = (*Store)(nil)

// Option configures [Open].
type Option func(*options)

type options struct{ log *slog.Logger }

// WithLogger has Open log how many orphaned temp files it removed, if any. The default
// logs nothing.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// Open returns the Store in dir, creating the directory if needed, and removes temp
// files that crashed writes left behind.
func Open(dir string, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	s := &Store{dir: dir, tmp: filepath.Join(dir, tmpDirName)}
	if err := os.MkdirAll(s.tmp, dirMode); err != nil {
		return nil, fmt.Errorf("fsblob: %w", err)
	}
	// Creating every fan-out directory up front, rather than on a blob's first Put,
	// means a Put never has to make a new directory durable: with lazy creation, a Put
	// that found the directory just made by a concurrent Put could return before that
	// Put had fsynced the parent, and a crash would then lose its blob.
	for i := range 256 {
		err := os.Mkdir(filepath.Join(dir, fmt.Sprintf("%02x", i)), dirMode)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("fsblob: %w", err)
		}
	}
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	removed, err := s.removeOrphans()
	if err != nil {
		return nil, err
	}
	if removed > 0 && o.log != nil {
		o.log.Info("removed orphaned temporary blob files", "count", removed, "dir", s.tmp)
	}
	return s, nil
}

// removeOrphans removes the temp files that no writer holds locked, and returns how
// many it removed.
func (s *Store) removeOrphans() (int, error) {
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return 0, fmt.Errorf("fsblob: %w", err)
	}
	removed := 0
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		ok, err := removeIfOrphan(filepath.Join(s.tmp, e.Name()))
		if err != nil {
			return removed, fmt.Errorf("fsblob: removing orphaned temp file: %w", err)
		}
		if ok {
			removed++
		}
	}
	return removed, nil
}

// removeIfOrphan removes the temp file name if no writer holds it locked.
func removeIfOrphan(name string) (bool, error) {
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil // renamed into place or removed meanwhile
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	switch err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); {
	case errors.Is(err, unix.EWOULDBLOCK):
		return false, nil // a write in flight
	case err != nil:
		return false, err
	}
	// The writer may have renamed the file, and released the lock, between the open and
	// the lock: remove only the file that is locked.
	if same, err := isFile(f, name); err != nil || !same {
		return false, err
	}
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	return true, nil
}

// isFile reports whether name is still the open file f.
func isFile(f *os.File, name string) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	ni, err := os.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(fi, ni), nil
}

// createTemp creates a temp file and locks it (see the package doc).
func (s *Store) createTemp() (*os.File, error) {
	for {
		f, err := os.CreateTemp(s.tmp, "put-*")
		if err != nil {
			return nil, err
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
			f.Close()
			os.Remove(f.Name())
			return nil, err
		}
		// Another process's Open may have locked and removed the file between its
		// creation and the lock; then it is gone, and another one is needed.
		same, err := isFile(f, f.Name())
		if err == nil && same {
			return f, nil
		}
		f.Close()
		if err != nil {
			os.Remove(f.Name())
			return nil, err
		}
	}
}

// Put implements [blob.Store].
func (s *Store) Put(ctx context.Context, r io.Reader) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	f, err := s.createTemp()
	if err != nil {
		return "", fmt.Errorf("fsblob: %w", err)
	}
	// Unless the temp file becomes the blob, it is garbage however Put returns. It is
	// removed before it is closed, while it is still locked.
	renamed := false
	defer func() {
		if !renamed {
			os.Remove(f.Name())
		}
		f.Close() // a second Close after a successful one is harmless
	}()

	h := blob.NewHasher()
	if _, err := io.Copy(io.MultiWriter(f, h), ctxReader{ctx, r}); err != nil {
		return "", fmt.Errorf("fsblob: storing blob: %w", err)
	}
	if err := f.Chmod(fileMode); err != nil { // CreateTemp makes the file private
		return "", fmt.Errorf("fsblob: %w", err)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("fsblob: %w", err)
	}
	// The reader may have canceled ctx on its last read, which io.Copy does not check.
	if err := ctx.Err(); err != nil {
		return "", err
	}

	key := h.Key()
	dir, name := s.path(key)
	switch _, err := os.Lstat(name); {
	case errors.Is(err, fs.ErrNotExist):
		// Renamed while still open, so still locked: an Open sweeping the temp files
		// meanwhile leaves it alone.
		if err := os.Rename(f.Name(), name); err != nil {
			return "", fmt.Errorf("fsblob: %w", err)
		}
		renamed = true
		if err := f.Close(); err != nil {
			return "", fmt.Errorf("fsblob: %w", err)
		}
	case err != nil:
		return "", fmt.Errorf("fsblob: %w", err)
	}
	// Also when the blob was already there: a concurrent Put may have renamed it into
	// place without having fsynced the directory yet.
	if err := syncDir(dir); err != nil {
		return "", err
	}
	return key, nil
}

// Open implements [blob.Store]. The reader is an [*os.File].
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := blob.CheckKey(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	_, name := s.path(key)
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", blob.ErrNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("fsblob: %w", err)
	}
	return f, nil
}

// Exists implements [blob.Store].
func (s *Store) Exists(ctx context.Context, key string) (bool, error) {
	if err := blob.CheckKey(key); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	_, name := s.path(key)
	_, err := os.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("fsblob: %w", err)
	}
	return true, nil
}

// path returns the fan-out directory and the file name of a valid key.
func (s *Store) path(key string) (dir, name string) {
	dir = filepath.Join(s.dir, key[:2])
	return dir, filepath.Join(dir, key[2:])
}

// syncDir fsyncs a directory, making the entries created in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsblob: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsblob: syncing directory: %w", err)
	}
	return nil
}

// ctxReader fails reads once ctx is done, so a canceled Put stops streaming.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
