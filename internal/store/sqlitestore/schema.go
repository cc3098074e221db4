package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations[v] takes the schema from version v to v+1. PRAGMA user_version holds the
// version; a new database is at 0. Append to change the schema; never edit an entry.
var migrations = []string{ //nolint:gochecknoglobals // read-only table
	// Version 1.
	//
	// Every lookup the store makes is an index search: the primary keys for lookups by
	// id and the indexes below for the rest. Ordered lists walk an index in order rather
	// than sorting, ties of equal times falling back to the rowid (insertion order),
	// which every index carries.
	`
CREATE TABLE owners (
	id          TEXT PRIMARY KEY,
	-- Users and organizations share one namespace, compared case-insensitively.
	-- NOCASE folds ASCII letters only: names are expected to be ASCII, like the BSR's.
	name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
	kind        INTEGER NOT NULL,
	description TEXT NOT NULL,
	url         TEXT NOT NULL,
	create_time INTEGER NOT NULL,
	update_time INTEGER NOT NULL
) STRICT;

CREATE TABLE tokens (
	hash    BLOB PRIMARY KEY, -- SHA-256 of the token
	user_id TEXT NOT NULL REFERENCES owners (id)
) STRICT, WITHOUT ROWID;

CREATE TABLE modules (
	id                 TEXT PRIMARY KEY,
	owner_id           TEXT NOT NULL REFERENCES owners (id),
	name               TEXT NOT NULL,
	visibility         INTEGER NOT NULL,
	state              INTEGER NOT NULL,
	description        TEXT NOT NULL,
	url                TEXT NOT NULL,
	default_label_name TEXT NOT NULL,
	create_time        INTEGER NOT NULL,
	update_time        INTEGER NOT NULL,
	UNIQUE (owner_id, name)
) STRICT;
CREATE INDEX modules_by_owner_time ON modules (owner_id, create_time);
CREATE INDEX modules_by_time ON modules (create_time);

-- A commit's owner is its module's, so it is not stored twice.
CREATE TABLE commits (
	id                 TEXT PRIMARY KEY,
	module_id          TEXT NOT NULL REFERENCES modules (id) ON DELETE CASCADE,
	seq                INTEGER NOT NULL,
	create_time        INTEGER NOT NULL,
	digest             BLOB NOT NULL,
	manifest           TEXT NOT NULL,
	source_control_url TEXT NOT NULL,
	created_by_user_id TEXT NOT NULL,
	UNIQUE (module_id, seq)
) STRICT;
CREATE INDEX commits_by_digest ON commits (module_id, digest, seq);

CREATE TABLE commit_deps (
	commit_id     TEXT NOT NULL REFERENCES commits (id) ON DELETE CASCADE,
	-- No foreign key: dependencies are commits of other modules, and deleting a module
	-- must not depend on whether other modules import from it.
	dep_commit_id TEXT NOT NULL,
	PRIMARY KEY (commit_id, dep_commit_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE labels (
	id                 TEXT PRIMARY KEY,
	module_id          TEXT NOT NULL REFERENCES modules (id) ON DELETE CASCADE,
	name               TEXT NOT NULL,
	commit_id          TEXT NOT NULL REFERENCES commits (id),
	updated_by_user_id TEXT NOT NULL,
	create_time        INTEGER NOT NULL,
	update_time        INTEGER NOT NULL,
	archive_time       INTEGER, -- NULL unless archived
	UNIQUE (module_id, name)
) STRICT;
CREATE INDEX labels_by_time ON labels (module_id, update_time);
-- Deleting a commit looks for labels still pointing at it.
CREATE INDEX labels_by_commit ON labels (commit_id);

CREATE TABLE label_moves (
	id                 INTEGER PRIMARY KEY, -- orders the moves of a label
	label_id           TEXT NOT NULL REFERENCES labels (id) ON DELETE CASCADE,
	commit_id          TEXT NOT NULL,
	updated_by_user_id TEXT NOT NULL,
	time               INTEGER NOT NULL
) STRICT;
CREATE INDEX label_moves_by_label ON label_moves (label_id, id);
`,

	// Version 2: code generation plugins, templates and the cache of generation outputs.
	//
	// Nothing deletes plugins or templates yet; their versions cascade like commits so
	// that a later delete need not find them first.
	`
CREATE TABLE plugins (
	id          TEXT PRIMARY KEY,
	owner_id    TEXT NOT NULL REFERENCES owners (id),
	name        TEXT NOT NULL,
	description TEXT NOT NULL,
	create_time INTEGER NOT NULL,
	update_time INTEGER NOT NULL,
	UNIQUE (owner_id, name)
) STRICT;
-- ListPlugins of all owners walks this; of one owner, the UNIQUE index.
CREATE INDEX plugins_by_name ON plugins (name);

CREATE TABLE plugin_versions (
	id          TEXT PRIMARY KEY,
	plugin_id   TEXT NOT NULL REFERENCES plugins (id) ON DELETE CASCADE,
	version     TEXT NOT NULL,
	revision    INTEGER NOT NULL,
	config      BLOB NOT NULL,
	runtime     TEXT NOT NULL,
	program     TEXT NOT NULL,
	program_name TEXT NOT NULL,
	digest      BLOB NOT NULL,
	-- A property of the version, copied to each of its revisions: SetPluginVersionDeprecated
	-- updates them all and a new revision takes its version's value.
	deprecated  INTEGER NOT NULL CHECK (deprecated IN (0, 1)),
	create_time INTEGER NOT NULL,
	-- Also finds a version's latest revision, and the next one's number.
	UNIQUE (plugin_id, version, revision)
) STRICT;
CREATE INDEX plugin_versions_by_time ON plugin_versions (plugin_id, create_time);
-- A version is created with its first revision, so this finds the most recently created
-- version of a plugin however many revisions of older versions came after it.
CREATE INDEX plugin_versions_created ON plugin_versions (plugin_id, create_time) WHERE revision = 1;

CREATE TABLE templates (
	id          TEXT PRIMARY KEY,
	owner_id    TEXT NOT NULL REFERENCES owners (id),
	name        TEXT NOT NULL,
	description TEXT NOT NULL,
	create_time INTEGER NOT NULL,
	update_time INTEGER NOT NULL,
	UNIQUE (owner_id, name)
) STRICT;

-- Not WITHOUT ROWID: specs may be too large for rows stored in the key's B-tree.
CREATE TABLE template_versions (
	template_id TEXT NOT NULL REFERENCES templates (id) ON DELETE CASCADE,
	version     INTEGER NOT NULL,
	spec        BLOB NOT NULL,
	create_time INTEGER NOT NULL,
	PRIMARY KEY (template_id, version)
) STRICT;

-- create_time is not read yet; it is there for evicting old entries later.
CREATE TABLE generation_outputs (
	key         TEXT PRIMARY KEY,
	blob_key    TEXT NOT NULL,
	create_time INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
`,

	// Version 3: published SDK artifacts, and finding the labels a commit was on.
	`
CREATE INDEX label_moves_by_commit ON label_moves (commit_id, label_id);

-- seq orders the versions of a package by publication.
CREATE TABLE artifacts (
	seq         INTEGER PRIMARY KEY,
	ecosystem   TEXT NOT NULL,
	name        TEXT NOT NULL,
	version     TEXT NOT NULL,
	module_id   TEXT NOT NULL,
	blob_key    TEXT NOT NULL,
	meta        BLOB NOT NULL,
	create_time INTEGER NOT NULL,
	UNIQUE (ecosystem, name, version)
) STRICT;
CREATE INDEX artifacts_by_name ON artifacts (ecosystem, name, seq);
`,

	// Version 4: interests in SDKs and the durable queue of generation jobs.
	`
CREATE TABLE interests (
	module_id   TEXT NOT NULL REFERENCES modules (id) ON DELETE CASCADE,
	ecosystem   TEXT NOT NULL,
	generator   TEXT NOT NULL,
	create_time INTEGER NOT NULL,
	PRIMARY KEY (module_id, ecosystem, generator)
) STRICT, WITHOUT ROWID;

CREATE TABLE jobs (
	id               INTEGER PRIMARY KEY,
	ecosystem        TEXT NOT NULL,
	module_id        TEXT NOT NULL REFERENCES modules (id) ON DELETE CASCADE,
	commit_id        TEXT NOT NULL,
	generator        TEXT NOT NULL,
	plugin_version   TEXT NOT NULL,
	plugin_revision  INTEGER NOT NULL,
	template_version INTEGER NOT NULL,
	state            INTEGER NOT NULL,
	error            TEXT NOT NULL,
	create_time      INTEGER NOT NULL,
	update_time      INTEGER NOT NULL,
	UNIQUE (ecosystem, commit_id, generator, plugin_version, plugin_revision, template_version)
) STRICT;
CREATE INDEX jobs_by_state ON jobs (state, id);
`,

	// Version 5: finding the commits that depend on a commit, for visibility changes.
	`
CREATE INDEX commit_deps_by_dep ON commit_deps (dep_commit_id);
`,
}

// migrate brings the schema of db up to date. Its transaction begins with BEGIN
// IMMEDIATE, so processes opening a new database at the same time migrate it once.
func migrate(ctx context.Context, db *sql.DB) error {
	return migrateTo(ctx, db, len(migrations))
}

// migrateTo brings the schema of db to version target; tests use it to make databases
// of older versions.
func migrateTo(ctx context.Context, db *sql.DB, target int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this program's %d", version, len(migrations))
	}
	if version >= target {
		return nil
	}
	for v := version; v < target; v++ {
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migrate schema to version %d: %w", v+1, err)
		}
	}
	// PRAGMA takes no parameters; the value is an int.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", target)); err != nil {
		return err
	}
	return tx.Commit()
}
