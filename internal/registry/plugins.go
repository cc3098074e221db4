package registry

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"golang.org/x/mod/semver"

	"github.com/lathe-registry/lathe/internal/blob"
	"github.com/lathe-registry/lathe/internal/store"
)

// PluginParams describe one plugin version being published.
type PluginParams struct {
	Owner, Name string
	// Version is the plugin's semantic version with a leading v.
	Version     string
	Description string
	// Config is the buf.plugin.yaml, already validated by the caller.
	Config  []byte
	Runtime string
	Program []byte
	// ProgramName is the program's file name, e.g. "protoc-gen-go".
	ProgramName string
}

// PushPlugin publishes a plugin version: the first publication of a version is revision
// 1, and publishing it again with a different program, runtime or configuration makes
// the next revision; publishing the same again changes nothing. The owner is created as
// an organization if it does not exist. Operators publish plugins; this method does no
// access check and is not exposed to API callers.
func (r *Registry) PushPlugin(ctx context.Context, p PluginParams) (store.PluginVersion, error) {
	if err := CheckOwnerName(p.Owner); err != nil {
		return store.PluginVersion{}, err
	}
	if err := CheckModuleName(p.Name); err != nil {
		return store.PluginVersion{}, invalidf("plugin name %q: lowercase letters, digits, '-', '_' and '.'", p.Name)
	}
	if !semver.IsValid(p.Version) {
		return store.PluginVersion{}, invalidf("plugin version %q is not a semantic version like v1.2.3", p.Version)
	}
	if p.ProgramName == "" || strings.ContainsAny(p.ProgramName, "/\\\x00") || p.ProgramName == "." || p.ProgramName == ".." {
		return store.PluginVersion{}, invalidf("plugin program name %q must be a plain file name", p.ProgramName)
	}
	if len(p.Program) == 0 {
		return store.PluginVersion{}, invalidf("the plugin program is empty")
	}
	programKey, err := blob.PutBytes(ctx, r.blobs, p.Program)
	if err != nil {
		return store.PluginVersion{}, err
	}
	h := sha256.New()
	for _, part := range [][]byte{[]byte("lathe plugin v1"), []byte(p.Runtime), p.Config, []byte(programKey), []byte(p.ProgramName)} {
		h.Write(part)
		h.Write([]byte{0})
	}
	var pv store.PluginVersion
	err = r.store.Update(ctx, func(tx store.Tx) error {
		owner, err := tx.OwnerByName(ctx, p.Owner)
		if errors.Is(err, store.ErrNotFound) {
			owner, err = tx.CreateOwner(ctx, store.Owner{ID: NewID(), Name: p.Owner, Kind: store.OwnerOrganization})
		}
		if err != nil {
			return err
		}
		pl, err := tx.PluginByName(ctx, owner.ID, p.Name)
		if errors.Is(err, store.ErrNotFound) {
			pl, err = tx.CreatePlugin(ctx, store.Plugin{ID: NewID(), OwnerID: owner.ID, Name: p.Name, Description: p.Description})
		}
		if err != nil {
			return err
		}
		pv, err = tx.CreatePluginVersion(ctx, store.PluginVersion{
			ID:          NewID(),
			PluginID:    pl.ID,
			Version:     p.Version,
			Config:      p.Config,
			Runtime:     p.Runtime,
			Program:     programKey,
			ProgramName: p.ProgramName,
			Digest:      h.Sum(nil),
		})
		return err
	})
	return pv, err
}

// PluginVersion resolves a plugin reference: an empty version means the latest version,
// revision 0 the latest revision. Plugins are public.
func (r *Registry) PluginVersion(ctx context.Context, owner, name, version string, revision int) (store.PluginVersion, error) {
	o, err := r.store.OwnerByName(ctx, owner)
	if err != nil {
		return store.PluginVersion{}, pluginNotFound(err, owner, name, version, revision)
	}
	pl, err := r.store.PluginByName(ctx, o.ID, name)
	if err != nil {
		return store.PluginVersion{}, pluginNotFound(err, owner, name, version, revision)
	}
	pv, err := r.store.PluginVersion(ctx, pl.ID, version, revision)
	if err != nil {
		return store.PluginVersion{}, pluginNotFound(err, owner, name, version, revision)
	}
	return pv, nil
}

// Plugins lists the plugins of an owner, or of all owners if ownerName is empty, by
// name. Plugins are public.
func (r *Registry) Plugins(ctx context.Context, ownerName string, page store.Page) ([]store.Plugin, error) {
	ownerID := ""
	if ownerName != "" {
		o, err := r.Owner(ctx, "", ownerName)
		if err != nil {
			return nil, err
		}
		ownerID = o.ID
	}
	return r.store.ListPlugins(ctx, ownerID, page)
}

// PluginVersions lists every revision of every version of a plugin, newest first.
func (r *Registry) PluginVersions(ctx context.Context, owner, name string) ([]store.PluginVersion, error) {
	o, err := r.store.OwnerByName(ctx, owner)
	if err != nil {
		return nil, pluginNotFound(err, owner, name, "", 0)
	}
	pl, err := r.store.PluginByName(ctx, o.ID, name)
	if err != nil {
		return nil, pluginNotFound(err, owner, name, "", 0)
	}
	return r.store.ListPluginVersions(ctx, pl.ID, store.Page{})
}

func pluginNotFound(err error, owner, name, version string, revision int) error {
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	ref := owner + "/" + name
	if version != "" {
		ref += ":" + version
	}
	if revision != 0 {
		return errorf(ErrNotFound, "plugin %s revision %d not found", ref, revision)
	}
	return errorf(ErrNotFound, "plugin %s not found; the operator publishes plugins with lathe plugin push", ref)
}

var ownerNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{1,31}$`)

// CheckOwnerName validates a user or organization name: 2–32 characters of lowercase
// letters, digits and '-', starting with a letter.
func CheckOwnerName(name string) error {
	if !ownerNameRE.MatchString(name) {
		return invalidf("owner name %q must be 2 to 32 characters of lowercase letters, digits and '-', starting with a letter", name)
	}
	return nil
}

// PublishPlugin is [Registry.PushPlugin] for API callers: a user may publish plugins
// under their own name only.
func (r *Registry) PublishPlugin(ctx context.Context, p PluginParams) (store.PluginVersion, error) {
	if err := authorizeOwner(ctx, p.Owner, func(u string) string {
		return fmt.Sprintf("user %q may publish plugins under %q only, not %q; an operator publishes others with lathe plugin push", u, u, p.Owner)
	}); err != nil {
		return store.PluginVersion{}, err
	}
	return r.PushPlugin(ctx, p)
}
