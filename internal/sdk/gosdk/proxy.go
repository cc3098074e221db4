package gosdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/lathe-registry/lathe/internal/auth"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/sdk"
	"github.com/lathe-registry/lathe/internal/store"
)

// Prefix is the URL path the proxy is served under: GOPROXY={public URL}/gen/go.
const Prefix = "/gen/go/"

// Proxy serves the GOPROXY protocol at [Prefix], and go-get=1 pages pointing the go
// command at it.
//
// It is meant to be the go command's only proxy (GOPROXY={public URL}/gen/go): requests
// for other modules, and for the checksum database (/sumdb/), go to Upstream, so that the
// go command never asks another proxy about Lathe's module paths. Lathe's paths are
// Paths.Root, everything under it, and its prefixes (the go command looks up every
// prefix of a package path as a possible module); they are answered here, never
// forwarded, whatever the outcome: a module Lathe does not have, or that the caller may
// not see, is 404 with a text/plain reason the go command prints. A plugin that fails is
// 424 with its message (see [sdk.Edge.Fail]).
type Proxy struct {
	Packager
	// PublicURL is the server's URL as clients reach it, without a trailing slash.
	PublicURL string
	// Upstream is the module proxy for every other module, e.g. https://proxy.golang.org;
	// nil answers 404 for them, so that a next GOPROXY entry is tried.
	Upstream *url.URL
	Log      *slog.Logger

	forwardOnce sync.Once
	forward     *httputil.ReverseProxy
}

// edge answers errors as the go command reads them: plain text, which it prints.
func (p *Proxy) edge() *sdk.Edge { return &sdk.Edge{Ecosystem: Ecosystem, Log: p.Log} }

// DefaultUpstream is the proxy other modules come from unless configured otherwise.
const DefaultUpstream = "https://proxy.golang.org"

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		sdk.TextError(w, http.StatusMethodNotAllowed, "the Go module proxy is read-only")
		return
	}
	if r.URL.Query().Get("go-get") == "1" {
		p.serveGoGet(w)
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, Prefix)
	if db, ok := strings.CutPrefix(rest, "sumdb/"); ok {
		p.serveSumDB(w, r, db)
		return
	}
	escPath, file, ok := splitRequest(rest)
	if !ok {
		sdk.TextError(w, http.StatusNotFound, "not a Go module proxy request")
		return
	}
	modPath, err := escPath, error(nil)
	if strings.Contains(escPath, "!") {
		modPath, err = module.UnescapePath(escPath)
	}
	if err != nil {
		sdk.TextError(w, http.StatusNotFound, "invalid module path")
		return
	}
	if !p.Paths.Owns(modPath) {
		p.serveUpstream(w, r, modPath+" is not a module of this registry")
		return
	}
	target, _, ok := p.Paths.Parse(modPath)
	inner, innerOK := p.Paths.Enclosing(modPath)
	if !ok && !innerOK {
		sdk.TextError(w, http.StatusNotFound, fmt.Sprintf("%s is not a module of this registry; its modules are %s/{owner}/{module}/{plugin-owner}/{plugin}", modPath, p.Paths.Root()))
		return
	}
	ctx, err := auth.FromRequest(sdk.WithClient(r.Context(), r), p.SDKs.Registry().Users(), r)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if !ok {
		// The go command looks up a package path's prefixes as modules; say what is wrong
		// with the SDK that would hold the package, which whichever lookup it reports shows.
		if _, err := p.SDKs.Resolve(ctx, inner, sdk.CommitRef{}, sdk.Pin{}); err != nil {
			p.fail(w, r, err)
			return
		}
		sdk.TextError(w, http.StatusNotFound, fmt.Sprintf("%s is not a module: it is a directory of the module %s", modPath, p.Paths.Root()+"/"+inner.Owner+"/"+inner.Module+"/"+inner.Gen.Owner+"/"+inner.Gen.Name))
		return
	}
	req := request{path: modPath, sdk: target}
	switch {
	case file == "@latest":
		p.serveLatest(ctx, w, r, req, false)
	case file == "@v/list":
		p.serveLatest(ctx, w, r, req, true)
	case strings.HasSuffix(file, ".info"):
		p.serveInfo(ctx, w, r, req, strings.TrimSuffix(strings.TrimPrefix(file, "@v/"), ".info"))
	case strings.HasSuffix(file, ".mod"):
		p.serveArtifact(ctx, w, r, req, strings.TrimSuffix(strings.TrimPrefix(file, "@v/"), ".mod"), true)
	case strings.HasSuffix(file, ".zip"):
		p.serveArtifact(ctx, w, r, req, strings.TrimSuffix(strings.TrimPrefix(file, "@v/"), ".zip"), false)
	default:
		sdk.TextError(w, http.StatusNotFound, "unknown Go module proxy endpoint "+file)
	}
}

