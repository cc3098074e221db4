package registry

import (
	"context"
	"errors"

	"github.com/lathe-registry/lathe/internal/store"
)

// LabelRef names a label by id or by owner, module and label name.
type LabelRef struct {
	ID                  string
	Owner, Module, Name string
}

// Label returns a label the caller can see, with its module.
func (r *Registry) Label(ctx context.Context, ref LabelRef) (store.Label, Resource, error) {
	if ref.ID != "" {
		res, err := r.resourceByID(ctx, ref.ID)
		if err != nil {
			return store.Label{}, res, err
		}
		if res.Label == nil {
			return store.Label{}, res, notFoundf("label %q", ref.ID)
		}
		return *res.Label, res, nil
	}
	if ref.Name == "" {
		return store.Label{}, Resource{}, invalidf("a label reference needs a label name")
	}
	res, err := r.Resource(ctx, ResourceRef{Owner: ref.Owner, Module: ref.Module, LabelName: ref.Name})
	if err != nil {
		return store.Label{}, res, err
	}
	return *res.Label, res, nil
}

// ListLabels lists the labels of a module the caller can see.
func (r *Registry) ListLabels(ctx context.Context, moduleID string, filter store.ArchiveFilter, query string, desc bool, page store.Page) ([]store.Label, error) {
	if _, err := r.ReadableModule(ctx, moduleID); err != nil {
		return nil, err
	}
	return r.store.ListLabels(ctx, moduleID, filter, query, desc, page)
}

// SetLabel points a label (created if needed, unarchived if archived) at a commit of the
// same module. As on the BSR, an existing label only moves forward: the commit must not be
// older than the one the label points at.
func (r *Registry) SetLabel(ctx context.Context, ref LabelRef, commitID string) (store.Label, error) {
	var res Resource
	var name string
	if ref.ID != "" {
		l, lres, err := r.Label(ctx, ref)
		if err != nil {
			return l, err
		}
		res, name = lres, l.Name
	} else {
		m, owner, err := r.Module(ctx, ModuleRef{Owner: ref.Owner, Name: ref.Module})
		if err != nil {
			return store.Label{}, err
		}
		res, name = Resource{Module: m, Owner: owner}, ref.Name
	}
	if err := CheckLabelName(name); err != nil {
		return store.Label{}, err
	}
	if err := authorize(ctx, write, res.Module, res.Owner.Name); err != nil {
		return store.Label{}, err
	}
	id := NormalizeID(commitID)
	c, err := r.store.CommitByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.ModuleID != res.Module.ID) {
		return store.Label{}, notFoundf("commit %q in module %s/%s", commitID, res.Owner.Name, res.Module.Name)
	}
	if err != nil {
		return store.Label{}, err
	}
	u, _ := caller(ctx)
	var l store.Label
	err = r.store.Update(ctx, func(tx store.Tx) error {
		current, err := tx.LabelByName(ctx, res.Module.ID, name)
		switch {
		case isNotFound(err):
		case err != nil:
			return err
		default:
			head, err := tx.CommitByID(ctx, current.CommitID)
			if err != nil {
				return err
			}
			if head.Seq > c.Seq {
				return errorf(ErrFailedPrecondition, "label %q points at commit %s, which is newer than %s; labels only move forward",
					name, head.ID, c.ID)
			}
		}
		l, err = tx.SetLabel(ctx, res.Module.ID, name, c.ID, u.ID)
		return err
	})
	if err == nil {
		r.labelMoved(ctx, res.Module, name, c)
	}
	return l, err
}

// SetLabelArchived archives or unarchives a label. The default label cannot be archived.
func (r *Registry) SetLabelArchived(ctx context.Context, ref LabelRef, archived bool) error {
	l, res, err := r.Label(ctx, ref)
	if err != nil {
		return err
	}
	if err := authorize(ctx, write, res.Module, res.Owner.Name); err != nil {
		return err
	}
	if archived && l.Name == res.Module.DefaultLabelName {
		return errorf(ErrFailedPrecondition, "label %q is the default label of %s/%s and cannot be archived",
			l.Name, res.Owner.Name, res.Module.Name)
	}
	return r.store.Update(ctx, func(tx store.Tx) error {
		_, err := tx.SetLabelArchived(ctx, l.ID, archived)
		return err
	})
}

// LabelHistoryEntry is a commit a label pointed at.
type LabelHistoryEntry struct {
	Commit store.Commit
	Move   store.LabelMove
}

// LabelHistory lists the commits a label pointed at, newest first unless asc. With
// onlyChangedDigests, a move to a commit with the same digest as the previous entry is
// left out.
func (r *Registry) LabelHistory(ctx context.Context, labelID string, asc, onlyChangedDigests bool, page store.Page) ([]LabelHistoryEntry, int, error) {
	l, err := r.store.LabelByID(ctx, labelID)
	if isNotFound(err) {
		return nil, 0, notFoundf("label %q", labelID)
	}
	if err != nil {
		return nil, 0, err
	}
	if _, err := r.ReadableModule(ctx, l.ModuleID); err != nil {
		return nil, 0, notFoundf("label %q", labelID)
	}
	moves, err := r.store.LabelHistory(ctx, labelID, asc, page)
	if err != nil {
		return nil, 0, err
	}
	entries := make([]LabelHistoryEntry, 0, len(moves))
	for _, mv := range moves {
		c, err := r.store.CommitByID(ctx, mv.CommitID)
		if err != nil {
			return nil, 0, err
		}
		if onlyChangedDigests && len(entries) > 0 && string(entries[len(entries)-1].Commit.Digest) == string(c.Digest) {
			continue
		}
		entries = append(entries, LabelHistoryEntry{Commit: c, Move: mv})
	}
	return entries, len(moves), nil
}
