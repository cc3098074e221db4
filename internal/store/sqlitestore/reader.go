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
