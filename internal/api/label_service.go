package api

import (
	"context"

	modulev1 "buf.build/gen/go/bufbuild/registry/protocolbuffers/go/buf/registry/module/v1"
	"connectrpc.com/connect"

	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/store"
)

type labelService struct{ *server }

func (s labelService) GetLabels(ctx context.Context, req *connect.Request[modulev1.GetLabelsRequest]) (*connect.Response[modulev1.GetLabelsResponse], error) {
	if err := checkCount(len(req.Msg.GetLabelRefs()), "labels"); err != nil {
		return nil, err
	}
	resp := &modulev1.GetLabelsResponse{}
	for _, ref := range req.Msg.GetLabelRefs() {
		lref, err := fromLabelRef(ref)
		if err != nil {
			return nil, err
		}
		l, res, err := s.reg.Label(ctx, lref)
		if err != nil {
			return nil, err
		}
		resp.Labels = append(resp.Labels, toLabel(l, res.Module))
	}
	return connect.NewResponse(resp), nil
}

func (s labelService) ListLabels(ctx context.Context, req *connect.Request[modulev1.ListLabelsRequest]) (*connect.Response[modulev1.ListLabelsResponse], error) {
	p, res, err := s.listOf(ctx, req.Msg.GetPageSize(), req.Msg.GetPageToken(), req.Msg.GetResourceRef())
	if err != nil {
		return nil, err
	}
	resp := &modulev1.ListLabelsResponse{}
	if res.Label != nil {
		// A label lists itself.
		if p.Offset == 0 {
			resp.Labels = append(resp.Labels, toLabel(*res.Label, res.Module))
		}
		return connect.NewResponse(resp), nil
	}
	filter := store.UnarchivedOnly
	switch req.Msg.GetArchiveFilter() {
	case modulev1.ListLabelsRequest_ARCHIVE_FILTER_ARCHIVED_ONLY:
		filter = store.ArchivedOnly
	case modulev1.ListLabelsRequest_ARCHIVE_FILTER_ALL:
		filter = store.AllLabels
	}
	order := req.Msg.GetOrder()
	desc := order != modulev1.ListLabelsRequest_ORDER_CREATE_TIME_ASC && order != modulev1.ListLabelsRequest_ORDER_UPDATE_TIME_ASC
	labels, err := s.reg.ListLabels(ctx, res.Module.ID, filter, req.Msg.GetNameQuery(), desc, p)
	if err != nil {
		return nil, err
	}
	for _, l := range labels {
		if res.Commit != nil && l.CommitID != res.Commit.ID {
			continue // listing the labels of a commit
		}
		resp.Labels = append(resp.Labels, toLabel(l, res.Module))
	}
	resp.NextPageToken = nextToken(p, len(labels))
	return connect.NewResponse(resp), nil
}

func (s labelService) ListLabelHistory(ctx context.Context, req *connect.Request[modulev1.ListLabelHistoryRequest]) (*connect.Response[modulev1.ListLabelHistoryResponse], error) {
	p, err := page(req.Msg.GetPageSize(), req.Msg.GetPageToken())
	if err != nil {
		return nil, err
	}
	lref, err := fromLabelRef(req.Msg.GetLabelRef())
	if err != nil {
		return nil, err
	}
	l, _, err := s.reg.Label(ctx, lref)
	if err != nil {
		return nil, err
	}
	asc := req.Msg.GetOrder() == modulev1.ListLabelHistoryRequest_ORDER_ASC
	entries, scanned, err := s.reg.LabelHistory(ctx, l.ID, asc, req.Msg.GetOnlyCommitsWithChangedDigests(), p)
	if err != nil {
		return nil, err
	}
	resp := &modulev1.ListLabelHistoryResponse{NextPageToken: nextToken(p, scanned)}
	for _, e := range entries {
		resp.Values = append(resp.Values, &modulev1.ListLabelHistoryResponse_Value{
			Commit:           toCommit(e.Commit),
			CommitCheckState: &modulev1.CommitCheckState{Status: modulev1.CommitCheckStatus_COMMIT_CHECK_STATUS_DISABLED},
		})
	}
	return connect.NewResponse(resp), nil
}

func (s labelService) CreateOrUpdateLabels(ctx context.Context, req *connect.Request[modulev1.CreateOrUpdateLabelsRequest]) (*connect.Response[modulev1.CreateOrUpdateLabelsResponse], error) {
	if err := checkCount(len(req.Msg.GetValues()), "labels"); err != nil {
		return nil, err
	}
	resp := &modulev1.CreateOrUpdateLabelsResponse{}
	for _, v := range req.Msg.GetValues() {
		lref, err := fromLabelRef(v.GetLabelRef())
		if err != nil {
			return nil, err
		}
		l, err := s.reg.SetLabel(ctx, lref, v.GetCommitId())
		if err != nil {
			return nil, err
		}
		m, _, err := s.reg.Module(ctx, registry.ModuleRef{ID: l.ModuleID})
		if err != nil {
			return nil, err
		}
		resp.Labels = append(resp.Labels, toLabel(l, m))
	}
	return connect.NewResponse(resp), nil
}

func (s labelService) ArchiveLabels(ctx context.Context, req *connect.Request[modulev1.ArchiveLabelsRequest]) (*connect.Response[modulev1.ArchiveLabelsResponse], error) {
	if err := s.setArchived(ctx, req.Msg.GetLabelRefs(), true); err != nil {
		return nil, err
	}
	return connect.NewResponse(&modulev1.ArchiveLabelsResponse{}), nil
}

func (s labelService) UnarchiveLabels(ctx context.Context, req *connect.Request[modulev1.UnarchiveLabelsRequest]) (*connect.Response[modulev1.UnarchiveLabelsResponse], error) {
	if err := s.setArchived(ctx, req.Msg.GetLabelRefs(), false); err != nil {
		return nil, err
	}
	return connect.NewResponse(&modulev1.UnarchiveLabelsResponse{}), nil
}

func (s labelService) setArchived(ctx context.Context, refs []*modulev1.LabelRef, archived bool) error {
	if err := checkCount(len(refs), "labels"); err != nil {
		return err
	}
	for _, ref := range refs {
		lref, err := fromLabelRef(ref)
		if err != nil {
			return err
		}
		if err := s.reg.SetLabelArchived(ctx, lref, archived); err != nil {
			return err
		}
	}
	return nil
}
