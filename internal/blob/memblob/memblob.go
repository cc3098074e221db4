// Package memblob is an in-memory [blob.Store], for tests of packages that need one.
// Its blobs live only as long as the Store.
package memblob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/lathe-registry/lathe/internal/blob"
)

// Store is an in-memory [blob.Store]. The zero value is not usable; call [New].
type Store struct {
	mu    sync.RWMutex
	blobs map[string][]byte // never modified once stored, so readers can share them
}

var _ blob.Store = (*Store)(nil)

// New returns an empty Store.
func New() *Store {
	return &Store{blobs: make(map[string][]byte)}
}

// Put implements [blob.Store].
func (s *Store) Put(ctx context.Context, r io.Reader) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("memblob: reading content: %w", err)
	}
	// The reader cannot be interrupted, so a cancellation during it shows only now.
	if err := ctx.Err(); err != nil {
		return "", err
	}
	key := blob.Key(data)
	s.mu.Lock()
	if _, ok := s.blobs[key]; !ok {
		s.blobs[key] = data
	}
	s.mu.Unlock()
	return key, nil
}

// Open implements [blob.Store].
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	data, err := s.get(ctx, key)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

// Exists implements [blob.Store].
func (s *Store) Exists(ctx context.Context, key string) (bool, error) {
	_, err := s.get(ctx, key)
	if errors.Is(err, blob.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (s *Store) get(ctx context.Context, key string) ([]byte, error) {
	if err := blob.CheckKey(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	data, ok := s.blobs[key]
	s.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %s", blob.ErrNotFound, key)
	}
	return data, nil
}
