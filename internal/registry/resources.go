package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/lathe-registry/lathe/internal/auth"
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
			c, err := r.ModuleCommit(ctx, m, CommitRef{ID: id})
			if err == nil {
				res.Commit = &c
				return res, nil
			}
			if !isNotFound(err) {
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
	// One answer for an id of nothing and for an id of something the caller may not
	// read, whatever kind of thing that is.
	notFound := errorf(ErrNotFound, "no module, label or commit with id %q found", id)
	if c, err := r.store.CommitByID(ctx, id); err == nil {
		m, owner, err := r.Module(ctx, ModuleRef{ID: c.ModuleID})
		if err != nil {
			return Resource{}, notFound
		}
		return Resource{Module: m, Owner: owner, Commit: &c}, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return Resource{}, err
	}
	if l, err := r.store.LabelByID(ctx, id); err == nil {
		m, owner, err := r.Module(ctx, ModuleRef{ID: l.ModuleID})
		if err != nil {
			return Resource{}, notFound
		}
		return Resource{Module: m, Owner: owner, Label: &l}, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return Resource{}, err
	}
	m, owner, err := r.Module(ctx, ModuleRef{ID: id})
	if isNotFound(err) {
		return Resource{}, notFound
	}
	if err != nil {
		return Resource{}, err
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
	if res.Label != nil {
		c, err := r.store.CommitByID(ctx, res.Label.CommitID)
		return c, res, err
	}
	c, err := r.ModuleCommit(ctx, res.Module, CommitRef{})
	return c, res, err
}

// CommitRef selects a commit of a module. The zero value selects the head of the
// default label.
type CommitRef struct {
	// Label names a label.
	Label string
	// ID is a commit id or a prefix of at least [MinCommitPrefix] characters.
	ID string
	// Seq is a commit sequence number.
	Seq int64
}

// MinCommitPrefix is the shortest prefix of a commit id that selects a commit.
const MinCommitPrefix = 12

// ModuleCommit resolves a reference to a commit of a module the caller can see.
func (r *Registry) ModuleCommit(ctx context.Context, m store.Module, ref CommitRef) (store.Commit, error) {
	if err := authorize(ctx, read, m, ""); err != nil {
		return store.Commit{}, err
	}
	switch {
	case ref.ID != "":
		if len(ref.ID) < MinCommitPrefix || len(ref.ID) > 32 || !isLowerHex(ref.ID) {
			return store.Commit{}, errorf(ErrNotFound, "%q is not a commit id or a %d-character prefix of one", ref.ID, MinCommitPrefix)
		}
		if len(ref.ID) == 32 {
			c, err := r.store.CommitByID(ctx, ref.ID)
			if isNotFound(err) || (err == nil && c.ModuleID != m.ID) {
				return store.Commit{}, errorf(ErrNotFound, "no commit %s in module %s", ref.ID, r.moduleName(ctx, m))
			}
			return c, err
		}
		cs, err := r.store.CommitsByIDPrefix(ctx, m.ID, ref.ID)
		if err != nil {
			return store.Commit{}, err
		}
		switch len(cs) {
		case 0:
			return store.Commit{}, errorf(ErrNotFound, "no commit %s in module %s", ref.ID, r.moduleName(ctx, m))
		case 1:
			return cs[0], nil
		}
		return store.Commit{}, errorf(ErrNotFound, "commit prefix %s is ambiguous in module %s; give the whole id", ref.ID, r.moduleName(ctx, m))
	case ref.Seq > 0:
		cs, err := r.store.ListCommits(ctx, m.ID, false, store.Page{Offset: int(ref.Seq - 1), Limit: 1})
		if err != nil {
			return store.Commit{}, err
		}
		if len(cs) == 0 || cs[0].Seq != ref.Seq {
			return store.Commit{}, errorf(ErrNotFound, "module %s has no commit number %d", r.moduleName(ctx, m), ref.Seq)
		}
		return cs[0], nil
	}
	label := ref.Label
	if label == "" {
		label = m.DefaultLabelName
	}
	l, err := r.store.LabelByName(ctx, m.ID, label)
	switch {
	case isNotFound(err) && ref.Label == "":
		return store.Commit{}, errorf(ErrNotFound, "module %s has no commits on its default label %q yet; push one with buf push",
			r.moduleName(ctx, m), m.DefaultLabelName)
	case isNotFound(err):
		return store.Commit{}, errorf(ErrNotFound, "module %s has no label %q", r.moduleName(ctx, m), label)
	case err != nil:
		return store.Commit{}, err
	}
	return r.store.CommitByID(ctx, l.CommitID)
}

// OnDefaultLabel reports whether a commit of a module the caller can see is or was ever
// on the module's default label.
func (r *Registry) OnDefaultLabel(ctx context.Context, m store.Module, c store.Commit) (bool, error) {
	if err := authorize(ctx, read, m, ""); err != nil {
		return false, err
	}
	l, err := r.store.LabelByName(ctx, m.ID, m.DefaultLabelName)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if l.CommitID == c.ID {
		return true, nil
	}
	return r.store.LabelHadCommit(ctx, l.ID, c.ID)
}

// moduleName spells a module owner/name for messages.
func (r *Registry) moduleName(ctx context.Context, m store.Module) string {
	o, err := r.store.OwnerByID(ctx, m.OwnerID)
	if err != nil {
		return m.Name
	}
	return o.Name + "/" + m.Name
}

func isLowerHex(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
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
	if _, err := r.ReadableModule(ctx, c.ModuleID); err != nil {
		return store.Commit{}, notFoundf("commit %q", id)
	}
	return c, nil
}

// checkEdge refuses a stored dependency edge that breaks the rule of [mayDependOn].
func (r *Registry) checkEdge(ctx context.Context, c, dep store.Commit) error {
	if c.ModuleID == dep.ModuleID {
		return nil
	}
	sys := auth.AsSystem(ctx)
	m, err := r.ReadableModule(sys, c.ModuleID)
	if err != nil {
		return err
	}
	dm, err := r.ReadableModule(sys, dep.ModuleID)
	if err != nil {
		return err
	}
	if !mayDependOn(m, dm) {
		return errorf(ErrNotFound, "commit %s depends on a commit that is not visible to you", c.ID)
	}
	return nil
}

// readableCommit checks that the caller can see a commit's module.
func (r *Registry) readableCommit(ctx context.Context, c store.Commit) error {
	if _, err := r.ReadableModule(ctx, c.ModuleID); err != nil {
		return notFoundf("commit %q", c.ID)
	}
	return nil
}

// ListCommits lists the commits of a module the caller can see by push order.
func (r *Registry) ListCommits(ctx context.Context, moduleID string, desc bool, page store.Page) ([]store.Commit, error) {
	if _, err := r.ReadableModule(ctx, moduleID); err != nil {
		return nil, err
	}
	return r.store.ListCommits(ctx, moduleID, desc, page)
}

// Graph is a set of commits and the dependency edges between them.
type Graph struct {
	// Commits are the requested commits first, in request order, then their dependencies.
	Commits []store.Commit
	// Edges run from a commit to a commit it depends on directly.
	Edges [][2]string
}

// Graph returns the commits and their dependency closure, with edges. Every commit of
// the closure must be one the caller can see.
func (r *Registry) Graph(ctx context.Context, commits []store.Commit) (Graph, error) {
	for _, c := range commits {
		if err := r.readableCommit(ctx, c); err != nil {
			return Graph{}, err
		}
	}
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
				if err := r.readableCommit(ctx, dep); err != nil {
					// Not named: the caller may not know it exists.
					return g, errorf(ErrNotFound, "commit %s depends on a commit that is not visible to you", c.ID)
				}
				// Uploads check the rule themselves, with a better message; a stored edge
				// that breaks it (stored before the rule, say) is not followed even for
				// the server's own work, so nothing derived from c can show dep.
				if pending == nil {
					if err := r.checkEdge(ctx, c, dep); err != nil {
						return g, err
					}
				}
			}
			queue = append(queue, dep)
		}
	}
	return g, nil
}
