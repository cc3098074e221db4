package npmsdk

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/semver"

	"github.com/lathe-registry/lathe/internal/auth"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/sdk"
	"github.com/lathe-registry/lathe/internal/store"
)

// Prefix is the URL path of the registry: @lathe:registry={public URL}/gen/npm/v1/.
const Prefix = "/gen/npm/v1/"

// Media types of packuments.
const (
	abbreviatedType = "application/vnd.npm.install-v1+json"
	fullType        = "application/json"
)

// Registry serves the read-only npm registry protocol at [Prefix]: packuments (full, and
// abbreviated for clients that accept application/vnd.npm.install-v1+json), tarballs,
// version documents and dist-tags.
//
// Anonymous clients see the packages of public modules; a token (Authorization: Bearer,
// what npm sends for //host/gen/npm/v1/:_authToken=... in .npmrc) shows what its user may
// read. Packages of modules the caller may not see do not exist (404).
//
// Dist-tags: latest is the newest version of the module's default label, label-{name}
// the version of each label's head commit (labels with '/' in their names have none),
// commit-{id} the version of each commit; all name published versions only, generated
// with the newest plugin version generated for that commit.
type Registry struct {
	Packager *Packager
	Jobs     *sdk.Jobs
	Log      *slog.Logger

	cache docCache
}

// edge answers errors as npm registries do: npm shows the error field of a JSON body.
func (reg *Registry) edge() *sdk.Edge {
	return &sdk.Edge{Ecosystem: Ecosystem, Log: reg.Log, JSON: true, TokenHelp: " and set //HOST/gen/npm/v1/:_authToken in .npmrc"}
}

func (reg *Registry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	edge := reg.edge()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		edge.Error(w, http.StatusMethodNotAllowed, "the npm registry of generated SDKs is read-only")
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, Prefix)
	ctx, err := auth.FromRequest(sdk.WithClient(r.Context(), r), reg.Packager.SDKs.Registry().Users(), r)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	switch rest {
	case "-/ping": // npm ping
		writeJSON(w, http.StatusOK, map[string]string{})
		return
	case "-/whoami": // npm whoami: whose token .npmrc holds
		if u, ok := auth.User(ctx); ok {
			writeJSON(w, http.StatusOK, map[string]string{"username": u.Name})
		} else {
			edge.Error(w, http.StatusUnauthorized, "no token: set //HOST/gen/npm/v1/:_authToken in .npmrc")
		}
		return
	}
	rq, ok := parseRequest(rest)
	switch {
	case !ok:
		edge.Error(w, http.StatusNotFound, "not a request of this registry")
	case rq.tarball != "":
		reg.serveTarball(ctx, w, r, rq.name, rq.tarball)
	case rq.kind == docFull && acceptsAbbreviated(r.Header.Get("Accept")):
		reg.serveDoc(ctx, w, r, rq.name, docAbbreviated, "")
	default:
		reg.serveDoc(ctx, w, r, rq.name, rq.kind, rq.sub)
	}
}

// request is what a request path under [Prefix] asks for: a document of a package, or
// one of its tarballs (the file name after /-/).
type request struct {
	name    string
	kind    docKind
	sub     string // the version or dist-tag of a docVersion
	tarball string
}

// parseRequest splits the path of a request under [Prefix]: -/package/{name}/dist-tags,
// {name}/-/{file}, {name} or {name}/{version or tag}, where a scoped name holds one '/'.
func parseRequest(rest string) (request, bool) {
	if after, ok := strings.CutPrefix(rest, "-/package/"); ok {
		name, ok := strings.CutSuffix(after, "/dist-tags")
		return request{name: name, kind: docTags}, ok
	}
	if name, file, ok := strings.Cut(rest, "/-/"); ok {
		return request{name: name, tarball: file}, file != ""
	}
	rq := request{name: rest, kind: docFull}
	// @scope/name or @scope/name/version-or-tag.
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		if j := strings.IndexByte(rest[i+1:], '/'); j >= 0 {
			rq.name, rq.sub, rq.kind = rest[:i+1+j], rest[i+1+j+1:], docVersion
			if rq.sub == "" || strings.Contains(rq.sub, "/") {
				return request{}, false
			}
		}
	}
	return rq, true
}

