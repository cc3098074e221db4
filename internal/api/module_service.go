package api

import (
	"context"

	modulev1 "buf.build/gen/go/bufbuild/registry/protocolbuffers/go/buf/registry/module/v1"
	"connectrpc.com/connect"

	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/store"
)

type moduleService struct{ *server }

func (s moduleService) GetModules(ctx context.Context, req *connect.Request[modulev1.GetModulesRequest]) (*connect.Response[modulev1.GetModulesResponse], error) {
	if err := checkCount(len(req.Msg.GetModuleRefs()), "modules"); err != nil {
		return nil, err
	}
	resp := &modulev1.GetModulesResponse{}
	for _, ref := range req.Msg.GetModuleRefs() {
		mref, err := fromModuleRef(ref)
		if err != nil {
			return nil, err
		}
		m, _, err := s.reg.Module(ctx, mref)
		if err != nil {
			return nil, err
		}
		resp.Modules = append(resp.Modules, toModule(m))
	}
	return connect.NewResponse(resp), nil
}

func (s moduleService) ListModules(ctx context.Context, req *connect.Request[modulev1.ListModulesRequest]) (*connect.Response[modulev1.ListModulesResponse], error) {
	p, err := page(req.Msg.GetPageSize(), req.Msg.GetPageToken())
	if err != nil {
		return nil, err
	}
	owner := ""
	switch refs := req.Msg.GetOwnerRefs(); len(refs) {
	case 0:
	case 1:
		o, err := s.reg.Owner(ctx, refs[0].GetId(), refs[0].GetName())
		if err != nil {
			return nil, err
		}
		owner = o.Name
	default:
		return nil, invalid("list the modules of one owner at a time")
	}
	desc := req.Msg.GetOrder() != modulev1.ListModulesRequest_ORDER_CREATE_TIME_ASC
	ms, scanned, err := s.reg.ListModules(ctx, owner, desc, p)
	if err != nil {
		return nil, err
	}
	resp := &modulev1.ListModulesResponse{NextPageToken: nextToken(p, scanned)}
	for _, m := range ms {
		resp.Modules = append(resp.Modules, toModule(m))
	}
	return connect.NewResponse(resp), nil
}

func fromVisibility(v modulev1.ModuleVisibility) (store.Visibility, error) {
	switch v {
	case modulev1.ModuleVisibility_MODULE_VISIBILITY_PUBLIC:
		return store.Public, nil
	case modulev1.ModuleVisibility_MODULE_VISIBILITY_PRIVATE:
		return store.Private, nil
	}
	return 0, invalid("visibility must be public or private")
}

func (s moduleService) CreateModules(ctx context.Context, req *connect.Request[modulev1.CreateModulesRequest]) (*connect.Response[modulev1.CreateModulesResponse], error) {
	if err := checkCount(len(req.Msg.GetValues()), "modules"); err != nil {
		return nil, err
	}
	resp := &modulev1.CreateModulesResponse{}
	for _, v := range req.Msg.GetValues() {
		vis := store.Private
		if v.GetVisibility() != modulev1.ModuleVisibility_MODULE_VISIBILITY_UNSPECIFIED {
			var err error
			if vis, err = fromVisibility(v.GetVisibility()); err != nil {
				return nil, err
			}
		}
		owner := v.GetOwnerRef().GetName()
		if id := v.GetOwnerRef().GetId(); id != "" {
			o, err := s.reg.Owner(ctx, id, "")
			if err != nil {
				return nil, err
			}
			owner = o.Name
		}
		m, err := s.reg.CreateModule(ctx, registry.CreateModuleParams{
			Owner:            owner,
			Name:             v.GetName(),
			Visibility:       vis,
			Description:      v.GetDescription(),
			URL:              v.GetUrl(),
			DefaultLabelName: v.GetDefaultLabelName(),
		})
		if err != nil {
			return nil, err
		}
		resp.Modules = append(resp.Modules, toModule(m))
	}
	return connect.NewResponse(resp), nil
}

func (s moduleService) UpdateModules(ctx context.Context, req *connect.Request[modulev1.UpdateModulesRequest]) (*connect.Response[modulev1.UpdateModulesResponse], error) {
	if err := checkCount(len(req.Msg.GetValues()), "modules"); err != nil {
		return nil, err
	}
	resp := &modulev1.UpdateModulesResponse{}
	for _, v := range req.Msg.GetValues() {
		ref, err := fromModuleRef(v.GetModuleRef())
		if err != nil {
			return nil, err
		}
		var up registry.ModuleUpdate
		if v.Visibility != nil {
			vis, err := fromVisibility(v.GetVisibility())
			if err != nil {
				return nil, err
			}
			up.Visibility = &vis
		}
		if v.State != nil {
			state := store.Active
			switch v.GetState() {
			case modulev1.ModuleState_MODULE_STATE_ACTIVE:
			case modulev1.ModuleState_MODULE_STATE_DEPRECATED:
				state = store.Deprecated
			default:
				return nil, invalid("state must be active or deprecated")
			}
			up.State = &state
		}
		up.Description, up.URL, up.DefaultLabelName = v.Description, v.Url, v.DefaultLabelName
		m, err := s.reg.UpdateModule(ctx, ref, up)
		if err != nil {
			return nil, err
		}
		resp.Modules = append(resp.Modules, toModule(m))
	}
	return connect.NewResponse(resp), nil
}

func (s moduleService) DeleteModules(ctx context.Context, req *connect.Request[modulev1.DeleteModulesRequest]) (*connect.Response[modulev1.DeleteModulesResponse], error) {
	if err := checkCount(len(req.Msg.GetModuleRefs()), "modules"); err != nil {
		return nil, err
	}
	for _, ref := range req.Msg.GetModuleRefs() {
		mref, err := fromModuleRef(ref)
		if err != nil {
			return nil, err
		}
		if err := s.reg.DeleteModule(ctx, mref); err != nil {
			return nil, err
		}
	}
	return connect.NewResponse(&modulev1.DeleteModulesResponse{}), nil
}
