package api

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"

	imagev1 "github.com/lathe-registry/lathe/internal/gen/buf/alpha/image/v1"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/pluginpb"

	"connectrpc.com/connect"
	"golang.org/x/sync/errgroup"

	"github.com/lathe-registry/lathe/internal/codegen"
	registryv1alpha1 "github.com/lathe-registry/lathe/internal/gen/buf/alpha/registry/v1alpha1"
)

// codeGenService runs hosted plugins for buf generate's remote: plugins.
type codeGenService struct {
	*server
	engine *codegen.Engine
	codec  *imageCodec
}

func (s codeGenService) GenerateCode(ctx context.Context, req *connect.Request[registryv1alpha1.GenerateCodeRequest]) (*connect.Response[registryv1alpha1.GenerateCodeResponse], error) {
	if err := checkCount(len(req.Msg.GetRequests()), "plugins"); err != nil {
		return nil, err
	}
	raw, ok := s.codec.image(req.Msg)
	if !ok {
		data, err := proto.MarshalOptions{Deterministic: true}.Marshal(req.Msg.GetImage())
		if err != nil {
			return nil, s.connectError(err)
		}
		sum := sha256.Sum256(data)
		raw = rawImage{data: data, digest: sum[:]}
	}
	if len(raw.data) == 0 {
		return nil, invalid("the image has no files")
	}
	imageDigest := raw.digest
	// Decoding and converting the image is only needed when a plugin must run.
	files := sync.OnceValues(func() ([]codegen.File, error) {
		image := &imagev1.Image{}
		if err := proto.Unmarshal(raw.data, image); err != nil {
			return nil, invalid("the image: %v", err)
		}
		files, err := codegen.FilesFromImage(image)
		if err != nil {
			return nil, invalid("%v", err)
		}
		if len(files) == 0 {
			return nil, invalid("the image has no files")
		}
		return files, nil
	})
	responses := make([]*registryv1alpha1.PluginGenerationResponse, len(req.Msg.GetRequests()))
	var warnings []string
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
		parameter := strings.Join(pr.GetOptions(), ",")
		// The request is a function of the image and these settings.
		h := sha256.New()
		fmt.Fprintf(h, "image %x\x00parameter %q\x00imports %t\x00wkt %t", imageDigest, parameter, includeImports, includeWKT)
		inputDigest := h.Sum(nil)
		build := func() (*pluginpb.CodeGeneratorRequest, error) {
			files, err := files()
			if err != nil {
				return nil, err
			}
			cgr, err := codegen.Request(files, parameter, includeImports, includeWKT)
			if err != nil {
				return nil, invalid("%v", err)
			}
			return cgr, nil
		}
		name := fmt.Sprintf("%s/%s:%s (revision %d)", ref.GetOwner(), ref.GetName(), pv.Version, pv.Revision)
		if pv.Deprecated {
			warnings = append(warnings, fmt.Sprintf("plugin %s is deprecated", name))
		}
		g.Go(func() error {
			resp, err := s.engine.GenerateInput(gctx, pv, inputDigest, build)
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
	resp := connect.NewResponse(&registryv1alpha1.GenerateCodeResponse{Responses: responses})
	if len(warnings) > 0 {
		// buf prints this header as a warning.
		resp.Header().Set("buf-warning-bin", connect.EncodeBinaryHeader([]byte(strings.Join(warnings, "; "))))
	}
	return resp, nil
}
