package pysdk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lathe-registry/lathe/internal/auth"
	"github.com/lathe-registry/lathe/internal/plugin/pluginconfig"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/sdk"
	"github.com/lathe-registry/lathe/internal/store"
)

// Prefix is the URL path of the Python packages; the index pip reads is SimplePrefix:
// pip install --index-url {public URL}/gen/python/simple/ PROJECT. Wheels and their
// metadata are served from each project's page directory.
const (
	Prefix       = "/gen/python/"
	SimplePrefix = Prefix + "simple/"
)

// API version of the simple repository API that pages declare.
const apiVersion = "1.1"

// Content types of index pages (PEP 691).
const (
	typeJSON     = "application/vnd.pypi.simple.v1+json"
	typeHTML     = "application/vnd.pypi.simple.v1+html"
	typeTextHTML = "text/html"
)

// Index serves the simple repository API (PEP 503 HTML and PEP 691 JSON, with PEP 658
// metadata files) under [Prefix]. Anonymous clients see public modules' projects; pip
// sends a token as the password of HTTP basic authentication (credentials in the index
// URL, or a netrc entry for the host), which shows the caller's private ones too.
// Projects of modules the caller may not see do not exist (404).
type Index struct {
	Packager *Packager
	Jobs     *sdk.Jobs
	Log      *slog.Logger

	pages sdk.Pages[projectPage]

	mu sync.Mutex
	// metas are the parsed metadata of published wheels, which never change.
	metas map[string]*Meta
}

// edge answers errors as pip reads them: plain text, which it prints.
func (ix *Index) edge() *sdk.Edge {
	return &sdk.Edge{Ecosystem: Ecosystem, Log: ix.Log, Challenge: `Basic realm="Lathe"`,
		TokenHelp: " and give it as the password, e.g. --index-url https://user:TOKEN@host/gen/python/simple/"}
}

// maxCachedMetas caps metas; the cache starts over when it is full.
const maxCachedMetas = 100000

func (ix *Index) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		ix.edge().Error(w, http.StatusMethodNotAllowed, "the Python package index is read-only")
		return
	}
	ctx, err := auth.FromRequest(sdk.WithClient(r.Context(), r), ix.Packager.SDKs.Registry().Users(), r)
	if err != nil {
		ix.fail(w, r, err)
		return
	}
	rest, _ := strings.CutPrefix(r.URL.Path, Prefix)
	if rest == "" || rest == "simple" {
		redirect(w, r, SimplePrefix)
		return
	}
	sub, ok := strings.CutPrefix(rest, "simple/")
	if !ok {
		ix.edge().Error(w, http.StatusNotFound, "not a page of this index; the index is "+SimplePrefix)
		return
	}
	if sub == "" {
		ix.serveRoot(ctx, w, r)
		return
	}
	project, file, slash := strings.Cut(sub, "/")
	n := Normalize(project)
	if !projectNameRE.MatchString(n) {
		ix.edge().Error(w, http.StatusNotFound, fmt.Sprintf("%q is not a project name of this index", project))
		return
	}
	if n != project || !slash {
		// PEP 503: names are normalized and project pages end in a slash.
		redirect(w, r, SimplePrefix+n+"/"+file)
		return
	}
	switch {
	case file == "":
		ix.serveProject(ctx, w, r, project)
	case strings.Contains(file, "/"):
		ix.edge().Error(w, http.StatusNotFound, "not a file of this index")
	case strings.HasSuffix(file, ".whl.metadata"):
		ix.serveMetadata(ctx, w, r, project, strings.TrimSuffix(file, ".metadata"))
	default:
		ix.serveWheel(ctx, w, r, project, file)
	}
}

// projectNameRE matches the normalized names of projects: letters, digits and single
// dashes, as the owner, module and plugin names they come from allow.
var projectNameRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

func redirect(w http.ResponseWriter, r *http.Request, to string) {
	if r.URL.RawQuery != "" {
		to += "?" + r.URL.RawQuery
	}
	http.Redirect(w, r, to, http.StatusMovedPermanently)
}