// serveUpstream forwards a request for another module to Upstream, or, without one,
// answers 404 saying why (what) and what to do.
func (p *Proxy) serveUpstream(w http.ResponseWriter, r *http.Request, what string) {
	if p.Upstream == nil {
		sdk.TextError(w, http.StatusNotFound, what+", and this server forwards nothing (--go-upstream off): list another proxy after it in GOPROXY")
		return
	}
	p.forwardOnce.Do(func() {
		base := p.Upstream
		p.forward = &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(base)
				// Lathe's credentials are for Lathe.
				pr.Out.Header.Del("Authorization")
				pr.Out.Header.Del("Cookie")
				pr.Out.URL.Path = strings.TrimSuffix(base.Path, "/") + "/" + strings.TrimPrefix(pr.In.URL.Path, Prefix)
				pr.Out.URL.RawPath = ""
			},
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				if r.Context().Err() != nil {
					return
				}
				p.Log.Warn("Go module proxy: the upstream proxy failed", "upstream", base.String(), "path", r.URL.Path, "err", err)
				sdk.TextError(w, http.StatusBadGateway, "the upstream module proxy "+base.String()+" did not answer: "+err.Error())
			},
		}
	})
	p.forward.ServeHTTP(w, r)
}

// serveSumDB forwards checksum database requests ("{name}/supported", "{name}/lookup/...",
// "{name}/tile/..."), so that the go command reaches the database through the only proxy
// it knows. Lookups of Lathe's modules are refused, not forwarded: a go command without
// GONOSUMDB would otherwise tell the database about them.
func (p *Proxy) serveSumDB(w http.ResponseWriter, r *http.Request, rest string) {
	if _, lookup, ok := strings.Cut(rest, "/lookup/"); ok {
		modPath, _, _ := strings.Cut(lookup, "@")
		if unescaped, err := module.UnescapePath(modPath); err == nil {
			modPath = unescaped
		}
		if p.Paths.Owns(modPath) {
			sdk.TextError(w, http.StatusNotFound, fmt.Sprintf("%s is a module of this registry, which no public checksum database knows: set GONOSUMDB=%s", modPath, p.Paths.Root()))
			return
		}
	}
	p.serveUpstream(w, r, "the checksum database is not proxied here")
}

type request struct {
	path string
	sdk  sdk.SDK
}

// splitRequest splits "{module}/@v/{file}" or "{module}/@latest".
func splitRequest(rest string) (modPath, file string, ok bool) {
	if m, ok := strings.CutSuffix(rest, "/@latest"); ok {
		return m, "@latest", m != ""
	}
	i := strings.Index(rest, "/@v/")
	if i <= 0 || strings.Contains(rest[i+len("/@v/"):], "/") {
		return "", "", false
	}
	return rest[:i], rest[i+1:], true
}

// serveGoGet answers go-get=1 with the mod-kind import meta tag for every module path.
func (p *Proxy) serveGoGet(w http.ResponseWriter) {
	root := p.Paths.Root()
	content := html.EscapeString(root + " mod " + p.PublicURL + strings.TrimSuffix(Prefix, "/"))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head>\n<meta name=\"go-import\" content=\"%s\">\n</head><body>\ngo get %s/...: GOPROXY=%s%s\n</body></html>\n",
		content, html.EscapeString(root), html.EscapeString(p.PublicURL), html.EscapeString(strings.TrimSuffix(Prefix, "/")))
}

