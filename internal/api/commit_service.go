package api

import (
	"context"

	modulev1 "buf.build/gen/go/bufbuild/registry/protocolbuffers/go/buf/registry/module/v1"
	"connectrpc.com/connect"

	"github.com/lathe-registry/lathe/internal/store"
)

type commitService struct{ *server }

func (s commitService) GetCommits(ctx context.Context, req *connect.Request[modulev1.GetCommitsRequest]) (*connect.Response[modulev1.GetCommitsResponse], error) {
	commits, err := s.resolveCommits(ctx, req.Msg.GetResourceRefs())
	if err != nil {
		return nil, err
	}
	resp := &modulev1.GetCommitsResponse{}
	for _, c := range commits {
		resp.Commits = append(resp.Commits, toCommit(c))
	}
	return connect.NewResponse(resp), nil
}

// resolveCommits resolves each reference to one commit, in order.
func (s *server) resolveCommits(ctx context.Context, refs []*modulev1.ResourceRef) ([]store.Commit, error) {
	if err := checkCount(len(refs), "resources"); err != nil {
		return nil, err
	}
	commits := make([]store.Commit, 0, len(refs))
	for _, ref := range refs {
		rref, err := fromResourceRef(ref)
		if err != nil {
			return nil, err
		}
		c, _, err := s.reg.Commit(ctx, rref)
		if err != nil {
			return nil, err
		}
		commits = append(commits, c)
	}
	return commits, nil
}

func (s commitService) ListCommits(ctx context.Context, req *connect.Request[modulev1.ListCommitsRequest]) (*connect.Response[modulev1.ListCommitsResponse], error) {
	p, res, err := s.listOf(ctx, req.Msg.GetPageSize(), req.Msg.GetPageToken(), req.Msg.GetResourceRef())
	if err != nil {
		return nil, err
	}
	desc := req.Msg.GetOrder() != modulev1.ListCommitsRequest_ORDER_CREATE_TIME_ASC
	resp := &modulev1.ListCommitsResponse{}
	switch {
	case res.Commit != nil:
		// A commit lists itself.
		if p.Offset == 0 {
			resp.Commits = append(resp.Commits, toCommit(*res.Commit))
		}
		return connect.NewResponse(resp), nil
	case res.Label != nil:
		entries, scanned, err := s.reg.LabelHistory(ctx, res.Label.ID, !desc, false, p)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			resp.Commits = append(resp.Commits, toCommit(e.Commit))
		}
		resp.NextPageToken = nextToken(p, scanned)
		return connect.NewResponse(resp), nil
	}
	commits, err := s.reg.ListCommits(ctx, res.Module.ID, desc, p)
	if err != nil {
		return nil, err
	}
	id := req.Msg.GetIdQuery()
	for _, c := range commits {
		if id == "" || containsFold(c.ID, id) {
			resp.Commits = append(resp.Commits, toCommit(c))
		}
	}
	resp.NextPageToken = nextToken(p, len(commits))
	return connect.NewResponse(resp), nil
}
