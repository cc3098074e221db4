package api

import (
	"context"
	"net/http"

	"connectrpc.com/connect"

	healthv1 "github.com/lathe-registry/lathe/internal/gen/grpc/health/v1"
	"github.com/lathe-registry/lathe/internal/gen/grpc/health/v1/healthv1connect"
)

// healthService reports SERVING for the server ("") and for every service it mounts.
type healthService struct {
	services map[string]bool
}

func newHealthHandler(services []string, opts ...connect.HandlerOption) (string, http.Handler) {
	known := map[string]bool{"": true}
	for _, s := range services {
		known[s] = true
	}
	return healthv1connect.NewHealthHandler(healthService{services: known}, opts...)
}

func (h healthService) status(service string) *healthv1.HealthCheckResponse {
	if !h.services[service] {
		return &healthv1.HealthCheckResponse{Status: healthv1.HealthCheckResponse_SERVICE_UNKNOWN}
	}
	return &healthv1.HealthCheckResponse{Status: healthv1.HealthCheckResponse_SERVING}
}

func (h healthService) Check(_ context.Context, req *connect.Request[healthv1.HealthCheckRequest]) (*connect.Response[healthv1.HealthCheckResponse], error) {
	return connect.NewResponse(h.status(req.Msg.GetService())), nil
}

// Watch sends the status once and then holds the stream open until the client leaves,
// as the protocol asks; statuses never change while Lathe runs.
func (h healthService) Watch(ctx context.Context, req *connect.Request[healthv1.HealthCheckRequest], stream *connect.ServerStream[healthv1.HealthCheckResponse]) error {
	if err := stream.Send(h.status(req.Msg.GetService())); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}
