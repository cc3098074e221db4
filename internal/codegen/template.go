package codegen

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/lathe-registry/lathe/internal/store"
)

// Step is one plugin run of a multi-plugin generation, such as a template's.
type Step struct {
	// Name identifies the plugin in messages, e.g. "protocolbuffers/go:v1.36.11".
	Name      string
	Version   store.PluginVersion
	Parameter string
}

// GenerateAll runs every step on the files and merges their outputs in step order. A
// plugin that reports an error, a plugin given editions files it did not declare support
// for, and two plugins writing the same file are errors that name the plugins.
func (e *Engine) GenerateAll(ctx context.Context, steps []Step, files []File) ([]*pluginpb.CodeGeneratorResponse_File, error) {
	// Every request is built before any run starts, so that an error leaves none running.
	requests := make([]*pluginpb.CodeGeneratorRequest, len(steps))
	for i, step := range steps {
		req, err := Request(files, step.Parameter, false, false)
		if err != nil {
			return nil, err
		}
		requests[i] = req
	}
	responses := make([]*pluginpb.CodeGeneratorResponse, len(steps))
	g, gctx := errgroup.WithContext(ctx)
	for i, step := range steps {
		req := requests[i]
		g.Go(func() error {
			resp, err := e.Generate(gctx, step.Version, req)
			if err != nil {
				return fmt.Errorf("plugin %s: %w", step.Name, err)
			}
			if resp.GetError() != "" {
				return fmt.Errorf("%w: plugin %s: %s", ErrPlugin, step.Name, resp.GetError())
			}
			if err := checkFeatures(step.Name, req, resp); err != nil {
				return err
			}
			responses[i] = resp
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var merged []*pluginpb.CodeGeneratorResponse_File
	writer := make(map[string]string)
	for i, resp := range responses {
		for _, f := range resp.GetFile() {
			if f.GetInsertionPoint() == "" && f.GetName() != "" {
				if other, ok := writer[f.GetName()]; ok {
					return nil, fmt.Errorf("%w: plugins %s and %s both write %s", ErrPlugin, other, steps[i].Name, f.GetName())
				}
				writer[f.GetName()] = steps[i].Name
			}
			merged = append(merged, f)
		}
	}
	return merged, nil
}
