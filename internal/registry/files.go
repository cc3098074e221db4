package registry

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/lathe-registry/lathe/internal/blob"
	"github.com/lathe-registry/lathe/internal/module"
	"github.com/lathe-registry/lathe/internal/store"
)

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// manifest reads and parses a commit's manifest.
func (r *Registry) manifest(ctx context.Context, c store.Commit) ([]module.ManifestEntry, error) {
	data, err := blob.ReadAll(ctx, r.blobs, c.Manifest)
	if err != nil {
		return nil, fmt.Errorf("manifest of commit %s: %w", c.ID, err)
	}
	entries, err := module.ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("manifest of commit %s: %w", c.ID, err)
	}
	return entries, nil
}

// Files returns the files of a commit the caller can see, sorted by path. keep, if not
// nil, selects which paths to read.
func (r *Registry) Files(ctx context.Context, c store.Commit, keep func(path string) bool) ([]module.File, error) {
	if err := r.readableCommit(ctx, c); err != nil {
		return nil, err
	}
	entries, err := r.manifest(ctx, c)
	if err != nil {
		return nil, err
	}
	files := make([]module.File, 0, len(entries))
	for _, e := range entries {
		if keep == nil || keep(e.Path) {
			files = append(files, module.File{Path: e.Path})
		}
	}
	keys := make(map[string]string, len(entries))
	for _, e := range entries {
		keys[e.Path] = e.Key
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i := range files {
		g.Go(func() error {
			content, err := blob.ReadAll(ctx, r.blobs, keys[files[i].Path])
			if err != nil {
				return fmt.Errorf("file %s of commit %s: %w", files[i].Path, c.ID, err)
			}
			files[i].Content = content
			return nil
		})
	}
	return files, g.Wait()
}
