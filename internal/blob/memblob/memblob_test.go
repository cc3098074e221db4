package memblob_test

import (
	"testing"

	"github.com/lathe-registry/lathe/internal/blob"
	"github.com/lathe-registry/lathe/internal/blob/blobtest"
	"github.com/lathe-registry/lathe/internal/blob/memblob"
)

func TestStore(t *testing.T) {
	blobtest.Run(t, func(*testing.T) blob.Store { return memblob.New() })
}

func BenchmarkStore(b *testing.B) {
	blobtest.Bench(b, func(*testing.B) blob.Store { return memblob.New() })
}
