package api

import (
	"context"

	modulev1 "buf.build/gen/go/bufbuild/registry/protocolbuffers/go/buf/registry/module/v1"
	"connectrpc.com/connect"
)

type graphService struct{ *server }

func (s graphService) GetGraph(ctx context.Context, req *connect.Request[modulev1.GetGraphRequest]) (*connect.Response[modulev1.GetGraphResponse], error) {
	commits, err := s.resolveCommits(ctx, req.Msg.GetResourceRefs())
	if err != nil {
		return nil, err
	}
	g, err := s.reg.Graph(ctx, commits)
	if err != nil {
		return nil, err
	}
	graph := &modulev1.Graph{}
	for _, c := range g.Commits {
		graph.Commits = append(graph.Commits, toCommit(c))
	}
	for _, e := range g.Edges {
		graph.Edges = append(graph.Edges, &modulev1.Graph_Edge{
			FromNode: &modulev1.Graph_Node{CommitId: e[0]},
			ToNode:   &modulev1.Graph_Node{CommitId: e[1]},
		})
	}
	return connect.NewResponse(&modulev1.GetGraphResponse{Graph: graph}), nil
}
