package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/lathe-registry/lathe/internal/store"
)

// ResourceRef names a module, a label or a commit, as buf's ResourceRef does.
type ResourceRef struct {
	// ID is the id of a commit, label or module (tried in that order).
	ID string
	// Owner and Module name the module when ID is empty.
	Owner, Module string
	// LabelName names a label of the module.
	LabelName string
	// Ref is a commit id if one matches, otherwise a label name. Empty means the module.
	Ref string
}

func (r ResourceRef) String() string {
	switch {
	case r.ID != "":
		return r.ID
	case r.LabelName != "":
		return r.Owner + "/" + r.Module + ":" + r.LabelName
	case r.Ref != "":
		return r.Owner + "/" + r.Module + ":" + r.Ref
	default:
		return r.Owner + "/" + r.Module
	}
}

// Resource is what a [ResourceRef] resolved to: a module, and a label or commit of it.
type Resource struct {
	Module store.Module
	Owner  store.Owner
	Label  *store.Label
	Commit *store.Commit
}

// Resource resolves a reference to the module, label or commit it names.
func (r *Registry) Resource(ctx context.Context, ref ResourceRef) (Resource, error) {
	if ref.ID != "" {
		return r.resourceByID(ctx, ref.ID)
	}
	m, owner, err := r.Module(ctx, ModuleRef{Owner: ref.Owner, Name: ref.Module})
	if err != nil {
		return Resource{}, err
	}
	res := Resource{Module: m, Owner: owner}
	switch {
	case ref.LabelName != "":
		l, err := r.store.LabelByName(ctx, m.ID, ref.LabelName)
		if errors.Is(err, store.ErrNotFound) {
			return res, notFoundf("label %q of module %s/%s", ref.LabelName, owner.Name, m.Name)
		}
		res.Label = &l
		return res, err
	case ref.Ref != "":
		if id := NormalizeID(ref.Ref); id != "" {
			c, err := r.store.CommitByID(ctx, id)
			if err == nil && c.ModuleID == m.ID {
				res.Commit = &c
				return res, nil
			}
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return res, err
			}
		}
		l, err := r.store.LabelByName(ctx, m.ID, ref.Ref)
		if errors.Is(err, store.ErrNotFound) {
			return res, errorf(ErrNotFound, "no commit or label %q found in module %s/%s", ref.Ref, owner.Name, m.Name)
		}
		res.Label = &l
		return res, err
	}
	return res, nil
}

func (r *Registry) resourceByID(ctx context.Context, rawID string) (Resource, error) {
	id := NormalizeID(rawID)
	if id == "" {
		return Resource{}, invalidf("%q is not a valid id", rawID)
	}
	if c, err := r.store.CommitByID(ctx, id); err == nil {
		m, owner, err := r.Module(ctx, ModuleRef{ID: c.ModuleID})
		if err != nil {
			return Resource{}, notFoundf("commit %q", id)
		}
		return Resource{Module: m, Owner: owner, Commit: &c}, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return Resource{}, err
	}
	if l, err := r.store.LabelByID(ctx, id); err == nil {
		m, owner, err := r.Module(ctx, ModuleRef{ID: l.ModuleID})
		if err != nil {
			return Resource{}, notFoundf("label %q", id)
		}
		return Resource{Module: m, Owner: owner, Label: &l}, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return Resource{}, err
	}
	m, owner, err := r.Module(ctx, ModuleRef{ID: id})
	if err != nil {
		return Resource{}, errorf(ErrNotFound, "no module, label or commit with id %q found", id)
	}
	return Resource{Module: m, Owner: owner}, nil
}

// Commit resolves a reference to a commit: a commit itself, the commit a label points
// at, or the commit of the module's default label.
func (r *Registry) Commit(ctx context.Context, ref ResourceRef) (store.Commit, Resource, error) {
	res, err := r.Resource(ctx, ref)
	if err != nil {
		return store.Commit{}, res, err
	}
	if res.Commit != nil {
		return *res.Commit, res, nil
	}
	label := res.Label
	if label == nil {
		l, err := r.store.LabelByName(ctx, res.Module.ID, res.Module.DefaultLabelName)
		if errors.Is(err, store.ErrNotFound) {
			return store.Commit{}, res, errorf(ErrNotFound, "module %s/%s has no commits on its default label %q yet; push one with buf push",
				res.Owner.Name, res.Module.Name, res.Module.DefaultLabelName)
		}
		if err != nil {
			return store.Commit{}, res, err
		}
		label = &l
	}
	c, err := r.store.CommitByID(ctx, label.CommitID)
	return c, res, err
}

// CommitByID returns a commit the caller can see.
func (r *Registry) CommitByID(ctx context.Context, id string) (store.Commit, error) {
	c, err := r.store.CommitByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return c, notFoundf("commit %q", id)
	}
	if err != nil {
		return c, err
	}
	if _, _, err := r.Module(ctx, ModuleRef{ID: c.ModuleID}); err != nil {
		return store.Commit{}, notFoundf("commit %q", id)
	}
	return c, nil
}

// ListCommits lists the commits of a module by push order.
func (r *Registry) ListCommits(ctx context.Context, moduleID string, desc bool, page store.Page) ([]store.Commit, error) {
	return r.store.ListCommits(ctx, moduleID, desc, page)
}

// Graph is a set of commits and the dependency edges between them.
type Graph struct {
	// Commits are the requested commits first, in request order, then their dependencies.
	Commits []store.Commit
	// Edges run from a commit to a commit it depends on directly.
	Edges [][2]string
}

// Graph returns the commits and their dependency closure, with edges.
func (r *Registry) Graph(ctx context.Context, commits []store.Commit) (Graph, error) {
	return r.walk(ctx, commits, nil)
}

// walk visits the commits reachable from start, breadth first. Commits of an upload that
// are not stored yet are found in pending.
func (r *Registry) walk(ctx context.Context, start []store.Commit, pending map[string]store.Commit) (Graph, error) {
	var g Graph
	seen := make(map[string]bool)
	queue := make([]store.Commit, 0, len(start))
	for _, c := range start {
		if !seen[c.ID] {
			seen[c.ID] = true
			queue = append(queue, c)
		}
	}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		g.Commits = append(g.Commits, c)
		for _, depID := range c.DirectDeps {
			g.Edges = append(g.Edges, [2]string{c.ID, depID})
			if seen[depID] {
				continue
			}
			seen[depID] = true
			dep, ok := pending[depID]
			if !ok {
				var err error
				if dep, err = r.store.CommitByID(ctx, depID); err != nil {
					if isNotFound(err) {
						// Only deleting the dependency's module removes a commit.
						return g, errorf(ErrNotFound, "dependency %s of commit %s no longer exists: its module was deleted", depID, c.ID)
					}
					return g, fmt.Errorf("dependency %s of commit %s: %w", depID, c.ID, err)
				}
			}
			queue = append(queue, dep)
		}
	}
	return g, nil
}
