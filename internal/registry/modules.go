package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/lathe-registry/lathe/internal/store"
)

// ModuleRef names a module by id or by owner and name.
type ModuleRef struct {
	ID    string
	Owner string
	Name  string
}

func (r ModuleRef) String() string {
	if r.ID != "" {
		return r.ID
	}
	return r.Owner + "/" + r.Name
}

// Owner returns an owner by id or name. Owners are public.
func (r *Registry) Owner(ctx context.Context, id, name string) (store.Owner, error) {
	var (
		o   store.Owner
		err error
	)
	if id != "" {
		o, err = r.store.OwnerByID(ctx, id)
	} else {
		o, err = r.store.OwnerByName(ctx, name)
	}
	if errors.Is(err, store.ErrNotFound) {
		return o, notFoundf("owner %q", id+name)
	}
	return o, err
}

// Module returns a module the caller can see. A module looked up by id that does not
// exist, or that the caller may not see, fails with a message that names nothing.
func (r *Registry) Module(ctx context.Context, ref ModuleRef) (store.Module, store.Owner, error) {
	var (
		m     store.Module
		owner store.Owner
		err   error
	)
	if ref.ID != "" {
		m, err = r.store.ModuleByID(ctx, ref.ID)
		if err == nil {
			owner, err = r.store.OwnerByID(ctx, m.OwnerID)
		}
	} else {
		owner, err = r.store.OwnerByName(ctx, ref.Owner)
		if err == nil {
			m, err = r.store.ModuleByName(ctx, owner.ID, ref.Name)
		}
	}
	if errors.Is(err, store.ErrNotFound) || (err == nil && authorize(ctx, read, m, owner.Name) != nil) {
		if ref.ID != "" {
			// Ids often come from other records (a commit's module, a job's), not from
			// the caller: the answer names none.
			return store.Module{}, store.Owner{}, errModuleNotFound()
		}
		return store.Module{}, store.Owner{}, notFoundf("module %q", ref)
	}
	return m, owner, err
}

// CreateModuleParams are the settable fields of a new module.
type CreateModuleParams struct {
	Owner            string
	Name             string
	Visibility       store.Visibility
	Description      string
	URL              string
	DefaultLabelName string
}

// CreateModule creates a module owned by the caller.
func (r *Registry) CreateModule(ctx context.Context, p CreateModuleParams) (store.Module, error) {
	if _, err := caller(ctx); err != nil {
		return store.Module{}, err
	}
	if err := CheckModuleName(p.Name); err != nil {
		return store.Module{}, err
	}
	owner, err := r.Owner(ctx, "", p.Owner)
	if err != nil {
		return store.Module{}, err
	}
	if err := authorizeOwner(ctx, owner.Name, func(u string) string {
		return fmt.Sprintf("user %q may not create modules under %q", u, owner.Name)
	}); err != nil {
		return store.Module{}, err
	}
	if p.DefaultLabelName == "" {
		p.DefaultLabelName = "main"
	}
	if err := CheckLabelName(p.DefaultLabelName); err != nil {
		return store.Module{}, err
	}
	if p.Visibility == 0 {
		p.Visibility = store.Private
	}
	if err := checkModuleText(p.Description, p.URL); err != nil {
		return store.Module{}, err
	}
	var m store.Module
	err = r.store.Update(ctx, func(tx store.Tx) error {
		m, err = tx.CreateModule(ctx, store.Module{
			ID:               NewID(),
			OwnerID:          owner.ID,
			Name:             p.Name,
			Visibility:       p.Visibility,
			State:            store.Active,
			Description:      p.Description,
			URL:              p.URL,
			DefaultLabelName: p.DefaultLabelName,
		})
		return err
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return m, errorf(ErrAlreadyExists, "module %s/%s already exists", p.Owner, p.Name)
	}
	return m, err
}

func checkModuleText(description, url string) error {
	if len(description) > 350 {
		return invalidf("description is longer than 350 characters")
	}
	if len(url) > 255 {
		return invalidf("url is longer than 255 characters")
	}
	return nil
}

// ModuleUpdate holds the fields to change; nil fields stay as they are.
type ModuleUpdate struct {
	Visibility       *store.Visibility
	State            *store.ModuleState
	Description      *string
	URL              *string
	DefaultLabelName *string
}

// UpdateModule changes a module's settings. A visibility change that would leave some
// reader of a module unable to read its dependencies is refused (see the package doc).
func (r *Registry) UpdateModule(ctx context.Context, ref ModuleRef, up ModuleUpdate) (store.Module, error) {
	m, owner, err := r.Module(ctx, ref)
	if err != nil {
		return m, err
	}
	if err := authorize(ctx, write, m, owner.Name); err != nil {
		return m, err
	}
	visibilityChanges := up.Visibility != nil && *up.Visibility != m.Visibility
	if up.Visibility != nil {
		m.Visibility = *up.Visibility
	}
	if up.State != nil {
		m.State = *up.State
	}
	if up.Description != nil {
		m.Description = *up.Description
	}
	if up.URL != nil {
		m.URL = *up.URL
	}
	if up.DefaultLabelName != nil {
		if err := CheckLabelName(*up.DefaultLabelName); err != nil {
			return m, err
		}
		m.DefaultLabelName = *up.DefaultLabelName
	}
	if err := checkModuleText(m.Description, m.URL); err != nil {
		return m, err
	}
	err = r.store.Update(ctx, func(tx store.Tx) error {
		if visibilityChanges {
			if err := checkVisibilityChange(ctx, tx, m, owner.Name+"/"+m.Name); err != nil {
				return err
			}
		}
		m, err = tx.UpdateModule(ctx, m)
		return err
	})
	r.modules.forget(m.ID)
	return m, err
}

// DeleteModule deletes a module with all its commits and labels.
func (r *Registry) DeleteModule(ctx context.Context, ref ModuleRef) error {
	m, owner, err := r.Module(ctx, ref)
	if err != nil {
		return err
	}
	if err := authorize(ctx, write, m, owner.Name); err != nil {
		return err
	}
	err = r.store.Update(ctx, func(tx store.Tx) error { return tx.DeleteModule(ctx, m.ID) })
	r.modules.forget(m.ID)
	return err
}

// ListModules lists the modules the caller can see, of one owner or of all. Filtering
// happens after the page is read, so a page may come back short: scanned is how many
// modules the page covered, for computing the next page.
func (r *Registry) ListModules(ctx context.Context, ownerName string, desc bool, page store.Page) (visible []store.Module, scanned int, err error) {
	ownerID := ""
	if ownerName != "" {
		o, err := r.Owner(ctx, "", ownerName)
		if err != nil {
			return nil, 0, err
		}
		ownerID = o.ID
	}
	ms, err := r.store.ListModules(ctx, ownerID, desc, page)
	if err != nil {
		return nil, 0, err
	}
	for _, m := range ms {
		if authorize(ctx, read, m, "") == nil {
			visible = append(visible, m)
		}
	}
	return visible, len(ms), nil
}
