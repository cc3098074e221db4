package sqlitestore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/lathe-registry/lathe/internal/store"
)

// tx implements store.Tx on a write transaction.
type tx struct {
	reader // in the transaction, so it sees its writes
	tx     *sql.Tx
	now    func() int64
}

func (t *tx) CreateOwner(ctx context.Context, o store.Owner) (store.Owner, error) {
	now := t.now()
	if _, err := t.tx.ExecContext(ctx,
		"INSERT INTO owners ("+ownerCols+") VALUES (?, ?, ?, ?, ?, ?, ?)",
		o.ID, o.Name, o.Kind, o.Description, o.URL, now, now); err != nil {
		return store.Owner{}, wrap(err, "create owner %q", o.Name)
	}
	o.CreateTime, o.UpdateTime = fromMicros(now), fromMicros(now)
	return o, nil
}

func (t *tx) CreateToken(ctx context.Context, userID string, hash []byte) error {
	var kind store.OwnerKind
	err := t.tx.QueryRowContext(ctx, "SELECT kind FROM owners WHERE id = ?", userID).Scan(&kind)
	if err == nil && kind != store.OwnerUser {
		// Organizations cannot sign in.
		err = sql.ErrNoRows
	}
	if err != nil {
		return wrap(err, "create token: user %q", userID)
	}
	if _, err := t.tx.ExecContext(ctx, "INSERT INTO tokens (hash, user_id) VALUES (?, ?)", hash, userID); err != nil {
		return wrap(err, "create token of user %q", userID)
	}
	return nil
}

func (t *tx) CreateModule(ctx context.Context, m store.Module) (store.Module, error) {
	if err := t.ownerExists(ctx, m.OwnerID); err != nil {
		return store.Module{}, wrap(err, "create module %q: owner %q", m.Name, m.OwnerID)
	}
	now := t.now()
	if _, err := t.tx.ExecContext(ctx,
		"INSERT INTO modules ("+moduleCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		m.ID, m.OwnerID, m.Name, m.Visibility, m.State, m.Description, m.URL, m.DefaultLabelName,
		now, now); err != nil {
		return store.Module{}, wrap(err, "create module %q of owner %q", m.Name, m.OwnerID)
	}
	m.CreateTime, m.UpdateTime = fromMicros(now), fromMicros(now)
	return m, nil
}

func (t *tx) UpdateModule(ctx context.Context, m store.Module) (store.Module, error) {
	updated, err := scanModule(t.tx.QueryRowContext(ctx,
		`UPDATE modules SET visibility = ?, state = ?, description = ?, url = ?, default_label_name = ?,
			update_time = ?
		WHERE id = ? RETURNING `+moduleCols,
		m.Visibility, m.State, m.Description, m.URL, m.DefaultLabelName, t.now(), m.ID))
	if err != nil {
		return store.Module{}, wrap(err, "update module %q", m.ID)
	}
	return updated, nil
}

func (t *tx) DeleteModule(ctx context.Context, id string) error {
	// The foreign keys cascade to the commits, their dependencies, the labels and their moves.
	res, err := t.tx.ExecContext(ctx, "DELETE FROM modules WHERE id = ?", id)
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == 0 {
			err = sql.ErrNoRows
		}
	}
	if err != nil {
		return wrap(err, "delete module %q", id)
	}
	return nil
}