// tarballVersion returns the version a tarball's file name spells:
// {name without scope}-{version}.tgz.
func tarballVersion(name, file string) (string, bool) {
	version, ok := strings.CutPrefix(file, baseName(name)+"-")
	if ok {
		version, ok = strings.CutSuffix(version, ".tgz")
	}
	return version, ok && version != ""
}

// acceptsAbbreviated reports whether an Accept header asks for abbreviated metadata
// (npm's "corgi" documents).
func acceptsAbbreviated(accept string) bool { return accepts(accept, abbreviatedType) }

func acceptsGzip(acceptEncoding string) bool { return accepts(acceptEncoding, "gzip") }

// accepts reports whether an Accept or Accept-Encoding header lists value with a
// non-zero quality.
func accepts(header, value string) bool {
	for _, part := range strings.Split(header, ",") {
		v, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(v), value) {
			continue
		}
		for _, p := range strings.Split(params, ";") {
			if k, q, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.TrimSpace(k) == "q" {
				if f, err := strconv.ParseFloat(strings.TrimSpace(q), 64); err == nil && f == 0 {
					return false
				}
			}
		}
		return true
	}
	return false
}

// packageSDK finds the SDK a package name spells and its latest build. Owner names hold
// no '_', but module, plugin owner and plugin names may hold '_' and '.', so every split
// of "{module}.{plugin owner}_{plugin}" is tried.
func (reg *Registry) packageSDK(ctx context.Context, name string) (sdk.Build, error) {
	base, ok := strings.CutPrefix(name, reg.Packager.scope()+"/")
	if !ok || len(name) > maxNameLen || base != strings.ToLower(base) {
		return sdk.Build{}, fmt.Errorf("%w: no package %s", sdk.ErrNotFound, name)
	}
	return reg.Packager.SDKs.ResolveName(ctx, "package "+name, sdk.NameSplits(base, [3]byte{'_', '.', '_'}), func(b sdk.Build) error {
		_, err := npmConfig(b.Plugin())
		return err
	})
}

type docKind int

const (
	docFull docKind = iota
	docAbbreviated
	docVersion
	docTags
)

