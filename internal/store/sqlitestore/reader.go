package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/lathe-registry/lathe/internal/store"
)

// queryer is what reads need of a *sql.DB or *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// preparedDB runs each query as a statement prepared once per connection of the pool
// rather than on every call: parsing and planning take most of the time of a simple
// read. The queries are built from this package's constants, so the cache is bounded.
// Only the read pool has one: the write pool's one connection is busy with the
// transaction whenever there is a statement to prepare.
type preparedDB struct {
	db    *sql.DB
	stmts sync.Map // query string → *sql.Stmt
}

func (p *preparedDB) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := p.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := p.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := p.stmts.LoadOrStore(query, st); loaded {
		_ = st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

func (p *preparedDB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (p *preparedDB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := p.stmt(ctx, query)
	if err != nil {
		// A *sql.Row cannot be made to hold an error; the query fails the same way.
		return p.db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// Close closes the prepared statements.
func (p *preparedDB) Close() error {
	var errs []error
	p.stmts.Range(func(_, st any) bool {
		errs = append(errs, st.(*sql.Stmt).Close())
		return true
	})
	return errors.Join(errs...)
}

// reader implements store.Reader on the read pool or inside a write transaction.
type reader struct {
	q queryer
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// list runs a query and scans each row.
func list[T any](ctx context.Context, q queryer, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// order is the SQL of an ascending or descending order.
func order(desc bool) string {
	if desc {
		return "DESC"
	}
	return "ASC"
}

// limitOffset are the LIMIT and OFFSET arguments of a page; LIMIT -1 is no limit.
func limitOffset(p store.Page) (int, int) {
	if p.Limit <= 0 {
		return -1, p.Offset
	}
	return p.Limit, p.Offset
}

// Owners.

const ownerCols = "id, name, kind, description, url, create_time, update_time"

func scanOwner(s scanner) (store.Owner, error) {
	var o store.Owner
	var created, updated int64
	err := s.Scan(&o.ID, &o.Name, &o.Kind, &o.Description, &o.URL, &created, &updated)
	o.CreateTime, o.UpdateTime = fromMicros(created), fromMicros(updated)
	return o, err
}

func (r reader) OwnerByID(ctx context.Context, id string) (store.Owner, error) {
	o, err := scanOwner(r.q.QueryRowContext(ctx, "SELECT "+ownerCols+" FROM owners WHERE id = ?", id))
	if err != nil {
		return store.Owner{}, wrap(err, "owner %q", id)
	}
	return o, nil
}

func (r reader) OwnerByName(ctx context.Context, name string) (store.Owner, error) {
	// The column's NOCASE collation makes this comparison case-insensitive.
	o, err := scanOwner(r.q.QueryRowContext(ctx, "SELECT "+ownerCols+" FROM owners WHERE name = ?", name))
	if err != nil {
		return store.Owner{}, wrap(err, "owner %q", name)
	}
	return o, nil
}

func (r reader) UserByTokenHash(ctx context.Context, hash []byte) (store.Owner, error) {
	o, err := scanOwner(r.q.QueryRowContext(ctx,
		"SELECT "+ownerCols+" FROM owners WHERE id = (SELECT user_id FROM tokens WHERE hash = ?)", hash))
	if err != nil {
		return store.Owner{}, wrap(err, "token")
	}
	return o, nil
}

// Modules.

const moduleCols = "id, owner_id, name, visibility, state, description, url, default_label_name, create_time, update_time"

func scanModule(s scanner) (store.Module, error) {
	var m store.Module
	var created, updated int64
	err := s.Scan(&m.ID, &m.OwnerID, &m.Name, &m.Visibility, &m.State, &m.Description, &m.URL,
		&m.DefaultLabelName, &created, &updated)
	m.CreateTime, m.UpdateTime = fromMicros(created), fromMicros(updated)
	return m, err
}

func (r reader) ModuleByID(ctx context.Context, id string) (store.Module, error) {
	m, err := scanModule(r.q.QueryRowContext(ctx, "SELECT "+moduleCols+" FROM modules WHERE id = ?", id))
	if err != nil {
		return store.Module{}, wrap(err, "module %q", id)
	}
	return m, nil
}

func (r reader) ModuleByName(ctx context.Context, ownerID, name string) (store.Module, error) {
	m, err := scanModule(r.q.QueryRowContext(ctx,
		"SELECT "+moduleCols+" FROM modules WHERE owner_id = ? AND name = ?", ownerID, name))
	if err != nil {
		return store.Module{}, wrap(err, "module %q of owner %q", name, ownerID)
	}
	return m, nil
}

func listModulesQuery(allOwners, desc bool) string {
	where := "WHERE owner_id = ?"
	if allOwners {
		where = ""
	}
	return "SELECT " + moduleCols + " FROM modules " + where +
		" ORDER BY create_time " + order(desc) + ", rowid " + order(desc) + " LIMIT ? OFFSET ?"
}

func (r reader) ListModules(ctx context.Context, ownerID string, desc bool, page store.Page) ([]store.Module, error) {
	limit, offset := limitOffset(page)
	args := []any{limit, offset}
	if ownerID != "" {
		args = append([]any{ownerID}, args...)
	}
	ms, err := list(ctx, r.q, scanModule, listModulesQuery(ownerID == "", desc), args...)
	if err != nil {
		return nil, wrap(err, "list modules of owner %q", ownerID)
	}
	return ms, nil
}

// Commits.

// commitSelect selects commits c, the owner from their module and the direct
// dependencies as a JSON array, so that one query reads whole commits. The array is
// sorted after decoding: sorting in SQL (an aggregate's ORDER BY) needs a temporary
// B-tree per commit.
const commitSelect = `SELECT c.id, c.module_id, m.owner_id, c.seq, c.create_time, c.digest, c.manifest,
	c.source_control_url, c.created_by_user_id,
	(SELECT json_group_array(dep_commit_id) FROM commit_deps WHERE commit_id = c.id)
FROM commits c JOIN modules m ON m.id = c.module_id `

func scanCommit(s scanner) (store.Commit, error) {
	var c store.Commit
	var created int64
	var deps string
	if err := s.Scan(&c.ID, &c.ModuleID, &c.OwnerID, &c.Seq, &created, &c.Digest, &c.Manifest,
		&c.SourceControlURL, &c.CreatedByUserID, &deps); err != nil {
		return store.Commit{}, err
	}
	c.CreateTime = fromMicros(created)
	if deps != "[]" {
		if err := json.Unmarshal([]byte(deps), &c.DirectDeps); err != nil {
			return store.Commit{}, fmt.Errorf("dependencies of commit %q: %w", c.ID, err)
		}
		slices.Sort(c.DirectDeps)
	}
	return c, nil
}

func (r reader) CommitByID(ctx context.Context, id string) (store.Commit, error) {
	c, err := scanCommit(r.q.QueryRowContext(ctx, commitSelect+"WHERE c.id = ?", id))
	if err != nil {
		return store.Commit{}, wrap(err, "commit %q", id)
	}
	return c, nil
}

// commitsByIDPrefixQuery finds ids in [prefix, prefix+"\xff"): the strings that start
// with prefix, since no UTF-8 byte is 0xff. Unlike LIKE, the range takes no wildcards
// and searches the primary key; the unary + keeps SQLite from preferring the index on
// module_id, which would go through all commits of the module.
const commitsByIDPrefixQuery = commitSelect + "WHERE c.id >= ? AND c.id < ? AND +c.module_id = ? ORDER BY c.id"

func (r reader) CommitsByIDPrefix(ctx context.Context, moduleID, prefix string) ([]store.Commit, error) {
	cs, err := list(ctx, r.q, scanCommit, commitsByIDPrefixQuery, prefix, prefix+"\xff", moduleID)
	if err != nil {
		return nil, wrap(err, "commits of module %q with id prefix %q", moduleID, prefix)
	}
	return cs, nil
}

const latestCommitByDigestQuery = commitSelect + "WHERE c.module_id = ? AND c.digest = ? ORDER BY c.seq DESC LIMIT 1"

func (r reader) LatestCommitByDigest(ctx context.Context, moduleID string, digest []byte) (store.Commit, error) {
	c, err := scanCommit(r.q.QueryRowContext(ctx, latestCommitByDigestQuery, moduleID, digest))
	if err != nil {
		return store.Commit{}, wrap(err, "commit of module %q with digest %x", moduleID, digest)
	}
	return c, nil
}

func listCommitsQuery(desc bool) string {
	return commitSelect + "WHERE c.module_id = ? ORDER BY c.seq " + order(desc) + " LIMIT ? OFFSET ?"
}

func (r reader) ListCommits(ctx context.Context, moduleID string, desc bool, page store.Page) ([]store.Commit, error) {
	limit, offset := limitOffset(page)
	cs, err := list(ctx, r.q, scanCommit, listCommitsQuery(desc), moduleID, limit, offset)
	if err != nil {
		return nil, wrap(err, "list commits of module %q", moduleID)
	}
	return cs, nil
}

// dependentModulesQuery joins through the index on dep_commit_id: from the module's
// commits to the commits depending on them.
const dependentModulesQuery = `SELECT ` + moduleCols + ` FROM modules WHERE id IN (
	SELECT c.module_id FROM commits dc
	JOIN commit_deps d ON d.dep_commit_id = dc.id
	JOIN commits c ON c.id = d.commit_id
	WHERE dc.module_id = ?1) AND id != ?1 ORDER BY id`

func (r reader) DependentModules(ctx context.Context, moduleID string) ([]store.Module, error) {
	ms, err := list(ctx, r.q, scanModule, dependentModulesQuery, moduleID)
	if err != nil {
		return nil, wrap(err, "modules depending on module %q", moduleID)
	}
	return ms, nil
}

const dependencyModulesQuery = `SELECT ` + moduleCols + ` FROM modules WHERE id IN (
	SELECT dc.module_id FROM commits c
	JOIN commit_deps d ON d.commit_id = c.id
	JOIN commits dc ON dc.id = d.dep_commit_id
	WHERE c.module_id = ?1) AND id != ?1 ORDER BY id`

func (r reader) DependencyModules(ctx context.Context, moduleID string) ([]store.Module, error) {
	ms, err := list(ctx, r.q, scanModule, dependencyModulesQuery, moduleID)
	if err != nil {
		return nil, wrap(err, "modules module %q depends on", moduleID)
	}
	return ms, nil
}

// Labels.

const labelCols = "id, module_id, name, commit_id, updated_by_user_id, create_time, update_time, archive_time"

func scanLabel(s scanner) (store.Label, error) {
	var l store.Label
	var created, updated int64
	var archived sql.NullInt64
	err := s.Scan(&l.ID, &l.ModuleID, &l.Name, &l.CommitID, &l.UpdatedByUserID, &created, &updated, &archived)
	l.CreateTime, l.UpdateTime = fromMicros(created), fromMicros(updated)
	if archived.Valid {
		l.ArchiveTime = fromMicros(archived.Int64)
	}
	return l, err
}

func (r reader) LabelByID(ctx context.Context, id string) (store.Label, error) {
	l, err := scanLabel(r.q.QueryRowContext(ctx, "SELECT "+labelCols+" FROM labels WHERE id = ?", id))
	if err != nil {
		return store.Label{}, wrap(err, "label %q", id)
	}
	return l, nil
}

func (r reader) LabelByName(ctx context.Context, moduleID, name string) (store.Label, error) {
	l, err := scanLabel(r.q.QueryRowContext(ctx,
		"SELECT "+labelCols+" FROM labels WHERE module_id = ? AND name = ?", moduleID, name))
	if err != nil {
		return store.Label{}, wrap(err, "label %q of module %q", name, moduleID)
	}
	return l, nil
}

func listLabelsQuery(filter store.ArchiveFilter, nameQuery bool, desc bool) (string, error) {
	q := "SELECT " + labelCols + " FROM labels WHERE module_id = ?"
	switch filter {
	case store.UnarchivedOnly:
		q += " AND archive_time IS NULL"
	case store.ArchivedOnly:
		q += " AND archive_time IS NOT NULL"
	case store.AllLabels:
	default:
		return "", fmt.Errorf("unknown archive filter %d", filter)
	}
	if nameQuery {
		// instr, not LIKE: the query is a plain substring, without wildcards.
		q += " AND instr(name, ?) > 0"
	}
	return q + " ORDER BY update_time " + order(desc) + ", rowid " + order(desc) + " LIMIT ? OFFSET ?", nil
}

func (r reader) ListLabels(ctx context.Context, moduleID string, filter store.ArchiveFilter, nameQuery string, desc bool, page store.Page) ([]store.Label, error) {
	q, err := listLabelsQuery(filter, nameQuery != "", desc)
	if err != nil {
		return nil, err
	}
	args := []any{moduleID}
	if nameQuery != "" {
		args = append(args, nameQuery)
	}
	limit, offset := limitOffset(page)
	ls, err := list(ctx, r.q, scanLabel, q, append(args, limit, offset)...)
	if err != nil {
		return nil, wrap(err, "list labels of module %q", moduleID)
	}
	return ls, nil
}

func labelHistoryQuery(asc bool) string {
	return "SELECT commit_id, updated_by_user_id, time FROM label_moves WHERE label_id = ? ORDER BY id " +
		order(!asc) + " LIMIT ? OFFSET ?"
}

func scanLabelMove(s scanner) (store.LabelMove, error) {
	var m store.LabelMove
	var t int64
	err := s.Scan(&m.CommitID, &m.UpdatedByUserID, &t)
	m.Time = fromMicros(t)
	return m, err
}

func (r reader) LabelHistory(ctx context.Context, labelID string, asc bool, page store.Page) ([]store.LabelMove, error) {
	limit, offset := limitOffset(page)
	ms, err := list(ctx, r.q, scanLabelMove, labelHistoryQuery(asc), labelID, limit, offset)
	if err != nil {
		return nil, wrap(err, "history of label %q", labelID)
	}
	return ms, nil
}

// blobOut is how BLOB columns that may be empty are read: an empty BLOB scans into an
// empty, non-nil slice, and nil is what a caller that set nothing wrote.
func blobOut(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// blobIn is how BLOB columns that may be empty are written: the driver binds a nil
// slice as NULL, which the NOT NULL columns reject.
func blobIn(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// Plugins.

const pluginCols = "id, owner_id, name, description, create_time, update_time"

func scanPlugin(s scanner) (store.Plugin, error) {
	var p store.Plugin
	var created, updated int64
	err := s.Scan(&p.ID, &p.OwnerID, &p.Name, &p.Description, &created, &updated)
	p.CreateTime, p.UpdateTime = fromMicros(created), fromMicros(updated)
	return p, err
}

func (r reader) PluginByName(ctx context.Context, ownerID, name string) (store.Plugin, error) {
	p, err := scanPlugin(r.q.QueryRowContext(ctx,
		"SELECT "+pluginCols+" FROM plugins WHERE owner_id = ? AND name = ?", ownerID, name))
	if err != nil {
		return store.Plugin{}, wrap(err, "plugin %q of owner %q", name, ownerID)
	}
	return p, nil
}

func (r reader) PluginByID(ctx context.Context, id string) (store.Plugin, error) {
	p, err := scanPlugin(r.q.QueryRowContext(ctx, "SELECT "+pluginCols+" FROM plugins WHERE id = ?", id))
	if err != nil {
		return store.Plugin{}, wrap(err, "plugin %q", id)
	}
	return p, nil
}

// listPluginsQuery orders by name, and plugins of different owners with the same name
// by creation (the rowid), which both indexes on name carry.
func listPluginsQuery(allOwners bool) string {
	where := "WHERE owner_id = ?"
	if allOwners {
		where = ""
	}
	return "SELECT " + pluginCols + " FROM plugins " + where + " ORDER BY name, rowid LIMIT ? OFFSET ?"
}

func (r reader) ListPlugins(ctx context.Context, ownerID string, page store.Page) ([]store.Plugin, error) {
	limit, offset := limitOffset(page)
	args := []any{limit, offset}
	if ownerID != "" {
		args = append([]any{ownerID}, args...)
	}
	ps, err := list(ctx, r.q, scanPlugin, listPluginsQuery(ownerID == ""), args...)
	if err != nil {
		return nil, wrap(err, "list plugins of owner %q", ownerID)
	}
	return ps, nil
}

// Plugin versions.

const pluginVersionCols = "id, plugin_id, version, revision, config, runtime, program, program_name, digest, deprecated, create_time"

func scanPluginVersion(s scanner) (store.PluginVersion, error) {
	var v store.PluginVersion
	var created int64
	err := s.Scan(&v.ID, &v.PluginID, &v.Version, &v.Revision, &v.Config, &v.Runtime, &v.Program,
		&v.ProgramName, &v.Digest, &v.Deprecated, &created)
	v.Config, v.Digest = blobOut(v.Config), blobOut(v.Digest)
	v.CreateTime = fromMicros(created)
	return v, err
}

const (
	pluginRevisionQuery = "SELECT " + pluginVersionCols +
		" FROM plugin_versions WHERE plugin_id = ? AND version = ? AND revision = ?"
	latestPluginRevisionQuery = "SELECT " + pluginVersionCols +
		" FROM plugin_versions WHERE plugin_id = ? AND version = ? ORDER BY revision DESC LIMIT 1"
	// latestPluginVersionQuery takes the plugin id twice. The revision = 1 term lets the
	// subquery use the partial index of first revisions.
	latestPluginVersionQuery = "SELECT " + pluginVersionCols + ` FROM plugin_versions
		WHERE plugin_id = ? AND version = (
			SELECT version FROM plugin_versions WHERE plugin_id = ? AND revision = 1
			ORDER BY create_time DESC, rowid DESC LIMIT 1)
		ORDER BY revision DESC LIMIT 1`
	listPluginVersionsQuery = "SELECT " + pluginVersionCols +
		" FROM plugin_versions WHERE plugin_id = ? ORDER BY create_time DESC, rowid DESC LIMIT ? OFFSET ?"
)

// PluginVersion ignores revision when version is "", as the contract reads: that is
// always the latest revision of the latest version.
func (r reader) PluginVersion(ctx context.Context, pluginID, version string, revision int) (store.PluginVersion, error) {
	var row *sql.Row
	switch {
	case version == "":
		row = r.q.QueryRowContext(ctx, latestPluginVersionQuery, pluginID, pluginID)
	case revision == 0:
		row = r.q.QueryRowContext(ctx, latestPluginRevisionQuery, pluginID, version)
	default:
		row = r.q.QueryRowContext(ctx, pluginRevisionQuery, pluginID, version, revision)
	}
	v, err := scanPluginVersion(row)
	if err != nil {
		return store.PluginVersion{}, wrap(err, "version %q revision %d of plugin %q", version, revision, pluginID)
	}
	return v, nil
}

func (r reader) ListPluginVersions(ctx context.Context, pluginID string, page store.Page) ([]store.PluginVersion, error) {
	limit, offset := limitOffset(page)
	vs, err := list(ctx, r.q, scanPluginVersion, listPluginVersionsQuery, pluginID, limit, offset)
	if err != nil {
		return nil, wrap(err, "list versions of plugin %q", pluginID)
	}
	return vs, nil
}

// Templates.

const templateCols = "id, owner_id, name, description, create_time, update_time"

func scanTemplate(s scanner) (store.Template, error) {
	var t store.Template
	var created, updated int64
	err := s.Scan(&t.ID, &t.OwnerID, &t.Name, &t.Description, &created, &updated)
	t.CreateTime, t.UpdateTime = fromMicros(created), fromMicros(updated)
	return t, err
}

func (r reader) TemplateByName(ctx context.Context, ownerID, name string) (store.Template, error) {
	t, err := scanTemplate(r.q.QueryRowContext(ctx,
		"SELECT "+templateCols+" FROM templates WHERE owner_id = ? AND name = ?", ownerID, name))
	if err != nil {
		return store.Template{}, wrap(err, "template %q of owner %q", name, ownerID)
	}
	return t, nil
}

const templateVersionCols = "template_id, version, spec, create_time"

func scanTemplateVersion(s scanner) (store.TemplateVersion, error) {
	var v store.TemplateVersion
	var created int64
	err := s.Scan(&v.TemplateID, &v.Version, &v.Spec, &created)
	v.Spec = blobOut(v.Spec)
	v.CreateTime = fromMicros(created)
	return v, err
}

const (
	templateVersionQuery = "SELECT " + templateVersionCols +
		" FROM template_versions WHERE template_id = ? AND version = ?"
	latestTemplateVersionQuery = "SELECT " + templateVersionCols +
		" FROM template_versions WHERE template_id = ? ORDER BY version DESC LIMIT 1"
	// Versions are numbered in creation order, so the newest is the highest.
	listTemplateVersionsQuery = "SELECT " + templateVersionCols +
		" FROM template_versions WHERE template_id = ? ORDER BY version DESC LIMIT ? OFFSET ?"
)

func (r reader) TemplateVersion(ctx context.Context, templateID string, version int) (store.TemplateVersion, error) {
	var row *sql.Row
	if version == 0 {
		row = r.q.QueryRowContext(ctx, latestTemplateVersionQuery, templateID)
	} else {
		row = r.q.QueryRowContext(ctx, templateVersionQuery, templateID, version)
	}
	v, err := scanTemplateVersion(row)
	if err != nil {
		return store.TemplateVersion{}, wrap(err, "version %d of template %q", version, templateID)
	}
	return v, nil
}

func (r reader) ListTemplateVersions(ctx context.Context, templateID string, page store.Page) ([]store.TemplateVersion, error) {
	limit, offset := limitOffset(page)
	vs, err := list(ctx, r.q, scanTemplateVersion, listTemplateVersionsQuery, templateID, limit, offset)
	if err != nil {
		return nil, wrap(err, "list versions of template %q", templateID)
	}
	return vs, nil
}

// Generation outputs.

func (r reader) GenerationOutput(ctx context.Context, key string) (string, error) {
	var blobKey string
	if err := r.q.QueryRowContext(ctx, "SELECT blob_key FROM generation_outputs WHERE key = ?", key).Scan(&blobKey); err != nil {
		return "", wrap(err, "generation output %q", key)
	}
	return blobKey, nil
}

func (r reader) LabelHadCommit(ctx context.Context, labelID, commitID string) (bool, error) {
	var n int
	err := r.q.QueryRowContext(ctx,
		"SELECT count(*) FROM (SELECT 1 FROM label_moves WHERE commit_id = ? AND label_id = ? LIMIT 1)",
		commitID, labelID).Scan(&n)
	if err != nil {
		return false, wrap(err, "history of label %q", labelID)
	}
	return n > 0, nil
}

// Artifacts.

const artifactCols = "ecosystem, name, version, module_id, blob_key, meta, create_time"

func scanArtifact(s scanner) (store.Artifact, error) {
	var a store.Artifact
	var created int64
	err := s.Scan(&a.Ecosystem, &a.Name, &a.Version, &a.ModuleID, &a.Blob, &a.Meta, &created)
	a.Meta = blobOut(a.Meta)
	a.CreateTime = fromMicros(created)
	return a, err
}

func (r reader) Artifact(ctx context.Context, ecosystem, name, version string) (store.Artifact, error) {
	a, err := scanArtifact(r.q.QueryRowContext(ctx,
		"SELECT "+artifactCols+" FROM artifacts WHERE ecosystem = ? AND name = ? AND version = ?",
		ecosystem, name, version))
	if err != nil {
		return store.Artifact{}, wrap(err, "%s package %s version %s", ecosystem, name, version)
	}
	return a, nil
}

func (r reader) ListArtifacts(ctx context.Context, ecosystem, name string, page store.Page) ([]store.Artifact, error) {
	limit, offset := limitOffset(page)
	as, err := list(ctx, r.q, scanArtifact,
		"SELECT "+artifactCols+" FROM artifacts WHERE ecosystem = ? AND name = ? ORDER BY seq LIMIT ? OFFSET ?",
		ecosystem, name, limit, offset)
	if err != nil {
		return nil, wrap(err, "list versions of %s package %s", ecosystem, name)
	}
	return as, nil
}

// Interests and jobs.

func (r reader) Interests(ctx context.Context, moduleID string) ([]store.Interest, error) {
	is, err := list(ctx, r.q, func(s scanner) (store.Interest, error) {
		var i store.Interest
		var created int64
		err := s.Scan(&i.ModuleID, &i.Ecosystem, &i.Generator, &created)
		i.CreateTime = fromMicros(created)
		return i, err
	}, "SELECT module_id, ecosystem, generator, create_time FROM interests WHERE module_id = ? ORDER BY create_time, ecosystem, generator", moduleID)
	if err != nil {
		return nil, wrap(err, "interests in module %q", moduleID)
	}
	return is, nil
}

const jobCols = "id, ecosystem, module_id, commit_id, generator, plugin_version, plugin_revision, template_version, state, error, create_time, update_time"

func scanJob(s scanner) (store.Job, error) {
	var j store.Job
	var created, updated int64
	err := s.Scan(&j.ID, &j.Ecosystem, &j.ModuleID, &j.CommitID, &j.Generator, &j.PluginVersion, &j.PluginRevision,
		&j.TemplateVersion, &j.State, &j.Error, &created, &updated)
	j.CreateTime, j.UpdateTime = fromMicros(created), fromMicros(updated)
	return j, err
}

func (r reader) Jobs(ctx context.Context, state store.JobState, page store.Page) ([]store.Job, error) {
	limit, offset := limitOffset(page)
	js, err := list(ctx, r.q, scanJob, "SELECT "+jobCols+" FROM jobs WHERE ? = 0 OR state = ? ORDER BY id LIMIT ? OFFSET ?",
		state, state, limit, offset)
	if err != nil {
		return nil, wrap(err, "list jobs")
	}
	return js, nil
}
