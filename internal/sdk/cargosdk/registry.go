package cargosdk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/lathe-registry/lathe/internal/auth"
	"github.com/lathe-registry/lathe/internal/sdk"
	"github.com/lathe-registry/lathe/internal/store"
)

// Prefix is the URL path of the sparse index: index = "sparse+{public URL}/gen/cargo/".
// Under AuthPrefix the same crates are served to cargo configured to send its token
// (auth-required), which private crates need.
const (
	Prefix     = "/gen/cargo/"
	AuthPrefix = Prefix + "auth/"
)

// Registry serves the Cargo sparse registry protocol: config.json, index files and
// crate downloads, at [Prefix] for anonymous clients and at [AuthPrefix] for clients
// that send a token (the raw Authorization header, as cargo sends it, or "Bearer
// <token>", as cargo login --registry NAME "Bearer <token>" stores it).
type Registry struct {
	Packager *Packager
	Jobs     *sdk.Jobs
	// PublicURL is the server's URL as clients reach it, without a trailing slash.
	PublicURL string
	Log       *slog.Logger

	index sdk.Pages[indexFile]
}

// edge answers errors as cargo reads them: plain text, which it prints for answers other
// than 404.
func (reg *Registry) edge() *sdk.Edge {
	return &sdk.Edge{Ecosystem: Ecosystem, Log: reg.Log, TokenHelp: `, then cargo login --registry NAME "Bearer <token>"`,
		Challenge: `Cargo login_url="` + reg.PublicURL + `"`}
}

// indexFile is a rendered index file.
type indexFile struct {
	body, etag string
}

func (reg *Registry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		reg.edge().Error(w, http.StatusMethodNotAllowed, "the Cargo registry is read-only")
		return
	}
	root, rest := Prefix, strings.TrimPrefix(r.URL.Path, Prefix)
	authRequired := false
	if after, ok := strings.CutPrefix(r.URL.Path, AuthPrefix); ok {
		root, rest, authRequired = AuthPrefix, after, true
	}
	ctx, err := auth.FromRequest(sdk.WithClient(r.Context(), r), reg.Packager.SDKs.Registry().Users(), r)
	if _, ok := auth.User(ctx); err == nil && authRequired && !ok {
		err = fmt.Errorf("%w: cargo login --registry NAME \"Bearer <token from lathe token create>\"", sdk.ErrTokenRequired)
	}
	if err != nil {
		reg.fail(w, r, err)
		return
	}
	switch {
	case rest == "config.json":
		reg.serveConfig(w, root, authRequired)
	case strings.HasPrefix(rest, "api/v1/crates/"):
		reg.serveDownload(ctx, w, r, strings.TrimPrefix(rest, "api/v1/crates/"))
	default:
		reg.serveIndex(ctx, w, r, rest)
	}
}

func (reg *Registry) serveConfig(w http.ResponseWriter, root string, authRequired bool) {
	// cargo login wants an api URL; the registry serves no publishing API under it.
	cfg := map[string]any{"dl": reg.PublicURL + root + "api/v1/crates", "api": reg.PublicURL + strings.TrimSuffix(root, "/")}
	if authRequired {
		cfg["auth-required"] = true
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_ = json.NewEncoder(w).Encode(cfg)
}

// indexPath is where cargo looks for a crate's index file.
func indexPath(name string) string {
	switch len(name) {
	case 1:
		return "1/" + name
	case 2:
		return "2/" + name
	case 3:
		return "3/" + name[:1] + "/" + name
	}
	return name[:2] + "/" + name[2:4] + "/" + name
}

// indexName returns the crate whose index file is at a path, as [indexPath] spells it
// for lowercase names.
func indexName(path string) (string, bool) {
	name := path[strings.LastIndexByte(path, '/')+1:]
	return name, name != "" && name == strings.ToLower(name) && indexPath(name) == path
}

// downloadPath splits a crate download's path under api/v1/crates/:
// {name}/{version}/download.
func downloadPath(rest string) (name, version string, ok bool) {
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || parts[2] != "download" {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// crateSDK finds the SDK a crate name spells and its latest build. Owner and plugin
// owner names hold no '_', but module and plugin names may, so every split is tried:
// only of names a crate may have, since the splits grow with the square of the length.
func (reg *Registry) crateSDK(ctx context.Context, name string) (sdk.Build, error) {
	if len(name) > maxCrateName {
		return sdk.Build{}, fmt.Errorf("%w: no crate %s: crate names are at most %d characters", sdk.ErrNotFound, name, maxCrateName)
	}
	return reg.Packager.SDKs.ResolveName(ctx, "crate "+name, sdk.NameSplits(name, [3]byte{'_', '_', '_'}), func(b sdk.Build) error {
		_, err := cargoConfig(b.Plugin())
		return err
	})
}

func (reg *Registry) serveIndex(ctx context.Context, w http.ResponseWriter, r *http.Request, rest string) {
	name, ok := indexName(rest)
	if !ok {
		reg.edge().Error(w, http.StatusNotFound, "not an index file of this registry")
		return
	}
	f, cacheControl, err := reg.index.Get(ctx, reg.Packager.SDKs.Registry(), name, "crate "+name, reg.Packager.SDKs.Publications(Ecosystem, name), func() (indexFile, string, error) {
		return reg.renderIndex(ctx, name)
	})
	if err != nil {
		reg.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", cacheControl)
	if sdk.NotModified(w, r, f.etag) {
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, f.body)
}

// renderIndex finds the crate's SDK, records interest in it, publishes its first version
// if it has none (waiting for that), and renders its index file. It fails with
// ErrNotFound for crates that do not exist or that the caller may not see, and with a
// [*sdk.GenerationError] if the first version fails to generate.
func (reg *Registry) renderIndex(ctx context.Context, name string) (indexFile, string, error) {
	b, err := reg.crateSDK(ctx, name)
	if err != nil {
		return indexFile{}, "", err
	}
	var arts []store.Artifact
	err = reg.Jobs.List(ctx, Ecosystem, b, "crate "+name, func(ctx context.Context) (n int, err error) {
		arts, err = reg.Packager.SDKs.Registry().ListArtifacts(ctx, Ecosystem, name, store.Page{})
		return sdk.CountOf(arts, b.Module.ID), err
	})
	if err != nil {
		return indexFile{}, "", err
	}
	var body strings.Builder
	for _, a := range arts {
		if a.ModuleID != b.Module.ID {
			continue // an earlier module of the same name
		}
		body.Write(a.Meta)
		body.WriteByte('\n')
	}
	sum := sha256.Sum256([]byte(body.String()))
	return indexFile{body: body.String(), etag: `"` + hex.EncodeToString(sum[:16]) + `"`}, b.Module.ID, nil
}

func (reg *Registry) serveDownload(ctx context.Context, w http.ResponseWriter, r *http.Request, rest string) {
	name, version, ok := downloadPath(rest)
	if !ok {
		reg.edge().Error(w, http.StatusNotFound, "not a crate download of this registry")
		return
	}
	a, err := reg.Packager.SDKs.Published(ctx, Ecosystem, name, version)
	if err != nil {
		reg.fail(w, r, err)
		return
	}
	if err := reg.Packager.SDKs.ServeArchive(ctx, w, r, a, "application/gzip"); err != nil {
		reg.fail(w, r, err)
	}
}

func (reg *Registry) fail(w http.ResponseWriter, r *http.Request, err error) {
	reg.edge().Fail(w, r, err)
}