// CreateCommit stores c with the module's next Seq. The commit's owner is its module's,
// whatever c.OwnerID says.
func (t *tx) CreateCommit(ctx context.Context, c store.Commit) (store.Commit, error) {
	// The write transaction began IMMEDIATE, holding the database's write lock, so no
	// other writer can take the same Seq before this one commits.
	err := t.tx.QueryRowContext(ctx,
		"SELECT owner_id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM commits WHERE module_id = ?) FROM modules WHERE id = ?",
		c.ModuleID, c.ModuleID).Scan(&c.OwnerID, &c.Seq)
	if err != nil {
		return store.Commit{}, wrap(err, "create commit %q: module %q", c.ID, c.ModuleID)
	}
	now := t.now()
	if _, err := t.tx.ExecContext(ctx,
		`INSERT INTO commits (id, module_id, seq, create_time, digest, manifest, source_control_url, created_by_user_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.ModuleID, c.Seq, now, c.Digest, c.Manifest, c.SourceControlURL, c.CreatedByUserID); err != nil {
		return store.Commit{}, wrap(err, "create commit %q", c.ID)
	}
	c.CreateTime = fromMicros(now)
	if len(c.DirectDeps) == 0 {
		c.DirectDeps = nil
		return c, nil
	}
	c.DirectDeps = slices.Compact(slices.Sorted(slices.Values(c.DirectDeps)))
	deps, err := json.Marshal(c.DirectDeps)
	if err != nil {
		return store.Commit{}, err
	}
	// One statement for all dependencies, passed as a JSON array.
	if _, err := t.tx.ExecContext(ctx,
		"INSERT INTO commit_deps (commit_id, dep_commit_id) SELECT ?, value FROM json_each(?)",
		c.ID, deps); err != nil {
		return store.Commit{}, wrap(err, "create dependencies of commit %q", c.ID)
	}
	return c, nil
}

func (t *tx) SetLabel(ctx context.Context, moduleID, name, commitID, userID string) (store.Label, error) {
	var commitModuleID string
	err := t.tx.QueryRowContext(ctx, "SELECT module_id FROM commits WHERE id = ?", commitID).Scan(&commitModuleID)
	if err == nil && commitModuleID != moduleID {
		// A label points at a commit of its own module.
		err = sql.ErrNoRows
	}
	if err != nil {
		return store.Label{}, wrap(err, "set label %q: commit %q of module %q", name, commitID, moduleID)
	}
	l, err := t.LabelByName(ctx, moduleID, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return t.createLabel(ctx, moduleID, name, commitID, userID)
	case err != nil:
		return store.Label{}, err
	case l.CommitID == commitID && !l.Archived():
		return l, nil
	}
	now := t.now()
	moved := l.CommitID != commitID
	l.CommitID, l.UpdatedByUserID, l.UpdateTime, l.ArchiveTime = commitID, userID, fromMicros(now), time.Time{}
	if _, err := t.tx.ExecContext(ctx,
		"UPDATE labels SET commit_id = ?, updated_by_user_id = ?, update_time = ?, archive_time = NULL WHERE id = ?",
		commitID, userID, now, l.ID); err != nil {
		return store.Label{}, wrap(err, "set label %q", l.ID)
	}
	if moved {
		if err := t.recordMove(ctx, l); err != nil {
			return store.Label{}, err
		}
	}
	return l, nil
}

func (t *tx) createLabel(ctx context.Context, moduleID, name, commitID, userID string) (store.Label, error) {
	// Labels are the one entity whose id the caller does not choose.
	id := uuid.New()
	now := t.now()
	l := store.Label{
		ID:              hex.EncodeToString(id[:]),
		ModuleID:        moduleID,
		Name:            name,
		CommitID:        commitID,
		UpdatedByUserID: userID,
		CreateTime:      fromMicros(now),
		UpdateTime:      fromMicros(now),
	}
	if _, err := t.tx.ExecContext(ctx,
		"INSERT INTO labels ("+labelCols+") VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
		l.ID, moduleID, name, commitID, userID, now, now); err != nil {
		return store.Label{}, wrap(err, "create label %q of module %q", name, moduleID)
	}
	if err := t.recordMove(ctx, l); err != nil {
		return store.Label{}, err
	}
	return l, nil
}

// recordMove adds the label's current commit to its history.
func (t *tx) recordMove(ctx context.Context, l store.Label) error {
	if _, err := t.tx.ExecContext(ctx,
		"INSERT INTO label_moves (label_id, commit_id, updated_by_user_id, time) VALUES (?, ?, ?, ?)",
		l.ID, l.CommitID, l.UpdatedByUserID, l.UpdateTime.UnixMicro()); err != nil {
		return wrap(err, "record move of label %q", l.ID)
	}
	return nil
}

func (t *tx) SetLabelArchived(ctx context.Context, labelID string, archived bool) (store.Label, error) {
	l, err := t.LabelByID(ctx, labelID)
	if err != nil {
		return store.Label{}, err
	}
	if l.Archived() == archived {
		return l, nil
	}
	now := t.now()
	archiveTime := sql.NullInt64{Int64: now, Valid: archived}
	updated, err := scanLabel(t.tx.QueryRowContext(ctx,
		"UPDATE labels SET archive_time = ?, update_time = ? WHERE id = ? RETURNING "+labelCols,
		archiveTime, now, labelID))
	if err != nil {
		return store.Label{}, wrap(err, "archive label %q", labelID)
	}
	return updated, nil
}

// ownerExists is checked before inserting what belongs to an owner, for a not-found error
// rather than a foreign key violation.
func (t *tx) ownerExists(ctx context.Context, ownerID string) error {
	return t.tx.QueryRowContext(ctx, "SELECT 1 FROM owners WHERE id = ?", ownerID).Scan(new(int))
}

func (t *tx) CreatePlugin(ctx context.Context, p store.Plugin) (store.Plugin, error) {
	if err := t.ownerExists(ctx, p.OwnerID); err != nil {
		return store.Plugin{}, wrap(err, "create plugin %q: owner %q", p.Name, p.OwnerID)
	}
	now := t.now()
	if _, err := t.tx.ExecContext(ctx,
		"INSERT INTO plugins ("+pluginCols+") VALUES (?, ?, ?, ?, ?, ?)",
		p.ID, p.OwnerID, p.Name, p.Description, now, now); err != nil {
		return store.Plugin{}, wrap(err, "create plugin %q of owner %q", p.Name, p.OwnerID)
	}
	p.CreateTime, p.UpdateTime = fromMicros(now), fromMicros(now)
	return p, nil
}

// CreatePluginVersion stores v as the next revision of its version. Deprecation belongs
// to the version: a new revision of an existing version takes the version's current
// state, whatever v.Deprecated says, and only a version's first revision takes
// v.Deprecated.
func (t *tx) CreatePluginVersion(ctx context.Context, v store.PluginVersion) (store.PluginVersion, error) {
	if v.Version == "" {
		// "" stands for the latest version in lookups, so it could never be found.
		return store.PluginVersion{}, fmt.Errorf("create version of plugin %q: empty version", v.PluginID)
	}
	if err := t.tx.QueryRowContext(ctx, "SELECT 1 FROM plugins WHERE id = ?", v.PluginID).Scan(new(int)); err != nil {
		return store.PluginVersion{}, wrap(err, "create version %q: plugin %q", v.Version, v.PluginID)
	}
	// The write transaction holds the database's write lock (see CreateCommit), so the
	// latest revision read here stays the latest until this one commits.
	latest, err := t.PluginVersion(ctx, v.PluginID, v.Version, 0)
	switch {
	case errors.Is(err, store.ErrNotFound):
		v.Revision = 1
	case err != nil:
		return store.PluginVersion{}, err
	case bytes.Equal(latest.Digest, v.Digest):
		return latest, nil
	default:
		v.Revision = latest.Revision + 1
		v.Deprecated = latest.Deprecated
	}
	now := t.now()
	if _, err := t.tx.ExecContext(ctx,
		"INSERT INTO plugin_versions ("+pluginVersionCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		v.ID, v.PluginID, v.Version, v.Revision, blobIn(v.Config), v.Runtime, v.Program, v.ProgramName, blobIn(v.Digest),
		v.Deprecated, now); err != nil {
		return store.PluginVersion{}, wrap(err, "create version %q of plugin %q", v.Version, v.PluginID)
	}
	v.Config, v.Digest = blobOut(v.Config), blobOut(v.Digest)
	v.CreateTime = fromMicros(now)
	return v, nil
}

func (t *tx) SetPluginVersionDeprecated(ctx context.Context, pluginID, version string, deprecated bool) error {
	res, err := t.tx.ExecContext(ctx,
		"UPDATE plugin_versions SET deprecated = ? WHERE plugin_id = ? AND version = ?",
		deprecated, pluginID, version)
	if err == nil {
		// SQLite counts the rows matched, also those that already had the value.
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == 0 {
			err = sql.ErrNoRows
		}
	}
	if err != nil {
		return wrap(err, "deprecate version %q of plugin %q", version, pluginID)
	}
	return nil
}

func (t *tx) CreateTemplate(ctx context.Context, tm store.Template) (store.Template, error) {
	if err := t.ownerExists(ctx, tm.OwnerID); err != nil {
		return store.Template{}, wrap(err, "create template %q: owner %q", tm.Name, tm.OwnerID)
	}
	now := t.now()
	if _, err := t.tx.ExecContext(ctx,
		"INSERT INTO templates ("+templateCols+") VALUES (?, ?, ?, ?, ?, ?)",
		tm.ID, tm.OwnerID, tm.Name, tm.Description, now, now); err != nil {
		return store.Template{}, wrap(err, "create template %q of owner %q", tm.Name, tm.OwnerID)
	}
	tm.CreateTime, tm.UpdateTime = fromMicros(now), fromMicros(now)
	return tm, nil
}

// nextTemplateVersionQuery finds the template, by its id (the second argument), and its
// next version.
const nextTemplateVersionQuery = "SELECT (SELECT COALESCE(MAX(version), 0) + 1 FROM template_versions WHERE template_id = ?) FROM templates WHERE id = ?"

func (t *tx) CreateTemplateVersion(ctx context.Context, v store.TemplateVersion) (store.TemplateVersion, error) {
	// Race-free for the same reason as CreateCommit's Seq.
	err := t.tx.QueryRowContext(ctx, nextTemplateVersionQuery, v.TemplateID, v.TemplateID).Scan(&v.Version)
	if err != nil {
		return store.TemplateVersion{}, wrap(err, "create version: template %q", v.TemplateID)
	}
	now := t.now()
	if _, err := t.tx.ExecContext(ctx,
		"INSERT INTO template_versions ("+templateVersionCols+") VALUES (?, ?, ?, ?)",
		v.TemplateID, v.Version, blobIn(v.Spec), now); err != nil {
		return store.TemplateVersion{}, wrap(err, "create version %d of template %q", v.Version, v.TemplateID)
	}
	v.Spec = blobOut(v.Spec)
	v.CreateTime = fromMicros(now)
	return v, nil
}

func (t *tx) PutGenerationOutput(ctx context.Context, key, blobKey string) (string, error) {
	// DO NOTHING keeps the first value, and the read below returns whichever is stored.
	if _, err := t.tx.ExecContext(ctx,
		"INSERT INTO generation_outputs (key, blob_key, create_time) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING",
		key, blobKey, t.now()); err != nil {
		return "", wrap(err, "put generation output %q", key)
	}
	return t.GenerationOutput(ctx, key)
}

func (t *tx) PutArtifact(ctx context.Context, a store.Artifact) (store.Artifact, error) {
	// DO NOTHING keeps the first record, and the read below returns whichever is stored.
	if _, err := t.tx.ExecContext(ctx,
		"INSERT INTO artifacts ("+artifactCols+") VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
		a.Ecosystem, a.Name, a.Version, a.ModuleID, a.Blob, blobIn(a.Meta), t.now()); err != nil {
		return store.Artifact{}, wrap(err, "put %s package %s version %s", a.Ecosystem, a.Name, a.Version)
	}
	return t.Artifact(ctx, a.Ecosystem, a.Name, a.Version)
}

func (t *tx) DeleteGenerationOutputs(ctx context.Context) (int64, error) {
	res, err := t.tx.ExecContext(ctx, "DELETE FROM generation_outputs")
	if err != nil {
		return 0, wrap(err, "delete generation outputs")
	}
	return res.RowsAffected()
}

func (t *tx) AddInterest(ctx context.Context, i store.Interest) (bool, error) {
	res, err := t.tx.ExecContext(ctx,
		"INSERT INTO interests (module_id, ecosystem, generator, create_time) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
		i.ModuleID, i.Ecosystem, i.Generator, t.now())
	if err != nil {
		return false, wrap(err, "add interest in module %q", i.ModuleID)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

func (t *tx) EnqueueJob(ctx context.Context, j store.Job) (store.Job, error) {
	now := t.now()
	// A failed job asked for again is retried; a pending one stays as it is.
	_, err := t.tx.ExecContext(ctx, `INSERT INTO jobs (ecosystem, module_id, commit_id, generator, plugin_version, plugin_revision,
		template_version, state, error, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?)
		ON CONFLICT DO UPDATE SET state = excluded.state, error = '', update_time = excluded.update_time WHERE state = ?`,
		j.Ecosystem, j.ModuleID, j.CommitID, j.Generator, j.PluginVersion, j.PluginRevision, j.TemplateVersion,
		store.JobPending, now, now, store.JobFailed)
	if err != nil {
		return store.Job{}, wrap(err, "enqueue job")
	}
	stored, err := scanJob(t.tx.QueryRowContext(ctx, "SELECT "+jobCols+` FROM jobs WHERE ecosystem = ? AND commit_id = ? AND generator = ?
		AND plugin_version = ? AND plugin_revision = ? AND template_version = ?`,
		j.Ecosystem, j.CommitID, j.Generator, j.PluginVersion, j.PluginRevision, j.TemplateVersion))
	if err != nil {
		return store.Job{}, wrap(err, "enqueue job")
	}
	return stored, nil
}

func (t *tx) FinishJob(ctx context.Context, id int64) error {
	return t.oneRow(ctx, "finish job", "DELETE FROM jobs WHERE id = ?", id)
}

func (t *tx) FailJob(ctx context.Context, id int64, message string) error {
	return t.oneRow(ctx, "fail job", "UPDATE jobs SET state = ?, error = ?, update_time = ? WHERE id = ?", store.JobFailed, message, t.now(), id)
}

// oneRow runs a statement that must change exactly one row.
func (t *tx) oneRow(ctx context.Context, what, query string, args ...any) error {
	res, err := t.tx.ExecContext(ctx, query, args...)
	if err != nil {
		return wrap(err, "%s", what)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrap(err, "%s", what)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}
