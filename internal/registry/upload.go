package registry

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/lathe-registry/lathe/internal/blob"
	"github.com/lathe-registry/lathe/internal/module"
	"github.com/lathe-registry/lathe/internal/store"
)

// UploadContent is the content of one module in an upload.
type UploadContent struct {
	Module           ModuleRef
	Files            []module.File
	Labels           []string
	SourceControlURL string
}

// UploadStats splits an upload's server time by stage.
type UploadStats struct {
	Resolve, Compile, Hash, Store time.Duration
	NewCommits                    int
}

// member is one module of an upload's module set: either a pushed content or a
// dependency commit.
type member struct {
	name    string // owner/module, for messages
	module  store.Module
	owner   store.Owner
	content *UploadContent
	dep     *store.Commit
	// files holds a pushed content's files, or a dependency's files as they are loaded.
	files map[string][]byte
	// keys maps a dependency's paths to blob keys.
	keys map[string]string

	// Filled in for pushed contents.
	manifest   []byte
	fileKeys   map[string]string
	directDeps []*member
	// closure is the dependency closure of the commit, without the commit itself.
	closure []store.Commit
	commit  store.Commit
	isNew   bool
}

// Upload turns the contents into commits, as buf push does: every content's .proto files
// are compiled against the other contents and the dependency commits, the b5 digest is
// computed over the files and the dependency closure (pruned to what the imports reach),
// and labels move. A content identical to an existing commit of its module returns that
// commit. A content whose closure holds a module that not every reader of its own module
// may read is refused (see the package doc). Everything is validated before anything is
// written, and all commits and label moves are written in one transaction, so a failed
// upload stores nothing.
//
// The stages run in order: resolve the modules and dependency commits (validating the
// request), compile, digest, check the closures' visibility, then store the blobs and
// write the commits and labels.
func (r *Registry) Upload(ctx context.Context, contents []UploadContent, depCommitIDs []string) ([]store.Commit, UploadStats, error) {
	var stats UploadStats
	start := time.Now()
	u, err := caller(ctx)
	if err != nil {
		return nil, stats, err
	}
	if len(contents) == 0 {
		return nil, stats, invalidf("the upload has no module contents")
	}
	members, pushed, err := r.uploadMembers(ctx, contents, depCommitIDs)
	if err != nil {
		return nil, stats, err
	}
	byPath, err := indexPaths(members)
	if err != nil {
		return nil, stats, err
	}
	stats.Resolve = time.Since(start)

	start = time.Now()
	order, err := r.compileUpload(ctx, pushed, byPath)
	if err != nil {
		return nil, stats, err
	}
	stats.Compile = time.Since(start)

	start = time.Now()
	pending := make(map[string]store.Commit)
	for _, m := range order {
		if err := r.digest(ctx, m, pending); err != nil {
			return nil, stats, err
		}
	}
	stats.Hash = time.Since(start)
	// Checked before the blobs are written, so a refused upload stores nothing, and
	// again in the transaction, against visibility changes in between.
	if err := r.checkClosures(ctx, r.store, pushed); err != nil {
		return nil, stats, err
	}

	start = time.Now()
	if err := r.writeBlobs(ctx, pushed); err != nil {
		return nil, stats, err
	}
	if stats.NewCommits, err = r.writeCommits(ctx, order, u); err != nil {
		return nil, stats, err
	}
	stats.Store = time.Since(start)

	commits := make([]store.Commit, len(pushed))
	for i, m := range pushed {
		commits[i] = m.commit
	}
	for _, m := range order {
		for _, name := range m.labels() {
			r.labelMoved(ctx, m.module, name, m.commit)
		}
	}
	return commits, stats, nil
}

// labels returns the labels a pushed content moves: those it names, or its module's default.
func (m *member) labels() []string {
	if len(m.content.Labels) == 0 {
		return []string{m.module.DefaultLabelName}
	}
	return m.content.Labels
}