// findSDK finds the SDK whose project is name. Owner names hold '-' but never '_' or
// '.', module and plugin names may hold all three, so every split into four parts is
// tried, and names that are spelled with '-' exactly as the project name spells them are
// preferred to names that merely normalize to it. It does not check access.
func findSDK(ctx context.Context, s *sdk.Service, name string) (sdk.SDK, error) {
	notFound := fmt.Errorf("%w: no Python project %s", sdk.ErrNotFound, name)
	parts := strings.Split(name, "-")
	if len(parts) < 4 || Normalize(name) != name {
		return sdk.SDK{}, notFound
	}
	reg := s.Registry()
	owners := map[string]*store.Owner{}
	owner := func(name string) (*store.Owner, error) {
		if o, ok := owners[name]; ok {
			return o, nil
		}
		o, err := reg.Owner(ctx, "", name)
		if errors.Is(err, store.ErrNotFound) {
			owners[name] = nil
			return nil, nil //nolint:nilnil // nil is "no such owner", remembered like a found one
		}
		if err != nil {
			return nil, err
		}
		owners[name] = &o
		return &o, nil
	}
	join := func(p []string) string { return strings.Join(p, "-") }
	for i := 1; i+2 < len(parts); i++ {
		o, err := owner(join(parts[:i]))
		if err != nil {
			return sdk.SDK{}, err
		}
		if o == nil {
			continue
		}
		for j := i + 1; j+1 < len(parts); j++ {
			module, err := findModule(ctx, reg, o.Name, join(parts[i:j]))
			if err != nil {
				return sdk.SDK{}, err
			}
			if module == "" {
				continue
			}
			for k := j + 1; k < len(parts); k++ {
				po, err := owner(join(parts[j:k]))
				if err != nil {
					return sdk.SDK{}, err
				}
				if po == nil {
					continue
				}
				plugin, err := findPlugin(ctx, reg, po.Name, join(parts[k:]))
				if err != nil {
					return sdk.SDK{}, err
				}
				if plugin != "" {
					return sdk.SDK{Owner: o.Name, Module: module, Gen: sdk.Generator{Owner: po.Name, Name: plugin}}, nil
				}
			}
		}
	}
	return sdk.SDK{}, notFound
}

// listPage is the page size for scanning an owner's modules and plugins.
const listPage = 500

