package api

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/lathe-registry/lathe/internal/auth"
	registryv1alpha1 "github.com/lathe-registry/lathe/internal/gen/buf/alpha/registry/v1alpha1"
	"github.com/lathe-registry/lathe/internal/registry"
)

// authnService is the legacy API buf registry login uses to check a token.
type authnService struct{ *server }

func (s authnService) GetCurrentUser(ctx context.Context, _ *connect.Request[registryv1alpha1.GetCurrentUserRequest]) (*connect.Response[registryv1alpha1.GetCurrentUserResponse], error) {
	u, ok := auth.User(ctx)
	if !ok {
		return nil, errorf(registry.ErrUnauthenticated, "no token")
	}
	return connect.NewResponse(&registryv1alpha1.GetCurrentUserResponse{User: &registryv1alpha1.User{
		Id:         u.ID,
		CreateTime: timestamppb.New(u.CreateTime),
		UpdateTime: timestamppb.New(u.UpdateTime),
		Username:   u.Name,
	}}), nil
}
