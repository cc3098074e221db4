// Package registry is Lathe's module registry: the domain rules between the API and the
// stores. It decides who may see and change what, resolves references to commits, and
// turns uploads into commits.
//
// # Access
//
// Public modules are readable by everyone, anonymous callers included. A private module is
// visible only to its owner: to everyone else every operation on it fails with
// [ErrNotFound], exactly as if it did not exist, so its existence does not leak. Writes need
// the owner's token: anonymous writes fail with [ErrUnauthenticated], other users' writes to
// modules they can see fail with [ErrPermissionDenied]. What belongs to a module follows its
// rules: commits, labels, files, dependency closures (a walk stops with [ErrNotFound] at a
// commit the caller may not see), and its SDK state (published package versions, interests,
// generation jobs). One function, authorize, makes every decision; every exported method
// that returns module content or metadata calls it with the caller from the context, and
// TestAccessGrid checks each of them for every kind of caller. A module looked up by an
// id that is not the caller's to read answers exactly as an id of nothing does, and
// names nothing.
//
// # Dependencies
//
// Everyone who can read a module can read every commit of the dependency closure of
// every commit of the module, so nothing derived from a module (its graph, an export,
// its SDKs and their package metadata) carries anything of a module its reader may not
// read. With modules owned by users: a public module depends only on public modules, a
// private one on public modules and its own owner's. The rule is kept where it could
// break, and one function, mayDependOn, decides it:
//
//   - a push whose commit's closure would break it is refused, naming the dependency;
//   - a module is not made private while modules that others can read (public ones,
//     or other owners') depend on any of its commits;
//   - a module is not made public while any of its commits depends on a private module.
//
// # Errors
//
// Errors match one of the sentinels below (errors.Is) or are [*module.InputError] values
// for bad uploads; the API layer maps them to RPC codes in one place.
package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/lathe-registry/lathe/internal/auth"
	"github.com/lathe-registry/lathe/internal/blob"
	"github.com/lathe-registry/lathe/internal/module"
	"github.com/lathe-registry/lathe/internal/store"
)

var (
	// ErrNotFound means the thing does not exist or the caller may not see it.
	ErrNotFound = store.ErrNotFound
	// ErrAlreadyExists means a name is taken.
	ErrAlreadyExists = store.ErrAlreadyExists
	// ErrUnauthenticated means the operation needs a token.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrPermissionDenied means the caller's token does not allow the operation.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrInvalid means a request is malformed (beyond uploaded content).
	ErrInvalid = errors.New("invalid argument")
	// ErrFailedPrecondition means the operation does not apply to the current state.
	ErrFailedPrecondition = errors.New("failed precondition")
)

// Registry implements the module registry over a metadata store and a blob store.
type Registry struct {
	store  store.Store
	blobs  blob.Store
	limits module.Limits
	parses *module.ParseCache
	now    func() time.Time
	log    *slog.Logger
	// modules remembers modules for ReadableModule.
	modules moduleCache
	// labelHooks are told about every label move.
	labelHooks []LabelHook
}

// LabelHook is told, after the fact, that a label of a module now points at a commit.
// It runs on the caller's goroutine, so it should only record or enqueue work.
type LabelHook func(ctx context.Context, m store.Module, label string, c store.Commit)

// OnLabelMove adds a hook. Not safe to call while the registry is in use.
func (r *Registry) OnLabelMove(h LabelHook) { r.labelHooks = append(r.labelHooks, h) }

func (r *Registry) labelMoved(ctx context.Context, m store.Module, label string, c store.Commit) {
	for _, h := range r.labelHooks {
		h(ctx, m, label, c)
	}
}

// DefaultParseCacheBytes is the default source budget of the parse cache: enough for
// several pushes of a large module; the parsed form takes many times the source's size.
const DefaultParseCacheBytes = 16 << 20

// Option configures a [Registry].
type Option func(*Registry)

// WithLimits sets the upload limits; the default is [module.DefaultLimits].
func WithLimits(l module.Limits) Option { return func(r *Registry) { r.limits = l } }

