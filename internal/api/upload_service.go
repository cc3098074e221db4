package api

import (
	"context"

	modulev1 "buf.build/gen/go/bufbuild/registry/protocolbuffers/go/buf/registry/module/v1"
	"connectrpc.com/connect"

	"github.com/lathe-registry/lathe/internal/module"
	"github.com/lathe-registry/lathe/internal/registry"
)

type uploadService struct{ *server }

func (s uploadService) Upload(ctx context.Context, req *connect.Request[modulev1.UploadRequest]) (*connect.Response[modulev1.UploadResponse], error) {
	if err := checkCount(len(req.Msg.GetContents()), "module contents"); err != nil {
		return nil, err
	}
	contents := make([]registry.UploadContent, 0, len(req.Msg.GetContents()))
	for _, c := range req.Msg.GetContents() {
		ref, err := fromModuleRef(c.GetModuleRef())
		if err != nil {
			return nil, err
		}
		content := registry.UploadContent{Module: ref, SourceControlURL: c.GetSourceControlUrl()}
		for _, f := range c.GetFiles() {
			content.Files = append(content.Files, module.File{Path: f.GetPath(), Content: f.GetContent()})
		}
		for _, l := range c.GetScopedLabelRefs() {
			if l.GetId() != "" {
				return nil, invalid("labels of an upload are named, not given by id")
			}
			content.Labels = append(content.Labels, l.GetName())
		}
		contents = append(contents, content)
	}
	commits, stats, err := s.reg.Upload(ctx, contents, req.Msg.GetDepCommitIds())
	if err != nil {
		return nil, err
	}
	s.log.Info("upload",
		"modules", len(contents), "new_commits", stats.NewCommits,
		"resolve", stats.Resolve, "compile", stats.Compile, "hash", stats.Hash, "store", stats.Store)
	resp := &modulev1.UploadResponse{}
	for _, c := range commits {
		resp.Commits = append(resp.Commits, toCommit(c))
	}
	return connect.NewResponse(resp), nil
}
