package registry

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/lathe-registry/lathe/internal/store"
)

// The closure rule: everyone who can read a module can read every commit of the
// dependency closure of every commit of the module ([mayDependOn] decides it for a pair
// of modules). Pushes and visibility changes that would break it are refused, so reads
// never meet a dependency the reader may not see. Both checks read the store inside
// the transaction that writes, so a concurrent push and visibility change cannot
// together break the rule.

func visibilityWord(v store.Visibility) string {
	if v == store.Public {
		return "public"
	}
	return "private"
}

// fullName spells a module owner/name for messages, reading its owner through rd.
func fullName(ctx context.Context, rd store.Reader, m store.Module) (string, error) {
	o, err := rd.OwnerByID(ctx, m.OwnerID)
	if err != nil {
		return "", fmt.Errorf("owner of module %s: %w", m.ID, err)
	}
	return o.Name + "/" + m.Name, nil
}

// checkClosures refuses an upload in which the dependency closure of a pushed module's
// commit holds a module that not every reader of the pushed module may read. The
// closures are the members' as digested; the modules are read through rd as they are
// now. The pusher could read every dependency when the closure was walked, so naming
// them tells it nothing new; one that it can no longer read is not named.
func (r *Registry) checkClosures(ctx context.Context, rd store.Reader, pushed []*member) error {
	for _, p := range pushed {
		m, err := rd.ModuleByID(ctx, p.module.ID)
		if err != nil {
			return fmt.Errorf("module %s: %w", p.name, err)
		}
		seen := make(map[string]bool)
		for _, c := range p.closure {
			if c.ModuleID == m.ID || seen[c.ModuleID] {
				continue
			}
			seen[c.ModuleID] = true
			dep, err := rd.ModuleByID(ctx, c.ModuleID)
			if isNotFound(err) {
				return errorf(ErrNotFound, "dependency %s of module %s no longer exists: its module was deleted", c.ID, p.name)
			}
			if err != nil {
				return fmt.Errorf("module of dependency %s: %w", c.ID, err)
			}
			if authorize(ctx, read, dep, "") != nil {
				return errorf(ErrNotFound, "module %s depends on a commit that is not visible to you", p.name)
			}
			if mayDependOn(m, dep) {
				continue
			}
			depName, err := fullName(ctx, rd, dep)
			if err != nil {
				return err
			}
			fix := "make " + depName + " public"
			if m.Visibility == store.Public {
				fix += ", or make " + p.name + " private"
			}
			return errorf(ErrFailedPrecondition,
				"module %s is %s and may not depend on %s, which is %s: everyone who can read a module must be able to read its dependencies; %s",
				p.name, visibilityWord(m.Visibility), depName, visibilityWord(dep.Visibility), fix)
		}
	}
	return nil
}

// checkVisibilityChange refuses changing module m to m.Visibility when that would break
// the closure rule, reading through rd. It checks only direct dependencies and
// dependents: with the rule holding everywhere else, a change that keeps it for them
// keeps it for every closure. Modules the caller may not read are counted, not named.
func checkVisibilityChange(ctx context.Context, rd store.Reader, m store.Module, name string) error {
	list, breaks := rd.DependentModules, func(other store.Module) bool { return !mayDependOn(other, m) }
	if m.Visibility == store.Public {
		list, breaks = rd.DependencyModules, func(other store.Module) bool { return !mayDependOn(m, other) }
	}
	others, err := list(ctx, m.ID)
	if err != nil {
		return err
	}
	var blocking []store.Module
	for _, o := range others {
		if breaks(o) {
			blocking = append(blocking, o)
		}
	}
	if len(blocking) == 0 {
		return nil
	}
	named, hidden, err := describeModules(ctx, rd, blocking)
	if err != nil {
		return err
	}
	all := joinNames(named, hidden)
	them := "them"
	if len(blocking) == 1 {
		them = "it"
	}
	if len(named) > 0 {
		them = joinNames(named, 0)
	}
	if m.Visibility == store.Public {
		return errorf(ErrFailedPrecondition,
			"module %s cannot be made public: its commits depend on %s, and everyone who can read a module must be able to read its dependencies; make %s public first",
			name, all, them)
	}
	verb, fix := "depend", "; "+name+" stays public until they are made private or deleted"
	if len(blocking) == 1 {
		verb, fix = "depends", "; "+name+" stays public until it is made private or deleted"
	}
	if len(named) > 0 {
		fix = "; make " + them + " private first"
	}
	return errorf(ErrFailedPrecondition,
		"module %s cannot be made private: %s %s on it, and everyone who can read a module must be able to read its dependencies%s",
		name, all, verb, fix)
}

// describeModules names the modules the caller may read and counts the others.
func describeModules(ctx context.Context, rd store.Reader, ms []store.Module) (named []string, hidden int, err error) {
	for _, m := range ms {
		if authorize(ctx, read, m, "") != nil {
			hidden++
			continue
		}
		n, err := fullName(ctx, rd, m)
		if err != nil {
			return nil, 0, err
		}
		named = append(named, n)
	}
	slices.Sort(named)
	return named, hidden, nil
}

// joinNames joins names for a message: "a", "a and b", "a, b and 2 modules you cannot see".
func joinNames(named []string, hidden int) string {
	switch {
	case hidden == 1:
		named = append(named, "1 module you cannot see")
	case hidden > 1:
		named = append(named, fmt.Sprintf("%d modules you cannot see", hidden))
	}
	if len(named) <= 2 {
		return strings.Join(named, " and ")
	}
	return strings.Join(named[:len(named)-1], ", ") + " and " + named[len(named)-1]
}
