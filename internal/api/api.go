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
// [registry.Registry] and return its domain errors as they are; one interceptor, [edge],
// maps every error to an RPC code with [server.connectError], the one place that does.
package api

import (
	"context"
	"errors"
	"fmt"
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
	"github.com/lathe-registry/lathe/internal/limit"
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
	// Expensive caps the concurrent calls, per caller and in all, of the procedures that
	// compile modules or run plugins: uploads, code and SDK generation. Nil caps nothing.
	Expensive *limit.Limiter
}

// expensive are the procedures that Config.Expensive caps.
var expensive = map[string]bool{ //nolint:gochecknoglobals // a read-only table
	modulev1connect.UploadServiceUploadProcedure:                       true,
	registryv1alpha1connect.CodeGenerationServiceGenerateCodeProcedure: true,
	sdkv1connect.SDKServiceGenerateSDKProcedure:                        true,
}

// Handler returns an http.Handler serving every RPC service at its standard path.
func Handler(reg *registry.Registry, cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &server{reg: reg, log: cfg.Logger}
	opts := []connect.HandlerOption{
		connect.WithInterceptors(&edge{server: s, users: reg.Users(), expensive: cfg.Expensive}),
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

// edge is the interceptor in front of every handler. It authenticates bearer tokens: a
// request without a token is anonymous; a request with an unknown token is rejected, so
// that a typo does not silently hide private modules. It counts the calls of expensive
// procedures against [Config.Expensive], per caller. And it turns every error, its own
// and the handler's, into a Connect error with [server.connectError], logging those no
// rule covers with the procedure and caller, so the log says what the client cannot see.
type edge struct {
	*server
	users     auth.Users
	expensive *limit.Limiter
}

func (e *edge) authenticate(ctx context.Context, header http.Header) (context.Context, error) {
	value := header.Get("Authorization")
	if value == "" {
		return ctx, nil
	}
	token, ok := strings.CutPrefix(value, "Bearer ")
	if !ok || token == "" {
		return ctx, errorf(registry.ErrUnauthenticated, `the Authorization header must be "Bearer <token>"`)
	}
	user, err := e.users.UserByTokenHash(ctx, auth.HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return ctx, errorf(registry.ErrUnauthenticated, "%v", auth.ErrInvalidToken)
	}
	if err != nil {
		return ctx, fmt.Errorf("looking up the token: %w", err)
	}
	return auth.WithUser(ctx, user), nil
}

// rpcError maps err and logs it if it is internal.
func (e *edge) rpcError(ctx context.Context, procedure string, err error) error {
	err = e.connectError(err)
	if internal := (*internalError)(nil); errors.As(err, &internal) {
		attrs := []any{"procedure", procedure, "err", internal.cause}
		if u, ok := auth.User(ctx); ok {
			attrs = append(attrs, "caller", u.Name)
		}
		e.log.ErrorContext(ctx, "internal error", attrs...)
	}
	return err
}

func (e *edge) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		ctx, err := e.authenticate(ctx, req.Header())
		if err != nil {
			return nil, e.rpcError(ctx, req.Spec().Procedure, err)
		}
		if expensive[req.Spec().Procedure] {
			var userID string
			if u, ok := auth.User(ctx); ok {
				userID = u.ID
			}
			release, err := e.expensive.Acquire(limit.Caller(userID, req.Peer().Addr))
			if err != nil {
				return nil, e.rpcError(ctx, req.Spec().Procedure, err)
			}
			defer release()
		}
		resp, err := next(ctx, req)
		if err != nil {
			return nil, e.rpcError(ctx, req.Spec().Procedure, err)
		}
		return resp, nil
	}
}

func (e *edge) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (e *edge) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, err := e.authenticate(ctx, conn.RequestHeader())
		if err == nil {
			err = next(ctx, conn)
		}
		return e.rpcError(ctx, conn.Spec().Procedure, err)
	}
}
