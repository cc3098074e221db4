package api

import (
	"context"
	"slices"

	modulev1 "buf.build/gen/go/bufbuild/registry/protocolbuffers/go/buf/registry/module/v1"
	"connectrpc.com/connect"

	"github.com/lathe-registry/lathe/internal/module"
)

type downloadService struct{ *server }

func (s downloadService) Download(ctx context.Context, req *connect.Request[modulev1.DownloadRequest]) (*connect.Response[modulev1.DownloadResponse], error) {
	if err := checkCount(len(req.Msg.GetValues()), "commits"); err != nil {
		return nil, err
	}
	resp := &modulev1.DownloadResponse{}
	for _, v := range req.Msg.GetValues() {
		commits, err := s.resolveCommits(ctx, []*modulev1.ResourceRef{v.GetResourceRef()})
		if err != nil {
			return nil, err
		}
		keep := fileFilter(v.GetFileTypes(), v.GetPaths())
		files, err := s.reg.Files(ctx, commits[0], keep)
		if err != nil {
			return nil, err
		}
		if !v.GetPathsAllowNotExist() {
			for _, p := range v.GetPaths() {
				if !slices.ContainsFunc(files, func(f module.File) bool { return f.Path == p || isUnder(f.Path, p) }) {
					return nil, invalidPath(p, commits[0].ID)
				}
			}
		}
		content := &modulev1.DownloadResponse_Content{Commit: toCommit(commits[0])}
		for _, f := range files {
			content.Files = append(content.Files, &modulev1.File{Path: f.Path, Content: f.Content})
		}
		resp.Contents = append(resp.Contents, content)
	}
	return connect.NewResponse(resp), nil
}

// fileFilter selects files by type and by path (a file path or a directory prefix).
func fileFilter(types []modulev1.FileType, paths []string) func(string) bool {
	if len(types) == 0 && len(paths) == 0 {
		return nil
	}
	return func(p string) bool {
		if len(types) > 0 && !slices.Contains(types, fileType(p)) {
			return false
		}
		return len(paths) == 0 || slices.ContainsFunc(paths, func(q string) bool { return p == q || isUnder(p, q) })
	}
}

func fileType(p string) modulev1.FileType {
	switch {
	case module.IsProto(p):
		return modulev1.FileType_FILE_TYPE_PROTO
	case p == "LICENSE":
		return modulev1.FileType_FILE_TYPE_LICENSE
	default:
		return modulev1.FileType_FILE_TYPE_DOC
	}
}

func isUnder(p, dir string) bool {
	return len(p) > len(dir) && p[len(dir)] == '/' && p[:len(dir)] == dir
}
