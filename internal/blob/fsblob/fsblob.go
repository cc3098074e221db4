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
package fsblob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/lathe-registry/lathe/internal/blob"
)

const (
	tmpDirName = "tmp" // cannot clash with a fan-out directory: those are two hex digits
	fileMode   = 0o644
	dirMode    = 0o755

	// staleAge is how long a temp file must go unmodified before Open deletes it.
	staleAge = time.Hour
)

// Store is a [blob.Store] in a directory. It is safe for simultaneous use by multiple
// goroutines, and by multiple processes sharing the directory.
type Store struct {
	dir string
	tmp string
}

var _ blob.Store = (*Store)(nil)

// Open returns the Store in dir, creating the directory if needed, and removes temp
// files that crashed writes left behind.
func Open(dir string) (*Store, error) {
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
	if err := s.removeStale(time.Now().Add(-staleAge)); err != nil {
		return nil, err
	}
	return s, nil
}

// removeStale removes the temp files last modified before cutoff.
//
// Only old ones: other processes may share the directory (a second server on the same
// volume, a maintenance command) and their in-flight writes must survive. Locking the
// directory would let Open remove every temp file, but would also limit the store to
// one process. A writer keeps its temp file's modification time fresh, so only a
// writer stalled for staleAge loses its file, and then its rename fails and its Put
// returns an error: nothing partial is ever stored.
func (s *Store) removeStale(cutoff time.Time) error {
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return fmt.Errorf("fsblob: %w", err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err == nil && info.ModTime().Before(cutoff) {
			err = os.Remove(filepath.Join(s.tmp, e.Name()))
		}
		// Another process's Open or Put may have removed or renamed it meanwhile.
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("fsblob: removing stale temp file: %w", err)
		}
	}
	return nil
}

// Put implements [blob.Store].
func (s *Store) Put(ctx context.Context, r io.Reader) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(s.tmp, "put-*")
	if err != nil {
		return "", fmt.Errorf("fsblob: %w", err)
	}
	// Unless the temp file becomes the blob, it is garbage however Put returns.
	renamed := false
	defer func() {
		if !renamed {
			f.Close() // a second Close after a successful one is harmless
			os.Remove(f.Name())
		}
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
	if err := f.Close(); err != nil {
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
		if err := os.Rename(f.Name(), name); err != nil {
			return "", fmt.Errorf("fsblob: %w", err)
		}
		renamed = true
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