// WithParseCacheBytes sets how many bytes of .proto source the parse cache may hold;
// 0 disables it. The default is [DefaultParseCacheBytes].
func WithParseCacheBytes(n int) Option {
	return func(r *Registry) {
		r.parses = nil
		if n > 0 {
			r.parses = module.NewParseCache(n)
		}
	}
}

// WithClock sets the clock used for commit times; the default is time.Now.
func WithClock(now func() time.Time) Option { return func(r *Registry) { r.now = now } }

// WithLogger sets the logger; the default is slog.Default().
func WithLogger(l *slog.Logger) Option { return func(r *Registry) { r.log = l } }

// New returns a registry over the given stores.
func New(s store.Store, b blob.Store, opts ...Option) *Registry {
	r := &Registry{
		store:  s,
		blobs:  b,
		limits: module.DefaultLimits,
		parses: module.NewParseCache(DefaultParseCacheBytes),
		now:    time.Now,
		log:    slog.Default(),
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Users finds the users tokens belong to, for authenticating requests.
func (r *Registry) Users() auth.Users { return tokenUsers{r.store} }

// tokenUsers narrows the store to token lookups.
type tokenUsers struct{ st store.Reader }

func (u tokenUsers) UserByTokenHash(ctx context.Context, hash []byte) (store.Owner, error) {
	return u.st.UserByTokenHash(ctx, hash)
}

// kindError is an error whose message is for the client and whose kind is one of the
// sentinels above.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

func notFoundf(format string, args ...any) error {
	return errorf(ErrNotFound, format+" not found", args...)
}

func invalidf(format string, args ...any) error { return errorf(ErrInvalid, format, args...) }

// NewID returns a new dashless UUID.
func NewID() string {
	return strings.ReplaceAll(uuid.NewString(), "-", "")
}

var dashlessID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// IsID reports whether s has the form of a dashless id.
func IsID(s string) bool { return dashlessID.MatchString(s) }

// NormalizeID accepts dashed or dashless UUIDs in any case and returns the dashless form,
// or "" if s is not a UUID.
func NormalizeID(s string) string {
	id := strings.ToLower(strings.ReplaceAll(s, "-", ""))
	if !IsID(id) || (len(s) != 32 && len(s) != 36) {
		return ""
	}
	return id
}

var moduleNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,99}$`)

// CheckModuleName validates a module name: 1–100 characters of lowercase letters, digits,
// '-', '_' and '.', starting with a letter or digit.
func CheckModuleName(name string) error {
	if !moduleNameRE.MatchString(name) {
		return invalidf("module name %q must be 1 to 100 characters of lowercase letters, digits, '-', '_' and '.', starting with a letter or digit", name)
	}
	return nil
}

// CheckLabelName validates a label name. The BSR's API allows any name of 1 to 250
// characters; Lathe's rules keep every name that buf and Git produce (main, v1.2.3,
// release/2024-01, a Git branch or tag name from buf push --git-metadata) and refuse
// what buf could not name in a reference or what reads as a path:
//
//   - 1 to 250 bytes of valid UTF-8,
//   - no whitespace or control characters (buf trims references),
//   - no ':' (it ends a module's name in a reference, owner/module:label) and no '\',
//   - split at '/', no empty part and no part "." or "..".
func CheckLabelName(name string) error {
	switch {
	case name == "":
		return invalidf("label name must not be empty")
	case len(name) > 250:
		return invalidf("label name %q is longer than 250 characters", module.MessagePrefix(name, 32)+"…")
	case !utf8.ValidString(name):
		return invalidf("label name %q is not valid UTF-8", name)
	case strings.ContainsFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return invalidf("label name %q must not contain spaces or control characters", name)
	case strings.ContainsAny(name, `:\`):
		return invalidf("label name %q must not contain ':' or '\\'", name)
	}
	for part := range strings.SplitSeq(name, "/") {
		if part == "" || part == "." || part == ".." {
			return invalidf("label name %q must not start or end with '/', or have an empty, '.' or '..' part between slashes", name)
		}
	}
	if NormalizeID(name) != "" {
		// A reference module:REF tries commit ids first, so such a label could never be named.
		return invalidf("label name %q has the form of a commit id; choose another name", name)
	}
	return nil
}
