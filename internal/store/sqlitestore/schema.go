package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations[v] takes the schema from version v to v+1. PRAGMA user_version holds the
// version; a new database is at 0. Append to change the schema; never edit an entry.
var migrations = []string{
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
}

// migrate brings the schema of db up to date. Its transaction begins with BEGIN
// IMMEDIATE, so processes opening a new database at the same time migrate it once.
func migrate(ctx context.Context, db *sql.DB) error {
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
	if version == len(migrations) {
		return nil
	}
	for v := version; v < len(migrations); v++ {
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migrate schema to version %d: %w", v+1, err)
		}
	}
	// PRAGMA takes no parameters; the value is an int.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return err
	}
	return tx.Commit()
}
