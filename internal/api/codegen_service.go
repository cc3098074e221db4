package api

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"

	imagev1 "github.com/lathe-registry/lathe/internal/gen/buf/alpha/image/v1"

	"google.golang.org/protobuf/proto"

	"connectrpc.com/connect"
	"golang.org/x/sync/errgroup"

	"github.com/lathe-registry/lathe/internal/codegen"
	registryv1alpha1 "github.com/lathe-registry/lathe/internal/gen/buf/alpha/registry/v1alpha1"
	"github.com/lathe-registry/lathe/internal/store"
)

// codeGenService runs hosted plugins for buf generate's remote: plugins.
type codeGenService struct {
	*server
	engine *codegen.Engine
	codec  *imageCodec
}

// GenerateCode runs in three stages: the image is identified (and decoded only if a
// plugin must run), every plugin is resolved, and only then do the plugins run, so that
// a request naming an unknown plugin starts nothing.
func (s codeGenService) GenerateCode(ctx context.Context, req *connect.Request[registryv1alpha1.GenerateCodeRequest]) (*connect.Response[registryv1alpha1.GenerateCodeResponse], error) {
	if err := checkCount(len(req.Msg.GetRequests()), "plugins"); err != nil {
		return nil, err
	}
	imageDigest, files, err := s.image(req.Msg)
	if err != nil {
		return nil, err
	}
	jobs, warnings, err := s.resolve(ctx, req.Msg, imageDigest)
	if err != nil {
		return nil, err
	}
	responses, err := s.run(ctx, jobs, files)
	if err != nil {
		return nil, err
	}
	resp := connect.NewResponse(&registryv1alpha1.GenerateCodeResponse{Responses: responses})
	if len(warnings) > 0 {
		// buf prints this header as a warning.
		resp.Header().Set("buf-warning-bin", connect.EncodeBinaryHeader([]byte(strings.Join(warnings, "; "))))
	}
	return resp, nil
}

// image returns the digest of the request's image and a function that decodes it into
// generation input, once, for the first plugin that must run.
func (s codeGenService) image(msg *registryv1alpha1.GenerateCodeRequest) ([]byte, func() ([]codegen.File, error), error) {
	raw, ok := s.codec.image(msg)
	if !ok {
		data, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg.GetImage())
		if err != nil {
			return nil, nil, s.connectError(err)
		}
		sum := sha256.Sum256(data)
		raw = rawImage{data: data, digest: sum[:]}
	}
	if len(raw.data) == 0 {
		return nil, nil, invalid("the image has no files")
	}
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
	return raw.digest, files, nil
}

// generationJob is one plugin of a request, resolved.
type generationJob struct {
	name  string // for messages: "owner/name:version (revision n)"
	pv    store.PluginVersion
	input codegen.Input
}

// resolve looks up every plugin of the request, with the input each is to run on, and
// the warnings for the response.
func (s codeGenService) resolve(ctx context.Context, msg *registryv1alpha1.GenerateCodeRequest, imageDigest []byte) ([]generationJob, []string, error) {
	jobs := make([]generationJob, len(msg.GetRequests()))
	var warnings []string
	for i, pr := range msg.GetRequests() {
		ref := pr.GetPluginReference()
		pv, err := s.reg.PluginVersion(ctx, ref.GetOwner(), ref.GetName(), ref.GetVersion(), int(ref.GetRevision()))
		if err != nil {
			return nil, nil, s.connectError(err)
		}
		in := codegen.Input{
			ImageDigest:    imageDigest,
			Parameter:      strings.Join(pr.GetOptions(), ","),
			IncludeImports: msg.GetIncludeImports(),
			IncludeWKT:     msg.GetIncludeWellKnownTypes(),
		}
		if pr.IncludeImports != nil {
			in.IncludeImports = pr.GetIncludeImports()
		}
		if pr.IncludeWellKnownTypes != nil {
			in.IncludeWKT = pr.GetIncludeWellKnownTypes()
		}
		jobs[i] = generationJob{
			name:  fmt.Sprintf("%s/%s:%s (revision %d)", ref.GetOwner(), ref.GetName(), pv.Version, pv.Revision),
			pv:    pv,
			input: in,
		}
		if pv.Deprecated {
			warnings = append(warnings, fmt.Sprintf("plugin %s is deprecated", jobs[i].name))
		}
	}
	return jobs, warnings, nil
}

// run runs the jobs at once and returns their responses in order; the first failure
// cancels the others.
func (s codeGenService) run(ctx context.Context, jobs []generationJob, files func() ([]codegen.File, error)) ([]*registryv1alpha1.PluginGenerationResponse, error) {
	responses := make([]*registryv1alpha1.PluginGenerationResponse, len(jobs))
	g, gctx := errgroup.WithContext(ctx)
	for i, job := range jobs {
		g.Go(func() error {
			resp, err := s.engine.GenerateInput(gctx, job.pv, job.input, files)
			if err == nil {
				// buf generate writes a remote response without looking at its error
				// field, so the plugin's own error must travel as the RPC's.
				err = codegen.ResponseError(resp)
			}
			if err != nil {
				return s.connectError(fmt.Errorf("plugin %s: %w", job.name, err))
			}
			responses[i] = &registryv1alpha1.PluginGenerationResponse{Response: resp}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return responses, nil
}
