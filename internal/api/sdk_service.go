package api

import (
	"context"
	"errors"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/lathe-registry/lathe/internal/auth"
	sdkv1 "github.com/lathe-registry/lathe/internal/gen/lathe/sdk/v1"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/sdk"
	"github.com/lathe-registry/lathe/internal/store"
)

// sdkService is Lathe's own API for generating SDKs ahead of requests.
type sdkService struct {
	*server
	jobs *sdk.Jobs
}

func (s sdkService) GenerateSDK(ctx context.Context, req *connect.Request[sdkv1.GenerateSDKRequest]) (*connect.Response[sdkv1.GenerateSDKResponse], error) {
	// Queuing generation is for users: anonymous callers get what is published, and
	// what they ask for is generated at the rate the SDK endpoints allow.
	if _, ok := auth.User(ctx); !ok {
		return nil, errorf(registry.ErrUnauthenticated, "queuing an SDK generation needs a token: create one with lathe token create")
	}
	m := req.Msg
	if m.GetOwner() == "" || m.GetModule() == "" || m.GetPluginOwner() == "" || m.GetPlugin() == "" {
		return nil, invalid("owner, module, plugin_owner and plugin are required")
	}
	target := sdk.SDK{Owner: m.GetOwner(), Module: m.GetModule(), Gen: sdk.Generator{Owner: m.GetPluginOwner(), Name: m.GetPlugin()}}
	job, name, version, err := s.jobs.Request(ctx, m.GetEcosystem(), target, sdk.ParseCommitRef(m.GetRef()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&sdkv1.GenerateSDKResponse{Job: toJob(job, m.GetOwner(), m.GetModule()), Package: name, Version: version}), nil
}

func (s sdkService) ListJobs(ctx context.Context, req *connect.Request[sdkv1.ListJobsRequest]) (*connect.Response[sdkv1.ListJobsResponse], error) {
	state := store.JobState(0)
	if req.Msg.GetFailedOnly() {
		state = store.JobFailed
	}
	jobs, err := s.reg.Jobs(ctx, state, store.Page{})
	if err != nil {
		return nil, err
	}
	resp := &sdkv1.ListJobsResponse{}
	for _, j := range jobs {
		m, owner, err := s.reg.Module(ctx, registry.ModuleRef{ID: j.ModuleID})
		if errors.Is(err, registry.ErrNotFound) {
			continue // not the caller's to see
		}
		if err != nil {
			return nil, err
		}
		resp.Jobs = append(resp.Jobs, toJob(j, owner.Name, m.Name))
	}
	return connect.NewResponse(resp), nil
}

func toJob(j store.Job, owner, module string) *sdkv1.Job {
	state := sdkv1.Job_STATE_PENDING
	if j.State == store.JobFailed {
		state = sdkv1.Job_STATE_FAILED
	}
	return &sdkv1.Job{
		Id: uint64(j.ID), Ecosystem: j.Ecosystem, Owner: owner, Module: module, CommitId: j.CommitID,
		Generator: j.Generator, PluginVersion: j.PluginVersion, PluginRevision: uint32(j.PluginRevision),
		TemplateVersion: uint32(j.TemplateVersion), State: state, Error: j.Error,
		CreateTime: timestamppb.New(j.CreateTime), UpdateTime: timestamppb.New(j.UpdateTime),
	}
}
