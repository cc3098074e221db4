package api

import (
	"context"
	"errors"

	"buf.build/gen/go/bufbuild/registry/connectrpc/go/buf/registry/owner/v1/ownerv1connect"
	ownerv1 "buf.build/gen/go/bufbuild/registry/protocolbuffers/go/buf/registry/owner/v1"
	"connectrpc.com/connect"

	"github.com/lathe-registry/lathe/internal/auth"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/store"
)

type ownerService struct{ *server }

func (s ownerService) GetOwners(ctx context.Context, req *connect.Request[ownerv1.GetOwnersRequest]) (*connect.Response[ownerv1.GetOwnersResponse], error) {
	if err := checkCount(len(req.Msg.GetOwnerRefs()), "owners"); err != nil {
		return nil, err
	}
	resp := &ownerv1.GetOwnersResponse{}
	for _, ref := range req.Msg.GetOwnerRefs() {
		o, err := s.reg.Owner(ctx, ref.GetId(), ref.GetName())
		if err != nil {
			return nil, err
		}
		resp.Owners = append(resp.Owners, toOwner(o))
	}
	return connect.NewResponse(resp), nil
}

// userService serves reads; users are managed with the lathe command.
type userService struct {
	*server
	ownerv1connect.UnimplementedUserServiceHandler
}

func (s userService) GetUsers(ctx context.Context, req *connect.Request[ownerv1.GetUsersRequest]) (*connect.Response[ownerv1.GetUsersResponse], error) {
	if err := checkCount(len(req.Msg.GetUserRefs()), "users"); err != nil {
		return nil, err
	}
	resp := &ownerv1.GetUsersResponse{}
	for _, ref := range req.Msg.GetUserRefs() {
		o, err := s.ownerOfKind(ctx, ref.GetId(), ref.GetName(), store.OwnerUser)
		if err != nil {
			return nil, err
		}
		resp.Users = append(resp.Users, toUser(o))
	}
	return connect.NewResponse(resp), nil
}

func (s userService) GetCurrentUser(ctx context.Context, _ *connect.Request[ownerv1.GetCurrentUserRequest]) (*connect.Response[ownerv1.GetCurrentUserResponse], error) {
	u, ok := auth.User(ctx)
	if !ok {
		return nil, errorf(registry.ErrUnauthenticated, "no token: log in with buf registry login")
	}
	return connect.NewResponse(&ownerv1.GetCurrentUserResponse{User: toUser(u)}), nil
}

func (s *server) ownerOfKind(ctx context.Context, id, name string, kind store.OwnerKind) (store.Owner, error) {
	o, err := s.reg.Owner(ctx, id, name)
	if err == nil && o.Kind != kind {
		err = store.ErrNotFound
	}
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			what := "user"
			if kind == store.OwnerOrganization {
				what = "organization"
			}
			return o, errorf(registry.ErrNotFound, "%s %s%s not found", what, id, name)
		}
		return o, err
	}
	return o, nil
}

// organizationService serves reads; organizations are read-only for now.
type organizationService struct {
	*server
	ownerv1connect.UnimplementedOrganizationServiceHandler
}

func (s organizationService) GetOrganizations(ctx context.Context, req *connect.Request[ownerv1.GetOrganizationsRequest]) (*connect.Response[ownerv1.GetOrganizationsResponse], error) {
	if err := checkCount(len(req.Msg.GetOrganizationRefs()), "organizations"); err != nil {
		return nil, err
	}
	resp := &ownerv1.GetOrganizationsResponse{}
	for _, ref := range req.Msg.GetOrganizationRefs() {
		o, err := s.ownerOfKind(ctx, ref.GetId(), ref.GetName(), store.OwnerOrganization)
		if err != nil {
			return nil, err
		}
		resp.Organizations = append(resp.Organizations, toOrganization(o))
	}
	return connect.NewResponse(resp), nil
}
