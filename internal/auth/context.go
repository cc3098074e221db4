// Package auth identifies callers: tokens, their hashes, and the authenticated user a
// request carries through its context.
package auth

import (
	"context"

	"github.com/lathe-registry/lathe/internal/store"
)

type userKey struct{}

// WithUser returns a context carrying the authenticated user.
func WithUser(ctx context.Context, user store.Owner) context.Context {
	return context.WithValue(ctx, userKey{}, user)
}

// User returns the authenticated user of the context; ok is false for anonymous callers.
func User(ctx context.Context) (user store.Owner, ok bool) {
	user, ok = ctx.Value(userKey{}).(store.Owner)
	return user, ok
}

type systemKey struct{}

// AsSystem returns a context for Lathe's own background work, such as generating SDKs
// for modules whose owners asked for them: it reads every module.
func AsSystem(ctx context.Context) context.Context {
	return context.WithValue(ctx, systemKey{}, true)
}

// IsSystem reports whether the context is Lathe's own background work.
func IsSystem(ctx context.Context) bool {
	system, _ := ctx.Value(systemKey{}).(bool)
	return system
}
