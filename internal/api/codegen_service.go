package api

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"connectrpc.com/connect"
	"golang.org/x/sync/errgroup"

	"github.com/lathe-registry/lathe/internal/codegen"
	registryv1alpha1 "github.com/lathe-registry/lathe/internal/gen/buf/alpha/registry/v1alpha1"
)

// codeGenService runs hosted plugins for buf generate's remote: plugins.
type codeGenService struct {
	*server
	engine *codegen.Engine
}

func (s codeGenService) GenerateCode(ctx context.Context, req *connect.Request[registryv1alpha1.GenerateCodeRequest]) (*connect.Response[registryv1alpha1.GenerateCodeResponse], error) {
	if err := checkCount(len(req.Msg.GetRequests()), "plugins"); err != nil {
		return nil, err
	}
	files, err := codegen.FilesFromImage(req.Msg.GetImage())
	if err != nil {
		return nil, invalid("%v", err)
	}
	if len(files) == 0 {
		return nil, invalid("the image has no files")
	}
	responses := make([]*registryv1alpha1.PluginGenerationResponse, len(req.Msg.GetRequests()))
	g, gctx := errgroup.WithContext(ctx)
	for i, pr := range req.Msg.GetRequests() {
		ref := pr.GetPluginReference()
		pv, err := s.reg.PluginVersion(ctx, ref.GetOwner(), ref.GetName(), ref.GetVersion(), int(ref.GetRevision()))
		if err != nil {
			return nil, s.connectError(err)
		}
		includeImports, includeWKT := req.Msg.GetIncludeImports(), req.Msg.GetIncludeWellKnownTypes()
		if pr.IncludeImports != nil {
			includeImports = pr.GetIncludeImports()
		}
		if pr.IncludeWellKnownTypes != nil {
			includeWKT = pr.GetIncludeWellKnownTypes()
		}
		cgr, err := codegen.Request(files, strings.Join(pr.GetOptions(), ","), includeImports, includeWKT)
		if err != nil {
			return nil, invalid("%v", err)
		}
		name := fmt.Sprintf("%s/%s:%s (revision %d)", ref.GetOwner(), ref.GetName(), pv.Version, pv.Revision)
		g.Go(func() error {
			resp, err := s.engine.Generate(gctx, pv, cgr)
			if errors.Is(err, codegen.ErrPlugin) {
				return connect.NewError(connect.CodeFailedPrecondition, fmt.Errorf("plugin %s: %w", name, err))
			}
			if err != nil {
				return s.connectError(err)
			}
			// buf generate writes a remote response without looking at its error field,
			// so the plugin's own error must travel as the RPC's.
			if resp.GetError() != "" {
				return connect.NewError(connect.CodeFailedPrecondition, fmt.Errorf("plugin %s: %s", name, resp.GetError()))
			}
			responses[i] = &registryv1alpha1.PluginGenerationResponse{Response: resp}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return connect.NewResponse(&registryv1alpha1.GenerateCodeResponse{Responses: responses}), nil
}