func findModule(ctx context.Context, reg *registry.Registry, owner, norm string) (string, error) {
	if m, _, err := reg.Module(ctx, registry.ModuleRef{Owner: owner, Name: norm}); err == nil {
		return m.Name, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	// Other names normalize to it if they hold separators, even only at the end (which
	// the project name's '-' after it absorbs).
	for off := 0; ; off += listPage {
		ms, scanned, err := reg.ListModules(ctx, owner, false, store.Page{Offset: off, Limit: listPage})
		if err != nil {
			return "", err
		}
		for _, m := range ms {
			if strings.Trim(Normalize(m.Name), "-") == norm {
				return m.Name, nil
			}
		}
		if scanned < listPage {
			return "", nil
		}
	}
}

func findPlugin(ctx context.Context, reg *registry.Registry, owner, norm string) (string, error) {
	for off := 0; ; off += listPage {
		ps, err := reg.Plugins(ctx, owner, store.Page{Offset: off, Limit: listPage})
		if err != nil {
			return "", err
		}
		for _, p := range ps {
			if p.Name == norm || strings.Trim(Normalize(p.Name), "-") == norm {
				return p.Name, nil
			}
		}
		if len(ps) < listPage {
			return "", nil
		}
	}
}

// projectBuild finds the SDK of a project and resolves its latest build.
func (ix *Index) projectBuild(ctx context.Context, name string) (sdk.Build, error) {
	s, err := findSDK(ctx, ix.Packager.SDKs, name)
	if err != nil {
		return sdk.Build{}, err
	}
	b, err := ix.Packager.SDKs.Resolve(ctx, s, sdk.CommitRef{}, sdk.Pin{})
	if err != nil {
		return sdk.Build{}, err
	}
	if _, err := pythonConfig(b.Plugin()); err != nil {
		return sdk.Build{}, err
	}
	return b, nil
}

func (ix *Index) serveProject(ctx context.Context, w http.ResponseWriter, r *http.Request, name string) {
	format, ok := negotiate(r)
	if !ok {
		ix.edge().Error(w, http.StatusNotAcceptable, "acceptable types: "+typeJSON+", "+typeHTML+", "+typeTextHTML)
		return
	}
	p, cacheControl, err := ix.pages.Get(ctx, ix.Packager.SDKs.Registry(), name, "Python project "+name, ix.Packager.SDKs.Publications(Ecosystem, name), func() (projectPage, string, error) {
		return ix.renderProject(ctx, name)
	})
	if err != nil {
		ix.fail(w, r, err)
		return
	}
	body := p.html
	if format == typeJSON {
		body = p.json
	}
	writePage(w, r, format, cacheControl, body)
}

// projectPage is a rendered project page, in both formats.
type projectPage struct {
	html, json []byte
}

// renderProject finds the project's SDK, records interest in it, publishes its first
// version if it has none (waiting for that), and renders its pages. It fails with
// ErrNotFound for projects that do not exist or that the caller may not see.
func (ix *Index) renderProject(ctx context.Context, name string) (projectPage, string, error) {
	b, err := ix.projectBuild(ctx, name)
	if err != nil {
		return projectPage{}, "", err
	}
	var arts []store.Artifact
	err = ix.Jobs.List(ctx, Ecosystem, b, "Python project "+name, func(ctx context.Context) (n int, err error) {
		arts, err = ix.Packager.SDKs.Registry().ListArtifacts(ctx, Ecosystem, name, store.Page{})
		return sdk.CountOf(arts, b.Module.ID), err
	})
	if err != nil {
		return projectPage{}, "", err
	}
	files := make([]fileEntry, 0, len(arts))
	for _, a := range arts {
		if a.ModuleID != b.Module.ID {
			continue // an earlier module of the same name
		}
		m, err := ParseMeta(a.Meta)
		if err != nil {
			return projectPage{}, "", err
		}
		files = append(files, fileEntry{meta: m, version: a.Version, uploaded: a.CreateTime})
	}
	j, err := projectJSON(name, files)
	if err != nil {
		return projectPage{}, "", err
	}
	return projectPage{html: projectHTML(name, files), json: j}, b.Module.ID, nil
}

// serveRoot lists the projects the caller can see: every module it can read, with every
// plugin whose latest version generates Python packages. Projects whose module has no
// commit yet are listed too, and have no page.
func (ix *Index) serveRoot(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	format, ok := negotiate(r)
	if !ok {
		ix.edge().Error(w, http.StatusNotAcceptable, "acceptable types: "+typeJSON+", "+typeHTML+", "+typeTextHTML)
		return
	}
	names, err := ix.projects(ctx)
	if err != nil {
		ix.fail(w, r, err)
		return
	}
	var body []byte
	if format == typeJSON {
		type project struct {
			Name string `json:"name"`
		}
		list := struct {
			Meta     map[string]string `json:"meta"`
			Projects []project         `json:"projects"`
		}{Meta: map[string]string{"api-version": apiVersion}, Projects: []project{}}
		for _, n := range names {
			list.Projects = append(list.Projects, project{n})
		}
		if body, err = marshal(list); err != nil {
			ix.fail(w, r, err)
			return
		}
	} else {
		var buf bytes.Buffer
		buf.WriteString(htmlHead("Simple index"))
		for _, n := range names {
			fmt.Fprintf(&buf, "    <a href=\"%s/\">%s</a><br>\n", html.EscapeString(n), html.EscapeString(n))
		}
		buf.WriteString(htmlFoot)
		body = buf.Bytes()
	}
	writePage(w, r, format, sdk.CacheControl(sdk.CallerVisibility(ctx), false), body)
}

func (ix *Index) projects(ctx context.Context) ([]string, error) {
	reg := ix.Packager.SDKs.Registry()
	type gen struct{ owner, name string }
	var gens []gen
	for off := 0; ; off += listPage {
		ps, err := reg.Plugins(ctx, "", store.Page{Offset: off, Limit: listPage})
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			o, err := reg.Owner(ctx, p.OwnerID, "")
			if err != nil {
				return nil, err
			}
			pv, err := reg.PluginVersion(ctx, o.Name, p.Name, "", 0)
			if errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				return nil, err
			}
			cfg, err := pluginconfig.Parse(pv.Config)
			if err != nil || cfg.Registry == nil || cfg.Registry.Python == nil {
				continue
			}
			gens = append(gens, gen{o.Name, p.Name})
		}
		if len(ps) < listPage {
			break
		}
	}
	if len(gens) == 0 {
		return []string{}, nil
	}
	owners := map[string]string{}
	var names []string
	for off := 0; ; off += listPage {
		ms, scanned, err := reg.ListModules(ctx, "", false, store.Page{Offset: off, Limit: listPage})
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			on, ok := owners[m.OwnerID]
			if !ok {
				o, err := reg.Owner(ctx, m.OwnerID, "")
				if err != nil {
					return nil, err
				}
				on, owners[m.OwnerID] = o.Name, o.Name
			}
			for _, g := range gens {
				n, _ := ProjectName(sdk.SDK{Owner: on, Module: m.Name, Gen: sdk.Generator{Owner: g.owner, Name: g.name}})
				names = append(names, n)
			}
		}
		if scanned < listPage {
			break
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// wheelVersion returns the version a project's wheel file name spells.
func wheelVersion(project, file string) (string, bool) {
	v, ok := strings.CutPrefix(file, DistName(project)+"-")
	if !ok {
		return "", false
	}
	v, ok = strings.CutSuffix(v, "-py3-none-any.whl")
	return v, ok && v != "" && !strings.Contains(v, "-")
}

// published returns the published wheel a file name names.
func (ix *Index) published(ctx context.Context, project, file string) (store.Artifact, *Meta, error) {
	notFound := fmt.Errorf("%w: no file %s in project %s", sdk.ErrNotFound, file, project)
	version, ok := wheelVersion(project, file)
	if !ok {
		return store.Artifact{}, nil, notFound
	}
	a, err := ix.Packager.SDKs.Published(ctx, Ecosystem, project, version)
	if err != nil {
		return store.Artifact{}, nil, err
	}
	key := project + "\x00" + version
	ix.mu.Lock()
	m := ix.metas[key]
	ix.mu.Unlock()
	if m == nil {
		if m, err = ParseMeta(a.Meta); err != nil {
			return store.Artifact{}, nil, err
		}
		ix.mu.Lock()
		if ix.metas == nil || len(ix.metas) >= maxCachedMetas {
			ix.metas = map[string]*Meta{}
		}
		ix.metas[key] = m
		ix.mu.Unlock()
	}
	if m.Filename != file {
		return store.Artifact{}, nil, notFound
	}
	return a, m, nil
}

func (ix *Index) serveWheel(ctx context.Context, w http.ResponseWriter, r *http.Request, project, file string) {
	a, _, err := ix.published(ctx, project, file)
	if err != nil {
		ix.fail(w, r, err)
		return
	}
	if err := ix.Packager.SDKs.ServeArchive(ctx, w, r, a, "application/octet-stream"); err != nil {
		ix.fail(w, r, err)
	}
}

// serveMetadata serves a wheel's METADATA (PEP 658).
func (ix *Index) serveMetadata(ctx context.Context, w http.ResponseWriter, r *http.Request, project, file string) {
	a, m, err := ix.published(ctx, project, file)
	if err != nil {
		ix.fail(w, r, err)
		return
	}
	cacheControl, err := ix.Packager.SDKs.ArtifactCacheControl(ctx, a)
	if err != nil {
		ix.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", cacheControl)
	w.Header().Set("Content-Length", strconv.Itoa(len(m.Metadata)))
	if r.Method != http.MethodHead {
		_, _ = w.Write(m.Metadata)
	}
}

func (ix *Index) fail(w http.ResponseWriter, r *http.Request, err error) { ix.edge().Fail(w, r, err) }

// writePage writes an index page with an ETag, revalidated on every use.
func writePage(w http.ResponseWriter, r *http.Request, format, cacheControl string, body []byte) {
	h := sha256.New()
	h.Write([]byte(format + "\x00"))
	h.Write(body)
	etag := `"` + hex.EncodeToString(h.Sum(nil)[:16]) + `"`
	w.Header().Set("Vary", "Accept, Authorization")
	w.Header().Set("Cache-Control", cacheControl)
	if sdk.NotModified(w, r, etag) {
		return
	}
	ct := format
	if format == typeTextHTML {
		ct = "text/html; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// negotiate picks the page format from ?format= or the Accept header (PEP 691): the
// acceptable type with the highest quality, ties going to text/html, then JSON, then the
// v1 HTML type. No header accepts anything.
func negotiate(r *http.Request) (string, bool) {
	if f := r.URL.Query().Get("format"); f != "" {
		// PEP 691 spells the parameter with a raw '+', which query decoding makes a space.
		t := canonicalType(strings.ReplaceAll(f, " ", "+"))
		return t, t != ""
	}
	accept := r.Header.Get("Accept")
	if strings.TrimSpace(accept) == "" {
		return typeTextHTML, true
	}
	type rng struct {
		typ, sub string
		q        float64
	}
	var ranges []rng
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(s, 64); err != nil || q < 0 || q > 1 {
				continue
			}
		}
		if c := canonicalType(mt); c != "" {
			mt = c
		}
		typ, sub, _ := strings.Cut(mt, "/")
		ranges = append(ranges, rng{typ, sub, q})
	}
	best, bestQ := "", 0.0
	for _, t := range []string{typeTextHTML, typeJSON, typeHTML} {
		typ, sub, _ := strings.Cut(t, "/")
		q, specificity := 0.0, -1
		for _, r := range ranges {
			s := -1
			switch {
			case r.typ == typ && r.sub == sub:
				s = 2
			case r.typ == typ && r.sub == "*":
				s = 1
			case r.typ == "*" && r.sub == "*":
				s = 0
			}
			if s > specificity {
				q, specificity = r.q, s
			}
		}
		if q > bestQ {
			best, bestQ = t, q
		}
	}
	return best, best != ""
}

// canonicalType maps the media types of PEP 691, including the "latest" aliases, to the
// formats this index writes.
func canonicalType(t string) string {
	switch strings.ToLower(strings.TrimSpace(t)) {
	case typeJSON, "application/vnd.pypi.simple.latest+json":
		return typeJSON
	case typeHTML, "application/vnd.pypi.simple.latest+html":
		return typeHTML
	case typeTextHTML:
		return typeTextHTML
	}
	return ""
}

// fileEntry is one wheel of a project page.
type fileEntry struct {
	meta     *Meta
	version  string
	uploaded time.Time
}

type jsonFile struct {
	Filename       string            `json:"filename"`
	URL            string            `json:"url"`
	Hashes         map[string]string `json:"hashes"`
	RequiresPython string            `json:"requires-python,omitempty"`
	// CoreMetadata is PEP 714's name for PEP 658's metadata hash. Its older name,
	// dist-info-metadata, is left out: pip 22.3 to 23.0 expect a string there and fail
	// on the hash object (the reason PEP 714 renamed it).
	CoreMetadata map[string]string `json:"core-metadata"`
	Size         int               `json:"size"`
	UploadTime   string            `json:"upload-time"`
	Yanked       bool              `json:"yanked"`
	Lathe        jsonLathe         `json:"_lathe"`
}

// jsonLathe is the index's private information about a file (PEP 691 reserves keys
// starting with '_' to the index): where the wheel comes from.
type jsonLathe struct {
	Module   string `json:"module"`
	Commit   string `json:"commit"`
	Plugin   string `json:"plugin"`
	Revision int    `json:"revision"`
}

type jsonProject struct {
	Meta     map[string]string `json:"meta"`
	Name     string            `json:"name"`
	Versions []string          `json:"versions"`
	Files    []jsonFile        `json:"files"`
}

// projectJSON writes a PEP 691 project page. File URLs are relative to the page.
func projectJSON(name string, files []fileEntry) ([]byte, error) {
	p := jsonProject{Meta: map[string]string{"api-version": apiVersion}, Name: name, Versions: []string{}, Files: []jsonFile{}}
	for _, f := range files {
		md := map[string]string{"sha256": f.meta.MetadataSHA256()}
		p.Versions = append(p.Versions, f.version)
		p.Files = append(p.Files, jsonFile{
			Filename: f.meta.Filename, URL: f.meta.Filename,
			Hashes:         map[string]string{"sha256": f.meta.SHA256},
			RequiresPython: f.meta.RequiresPython, CoreMetadata: md,
			Size: f.meta.Size, UploadTime: f.uploaded.UTC().Format("2006-01-02T15:04:05Z"),
			Lathe: jsonLathe{Module: f.meta.Module, Commit: f.meta.Commit, Plugin: f.meta.Plugin, Revision: f.meta.Revision},
		})
	}
	return marshal(p)
}

// marshal encodes JSON without escaping <, > and &, which requirement specifiers hold.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func htmlHead(title string) string {
	return "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"" + apiVersion + "\">\n" +
		"    <title>" + html.EscapeString(title) + "</title>\n  </head>\n  <body>\n    <h1>" + html.EscapeString(title) + "</h1>\n"
}

const htmlFoot = "  </body>\n</html>\n"

// projectHTML writes a PEP 503 project page with PEP 658 metadata attributes.
func projectHTML(name string, files []fileEntry) []byte {
	var buf bytes.Buffer
	buf.WriteString(htmlHead("Links for " + name))
	for _, f := range files {
		m := f.meta
		e := html.EscapeString
		fmt.Fprintf(&buf, "    <a href=\"%s#sha256=%s\"", e(m.Filename), m.SHA256)
		if m.RequiresPython != "" {
			fmt.Fprintf(&buf, " data-requires-python=\"%s\"", e(m.RequiresPython))
		}
		md := m.MetadataSHA256()
		fmt.Fprintf(&buf, " data-core-metadata=\"sha256=%s\" data-dist-info-metadata=\"sha256=%s\"", md, md)
		fmt.Fprintf(&buf, " data-lathe-commit=\"%s\">%s</a><br>\n", e(m.Commit), e(m.Filename))
	}
	buf.WriteString(htmlFoot)
	return buf.Bytes()
}