// uploadMembers checks the contents and loads the dependency commits.
func (r *Registry) uploadMembers(ctx context.Context, contents []UploadContent, depCommitIDs []string) (all, pushed []*member, err error) {
	byModule := make(map[string]*member)
	for i := range contents {
		content := &contents[i]
		m, owner, err := r.Module(ctx, content.Module)
		if err != nil {
			if isNotFound(err) {
				return nil, nil, errorf(ErrNotFound, "%v; create it first, for example with buf push --create", err)
			}
			return nil, nil, err
		}
		name := owner.Name + "/" + m.Name
		if err := authorize(ctx, write, m, owner.Name); err != nil {
			return nil, nil, err
		}
		if _, dup := byModule[m.ID]; dup {
			return nil, nil, invalidf("module %s appears twice in the upload", name)
		}
		if err := module.CheckFiles(content.Files, r.limits); err != nil {
			return nil, nil, fmt.Errorf("module %s: %w", name, err)
		}
		if err := checkSourceControlURL(content.SourceControlURL); err != nil {
			return nil, nil, err
		}
		content.Labels = slices.Compact(slices.Sorted(slices.Values(content.Labels)))
		for _, l := range content.Labels {
			if err := CheckLabelName(l); err != nil {
				return nil, nil, err
			}
		}
		mem := &member{name: name, module: m, owner: owner, content: content, files: make(map[string][]byte, len(content.Files))}
		for _, f := range content.Files {
			mem.files[f.Path] = f.Content
		}
		byModule[m.ID] = mem
		pushed = append(pushed, mem)
	}
	all = slices.Clone(pushed)
	for _, raw := range depCommitIDs {
		id := NormalizeID(raw)
		if id == "" {
			return nil, nil, invalidf("dependency commit id %q is not a valid commit id", raw)
		}
		c, err := r.CommitByID(ctx, id)
		if err != nil {
			if isNotFound(err) {
				return nil, nil, errorf(ErrNotFound, "dependency %v; run buf dep update to pin existing commits", err)
			}
			return nil, nil, err
		}
		if existing, ok := byModule[c.ModuleID]; ok {
			if existing.content != nil {
				continue // the pushed content replaces the pinned commit of the same module
			}
			if existing.dep.ID != c.ID {
				return nil, nil, invalidf("dependencies name two commits of module %s: %s and %s", existing.name, existing.dep.ID, c.ID)
			}
			continue
		}
		m, owner, err := r.Module(ctx, ModuleRef{ID: c.ModuleID})
		if err != nil {
			return nil, nil, err
		}
		entries, err := r.manifest(ctx, c)
		if err != nil {
			return nil, nil, err
		}
		mem := &member{name: owner.Name + "/" + m.Name, module: m, owner: owner, dep: &c, files: make(map[string][]byte), keys: make(map[string]string, len(entries))}
		for _, e := range entries {
			mem.keys[e.Path] = e.Key
		}
		byModule[m.ID] = mem
		all = append(all, mem)
	}
	return all, pushed, nil
}

func checkSourceControlURL(s string) error {
	if s == "" {
		return nil
	}
	if len(s) > 255 {
		return invalidf("source control URL is longer than 255 characters")
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return invalidf("source control URL %q is not an absolute URL", s)
	}
	return nil
}

// compileUpload compiles the pushed .proto files against the module set, records which
// members each content imports, and orders the contents so that every content comes after
// the contents it imports.
func (r *Registry) compileUpload(ctx context.Context, pushed []*member, byPath map[string]*member) ([]*member, error) {
	var mu sync.Mutex
	// readErr is the error of the first dependency file that could not be read. The compiler
	// only learns that the file is missing, which would blame the uploader's imports for the
	// server's failure, so it takes precedence over the compiler's error.
	var readErr error
	lookup := func(p string) ([]byte, bool) {
		m, ok := byPath[p]
		if !ok {
			return nil, false
		}
		mu.Lock()
		defer mu.Unlock()
		if content, ok := m.files[p]; ok {
			return content, true
		}
		content, err := blob.ReadAll(ctx, r.blobs, m.keys[p])
		if err != nil {
			if readErr == nil {
				readErr = fmt.Errorf("reading %s of dependency %s: %w", p, m.name, err)
			}
			return nil, false
		}
		m.files[p] = content
		return content, true
	}
	var targets []string
	for _, m := range pushed {
		for _, f := range m.content.Files {
			if module.IsProto(f.Path) {
				targets = append(targets, f.Path)
			}
		}
	}
	compiled, err := module.Compile(ctx, targets, lookup, r.parses, r.limits, false)
	mu.Lock()
	if readErr != nil {
		err = readErr
	}
	mu.Unlock()
	if err != nil {
		return nil, err
	}
	for _, f := range compiled {
		m := byPath[f.Path()]
		imports := f.Imports()
		for i := range imports.Len() {
			dep, ok := byPath[imports.Get(i).Path()]
			if ok && dep != m && !slices.Contains(m.directDeps, dep) {
				m.directDeps = append(m.directDeps, dep)
			}
		}
	}
	return topoSort(pushed)
}

