// Package blobtest is the conformance suite every [blob.Store] backend must pass.
//
// A backend's tests call [Run] (and its benchmarks [Bench]) with a function that opens
// a new, empty store:
//
//	func TestStore(t *testing.T) {
//		blobtest.Run(t, func(t *testing.T) blob.Store { return memblob.New() })
//	}
//
// The suite computes expected keys itself, with crypto/sha3, rather than with
// [blob.Key], so a mistake in the shared helpers cannot hide a mistake in a backend.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha3"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/lathe-registry/lathe/internal/blob"
)

// Run runs the conformance suite against the stores open returns. Each case calls open
// once and expects an empty store.
func Run(t *testing.T, open func(t *testing.T) blob.Store) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s blob.Store)
	}{
		{"PutKey", testPutKey},
		{"PutIdempotent", testPutIdempotent},
		{"PutCopiesContent", testPutCopiesContent},
		{"RoundTripEmpty", func(t *testing.T, s blob.Store) { testRoundTrip(t, s, 0) }},
		{"RoundTripSmall", func(t *testing.T, s blob.Store) { testRoundTrip(t, s, 1000) }},
		{"RoundTripLarge", func(t *testing.T, s blob.Store) { testRoundTrip(t, s, 8<<20+12345) }},
		{"Exists", testExists},
		{"NotFound", testNotFound},
		{"InvalidKey", testInvalidKey},
		{"ConcurrentPut", testConcurrentPut},
		{"FailingReader", testFailingReader},
		{"CanceledBefore", testCanceledBefore},
		{"CanceledDuringPut", testCanceledDuringPut},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
}

