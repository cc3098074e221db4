// Package blob defines Lathe's content-addressed blob store.
//
// A blob's key is the lowercase hex SHAKE256 digest (64 bytes of output, so 128 hex
// characters) of its content: the same digest buf's b5 manifests use for files, so a
// manifest line names the blob that holds the file.
//
// # Contract
//
//   - All methods are safe for simultaneous use by multiple goroutines.
//   - Put is idempotent; after it returns, the blob is durable (a crash cannot lose it
//     or leave a partial blob under its key).
//   - Open of a key that was never stored returns an error matching [ErrNotFound].
//   - Keys that are not 128 lowercase hex characters are rejected with [ErrInvalidKey].
//   - A method whose context is already done returns an error matching ctx.Err(), as
//     does a Put whose context is done before it has read all its content; such a Put
//     stores nothing.
//
// Every backend must pass the conformance suite in
// [github.com/lathe-registry/lathe/internal/blob/blobtest].
package blob

import (
	"bytes"
	"context"
	"crypto/sha3"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// KeyLen is the length of a key: 64 bytes of SHAKE256 output, hex-encoded.
const KeyLen = 128

var (
	// ErrNotFound is returned when no blob has the key.
	ErrNotFound = errors.New("blob not found")
	// ErrInvalidKey is returned for keys that are not digests.
	ErrInvalidKey = errors.New("invalid blob key")
)

// Store is a content-addressed blob store.
type Store interface {
	// Put stores the content read from r and returns its key.
	Put(ctx context.Context, r io.Reader) (string, error)
	// Open returns the content stored under key.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Exists reports whether a blob is stored under key.
	Exists(ctx context.Context, key string) (bool, error)
}

// Key returns the key of data.
func Key(data []byte) string {
	return hex.EncodeToString(sha3.SumSHAKE256(data, KeyLen/2))
}

// CheckKey returns an error matching [ErrInvalidKey] unless key is a well-formed key.
// Backends call it before using a key, so a key can never name a path outside the store.
func CheckKey(key string) error {
	if len(key) != KeyLen {
		return fmt.Errorf("%w: length %d, want %d", ErrInvalidKey, len(key), KeyLen)
	}
	for i := range len(key) {
		if c := key[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return fmt.Errorf("%w: %q", ErrInvalidKey, key)
		}
	}
	return nil
}

// Hasher computes a key from the content written to it, for backends that stream.
type Hasher struct{ shake *sha3.SHAKE }

// NewHasher returns a Hasher with nothing written to it.
func NewHasher() *Hasher { return &Hasher{shake: sha3.NewSHAKE256()} }

// Write adds p to the content. It never fails.
func (h *Hasher) Write(p []byte) (int, error) { return h.shake.Write(p) }

// Key returns the key of the content written so far.
func (h *Hasher) Key() string {
	// Reading output ends SHAKE's absorbing phase, so read from a copy: h stays
	// writable and Key can be called more than once.
	state, err := h.shake.MarshalBinary()
	if err != nil {
		panic(err) // cannot happen: h.shake is never read from
	}
	out := sha3.NewSHAKE256()
	if err := out.UnmarshalBinary(state); err != nil {
		panic(err)
	}
	sum := make([]byte, KeyLen/2)
	out.Read(sum) // never fails
	return hex.EncodeToString(sum)
}

// PutBytes stores data in s and returns its key. It skips the write when s already
// has the blob, which saves backends with expensive writes a round of work.
func PutBytes(ctx context.Context, s Store, data []byte) (string, error) {
	key := Key(data)
	ok, err := s.Exists(ctx, key)
	if err != nil {
		return "", err
	}
	if ok {
		return key, nil
	}
	return s.Put(ctx, bytes.NewReader(data))
}

// ReadAll returns the content stored under key in s.
func ReadAll(ctx context.Context, s Store, key string) ([]byte, error) {
	rc, err := s.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return data, nil
}
