package registry

import (
	"context"

	"github.com/lathe-registry/lathe/internal/auth"
	"github.com/lathe-registry/lathe/internal/store"
)

// action is what a caller wants to do with a module and everything in it: its commits,
// labels, files, dependency closures, generated SDKs and their generation jobs.
type action int

const (
	// read is seeing the module, its content and anything derived from it.
	read action = iota + 1
	// write is pushing, moving labels, changing settings and deleting.
	write
)

func (a action) String() string {
	if a == write {
		return "change"
	}
	return "read"
}

// authorize decides whether the caller may act on a module; it is the only place that
// does. A module the caller may not read fails with [ErrNotFound], as if it did not
// exist, so that its existence does not leak; writes without a token fail with
// [ErrUnauthenticated], and to modules the caller can read but not change with
// [ErrPermissionDenied]. ownerName names the module's owner in messages.
//
// Lathe's own background work ([auth.AsSystem]) reads everything and writes nothing.
func authorize(ctx context.Context, act action, m store.Module, ownerName string) error {
	u, signedIn := auth.User(ctx)
	isOwner := signedIn && u.ID == m.OwnerID
	readable := m.Visibility == store.Public || isOwner || auth.IsSystem(ctx)
	if !readable {
		return errModuleNotFound()
	}
	if act == read {
		return nil
	}
	if !signedIn {
		return errUnauthenticated()
	}
	if !isOwner {
		return errorf(ErrPermissionDenied, "user %q may not %s modules of %q", u.Name, act, ownerName)
	}
	return nil
}

// mayDependOn decides whether commits of module m may have commits of module dep in
// their dependency closures: only if everyone who may read m may also read dep, so that
// nothing derived from m (a graph, an export, an SDK and its package metadata) shows a
// reader of m anything it may not read. With modules owned by users this means a public
// module depends only on public modules, and a private one on public modules and on
// modules of its own owner.
func mayDependOn(m, dep store.Module) bool {
	return dep.Visibility == store.Public || (m.Visibility == store.Private && dep.OwnerID == m.OwnerID)
}

// authorizeOwner decides whether the caller may create something (a module, a plugin)
// under an owner: only the owner itself may. denied explains a refusal to user u.
func authorizeOwner(ctx context.Context, owner string, denied func(u string) string) error {
	u, err := caller(ctx)
	if err != nil {
		return err
	}
	if u.Name != owner {
		return errorf(ErrPermissionDenied, "%s", denied(u.Name))
	}
	return nil
}

// authorizeSystem allows only Lathe's own background work.
func authorizeSystem(ctx context.Context, what string) error {
	if !auth.IsSystem(ctx) {
		return errorf(ErrPermissionDenied, "only the server itself may %s", what)
	}
	return nil
}

// caller returns the authenticated user, or ErrUnauthenticated.
func caller(ctx context.Context) (store.Owner, error) {
	u, ok := auth.User(ctx)
	if !ok {
		return store.Owner{}, errUnauthenticated()
	}
	return u, nil
}

// errModuleNotFound is the answer for a module looked up by an id the caller did not
// necessarily give, such as a commit's: it names nothing, so that it says the same for a
// module that does not exist and for one the caller may not read.
func errModuleNotFound() error { return errorf(ErrNotFound, "module not found") }

func errUnauthenticated() error {
	return errorf(ErrUnauthenticated, "this operation needs a token: log in with buf registry login, or set BUF_TOKEN")
}
