package main

import (
	"context"
	"embed"
	"io/fs"

	"github.com/lathe-registry/lathe/internal/auth"
	"github.com/lathe-registry/lathe/internal/module"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/store"
)

// exampleFS is the module seeded into a fresh data directory.
//
//go:embed example
var exampleFS embed.FS

// seedExample creates the user demo (without a token) and its public module
// demo/weather with one commit, pushed the way buf push would.
func seedExample(ctx context.Context, st store.Store, reg *registry.Registry) error {
	var files []module.File
	err := fs.WalkDir(exampleFS, "example", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		content, err := exampleFS.ReadFile(p)
		files = append(files, module.File{Path: p[len("example/"):], Content: content})
		return err
	})
	if err != nil {
		return err
	}
	var demo store.Owner
	err = st.Update(ctx, func(tx store.Tx) error {
		demo, err = tx.CreateOwner(ctx, store.Owner{ID: registry.NewID(), Name: "demo", Kind: store.OwnerUser,
			Description: "Owner of the example module"})
		return err
	})
	if err != nil {
		return err
	}
	ctx = auth.WithUser(ctx, demo)
	if _, err := reg.CreateModule(ctx, registry.CreateModuleParams{
		Owner:       "demo",
		Name:        "weather",
		Visibility:  store.Public,
		Description: "An example module: a weather service",
	}); err != nil {
		return err
	}
	_, _, err = reg.Upload(ctx, []registry.UploadContent{{Module: registry.ModuleRef{Owner: "demo", Name: "weather"}, Files: files}}, nil)
	return err
}
