package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/lathe-registry/lathe/internal/blob"
	"github.com/lathe-registry/lathe/internal/codegen"
	"github.com/lathe-registry/lathe/internal/store"
)

// InputFile is one .proto file of a build's generation input.
type InputFile struct {
	Path  string
	Proto *descriptorpb.FileDescriptorProto
	// Import is true for files that are there because a generated file imports them.
	Import bool
	// Commit is the commit the file comes from: the build's own, or a dependency's. It
	// is the zero value for well-known types, which come with every protobuf runtime.
	Commit store.Commit
}

// WellKnown reports whether the file is a well-known type.
func (f InputFile) WellKnown() bool { return f.Commit.ID == "" }

// Generate runs the build's plugins on its commit and returns the generated files by
// path. options returns the ecosystem's extra options for a step, typically import
// mappings that make generated code refer to dependency SDKs.
func (s *Service) Generate(ctx context.Context, b Build, options func(Step, []InputFile) ([]string, error)) (map[string][]byte, error) {
	if s.engine == nil {
		return nil, errors.New("code generation is not enabled on this server")
	}
	files, origin, err := s.reg.GenerationFiles(ctx, b.Commit)
	if err != nil {
		return nil, err
	}
	inputs := make([]InputFile, len(files))
	for i, f := range files {
		inputs[i] = InputFile{Path: f.Proto.GetName(), Proto: f.Proto, Import: f.IsImport}
		if !codegen.IsWellKnown(inputs[i].Path) {
			inputs[i].Commit = origin[inputs[i].Path]
		}
	}
	steps := make([]codegen.Step, len(b.Steps))
	for i, step := range b.Steps {
		opts := step.Options
		if options != nil {
			extra, err := options(step, inputs)
			if err != nil {
				return nil, err
			}
			opts = append(opts[:len(opts):len(opts)], extra...)
		}
		steps[i] = codegen.Step{Name: step.Ref(), Version: step.Version, Parameter: strings.Join(opts, ",")}
	}
	out, err := s.engine.GenerateAll(ctx, steps, files)
	if err != nil {
		return nil, err
	}
	return codegen.Apply(out)
}

// Artifact returns the published version of a package, publishing it first if it is not:
// pack returns the package archive and the metadata served beside it. Concurrent calls
// for one version share one pack, and the first publication is final.
func (s *Service) Artifact(ctx context.Context, ecosystem, name, version, moduleID string, pack func(context.Context) (archive, meta []byte, err error)) (store.Artifact, error) {
	if a, err := s.reg.Artifact(ctx, ecosystem, name, version); err == nil || !errors.Is(err, store.ErrNotFound) {
		if err == nil {
			s.remember(a)
		}
		return a, err
	}
	if err := s.mayGenerate(ctx); err != nil {
		return store.Artifact{}, err
	}
	key := ecosystem + "\x00" + name + "\x00" + version
	// The shared pack must not end because the first caller went away.
	ch := s.flight.DoChan(key, func() (any, error) {
		ctx := context.WithoutCancel(ctx)
		archive, meta, err := pack(ctx)
		if err != nil {
			return nil, err
		}
		blobKey, err := blob.PutBytes(ctx, s.blobs, archive)
		if err != nil {
			return nil, err
		}
		a, err := s.reg.PublishArtifact(ctx, store.Artifact{
			Ecosystem: ecosystem, Name: name, Version: version, ModuleID: moduleID, Blob: blobKey, Meta: meta,
		})
		if err == nil {
			n, _ := s.published.LoadOrStore(ecosystem+"\x00"+name, new(atomic.Uint64))
			n.(*atomic.Uint64).Add(1)
		}
		return a, err
	})
	select {
	case <-ctx.Done():
		return store.Artifact{}, ctx.Err()
	case res := <-ch:
		if res.Err != nil {
			return store.Artifact{}, res.Err
		}
		a := res.Val.(store.Artifact)
		s.remember(a)
		return a, nil
	}
}

// Publications returns how many versions of a package this process has published.
func (s *Service) Publications(ecosystem, name string) uint64 {
	if n, ok := s.published.Load(ecosystem + "\x00" + name); ok {
		return n.(*atomic.Uint64).Load()
	}
	return 0
}

// Open opens an artifact's archive.
func (s *Service) Open(ctx context.Context, a store.Artifact) (io.ReadCloser, error) {
	rc, err := s.blobs.Open(ctx, a.Blob)
	if err != nil {
		return nil, fmt.Errorf("%s package %s %s: %w", a.Ecosystem, a.Name, a.Version, err)
	}
	return rc, nil
}
