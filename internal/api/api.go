// Package api serves Lathe's registry over Connect, gRPC and gRPC-Web, speaking the Buf
// Schema Registry API that the buf CLI uses:
//
//   - buf.registry.module.v1: ModuleService, UploadService, CommitService, GraphService,
//     DownloadService, LabelService, ResourceService
//   - buf.registry.owner.v1: OwnerService, UserService, OrganizationService (reads)
//   - buf.alpha.registry.v1alpha1.AuthnService (buf registry login) and
//     CodeGenerationService (buf generate with remote plugins)
//   - lathe.plugin.v1.PluginService: publishing and reading plugin versions
//   - grpc.health.v1.Health and server reflection (grpc.reflection.v1 and v1alpha)
//
// Each service is one file. Handlers translate between protobuf messages and the
// [registry.Registry]; [connectError] is the one place domain errors become RPC codes.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/lathe-registry/lathe/internal/gen/lathe/plugin/v1/pluginv1connect"

	"buf.build/gen/go/bufbuild/registry/connectrpc/go/buf/registry/module/v1/modulev1connect"
	"buf.build/gen/go/bufbuild/registry/connectrpc/go/buf/registry/owner/v1/ownerv1connect"
	"connectrpc.com/connect"
	"connectrpc.com/grpcreflect"

	"github.com/lathe-registry/lathe/internal/auth"
	"github.com/lathe-registry/lathe/internal/codegen"
	"github.com/lathe-registry/lathe/internal/gen/buf/alpha/registry/v1alpha1/registryv1alpha1connect"
	"github.com/lathe-registry/lathe/internal/gen/lathe/sdk/v1/sdkv1connect"
	"github.com/lathe-registry/lathe/internal/module"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/sdk"
	"github.com/lathe-registry/lathe/internal/store"
)

// Config configures the API.
type Config struct {
	// MaxMessageBytes bounds one request message after decompression.
	MaxMessageBytes int64
	Logger          *slog.Logger
	// Engine runs hosted plugins; without one, CodeGenerationService is not served.
	Engine *codegen.Engine
	// Jobs queues SDK generation; without it, SDKService is not served.
	Jobs *sdk.Jobs
}

// Handler returns an http.Handler serving every RPC service at its standard path.
func Handler(reg *registry.Registry, cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &server{reg: reg, log: cfg.Logger}
	opts := []connect.HandlerOption{
		connect.WithInterceptors(&authInterceptor{store: reg.Store()}),
		connect.WithReadMaxBytes(int(cfg.MaxMessageBytes)),
		connect.WithCompressMinBytes(1024),
	}
	mux := http.NewServeMux()
	services := []string{}
	mount := func(path string, h http.Handler) {
		mux.Handle(path, h)
		services = append(services, strings.Trim(path, "/"))
	}
	mount(modulev1connect.NewModuleServiceHandler(moduleService{s}, opts...))
	mount(modulev1connect.NewUploadServiceHandler(uploadService{s}, opts...))
	mount(modulev1connect.NewCommitServiceHandler(commitService{s}, opts...))
	mount(modulev1connect.NewGraphServiceHandler(graphService{s}, opts...))
	mount(modulev1connect.NewDownloadServiceHandler(downloadService{s}, opts...))
	mount(modulev1connect.NewLabelServiceHandler(labelService{s}, opts...))
	mount(modulev1connect.NewResourceServiceHandler(resourceService{s}, opts...))
	mount(ownerv1connect.NewOwnerServiceHandler(ownerService{s}, opts...))
	mount(ownerv1connect.NewUserServiceHandler(userService{server: s}, opts...))
	mount(ownerv1connect.NewOrganizationServiceHandler(organizationService{server: s}, opts...))
	mount(registryv1alpha1connect.NewAuthnServiceHandler(authnService{s}, opts...))
	if cfg.Engine != nil {
		codec := &imageCodec{}
		mount(registryv1alpha1connect.NewCodeGenerationServiceHandler(codeGenService{server: s, engine: cfg.Engine, codec: codec},
			append(opts, connect.WithCodec(codec))...))
	}
	mount(pluginv1connect.NewPluginServiceHandler(pluginService{s}, opts...))
	if cfg.Jobs != nil {
		mount(sdkv1connect.NewSDKServiceHandler(sdkService{server: s, jobs: cfg.Jobs}, opts...))
	}
	mount(newHealthHandler(services, opts...))
	reflector := grpcreflect.NewStaticReflector(services...)
	mux.Handle(grpcreflect.NewHandlerV1(reflector, opts...))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector, opts...))
	return mux
}

type server struct {
	reg *registry.Registry
	log *slog.Logger
}

// connectError maps a domain error to a Connect error; the message reaches the client.
func (s *server) connectError(err error) error {
	var inputErr *module.InputError
	var connectErr *connect.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &connectErr):
		return err
	case errors.As(err, &inputErr), errors.Is(err, registry.ErrInvalid):
		return connect.NewError(connect.CodeInvalidArgument, err)
	case errors.Is(err, registry.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, registry.ErrAlreadyExists):
		return connect.NewError(connect.CodeAlreadyExists, err)
	case errors.Is(err, registry.ErrUnauthenticated):
		return connect.NewError(connect.CodeUnauthenticated, err)
	case errors.Is(err, registry.ErrPermissionDenied):
		return connect.NewError(connect.CodePermissionDenied, err)
	case errors.Is(err, registry.ErrFailedPrecondition), errors.Is(err, codegen.ErrPlugin):
		return connect.NewError(connect.CodeFailedPrecondition, err)
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, err)
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, err)
	}
	s.log.Error("internal error", "err", err)
	return connect.NewError(connect.CodeInternal, errors.New("internal error; the server log has details"))
}

// authInterceptor authenticates bearer tokens. A request without a token is anonymous; a
// request with an unknown token is rejected, so that a typo does not silently hide private
// modules.
type authInterceptor struct {
	store store.Reader
}

func (a *authInterceptor) authenticate(ctx context.Context, header http.Header) (context.Context, error) {
	value := header.Get("Authorization")
	if value == "" {
		return ctx, nil
	}
	token, ok := strings.CutPrefix(value, "Bearer ")
	if !ok || token == "" {
		return ctx, connect.NewError(connect.CodeUnauthenticated, errors.New(`the Authorization header must be "Bearer <token>"`))
	}
	user, err := a.store.UserByTokenHash(ctx, auth.HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return ctx, connect.NewError(connect.CodeUnauthenticated, errors.New("invalid token: create one with lathe token create"))
	}
	if err != nil {
		return ctx, connect.NewError(connect.CodeUnavailable, err)
	}
	return auth.WithUser(ctx, user), nil
}

func (a *authInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		ctx, err := a.authenticate(ctx, req.Header())
		if err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

func (a *authInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (a *authInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, err := a.authenticate(ctx, conn.RequestHeader())
		if err != nil {
			return err
		}
		return next(ctx, conn)
	}
}