type info struct {
	Version string
	Time    *time.Time `json:",omitempty"`
}

func buildInfo(b sdk.Build) info {
	t := b.Commit.CreateTime.UTC().Truncate(time.Second)
	return info{Version: Version(b), Time: &t}
}

// serveLatest answers @latest, or @v/list with the same version.
func (p *Proxy) serveLatest(ctx context.Context, w http.ResponseWriter, r *http.Request, req request, list bool) {
	b, err := p.SDKs.Resolve(ctx, req.sdk, sdk.CommitRef{}, sdk.Pin{})
	if err == nil && p.Paths.Path(b) != req.path {
		err = fmt.Errorf("%w: the latest version of %s is at %s", sdk.ErrNotFound, req.sdk, p.Paths.Path(b))
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", sdk.CacheControl(b.Module.Visibility, false))
	if list {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, Version(b))
		return
	}
	writeJSON(w, buildInfo(b))
}

// resolve finds the build a canonical version names.
func (p *Proxy) resolve(ctx context.Context, req request, v string) (sdk.Build, error) {
	vr, ok := parseVersion(req.sdk.Gen.Template, v)
	if !ok {
		return sdk.Build{}, fmt.Errorf("%w: %s is not a version of %s", sdk.ErrNotFound, v, req.path)
	}
	var (
		b   sdk.Build
		err error
	)
	if req.sdk.Gen.Template {
		b, err = p.SDKs.Resolve(ctx, req.sdk, sdk.CommitRef{Seq: vr.seq}, sdk.Pin{Template: int(vr.template)})
	} else {
		b, err = p.SDKs.Resolve(ctx, req.sdk, sdk.CommitRef{ID: vr.bsr.ShortCommit}, sdk.Pin{Version: vr.bsr.PluginVersion, Revision: vr.bsr.Revision})
		if err == nil && vr.bsr.Timestamp == "00000000000000" {
			// A commit that later reached the default label keeps its earlier version.
			b.OnDefaultLabel = false
		}
	}
	if err != nil {
		return sdk.Build{}, err
	}
	if p.Paths.Path(b) != req.path || Version(b) != v {
		return sdk.Build{}, fmt.Errorf("%w: %s is not a version of %s", sdk.ErrNotFound, v, req.path)
	}
	return b, nil
}

// serveInfo answers .info for canonical versions and for queries: a label name, or a
// commit id or its 12-character prefix.
func (p *Proxy) serveInfo(ctx context.Context, w http.ResponseWriter, r *http.Request, req request, escVersion string) {
	v, err := module.UnescapeVersion(escVersion)
	if err != nil {
		sdk.TextError(w, http.StatusNotFound, "invalid version")
		return
	}
	if _, ok := parseVersion(req.sdk.Gen.Template, v); ok {
		b, err := p.resolve(ctx, req, v)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", sdk.CacheControl(b.Module.Visibility, true))
		writeJSON(w, buildInfo(b))
		return
	}
	if semver.Canonical(v) == v {
		// The go command takes a canonical version for that exact version and refuses an
		// answer naming another, so a label spelled like one (v1.2.2) cannot be a query.
		p.fail(w, r, p.semverLabel(ctx, req, v))
		return
	}
	b, err := p.query(ctx, req, v)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", sdk.CacheControl(b.Module.Visibility, false))
	writeJSON(w, buildInfo(b))
}

// labelQueryPrefix spells a label as a query when its name alone would not do:
// @label-v1.2.2 is the label v1.2.2.
const labelQueryPrefix = "label-"

