package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"

	"github.com/lathe-registry/lathe/internal/auth"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/store"
)

func cmdUserCreate(ctx context.Context, e env, args []string) error {
	c := newCommand("user create", "lathe user create NAME [flags]",
		`Create a user. Works while a server is running on the same data directory.
Create a token for the user with "lathe token create --user NAME".`, e.stdout)
	data := dataFlag(c)
	args, err := c.parse(args, e.getenv)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return c.usageErrorf("want exactly one user name, got %d arguments", len(args))
	}
	name := args[0]
	if err := registry.CheckOwnerName(name); err != nil {
		return c.usageErrorf("%v", err)
	}
	user := store.Owner{
		// Dashless UUID v4, the id form the store expects.
		ID:   strings.ReplaceAll(uuid.NewString(), "-", ""),
		Name: name,
		Kind: store.OwnerUser,
	}
	err = update(ctx, *data, func(tx store.Tx) error {
		user, err = tx.CreateOwner(ctx, user)
		return err
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		// Users and organizations share one namespace.
		return fmt.Errorf("a user or organization named %q already exists", name)
	}
	if err != nil {
		return fmt.Errorf("creating user: %w", err)
	}
	fmt.Fprintf(e.stdout, "created user %s (id %s)\n", user.Name, user.ID)
	return nil
}

func cmdTokenCreate(ctx context.Context, e env, args []string) error {
	c := newCommand("token create", "lathe token create --user NAME [flags]",
		`Create an API token for a user and print it as the last line of stdout.
The token is shown only once: Lathe stores just its hash. Use it with
"buf registry login HOST --token-stdin" or BUF_TOKEN. Works while a server
is running on the same data directory.`, e.stdout)
	data := dataFlag(c)
	userName := c.String("user", "", "`NAME` of the user who will own the token (required)")
	args, err := c.parse(args, e.getenv)
	if err != nil {
		return err
	}
	if len(args) > 0 {
		return c.usageErrorf("unexpected argument %q", args[0])
	}
	if *userName == "" {
		return c.usageErrorf("--user is required")
	}
	// Creating an empty database here would only hide a wrong --data.
	if _, err := os.Stat(filepath.Join(*data, "lathe.db")); err != nil {
		return fmt.Errorf("no Lathe data in %s (create a user first, or check --data): %w", *data, err)
	}
	token, hash, err := auth.NewToken()
	if err != nil {
		return err
	}
	err = update(ctx, *data, func(tx store.Tx) error {
		user, err := tx.OwnerByName(ctx, *userName)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no user named %q", *userName)
		}
		if err != nil {
			return err
		}
		if user.Kind != store.OwnerUser {
			return fmt.Errorf("%q is an organization; tokens belong to users", *userName)
		}
		return tx.CreateToken(ctx, user.ID, hash)
	})
	if err != nil {
		return fmt.Errorf("creating token: %w", err)
	}
	fmt.Fprintf(e.stderr, "Created a token for %s. It is shown only once:\n", *userName)
	fmt.Fprintln(e.stdout, token)
	return nil
}

// update runs fn in one transaction of the metadata store in dir. The store
// is closed before update returns, so that the write is fully committed
// (and a concurrently running server sees it) once the command reports success.
func update(ctx context.Context, dir string, fn func(store.Tx) error) (err error) {
	st, err := openMetadata(dir)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, st.Close()) }()
	return st.Update(ctx, fn)
}
