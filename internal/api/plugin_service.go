package api

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/lathe-registry/lathe/internal/codegen"
	pluginv1 "github.com/lathe-registry/lathe/internal/gen/lathe/plugin/v1"
	"github.com/lathe-registry/lathe/internal/plugin/pluginconfig"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/store"
)

// pluginService is Lathe's own API for publishing and reading plugins.
type pluginService struct{ *server }

func (s pluginService) PushPlugin(ctx context.Context, req *connect.Request[pluginv1.PushPluginRequest]) (*connect.Response[pluginv1.PushPluginResponse], error) {
	cfg, err := pluginconfig.Parse(req.Msg.GetConfig())
	if err != nil {
		return nil, invalid("buf.plugin.yaml: %v", err)
	}
	switch req.Msg.GetRuntime() {
	case codegen.RuntimeNative, codegen.RuntimeWASM:
	default:
		return nil, invalid("runtime must be %q or %q, not %q", codegen.RuntimeNative, codegen.RuntimeWASM, req.Msg.GetRuntime())
	}
	pv, err := s.reg.PublishPlugin(ctx, registry.PluginParams{
		Owner: cfg.Owner, Name: cfg.Name, Version: cfg.PluginVersion, Description: cfg.Description,
		Config: req.Msg.GetConfig(), Runtime: req.Msg.GetRuntime(),
		Program: req.Msg.GetProgram(), ProgramName: req.Msg.GetProgramName(),
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pluginv1.PushPluginResponse{PluginVersion: toPluginVersion(cfg.Owner, cfg.Name, pv)}), nil
}

func (s pluginService) GetPluginVersion(ctx context.Context, req *connect.Request[pluginv1.GetPluginVersionRequest]) (*connect.Response[pluginv1.GetPluginVersionResponse], error) {
	m := req.Msg
	pv, err := s.reg.PluginVersion(ctx, m.GetOwner(), m.GetName(), m.GetVersion(), int(m.GetRevision()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pluginv1.GetPluginVersionResponse{PluginVersion: toPluginVersion(m.GetOwner(), m.GetName(), pv)}), nil
}

func toPluginVersion(owner, name string, pv store.PluginVersion) *pluginv1.PluginVersion {
	return &pluginv1.PluginVersion{
		Owner: owner, Name: name, Version: pv.Version, Revision: uint32(pv.Revision), Runtime: pv.Runtime,
		Deprecated: pv.Deprecated, CreateTime: timestamppb.New(pv.CreateTime), Config: pv.Config,
	}
}
