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
