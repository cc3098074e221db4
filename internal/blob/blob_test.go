package blob_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/lathe-registry/lathe/internal/blob"
	"github.com/lathe-registry/lathe/internal/blob/memblob"
)

// SHAKE256 of "abc" with 64 bytes of output, from the NIST examples.
const abcKey = "483366601360a8771c6863080cc4114d8db44530f8f1e1ee4f94ea37e78b5739" +
	"d5a15bef186a5386c75744c0527e1faa9f8726e462a12a4feb06bd8801e751e4"

func TestKey(t *testing.T) {
	if got := blob.Key([]byte("abc")); got != abcKey {
		t.Errorf("Key(abc) = %s, want %s", got, abcKey)
	}
	if got := blob.Key(nil); !strings.HasPrefix(got, "46b9dd2b0ba88d13233b3feb743eeb24") || len(got) != blob.KeyLen {
		t.Errorf("Key(empty) = %s", got)
	}
}

func TestHasher(t *testing.T) {
	h := blob.NewHasher()
	h.Write([]byte("a"))
	if got, want := h.Key(), blob.Key([]byte("a")); got != want {
		t.Errorf("Key after a = %s, want %s", got, want)
	}
	// Key must leave the Hasher usable.
	h.Write([]byte("bc"))
	if got := h.Key(); got != abcKey {
		t.Errorf("Key after abc = %s, want %s", got, abcKey)
	}
	if got := h.Key(); got != abcKey {
		t.Errorf("second Key = %s, want %s", got, abcKey)
	}
}

func TestCheckKey(t *testing.T) {
	if err := blob.CheckKey(abcKey); err != nil {
		t.Errorf("CheckKey(valid) = %v", err)
	}
	for _, k := range []string{"", abcKey[1:], abcKey + "0", strings.ToUpper(abcKey), "../" + abcKey[3:], "g" + abcKey[1:]} {
		if err := blob.CheckKey(k); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("CheckKey(%q) = %v, want ErrInvalidKey", k, err)
		}
	}
}

// countingStore counts Puts, to show that PutBytes skips them.
type countingStore struct {
	blob.Store
	puts int
}

func (s *countingStore) Put(ctx context.Context, r io.Reader) (string, error) {
	s.puts++
	return s.Store.Put(ctx, r)
}

func TestPutBytesAndReadAll(t *testing.T) {
	s := &countingStore{Store: memblob.New()}
	for range 2 {
		key, err := blob.PutBytes(t.Context(), s, []byte("abc"))
		if err != nil || key != abcKey {
			t.Fatalf("PutBytes = %s, %v, want %s", key, err, abcKey)
		}
	}
	if s.puts != 1 {
		t.Errorf("PutBytes called Put %d times for the same content, want 1", s.puts)
	}
	data, err := blob.ReadAll(t.Context(), s, abcKey)
	if err != nil || string(data) != "abc" {
		t.Errorf("ReadAll = %q, %v, want abc", data, err)
	}
	if _, err := blob.ReadAll(t.Context(), s, blob.Key([]byte("missing"))); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("ReadAll(missing) error = %v, want ErrNotFound", err)
	}
}
