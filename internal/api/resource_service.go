package api

import (
	"context"
	"fmt"
	"strings"

	modulev1 "buf.build/gen/go/bufbuild/registry/protocolbuffers/go/buf/registry/module/v1"
	"connectrpc.com/connect"

	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/store"
)

type resourceService struct{ *server }

func (s resourceService) GetResources(ctx context.Context, req *connect.Request[modulev1.GetResourcesRequest]) (*connect.Response[modulev1.GetResourcesResponse], error) {
	if err := checkCount(len(req.Msg.GetResourceRefs()), "resources"); err != nil {
		return nil, err
	}
	resp := &modulev1.GetResourcesResponse{}
	for _, ref := range req.Msg.GetResourceRefs() {
		rref, err := fromResourceRef(ref)
		if err != nil {
			return nil, err
		}
		res, err := s.reg.Resource(ctx, rref)
		if err != nil {
			return nil, err
		}
		var r *modulev1.Resource
		switch {
		case res.Commit != nil:
			r = &modulev1.Resource{Value: &modulev1.Resource_Commit{Commit: toCommit(*res.Commit)}}
		case res.Label != nil:
			r = &modulev1.Resource{Value: &modulev1.Resource_Label{Label: toLabel(*res.Label, res.Module)}}
		default:
			r = &modulev1.Resource{Value: &modulev1.Resource_Module{Module: toModule(res.Module)}}
		}
		resp.Resources = append(resp.Resources, r)
	}
	return connect.NewResponse(resp), nil
}

func invalidPath(p, commitID string) error {
	return fmt.Errorf("path %q is not in commit %s: %w", p, commitID, registry.ErrNotFound)
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// listOf reads the page and the resource of a List request.
func (s *server) listOf(ctx context.Context, size uint32, token string, ref *modulev1.ResourceRef) (store.Page, registry.Resource, error) {
	p, err := page(size, token)
	if err != nil {
		return p, registry.Resource{}, err
	}
	rref, err := fromResourceRef(ref)
	if err != nil {
		return p, registry.Resource{}, err
	}
	res, err := s.reg.Resource(ctx, rref)
	return p, res, err
}