// Bench benchmarks the stores open returns. Each benchmark calls open once and
// expects an empty store.
func Bench(b *testing.B, open func(b *testing.B) blob.Store) {
	const size = 4 << 10
	b.Run("Put4KiB", func(b *testing.B) {
		s := open(b)
		ctx := b.Context()
		data := make([]byte, size)
		b.SetBytes(size)
		b.ReportAllocs()
		var n uint64
		for b.Loop() {
			// A fresh counter per iteration makes every Put store new content rather
			// than hit an existing blob.
			n++
			binary.LittleEndian.PutUint64(data, n)
			if _, err := s.Put(ctx, bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Open4KiB", func(b *testing.B) {
		s := open(b)
		ctx := b.Context()
		key, err := s.Put(ctx, bytes.NewReader(make([]byte, size)))
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			rc, err := s.Open(ctx, key)
			if err != nil {
				b.Fatal(err)
			}
			if n, err := io.Copy(io.Discard, rc); err != nil || n != size {
				b.Fatalf("read %d bytes, %v; want %d bytes", n, err, size)
			}
			if err := rc.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Known SHAKE256 vectors with 64 bytes of output, from the NIST examples.
const (
	emptyKey = "46b9dd2b0ba88d13233b3feb743eeb243fcd52ea62b81b82b50c27646ed5762f" +
		"d75dc4ddd8c0f200cb05019d67b592f6fc821c49479ab48640292eacb3b7c4be"
	abcKey = "483366601360a8771c6863080cc4114d8db44530f8f1e1ee4f94ea37e78b5739" +
		"d5a15bef186a5386c75744c0527e1faa9f8726e462a12a4feb06bd8801e751e4"
)

func testPutKey(t *testing.T, s blob.Store) {
	if got := digest(nil); got != emptyKey {
		t.Fatalf("the suite's own digest of empty input = %s, want %s", got, emptyKey)
	}
	contents := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, emptyKey},
		{"abc", []byte("abc"), abcKey},
		{"one byte", []byte{0}, ""},
		{"block sized", bytes.Repeat([]byte{0xa5}, 136), ""},
		{"random 100 KiB", randomBytes(1, 100<<10), ""},
	}
	for _, c := range contents {
		want := c.want
		if want == "" {
			want = digest(c.data)
		}
		got, err := s.Put(t.Context(), bytes.NewReader(c.data))
		if err != nil {
			t.Fatalf("Put(%s): %v", c.name, err)
		}
		if got != want {
			t.Errorf("Put(%s) = %s, want %s", c.name, got, want)
		}
	}
}

func testPutIdempotent(t *testing.T, s blob.Store) {
	data := randomBytes(2, 10000)
	want := digest(data)
	readers := []io.Reader{
		bytes.NewReader(data),
		bytes.NewReader(data),
		// Different chunking must not change anything.
		iotest.OneByteReader(bytes.NewReader(data)),
		iotest.HalfReader(bytes.NewReader(data)),
	}
	for i, r := range readers {
		key, err := s.Put(t.Context(), r)
		if err != nil {
			t.Fatalf("Put #%d: %v", i+1, err)
		}
		if key != want {
			t.Fatalf("Put #%d = %s, want %s", i+1, key, want)
		}
	}
	checkContent(t, s, want, data)
}

func testPutCopiesContent(t *testing.T, s blob.Store) {
	data := []byte("content the caller reuses afterwards")
	orig := bytes.Clone(data)
	key, err := s.Put(t.Context(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for i := range data {
		data[i] = 'x'
	}
	checkContent(t, s, key, orig)
}

// testRoundTrip streams size bytes in and out without holding them in memory, so a
// streaming backend is tested with content larger than any buffer it has.
func testRoundTrip(t *testing.T, s blob.Store, size int64) {
	h := sha3.NewSHAKE256()
	in := io.TeeReader(io.LimitReader(rand.NewChaCha8(seed(3)), size), h)
	key, err := s.Put(t.Context(), iotest.HalfReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if want := hexDigest(h); key != want {
		t.Fatalf("Put = %s, want %s", key, want)
	}

	rc, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	out := sha3.NewSHAKE256()
	n, err := io.Copy(out, rc)
	if err != nil {
		t.Fatalf("reading blob: %v", err)
	}
	if err := rc.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n != size {
		t.Fatalf("read %d bytes, want %d", n, size)
	}
	if got := hexDigest(out); got != key {
		t.Fatalf("read content has digest %s, want %s", got, key)
	}
}

func testExists(t *testing.T, s blob.Store) {
	data := []byte("exists")
	key := digest(data)
	other := digest([]byte("another"))
	checkExists(t, s, key, false)
	if _, err := s.Put(t.Context(), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	checkExists(t, s, key, true)
	checkExists(t, s, other, false)
}

func testNotFound(t *testing.T, s blob.Store) {
	key, err := s.Put(t.Context(), strings.NewReader("stored"))
	if err != nil {
		t.Fatal(err)
	}
	// A key that differs from the stored one only in its last character.
	last := byte('0')
	if key[len(key)-1] == last {
		last = '1'
	}
	near := key[:len(key)-1] + string(last)
	for _, k := range []string{digest([]byte("never stored")), near, strings.Repeat("0", blob.KeyLen)} {
		rc, err := s.Open(t.Context(), k)
		if err == nil {
			rc.Close()
		}
		if !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Open(%s) error = %v, want ErrNotFound", k, err)
		}
		checkExists(t, s, k, false)
	}
}

func testInvalidKey(t *testing.T, s blob.Store) {
	// Derive some bad keys from a stored blob's key, so a backend that mapped them onto
	// a file name or a case-insensitive lookup would find something.
	key, err := s.Put(t.Context(), strings.NewReader("target"))
	if err != nil {
		t.Fatal(err)
	}
	valid := strings.Repeat("a", blob.KeyLen)
	bad := map[string]string{
		"empty":               "",
		"short":               "abc",
		"one short":           key[:blob.KeyLen-1],
		"one long":            key + "0",
		"uppercase":           strings.ToUpper(key),
		"one uppercase":       "A" + valid[1:],
		"non-hex":             "g" + valid[1:],
		"space":               " " + valid[1:],
		"NUL":                 "\x00" + valid[1:],
		"non-ASCII":           "é" + valid[2:],
		"0x prefix":           "0x" + key[2:],
		"fan-out path":        key[:2] + "/" + key[2:],
		"fan-out path, fixed": key[:2] + "/" + key[3:],
		"backslash":           key[:2] + "\\" + key[3:],
		"dot-dot":             "../" + key[3:],
		"dot-dot backslash":   "..\\" + key[3:],
		"deep dot-dot":        strings.Repeat("../", 10) + "etc/passwd",
		"absolute":            "/" + key[1:],
		"dot":                 "." + key[1:],
	}
	for name, k := range bad {
		rc, err := s.Open(t.Context(), k)
		if err == nil {
			rc.Close()
		}
		if !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("%s: Open(%q) error = %v, want ErrInvalidKey", name, k, err)
		}
		ok, err := s.Exists(t.Context(), k)
		if ok || !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("%s: Exists(%q) = %v, %v, want false, ErrInvalidKey", name, k, ok, err)
		}
	}
}

func testConcurrentPut(t *testing.T, s blob.Store) {
	const n = 16
	same := randomBytes(4, 50000)
	sameKey := digest(same)
	distinct := make([][]byte, n)
	for i := range distinct {
		distinct[i] = randomBytes(uint64(100+i), 20000+i)
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// Small chunks make the writes interleave.
			key, err := s.Put(t.Context(), iotest.HalfReader(bytes.NewReader(same)))
			if err != nil || key != sameKey {
				t.Errorf("Put(same) = %s, %v, want %s", key, err, sameKey)
			}
			// Readers racing the writers must see the whole blob or none of it.
			if rc, err := s.Open(t.Context(), sameKey); err == nil {
				data, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || !bytes.Equal(data, same) {
					t.Errorf("concurrent Open read %d bytes, %v; want the whole blob", len(data), err)
				}
			} else if !errors.Is(err, blob.ErrNotFound) {
				t.Errorf("concurrent Open: %v", err)
			}
		})
		wg.Go(func() {
			want := digest(distinct[i])
			key, err := s.Put(t.Context(), iotest.HalfReader(bytes.NewReader(distinct[i])))
			if err != nil || key != want {
				t.Errorf("Put(distinct #%d) = %s, %v, want %s", i, key, err, want)
			}
		})
	}
	wg.Wait()
	checkContent(t, s, sameKey, same)
	for _, data := range distinct {
		checkContent(t, s, digest(data), data)
	}
}

var errReader = errors.New("blobtest: reader failed on purpose")

func testFailingReader(t *testing.T, s blob.Store) {
	whole := randomBytes(5, 300<<10)
	r := &prefixReader{data: whole, chunk: 32 << 10, failAt: 200 << 10}
	_, err := s.Put(t.Context(), r)
	if !errors.Is(err, errReader) {
		t.Fatalf("Put error = %v, want the reader's error", err)
	}
	checkExists(t, s, digest(whole), false)
	for _, k := range r.prefixKeys {
		checkExists(t, s, k, false)
	}
}

func testCanceledBefore(t *testing.T, s blob.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	data := []byte("canceled before")
	if _, err := s.Put(ctx, bytes.NewReader(data)); !errors.Is(err, context.Canceled) {
		t.Errorf("Put error = %v, want context.Canceled", err)
	}
	checkExists(t, s, digest(data), false)

	key, err := s.Put(t.Context(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := s.Open(ctx, key)
	if err == nil {
		rc.Close()
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Open error = %v, want context.Canceled", err)
	}
	if ok, err := s.Exists(ctx, key); !errors.Is(err, context.Canceled) {
		t.Errorf("Exists = %v, %v, want context.Canceled", ok, err)
	}
}

func testCanceledDuringPut(t *testing.T, s blob.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	whole := randomBytes(6, 1<<20)
	// The reader cancels once it has handed out some content and then carries on
	// without error, so only the context can make the Put fail.
	r := &prefixReader{data: whole, chunk: 16 << 10, failAt: -1, onRead: cancel}
	if _, err := s.Put(ctx, r); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put error = %v, want context.Canceled", err)
	}
	checkExists(t, s, digest(whole), false)
	for _, k := range r.prefixKeys {
		checkExists(t, s, k, false)
	}
	t.Logf("Put read %d of %d bytes before it stopped", r.off, len(whole))
}

// prefixReader hands out data in chunks and records the key of every prefix it has
// handed out, which are the keys a backend that kept a partial blob would use. When
// failAt is not negative, the read that reaches it returns errReader along with the
// data, which a backend must not take as a successful read.
type prefixReader struct {
	data       []byte
	chunk      int
	failAt     int
	onRead     func()
	off        int
	prefixKeys []string
}

func (r *prefixReader) Read(p []byte) (int, error) {
	if r.off == len(r.data) {
		return 0, io.EOF
	}
	n := copy(p, r.data[r.off:min(r.off+r.chunk, len(r.data))])
	r.off += n
	r.prefixKeys = append(r.prefixKeys, digest(r.data[:r.off]))
	if r.onRead != nil {
		r.onRead()
	}
	if r.failAt >= 0 && r.off >= r.failAt {
		return n, errReader
	}
	return n, nil
}

func checkContent(t *testing.T, s blob.Store, key string, want []byte) {
	t.Helper()
	rc, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatalf("Open(%s): %v", key, err)
	}
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %s: %v", key, err)
	}
	if err := rc.Close(); err != nil {
		t.Fatalf("Close(%s): %v", key, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("blob %s has %d bytes (digest %s), want %d bytes", key, len(got), digest(got), len(want))
	}
	checkExists(t, s, key, true)
}

func checkExists(t *testing.T, s blob.Store, key string, want bool) {
	t.Helper()
	got, err := s.Exists(t.Context(), key)
	if err != nil {
		t.Fatalf("Exists(%s): %v", key, err)
	}
	if got != want {
		t.Fatalf("Exists(%s) = %v, want %v", key, got, want)
	}
}

func digest(data []byte) string {
	h := sha3.NewSHAKE256()
	h.Write(data)
	return hexDigest(h)
}

func hexDigest(h *sha3.SHAKE) string {
	sum := make([]byte, 64)
	h.Read(sum)
	return hex.EncodeToString(sum)
}

func randomBytes(s uint64, n int) []byte {
	data := make([]byte, n)
	rand.NewChaCha8(seed(s)).Read(data)
	return data
}

func seed(s uint64) [32]byte {
	var b [32]byte
	binary.LittleEndian.PutUint64(b[:], s)
	return b
}