// semverLabel explains why a canonical version that is not one of the SDK's is not found,
// and how to ask for the label of that name if there is one. Lathe does not serve such a
// label as a version of that name: a label moves, and a version never changes; and a
// frozen copy would sort among the SDK's real versions by its name alone (a label v1.7.0
// above grpc/go's v1.6.2-... versions), so that minimal version selection could pick it
// over newer ones.
func (p *Proxy) semverLabel(ctx context.Context, req request, v string) error {
	notVersion := fmt.Errorf("%w: %s is not a version of %s; its versions look like %s, and @latest, a label or a commit id resolve to them",
		sdk.ErrNotFound, v, req.path, versionShape(req.sdk))
	// A module or plugin that does not exist says so.
	if _, err := p.SDKs.Resolve(ctx, req.sdk, sdk.CommitRef{}, sdk.Pin{}); err != nil {
		return err
	}
	if registry.CheckLabelName(v) != nil {
		return notVersion
	}
	b, err := p.SDKs.Resolve(ctx, req.sdk, sdk.CommitRef{Label: v}, sdk.Pin{})
	if errors.Is(err, sdk.ErrNotFound) {
		return notVersion
	} else if err != nil {
		return err
	}
	return fmt.Errorf("%w: %s is a label of %s/%s, not a version of %s: the go command takes a name that looks like a version for that exact version. "+
		"Ask for the label as %s@%s%s, or for its commit as %s@%s",
		sdk.ErrNotFound, v, req.sdk.Owner, req.sdk.Module, req.path, req.path, labelQueryPrefix, v, req.path, b.ShortCommit())
}

// versionShape describes an SDK's versions.
func versionShape(s sdk.SDK) string {
	if s.Gen.Template {
		return "v1.{template version}.{commit number}"
	}
	return "{plugin version}-{commit time}-{commit id[:12]}.{plugin revision}"
}

func (p *Proxy) query(ctx context.Context, req request, q string) (sdk.Build, error) {
	var (
		b   sdk.Build
		err error
	)
	if len(q) >= 12 && len(q) <= 32 && strings.Trim(q, "0123456789abcdef") == "" {
		b, err = p.SDKs.Resolve(ctx, req.sdk, sdk.CommitRef{ID: q}, sdk.Pin{})
	}
	if b.Commit.ID == "" {
		if registry.CheckLabelName(q) != nil {
			return sdk.Build{}, fmt.Errorf("%w: %q is not a version, label or commit of %s", sdk.ErrNotFound, q, req.path)
		}
		b, err = p.SDKs.Resolve(ctx, req.sdk, sdk.CommitRef{Label: q}, sdk.Pin{})
		if name, ok := strings.CutPrefix(q, labelQueryPrefix); ok && errors.Is(err, sdk.ErrNotFound) && registry.CheckLabelName(name) == nil {
			b, err = p.SDKs.Resolve(ctx, req.sdk, sdk.CommitRef{Label: name}, sdk.Pin{})
		}
	}
	if err != nil {
		return sdk.Build{}, err
	}
	if p.Paths.Path(b) != req.path {
		return sdk.Build{}, fmt.Errorf("%w: the latest version of %s is at %s", sdk.ErrNotFound, req.sdk, p.Paths.Path(b))
	}
	return b, nil
}

// serveArtifact answers .mod and .zip with the bytes stored when the version was first
// asked for, generating them then.
func (p *Proxy) serveArtifact(ctx context.Context, w http.ResponseWriter, r *http.Request, req request, escVersion string, mod bool) {
	v, err := module.UnescapeVersion(escVersion)
	if err != nil {
		sdk.TextError(w, http.StatusNotFound, "invalid version")
		return
	}
	a, err := p.SDKs.Published(ctx, Ecosystem, req.path, v)
	if errors.Is(err, store.ErrNotFound) {
		var b sdk.Build
		if b, err = p.resolve(ctx, req, v); err == nil {
			start := time.Now()
			if a, err = p.SDKs.Publish(ctx, &p.Packager, b); err == nil {
				p.Log.Info("published Go module", "module", req.path, "version", v, "duration", time.Since(start))
			}
		}
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if mod {
		cacheControl, err := p.SDKs.ArtifactCacheControl(ctx, a)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", cacheControl)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(a.Meta)
		return
	}
	if err := p.SDKs.ServeArchive(ctx, w, r, a, "application/zip"); err != nil {
		p.fail(w, r, err)
	}
}

func (p *Proxy) fail(w http.ResponseWriter, r *http.Request, err error) { p.edge().Fail(w, r, err) }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