func (reg *Registry) serveDoc(ctx context.Context, w http.ResponseWriter, r *http.Request, name string, kind docKind, sub string) {
	b, err := reg.packageSDK(ctx, name)
	if err != nil {
		reg.fail(w, r, err)
		return
	}
	pkg, err := reg.published(ctx, name, b)
	if err != nil {
		reg.fail(w, r, err)
		return
	}
	tags, err := reg.distTags(ctx, b, pkg)
	if err != nil {
		reg.fail(w, r, err)
		return
	}
	var d *renderedDoc
	switch kind {
	case docFull, docAbbreviated:
		d = pkg.render(kind == docAbbreviated, tags)
	case docTags:
		d = newDoc(tags.json)
	case docVersion:
		v := sub
		if tv, ok := tags.byName[sub]; ok {
			v = tv
		}
		pkg.mu.Lock()
		pv := pkg.byVersion[v]
		pkg.mu.Unlock()
		if pv == nil {
			reg.fail(w, r, fmt.Errorf("%w: package %s has no published version or dist-tag %q", sdk.ErrNotFound, name, sub))
			return
		}
		d = newDoc(pv.full)
	}
	contentType := fullType
	if kind == docAbbreviated {
		contentType = abbreviatedType
	}
	h := w.Header()
	h.Set("Vary", "Accept, Accept-Encoding")
	h.Set("Cache-Control", sdk.CacheControl(b.Module.Visibility, false))
	if sdk.NotModified(w, r, d.etag) {
		return
	}
	h.Set("Content-Type", contentType)
	body := d.body
	if acceptsGzip(r.Header.Get("Accept-Encoding")) && len(body) > minGzipBytes {
		body = d.gzipped()
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// minGzipBytes is the size from which documents are sent compressed to clients that
// accept it.
const minGzipBytes = 1 << 10

// published returns the package's published versions, generating the first one if
// there is none: the first request records interest in the SDK and waits for the head
// of the default label.
func (reg *Registry) published(ctx context.Context, name string, b sdk.Build) (*pkgVersions, error) {
	pkg := reg.cache.get(name, b.Module.ID)
	err := reg.Jobs.List(ctx, Ecosystem, b, "package "+name, func(ctx context.Context) (int, error) {
		return pkg.refresh(ctx, reg.Packager.SDKs.Registry(), reg.Packager.RegistryURL, reg.Log)
	})
	if err != nil {
		return nil, err
	}
	return pkg, nil
}

// tagSet is a package's dist-tags.
type tagSet struct {
	byName map[string]string
	json   []byte
	// key identifies what they were computed from: the versions and the labels.
	key string
}

// distTags computes the dist-tags of a package from its module's labels.
func (reg *Registry) distTags(ctx context.Context, b sdk.Build, pkg *pkgVersions) (tagSet, error) {
	labels, err := reg.Packager.SDKs.Registry().ListLabels(ctx, b.Module.ID, store.UnarchivedOnly, "", false, store.Page{})
	if err != nil {
		return tagSet{}, err
	}
	pkg.mu.Lock()
	defer pkg.mu.Unlock()
	var kb strings.Builder
	kb.WriteString(strconv.Itoa(len(pkg.versions)) + "\x00" + b.Module.DefaultLabelName)
	for _, l := range labels {
		kb.WriteString("\x00" + l.Name + "\x00" + l.CommitID)
	}
	key := kb.String()
	if pkg.tags.key == key {
		return pkg.tags, nil
	}
	tags := map[string]string{}
	for c, v := range pkg.byCommit {
		tags["commit-"+c] = v.version
	}
	for _, l := range labels {
		if v := pkg.byCommit[l.CommitID]; v != nil {
			if !strings.Contains(l.Name, "/") {
				tags["label-"+l.Name] = v.version
			}
			if l.Name == b.Module.DefaultLabelName {
				tags["latest"] = v.version
			}
		}
	}
	if v := pkg.newestDefault(); tags["latest"] == "" && v != nil {
		tags["latest"] = v.version
	}
	data, err := json.Marshal(tags)
	if err != nil {
		return tagSet{}, err
	}
	pkg.tags = tagSet{byName: tags, json: data, key: key}
	return pkg.tags, nil
}

func (reg *Registry) serveTarball(ctx context.Context, w http.ResponseWriter, r *http.Request, name, file string) {
	version, ok := tarballVersion(name, file)
	if !ok || !strings.HasPrefix(name, reg.Packager.scope()+"/") {
		reg.edge().Error(w, http.StatusNotFound, "not a tarball of this registry")
		return
	}
	a, err := reg.Packager.SDKs.Published(ctx, Ecosystem, name, version)
	if err != nil {
		reg.fail(w, r, err)
		return
	}
	if err := reg.Packager.SDKs.ServeArchive(ctx, w, r, a, "application/octet-stream"); err != nil {
		reg.fail(w, r, err)
	}
}

func (reg *Registry) fail(w http.ResponseWriter, r *http.Request, err error) {
	reg.edge().Fail(w, r, err)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Packuments are assembled from per-version JSON rendered once: published versions never
// change, and a package's list only grows, so a request reads only versions published
// since the last one, and the document is rebuilt only when versions or dist-tags moved.
const maxCachedPackages = 1024

type docCache struct {
	mu   sync.Mutex
	pkgs map[string]*pkgVersions
}

// get returns the versions of a package generated from a module. (A module deleted and
// created again under its name is another module, whose package starts afresh.)
func (c *docCache) get(name, moduleID string) *pkgVersions {
	key := name + "\x00" + moduleID
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.pkgs[key]; p != nil {
		return p
	}
	if c.pkgs == nil || len(c.pkgs) >= maxCachedPackages {
		c.pkgs = map[string]*pkgVersions{}
	}
	p := &pkgVersions{name: name, moduleID: moduleID, byVersion: map[string]*pkgVersion{}, byCommit: map[string]*pkgVersion{}}
	c.pkgs[key] = p
	return p
}

// pkgVersions are the published versions of one package.
type pkgVersions struct {
	name, moduleID string

	mu        sync.Mutex
	versions  []*pkgVersion // every artifact of the name, in publication order
	byVersion map[string]*pkgVersion
	// byCommit is the preferred version of each commit (see better).
	byCommit map[string]*pkgVersion
	docs     [2]*renderedDoc // full, abbreviated
	tags     tagSet          // the last dist-tags computed
}

// pkgVersion is one published version with its rendered JSON.
type pkgVersion struct {
	version string
	parts   sdk.BSRParts
	commit  string
	seq     int
	created time.Time
	// full and abbreviated are its objects in the full and abbreviated packuments.
	full, abbreviated []byte
}

// refresh reads the versions published since the last refresh and returns the number of
// versions.
func (p *pkgVersions) refresh(ctx context.Context, reg *registry.Registry, registryURL string, log *slog.Logger) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	arts, err := reg.ListArtifacts(ctx, Ecosystem, p.name, store.Page{Offset: len(p.versions)})
	if err != nil {
		return 0, err
	}
	for _, a := range arts {
		if a.ModuleID != p.moduleID {
			// Keep the position, so that offsets stay right, but list nothing.
			p.versions = append(p.versions, &pkgVersion{version: a.Version, seq: len(p.versions)})
			continue
		}
		v, err := renderVersion(a, registryURL)
		if err != nil {
			// Keep the position, so that offsets stay right, but list nothing.
			log.Error("npm registry: unreadable version metadata", "package", a.Name, "version", a.Version, "err", err)
			v = &pkgVersion{version: a.Version}
		}
		v.seq = len(p.versions)
		p.versions = append(p.versions, v)
		if v.full == nil {
			continue
		}
		p.byVersion[v.version] = v
		if cur := p.byCommit[v.commit]; cur == nil || better(v, cur) {
			p.byCommit[v.commit] = v
		}
	}
	return len(p.byVersion), nil
}

// better reports whether a is preferred to b as the version of one commit: a newer
// plugin version or revision, then a timestamp over the zero one, then the later.
func better(a, b *pkgVersion) bool {
	if c := semver.Compare("v"+a.parts.PluginVersion, "v"+b.parts.PluginVersion); c != 0 {
		return c > 0
	}
	if a.parts.Revision != b.parts.Revision {
		return a.parts.Revision > b.parts.Revision
	}
	if az, bz := isZero(a.parts.Timestamp), isZero(b.parts.Timestamp); az != bz {
		return bz
	}
	return a.seq > b.seq
}

func isZero(ts string) bool { return strings.Trim(ts, "0") == "" }

// newestDefault returns the newest version of a commit of the default label (by
// timestamp, then as better), or the last published if there is none. Callers hold mu.
func (p *pkgVersions) newestDefault() *pkgVersion {
	var best *pkgVersion
	for _, v := range p.versions {
		if v.full == nil || isZero(v.parts.Timestamp) {
			continue
		}
		if best == nil || v.parts.Timestamp > best.parts.Timestamp || v.parts.Timestamp == best.parts.Timestamp && better(v, best) {
			best = v
		}
	}
	if best != nil {
		return best
	}
	for i := len(p.versions) - 1; i >= 0; i-- {
		if p.versions[i].full != nil {
			return p.versions[i]
		}
	}
	return nil
}

// abbreviatedFields are the version fields of abbreviated packuments
// (npm/registry docs/responses/package-metadata.md).
var abbreviatedFields = map[string]bool{ //nolint:gochecknoglobals // read-only table
	"name": true, "version": true, "dependencies": true, "optionalDependencies": true, "devDependencies": true,
	"bundleDependencies": true, "peerDependencies": true, "peerDependenciesMeta": true, "bin": true,
	"directories": true, "dist": true, "engines": true, "_hasShrinkwrap": true, "hasInstallScript": true,
	"os": true, "cpu": true, "deprecated": true,
}

// abbreviatedVersion is a version object of abbreviated packuments, from a VersionDoc.
type abbreviatedVersion struct {
	Name         string            `json:"name"`
	Version      string            `json:"version"`
	Dependencies map[string]string `json:"dependencies,omitempty"`
	Dist         Dist              `json:"dist"`
}

// renderVersion renders an artifact's version objects from its Meta, with the tarball
// URL under the registry's current URL.
func renderVersion(a store.Artifact, registryURL string) (*pkgVersion, error) {
	parts, ok := sdk.ParseBSRVersion(a.Version)
	if !ok {
		return nil, fmt.Errorf("version %s is not BSR style", a.Version)
	}
	tarball := TarballURL(registryURL, a.Name, a.Version)
	v := &pkgVersion{version: a.Version, parts: parts, created: a.CreateTime}
	// Meta is a VersionDoc as Pack writes it; anything else goes the slow, general way.
	var doc VersionDoc
	dec := json.NewDecoder(bytes.NewReader(a.Meta))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return renderVersionDoc(v, a.Meta, tarball)
	}
	if doc.Lathe.Commit == "" {
		return nil, errors.New("no commit in the lathe field")
	}
	v.commit = doc.Lathe.Commit
	var err error
	if doc.Dist.Tarball == tarball {
		v.full = a.Meta
	} else {
		doc.Dist.Tarball = tarball
		if v.full, err = json.Marshal(doc); err != nil {
			return nil, err
		}
	}
	v.abbreviated, err = json.Marshal(abbreviatedVersion{Name: doc.Name, Version: doc.Version, Dependencies: doc.Dependencies, Dist: doc.Dist})
	return v, err
}

// renderVersionDoc renders version objects from any JSON object with a dist, keeping
// its fields.
func renderVersionDoc(v *pkgVersion, meta []byte, tarball string) (*pkgVersion, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(meta, &doc); err != nil {
		return nil, err
	}
	var d Dist
	if err := json.Unmarshal(doc["dist"], &d); err != nil {
		return nil, fmt.Errorf("dist: %w", err)
	}
	var prov Provenance
	if err := json.Unmarshal(doc["lathe"], &prov); err != nil || prov.Commit == "" {
		return nil, fmt.Errorf("no commit in the lathe field: %v", err)
	}
	v.commit = prov.Commit
	d.Tarball = tarball
	distJSON, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	doc["dist"] = distJSON
	if v.full, err = json.Marshal(doc); err != nil {
		return nil, err
	}
	for k := range doc {
		if !abbreviatedFields[k] {
			delete(doc, k)
		}
	}
	v.abbreviated, err = json.Marshal(doc)
	return v, err
}

// renderedDoc is a response body with its ETag and, once asked for, its gzip encoding.
type renderedDoc struct {
	key  string
	body []byte
	etag string

	gzOnce sync.Once
	gz     []byte
}

func newDoc(body []byte) *renderedDoc {
	sum := sha256.Sum256(body)
	return &renderedDoc{body: body, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
}

func (d *renderedDoc) gzipped() []byte {
	d.gzOnce.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
		_, _ = zw.Write(d.body)
		_ = zw.Close()
		d.gz = buf.Bytes()
	})
	return d.gz
}

