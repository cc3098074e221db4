package api

import (
	"strconv"

	modulev1 "buf.build/gen/go/bufbuild/registry/protocolbuffers/go/buf/registry/module/v1"
	ownerv1 "buf.build/gen/go/bufbuild/registry/protocolbuffers/go/buf/registry/owner/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/store"
)

func toModule(m store.Module) *modulev1.Module {
	vis := modulev1.ModuleVisibility_MODULE_VISIBILITY_PRIVATE
	if m.Visibility == store.Public {
		vis = modulev1.ModuleVisibility_MODULE_VISIBILITY_PUBLIC
	}
	state := modulev1.ModuleState_MODULE_STATE_ACTIVE
	if m.State == store.Deprecated {
		state = modulev1.ModuleState_MODULE_STATE_DEPRECATED
	}
	return &modulev1.Module{
		Id:               m.ID,
		CreateTime:       timestamppb.New(m.CreateTime),
		UpdateTime:       timestamppb.New(m.UpdateTime),
		Name:             m.Name,
		OwnerId:          m.OwnerID,
		Visibility:       vis,
		State:            state,
		Description:      m.Description,
		Url:              m.URL,
		DefaultLabelName: m.DefaultLabelName,
	}
}

func toCommit(c store.Commit) *modulev1.Commit {
	return &modulev1.Commit{
		Id:               c.ID,
		CreateTime:       timestamppb.New(c.CreateTime),
		OwnerId:          c.OwnerID,
		ModuleId:         c.ModuleID,
		Digest:           &modulev1.Digest{Type: modulev1.DigestType_DIGEST_TYPE_B5, Value: c.Digest},
		CreatedByUserId:  c.CreatedByUserID,
		SourceControlUrl: c.SourceControlURL,
	}
}

func toLabel(l store.Label, m store.Module) *modulev1.Label {
	label := &modulev1.Label{
		Id:              l.ID,
		CreateTime:      timestamppb.New(l.CreateTime),
		UpdateTime:      timestamppb.New(l.UpdateTime),
		Name:            l.Name,
		OwnerId:         m.OwnerID,
		ModuleId:        m.ID,
		CommitId:        l.CommitID,
		UpdatedByUserId: l.UpdatedByUserID,
		// Lathe runs no policy checks, so every commit counts as passed.
		CommitCheckState: &modulev1.CommitCheckState{
			Status:     modulev1.CommitCheckStatus_COMMIT_CHECK_STATUS_DISABLED,
			UpdateTime: timestamppb.New(l.UpdateTime),
		},
	}
	if l.Archived() {
		label.ArchiveTime = timestamppb.New(l.ArchiveTime)
	}
	return label
}

func toUser(o store.Owner) *ownerv1.User {
	return &ownerv1.User{
		Id:          o.ID,
		CreateTime:  timestamppb.New(o.CreateTime),
		UpdateTime:  timestamppb.New(o.UpdateTime),
		Name:        o.Name,
		Type:        ownerv1.UserType_USER_TYPE_STANDARD,
		State:       ownerv1.UserState_USER_STATE_ACTIVE,
		Description: o.Description,
		Url:         o.URL,
	}
}

func toOrganization(o store.Owner) *ownerv1.Organization {
	return &ownerv1.Organization{
		Id:          o.ID,
		CreateTime:  timestamppb.New(o.CreateTime),
		UpdateTime:  timestamppb.New(o.UpdateTime),
		Name:        o.Name,
		Description: o.Description,
		Url:         o.URL,
		Visibility:  ownerv1.OrganizationVisibility_ORGANIZATION_VISIBILITY_PUBLIC,
	}
}

func toOwner(o store.Owner) *ownerv1.Owner {
	if o.Kind == store.OwnerOrganization {
		return &ownerv1.Owner{Value: &ownerv1.Owner_Organization{Organization: toOrganization(o)}}
	}
	return &ownerv1.Owner{Value: &ownerv1.Owner_User{User: toUser(o)}}
}

func fromModuleRef(ref *modulev1.ModuleRef) (registry.ModuleRef, error) {
	switch v := ref.GetValue().(type) {
	case *modulev1.ModuleRef_Id:
		return registry.ModuleRef{ID: v.Id}, nil
	case *modulev1.ModuleRef_Name_:
		return registry.ModuleRef{Owner: v.Name.GetOwner(), Name: v.Name.GetModule()}, nil
	}
	return registry.ModuleRef{}, invalid("a module reference needs an id or a name")
}

func fromResourceRef(ref *modulev1.ResourceRef) (registry.ResourceRef, error) {
	switch v := ref.GetValue().(type) {
	case *modulev1.ResourceRef_Id:
		return registry.ResourceRef{ID: v.Id}, nil
	case *modulev1.ResourceRef_Name_:
		return registry.ResourceRef{
			Owner:     v.Name.GetOwner(),
			Module:    v.Name.GetModule(),
			LabelName: v.Name.GetLabelName(),
			Ref:       v.Name.GetRef(),
		}, nil
	}
	return registry.ResourceRef{}, invalid("a resource reference needs an id or a name")
}

func fromLabelRef(ref *modulev1.LabelRef) (registry.LabelRef, error) {
	switch v := ref.GetValue().(type) {
	case *modulev1.LabelRef_Id:
		return registry.LabelRef{ID: v.Id}, nil
	case *modulev1.LabelRef_Name_:
		return registry.LabelRef{Owner: v.Name.GetOwner(), Module: v.Name.GetModule(), Name: v.Name.GetLabel()}, nil
	}
	return registry.LabelRef{}, invalid("a label reference needs an id or a name")
}

// Page tokens are the offset of the next page, in decimal.
const (
	defaultPageSize = 10
	maxPageSize     = 250
	maxRefs         = 250
)

func page(size uint32, token string) (store.Page, error) {
	p := store.Page{Limit: defaultPageSize}
	if size > 0 {
		p.Limit = min(int(size), maxPageSize)
	}
	if token != "" {
		off, err := strconv.Atoi(token)
		if err != nil || off < 0 {
			return p, invalid("invalid page token %q", token)
		}
		p.Offset = off
	}
	return p, nil
}

// nextToken returns the token of the page after p, or "" if scanned shows p was the last.
func nextToken(p store.Page, scanned int) string {
	if scanned < p.Limit {
		return ""
	}
	return strconv.Itoa(p.Offset + scanned)
}
