package registry

import (
	"context"
	"fmt"
	"slices"

	"github.com/bufbuild/protocompile/linker"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/lathe-registry/lathe/internal/codegen"
	"github.com/lathe-registry/lathe/internal/module"
	"github.com/lathe-registry/lathe/internal/store"
)

// GenerationFiles compiles a commit with its dependency closure, keeping source code info,
// and returns its files as a buf image orders them: the commit's .proto files in path
// order, each after everything it imports; imported files are marked as imports. It also
// returns the commit each file comes from, by path.
func (r *Registry) GenerationFiles(ctx context.Context, c store.Commit) ([]codegen.File, map[string]store.Commit, error) {
	g, err := r.Graph(ctx, []store.Commit{c})
	if err != nil {
		return nil, nil, err
	}
	origin := make(map[string]store.Commit)
	contents := make(map[string][]byte)
	var targets []string
	for i, gc := range g.Commits {
		files, err := r.Files(ctx, gc, module.IsProto)
		if err != nil {
			return nil, nil, err
		}
		for _, f := range files {
			contents[f.Path] = f.Content
			origin[f.Path] = gc
			if i == 0 {
				targets = append(targets, f.Path)
			}
		}
	}
	slices.Sort(targets)
	compiled, err := module.Compile(ctx, targets, func(p string) ([]byte, bool) {
		content, ok := contents[p]
		return content, ok
	}, r.parses, r.limits, true)
	if err != nil {
		return nil, nil, fmt.Errorf("commit %s: %w", c.ID, err)
	}
	isTarget := make(map[string]bool, len(targets))
	for _, t := range targets {
		isTarget[t] = true
	}
	var out []codegen.File
	seen := make(map[string]bool)
	var visit func(fd protoreflect.FileDescriptor)
	visit = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		imports := fd.Imports()
		for i := range imports.Len() {
			visit(imports.Get(i).FileDescriptor)
		}
		out = append(out, codegen.File{Proto: protodesc.ToFileDescriptorProto(fd), IsImport: !isTarget[fd.Path()]})
	}
	byPath := make(map[string]linker.File, len(compiled))
	for _, f := range compiled {
		byPath[f.Path()] = f
	}
	for _, t := range targets {
		visit(byPath[t])
	}
	return out, origin, nil
}