const timeLayout = "2006-01-02T15:04:05.000Z"

// render returns the full or abbreviated packument, rebuilding it only if versions or
// dist-tags changed since the last time.
func (p *pkgVersions) render(abbreviated bool, tags tagSet) *renderedDoc {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := 0
	if abbreviated {
		i = 1
	}
	key := tags.key
	if d := p.docs[i]; d != nil && d.key == key {
		return d
	}
	var listed []*pkgVersion
	size := 256 + len(tags.json)
	for _, v := range p.versions {
		if v.full != nil {
			listed = append(listed, v)
			size += len(v.version)*2 + len(v.full) + 40
		}
	}
	if len(listed) == 0 {
		return newDoc([]byte(`{"name":` + strconv.Quote(p.name) + `,"dist-tags":{},"versions":{}}`))
	}
	var buf bytes.Buffer
	buf.Grow(size)
	name := strconv.Quote(p.name) // package names are ASCII without escapes
	modified := listed[len(listed)-1].created
	for _, v := range listed {
		if v.created.After(modified) {
			modified = v.created
		}
	}
	mod := `"` + modified.UTC().Format(timeLayout) + `"`
	if abbreviated {
		buf.WriteString(`{"name":` + name + `,"modified":` + mod + `,"dist-tags":`)
		buf.Write(tags.json)
	} else {
		buf.WriteString(`{"_id":` + name + `,"name":` + name + `,"dist-tags":`)
		buf.Write(tags.json)
		buf.WriteString(`,"time":{"created":"` + listed[0].created.UTC().Format(timeLayout) + `","modified":` + mod)
		for _, v := range listed {
			buf.WriteString(`,"` + v.version + `":"` + v.created.UTC().Format(timeLayout) + `"`)
		}
		buf.WriteString(`},"modified":` + mod)
	}
	buf.WriteString(`,"versions":{`)
	for j, v := range listed {
		if j > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`"` + v.version + `":`)
		if abbreviated {
			buf.Write(v.abbreviated)
		} else {
			buf.Write(v.full)
		}
	}
	buf.WriteString("}}")
	d := newDoc(buf.Bytes())
	d.key = key
	p.docs[i] = d
	return d
}
