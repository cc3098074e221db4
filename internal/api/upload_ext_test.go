package api_test

import (
	"context"
	"io"
	"sync/atomic"
	"testing"

	"github.com/lathe-registry/lathe/internal/blob"
)

// failingBlobs fails opening the blob under key while failing is set.
type failingBlobs struct {
	blob.Store
	key     string
	failing atomic.Bool
}

func (b *failingBlobs) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if b.failing.Load() && key == b.key {
		return nil, errDisk
	}
	return b.Store.Open(ctx, key)
}

// TestUploadBlobErrorIsInternal checks that a dependency file the blob store cannot
// read fails the upload as the server's fault, not as an import the uploader got wrong.
func TestUploadBlobErrorIsInternal(t *testing.T) {
	failing := &failingBlobs{}
	log := &logBuffer{}
	f := newFixtureWith(t, fixtureConfig{
		wrapBlobs: func(b blob.Store) blob.Store { failing.Store = b; return failing },
		log:       log,
	})
	failing.key = blob.Key([]byte(f.baseFile))
	failing.failing.Store(true)
	app := "syntax = \"proto3\";\npackage app.v1;\nimport \"base/v1/base.proto\";\nmessage App { base.v1.Base b = 1; }\n"
	_, err := f.uploads.Upload(context.Background(), authed(f, upload("app", map[string]string{"app/v1/app.proto": app}, f.baseID)))
	requireInternal(t, err, log, "/buf.registry.module.v1.UploadService/Upload", "alice")
}
