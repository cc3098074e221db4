// Package sqlitestore is Lathe's embedded metadata store: a [store.Store] kept in one
// SQLite database file, through the pure-Go driver modernc.org/sqlite (no cgo).
//
// # Connections and locking
//
// The database runs in WAL mode, where readers never block the writer and the writer
// never blocks readers. A [Store] therefore keeps two pools on the file:
//
//   - a write pool of exactly one connection, whose transactions begin with BEGIN
//     IMMEDIATE. That takes SQLite's write lock when [Store.Update] starts, not at its
//     first write, so two writers can never both hold a read snapshot and then fail to
//     upgrade it (an SQLITE_BUSY that no busy timeout resolves), and whatever an Update
//     reads, such as a module's highest commit Seq, stays current until it commits.
//     Writers of this process queue for the one connection; writers of other processes
//     (the admin CLI may open the file while the server runs) wait for the lock for up to
//     the busy timeout.
//   - a read pool, for the [store.Reader] methods of the Store, whose connections are
//     query-only.
//
// Do not call Update from inside an Update callback: it would wait forever for the
// write connection the outer callback holds.
//
// # Durability
//
// synchronous=FULL: every commit syncs the WAL, so a committed push survives a power
// loss or OS crash. NORMAL in WAL mode only survives a crash of the process and could
// lose the last commits on a power loss; writes are rare enough that the sync per
// commit is cheap.
//
// # Representation
//
// Times are integer Unix microseconds (the contract's precision), digests are BLOBs and
// a commit's direct dependencies are rows of a table of their own. The schema is
// created, or migrated, by [Open]; PRAGMA user_version holds its version.
package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/lathe-registry/lathe/internal/store"
)

// busyTimeout is how long a connection waits for a lock another process holds.
const busyTimeout = 10 * time.Second

// Store is a [store.Store] backed by a SQLite database file.
type Store struct {
	reader // on the read pool
	read   *preparedDB
	write  *sql.DB
	clock  clock
}

var _ store.Store = (*Store)(nil)

// Open opens the database at path, creating the file and its schema if needed.
// The parent directory must exist.
func Open(path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	write, err := sql.Open("sqlite", dsn(abs, "_txlock", "immediate"))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	if err := migrate(context.Background(), write); err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	read, err := sql.Open("sqlite", dsn(abs, "_pragma", "query_only(1)"))
	if err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	// Keep the connections open: each holds its own page cache, which stays warm, and the
	// bound stops a burst of requests from opening a connection (and a cache) each.
	n := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	prepared := &preparedDB{db: read}
	return &Store{reader: reader{q: prepared}, read: prepared, write: write}, nil
}

// dsn returns the data source name of the database at the absolute path, with the
// pragmas every connection needs and one more query parameter. As _pragma parameters
// they are applied to each new connection of a pool, not just the first.
func dsn(path, key, value string) string {
	q := url.Values{
		"_pragma": {
			fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()),
			"journal_mode(WAL)",
			"synchronous(FULL)", // see the package doc
			"foreign_keys(1)",
		},
	}
	q.Add(key, value)
	// A file: URI, so that any character of the path is escaped rather than taken for
	// the start of the query. Windows paths ("C:/...") need the slash of an empty
	// authority in front.
	path = filepath.ToSlash(path)
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	return u.String()
}

// Update runs fn in a write transaction. The transaction is rolled back if fn returns
// an error, panics or calls runtime.Goexit (as t.Fatal does); a panic goes on after
// the rollback.
func (s *Store) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	sqlTx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = sqlTx.Rollback()
		}
	}()
	if err := fn(&tx{reader: reader{q: sqlTx}, tx: sqlTx, now: s.clock.now}); err != nil {
		return err
	}
	committed = true
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: commit: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	return errors.Join(s.read.Close(), s.read.db.Close(), s.write.Close())
}

// clock hands out the store's times in Unix microseconds. They strictly increase, even
// within one microsecond or when the wall clock steps back, so that orders by time
// agree with the order of this Store's writes (e.g. a label moved twice in one Update).
type clock struct {
	mu   sync.Mutex
	last int64
}

func (c *clock) now() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = max(time.Now().UnixMicro(), c.last+1)
	return c.last
}

func fromMicros(us int64) time.Time {
	return time.UnixMicro(us).UTC()
}

// wrap adds what was looked up or written to err, and maps sql.ErrNoRows to
// store.ErrNotFound and violated unique constraints to store.ErrAlreadyExists.
func wrap(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	var sqliteErr *sqlite.Error
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	case errors.As(err, &sqliteErr) &&
		(sqliteErr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || sqliteErr.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY):
		return fmt.Errorf("%s: %w (%v)", what, store.ErrAlreadyExists, err)
	default:
		return fmt.Errorf("%s: %w", what, err)
	}
}
