package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/lathe-registry/lathe/internal/store"
)

// ErrInvalidToken is returned for credentials that name no user.
var ErrInvalidToken = errors.New("invalid token: create one with lathe token create")

// Users finds the user a token belongs to.
type Users interface {
	// UserByTokenHash returns the user owning the token with the given SHA-256 hash, or
	// an error matching store.ErrNotFound.
	UserByTokenHash(ctx context.Context, hash []byte) (store.Owner, error)
}

// FromRequest authenticates the credentials of a package-manager request and returns a
// context carrying the user, or ctx unchanged if the request has none. The token may
// come as "Authorization: Bearer <token>", as the raw header value (what cargo sends), or
// as the password of basic authentication with any user name (what the go command sends
// from netrc, and pip from URL credentials).
func FromRequest(ctx context.Context, users Users, r *http.Request) (context.Context, error) {
	value := r.Header.Get("Authorization")
	if value == "" {
		return ctx, nil
	}
	var token string
	if user, password, ok := r.BasicAuth(); ok {
		token = password
		if token == "" {
			token = user
		}
	} else if t, ok := strings.CutPrefix(value, "Bearer "); ok {
		token = t
	} else if !strings.Contains(value, " ") {
		token = value
	}
	if token == "" {
		return ctx, ErrInvalidToken
	}
	user, err := users.UserByTokenHash(ctx, HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return ctx, ErrInvalidToken
	}
	if err != nil {
		return ctx, fmt.Errorf("authenticating: %w", err)
	}
	return WithUser(ctx, user), nil
}
