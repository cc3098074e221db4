package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/lathe-registry/lathe/internal/store"
)

// TemplatePlugin is one plugin of a template: a pinned plugin version and its options.
type TemplatePlugin struct {
	Owner    string   `json:"owner"`
	Name     string   `json:"name"`
	Version  string   `json:"version"`
	Revision int      `json:"revision"`
	Options  []string `json:"options,omitempty"`
}

// TemplateSpec is the content of a template version.
type TemplateSpec struct {
	Description string           `json:"description,omitempty"`
	Plugins     []TemplatePlugin `json:"plugins"`
}

// PushTemplate creates the next version of a template (v1 for a new template) with the
// given plugins. Every plugin must name an existing version; a revision of 0 is pinned to
// the latest revision now, so that the template version means the same forever. The
// owner is created as an organization if it does not exist. Operators publish
// templates; this method does no access check and is not exposed to API callers.
func (r *Registry) PushTemplate(ctx context.Context, owner, name string, spec TemplateSpec) (store.TemplateVersion, error) {
	if err := CheckOwnerName(owner); err != nil {
		return store.TemplateVersion{}, err
	}
	if err := CheckModuleName(name); err != nil {
		return store.TemplateVersion{}, invalidf("template name %q: lowercase letters, digits, '-', '_' and '.'", name)
	}
	if len(spec.Plugins) == 0 {
		return store.TemplateVersion{}, invalidf("a template needs at least one plugin")
	}
	for i := range spec.Plugins {
		p := &spec.Plugins[i]
		if p.Version == "" {
			return store.TemplateVersion{}, invalidf("template plugin %s/%s: pin a version", p.Owner, p.Name)
		}
		pv, err := r.PluginVersion(ctx, p.Owner, p.Name, p.Version, p.Revision)
		if err != nil {
			return store.TemplateVersion{}, err
		}
		p.Revision = pv.Revision
	}
	data, err := json.Marshal(spec)
	if err != nil {
		return store.TemplateVersion{}, err
	}
	var tv store.TemplateVersion
	err = r.store.Update(ctx, func(tx store.Tx) error {
		o, err := tx.OwnerByName(ctx, owner)
		if errors.Is(err, store.ErrNotFound) {
			o, err = tx.CreateOwner(ctx, store.Owner{ID: NewID(), Name: owner, Kind: store.OwnerOrganization})
		}
		if err != nil {
			return err
		}
		t, err := tx.TemplateByName(ctx, o.ID, name)
		if errors.Is(err, store.ErrNotFound) {
			t, err = tx.CreateTemplate(ctx, store.Template{ID: NewID(), OwnerID: o.ID, Name: name, Description: spec.Description})
		}
		if err != nil {
			return err
		}
		tv, err = tx.CreateTemplateVersion(ctx, store.TemplateVersion{TemplateID: t.ID, Spec: data})
		return err
	})
	return tv, err
}

// TemplateVersion returns a template version (0 means the latest) and its content.
func (r *Registry) TemplateVersion(ctx context.Context, owner, name string, version int) (store.TemplateVersion, TemplateSpec, error) {
	var spec TemplateSpec
	o, err := r.store.OwnerByName(ctx, owner)
	if err != nil {
		return store.TemplateVersion{}, spec, templateNotFound(err, owner, name, version)
	}
	t, err := r.store.TemplateByName(ctx, o.ID, name)
	if err != nil {
		return store.TemplateVersion{}, spec, templateNotFound(err, owner, name, version)
	}
	tv, err := r.store.TemplateVersion(ctx, t.ID, version)
	if err != nil {
		return store.TemplateVersion{}, spec, templateNotFound(err, owner, name, version)
	}
	if err := json.Unmarshal(tv.Spec, &spec); err != nil {
		return tv, spec, fmt.Errorf("template %s/%s v%d: %w", owner, name, tv.Version, err)
	}
	return tv, spec, nil
}

func templateNotFound(err error, owner, name string, version int) error {
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if version != 0 {
		return errorf(ErrNotFound, "template %s/%s version v%d not found", owner, name, version)
	}
	return errorf(ErrNotFound, "template %s/%s not found", owner, name)
}