// indexPaths maps every .proto path of the module set to the module providing it.
func indexPaths(members []*member) (map[string]*member, error) {
	byPath := make(map[string]*member)
	add := func(m *member, p string) error {
		if !module.IsProto(p) {
			return nil
		}
		if other, ok := byPath[p]; ok {
			return &module.InputError{Path: p, Msg: fmt.Sprintf("the file is in both %s and %s; a path may belong to one module only", other.name, m.name)}
		}
		byPath[p] = m
		return nil
	}
	for _, m := range members {
		if m.content != nil {
			for _, f := range m.content.Files {
				if err := add(m, f.Path); err != nil {
					return nil, err
				}
			}
		} else {
			for p := range m.keys {
				if err := add(m, p); err != nil {
					return nil, err
				}
			}
		}
	}
	return byPath, nil
}

// topoSort orders pushed contents so that every content comes after the contents it imports.
func topoSort(pushed []*member) ([]*member, error) {
	const (
		unvisited = iota
		visiting
		done
	)
	state := make(map[*member]int)
	var order []*member
	var visit func(m *member, path []string) error
	visit = func(m *member, path []string) error {
		switch state[m] {
		case done:
			return nil
		case visiting:
			return &module.InputError{Msg: fmt.Sprintf("modules import each other in a cycle: %s", joinCycle(append(path, m.name)))}
		}
		state[m] = visiting
		for _, d := range m.directDeps {
			if d.content != nil {
				if err := visit(d, append(path, m.name)); err != nil {
					return err
				}
			}
		}
		state[m] = done
		order = append(order, m)
		return nil
	}
	for _, m := range pushed {
		if err := visit(m, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

func joinCycle(names []string) string {
	s := ""
	for i, n := range names {
		if i > 0 {
			s += " -> "
		}
		s += n
	}
	return s
}

// digest computes the b5 digest of a pushed content and finds or prepares its commit.
// The contents it depends on must have been digested already.
func (r *Registry) digest(ctx context.Context, m *member, pending map[string]store.Commit) error {
	manifest, keys := module.Manifest(m.content.Files)
	m.manifest, m.fileKeys = manifest, keys
	var direct []store.Commit
	for _, d := range m.directDeps {
		if d.dep != nil {
			direct = append(direct, *d.dep)
		} else {
			direct = append(direct, d.commit)
		}
	}
	slices.SortFunc(direct, func(a, b store.Commit) int { return cmp.Compare(a.ID, b.ID) })
	g, err := r.walk(ctx, direct, pending)
	if err != nil {
		return err
	}
	closure := g.Commits
	m.closure = closure
	digests := make([][]byte, 0, len(closure))
	for _, c := range closure {
		digests = append(digests, c.Digest)
	}
	b5 := module.B5(manifest, digests)
	existing, err := r.store.LatestCommitByDigest(ctx, m.module.ID, b5)
	switch {
	case err == nil:
		m.commit = existing
		return nil
	case !isNotFound(err):
		return err
	}
	depIDs := make([]string, len(direct))
	for i, c := range direct {
		depIDs[i] = c.ID
	}
	u, _ := caller(ctx)
	m.isNew = true
	m.commit = store.Commit{
		ID:               NewID(),
		ModuleID:         m.module.ID,
		OwnerID:          m.module.OwnerID,
		CreateTime:       r.now().UTC(),
		Digest:           b5,
		Manifest:         module.ManifestKey(manifest),
		SourceControlURL: m.content.SourceControlURL,
		CreatedByUserID:  u.ID,
		DirectDeps:       depIDs,
	}
	pending[m.commit.ID] = m.commit
	return nil
}

// writeBlobs stores the files and manifests of new commits. Blobs are content-addressed,
// so writing them before the metadata transaction cannot leave a partial commit behind.
func (r *Registry) writeBlobs(ctx context.Context, pushed []*member) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, m := range pushed {
		if !m.isNew {
			continue
		}
		for _, f := range m.content.Files {
			g.Go(func() error {
				_, err := blob.PutBytes(ctx, r.blobs, f.Content)
				return err
			})
		}
		g.Go(func() error {
			_, err := blob.PutBytes(ctx, r.blobs, m.manifest)
			return err
		})
	}
	return g.Wait()
}

// writeCommits creates the new commits of the contents and moves their labels, all in one
// transaction, and returns how many commits it created.
func (r *Registry) writeCommits(ctx context.Context, order []*member, u store.Owner) (int, error) {
	created := 0
	err := r.store.Update(ctx, func(tx store.Tx) error {
		if err := r.checkClosures(ctx, tx, order); err != nil {
			return err
		}
		for _, m := range order {
			if m.isNew {
				c, err := tx.CreateCommit(ctx, m.commit)
				if err != nil {
					return err
				}
				m.commit = c
				created++
			}
			for _, name := range m.labels() {
				if _, err := tx.SetLabel(ctx, m.module.ID, name, m.commit.ID, u.ID); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return created, err
}
