// Package store defines Lathe's metadata store: owners, tokens, modules, commits and labels.
//
// The contract is the [Store] interface. Every backend (the embedded SQLite one in
// [github.com/lathe-registry/lathe/internal/store/sqlitestore], and any later PostgreSQL
// one) must pass the shared conformance suite in
// [github.com/lathe-registry/lathe/internal/store/storetest].
//
// # Contract
//
//   - All methods are safe for simultaneous use by multiple goroutines.
//   - Lookups of something that does not exist return an error matching [ErrNotFound].
//   - Creating something whose unique name is taken returns an error matching [ErrAlreadyExists].
//   - Writes happen inside [Store.Update]: either every write of the callback is committed, or
//     none is (the callback's error, a panic or a crash all leave the store unchanged).
//   - Times are stored with at least microsecond precision and returned in UTC.
//   - Commit ids and other ids are dashless lowercase UUIDs chosen by the caller.
package store

import (
	"context"
	"errors"
	"time"
)

var (
	// ErrNotFound is returned when the requested entity does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists is returned when a unique name or id is already taken.
	ErrAlreadyExists = errors.New("already exists")
)

// OwnerKind tells users and organizations apart. They share one namespace of names.
type OwnerKind int

const (
	OwnerUser OwnerKind = iota + 1
	OwnerOrganization
)

// Owner is a user or an organization.
type Owner struct {
	ID          string
	Name        string
	Kind        OwnerKind
	Description string
	URL         string
	CreateTime  time.Time
	UpdateTime  time.Time
}

// Visibility of a module.
type Visibility int

const (
	Private Visibility = iota + 1
	Public
)

// ModuleState is active or deprecated.
type ModuleState int

const (
	Active ModuleState = iota + 1
	Deprecated
)

// Module is a named, labelled history of commits.
type Module struct {
	ID               string
	OwnerID          string
	Name             string
	Visibility       Visibility
	State            ModuleState
	Description      string
	URL              string
	DefaultLabelName string
	CreateTime       time.Time
	UpdateTime       time.Time
}

// Commit is an immutable snapshot of a module's files.
type Commit struct {
	ID       string
	ModuleID string
	OwnerID  string
	// Seq is the commit's position in its module's push order: 1, 2, 3, ...
	// Assigned by [Tx.CreateCommit].
	Seq        int64
	CreateTime time.Time
	// Digest is the raw 64-byte b5 digest.
	Digest []byte
	// Manifest is the blob key of the commit's file manifest.
	Manifest         string
	SourceControlURL string
	CreatedByUserID  string
	// DirectDeps are the ids of the commits this commit's files import from directly,
	// sorted. The full dependency closure is the transitive closure over DirectDeps.
	DirectDeps []string
}

// Label is a movable, named pointer to a commit of a module.
type Label struct {
	ID              string
	ModuleID        string
	Name            string
	CommitID        string
	UpdatedByUserID string
	CreateTime      time.Time
	UpdateTime      time.Time
	// ArchiveTime is the zero time when the label is not archived.
	ArchiveTime time.Time
}

// Archived reports whether the label is archived.
func (l Label) Archived() bool { return !l.ArchiveTime.IsZero() }

// LabelMove is one entry of a label's history: the label pointed at CommitID from Time on.
type LabelMove struct {
	CommitID        string
	UpdatedByUserID string
	Time            time.Time
}

// Page selects a window of a list. Offset counts entries to skip; Limit 0 means no limit.
type Page struct {
	Offset int
	Limit  int
}

// ArchiveFilter selects labels by archive state.
type ArchiveFilter int

const (
	UnarchivedOnly ArchiveFilter = iota
	ArchivedOnly
	AllLabels
)

// Plugin is a named code generation plugin of an owner, with versions.
type Plugin struct {
	ID          string
	OwnerID     string
	Name        string
	Description string
	CreateTime  time.Time
	UpdateTime  time.Time
}

// PluginVersion is one revision of one version of a plugin: the exact program and
// configuration that run. A version is re-published as the next revision when its program
// or configuration changes.
type PluginVersion struct {
	ID       string
	PluginID string
	// Version is the plugin's own semantic version, e.g. "v1.36.11".
	Version string
	// Revision counts publications of the same Version: 1, 2, ... Assigned by
	// [Tx.CreatePluginVersion].
	Revision int
	// Config is the buf.plugin.yaml the version was published with.
	Config []byte
	// Runtime names how the program runs, e.g. "native", "wasm" or "node".
	Runtime string
	// Program is the blob key of the program (an executable, a .wasm module, or an
	// archive of a script and its dependencies).
	Program string
	// ProgramName is the program's file name, which plugins see as their own name (some
	// write it into generated code), e.g. "protoc-gen-go".
	ProgramName string
	// Digest identifies the configuration, runtime and program together; generation
	// results are cached under it.
	Digest     []byte
	Deprecated bool
	CreateTime time.Time
}

// Template is a named, shared set of plugin references for one use case.
type Template struct {
	ID          string
	OwnerID     string
	Name        string
	Description string
	CreateTime  time.Time
	UpdateTime  time.Time
}

// TemplateVersion is an immutable version v1, v2, ... of a template.
type TemplateVersion struct {
	TemplateID string
	// Version is 1, 2, ...; assigned by [Tx.CreateTemplateVersion].
	Version int
	// Spec is the template's content (plugin references and options), encoded by the caller.
	Spec       []byte
	CreateTime time.Time
}

// Artifact is one version of one package as an SDK ecosystem publishes it: the exact
// bytes clients download and verify. Artifacts are written once and never change, so
// that checksums clients recorded stay valid.
type Artifact struct {
	// Ecosystem names the package protocol, e.g. "go", "cargo", "npm" or "python".
	Ecosystem string
	// Name and Version are spelled as the ecosystem spells them.
	Name    string
	Version string
	// ModuleID is the module the package was generated from; access follows it.
	ModuleID string
	// Blob is the blob key of the package archive (a Go module zip, a .crate, ...).
	Blob string
	// Meta is small ecosystem-specific data served beside the archive, e.g. a go.mod.
	Meta       []byte
	CreateTime time.Time
}

// Interest records that someone asked for the SDKs of a module in one ecosystem, from
// one generator ("plugin:owner/name" or "template:owner/name"). Ecosystems that need
// packages generated before they are listed (Cargo) generate every new default-label
// commit of a module with an interest.
type Interest struct {
	ModuleID   string
	Ecosystem  string
	Generator  string
	CreateTime time.Time
}

// JobState is the state of a generation job.
type JobState int

const (
	JobPending JobState = iota + 1
	JobFailed
)

// Job is a durable request to generate and publish one SDK version: a commit with a
// generator pinned to a version. Finished jobs are deleted; failed ones stay with their
// error until retried.
type Job struct {
	ID        int64
	Ecosystem string
	ModuleID  string
	CommitID  string
	Generator string
	// PluginVersion and PluginRevision pin a plugin; TemplateVersion a template.
	PluginVersion   string
	PluginRevision  int
	TemplateVersion int
	State           JobState
	Error           string
	CreateTime      time.Time
	UpdateTime      time.Time
}

// Reader is the read half of the store.
type Reader interface {
	// OwnerByID and OwnerByName find users and organizations.
	OwnerByID(ctx context.Context, id string) (Owner, error)
	OwnerByName(ctx context.Context, name string) (Owner, error)
	// UserByTokenHash returns the user owning the token with the given SHA-256 hash.
	UserByTokenHash(ctx context.Context, hash []byte) (Owner, error)

	ModuleByID(ctx context.Context, id string) (Module, error)
	ModuleByName(ctx context.Context, ownerID, name string) (Module, error)
	// ListModules lists the modules of one owner, or of all owners if ownerID is empty,
	// ordered by create time (ascending unless desc).
	ListModules(ctx context.Context, ownerID string, desc bool, page Page) ([]Module, error)

	CommitByID(ctx context.Context, id string) (Commit, error)
	// CommitsByIDPrefix returns the commits of a module whose id starts with prefix.
	CommitsByIDPrefix(ctx context.Context, moduleID, prefix string) ([]Commit, error)
	// LatestCommitByDigest returns the newest commit of the module with the given b5 digest.
	LatestCommitByDigest(ctx context.Context, moduleID string, digest []byte) (Commit, error)
	// ListCommits lists a module's commits by push order (ascending unless desc).
	ListCommits(ctx context.Context, moduleID string, desc bool, page Page) ([]Commit, error)
	// DependentModules lists, by id, the other modules with a commit that depends
	// directly on a commit of the module.
	DependentModules(ctx context.Context, moduleID string) ([]Module, error)
	// DependencyModules lists, by id, the other modules with a commit that a commit of
	// the module depends on directly. Dependencies whose module was deleted are left out.
	DependencyModules(ctx context.Context, moduleID string) ([]Module, error)

	LabelByID(ctx context.Context, id string) (Label, error)
	LabelByName(ctx context.Context, moduleID, name string) (Label, error)
	// ListLabels lists a module's labels ordered by update time (ascending unless desc),
	// optionally only those whose name contains nameQuery.
	ListLabels(ctx context.Context, moduleID string, filter ArchiveFilter, nameQuery string, desc bool, page Page) ([]Label, error)
	// LabelHistory lists the moves of a label, newest first unless asc.
	LabelHistory(ctx context.Context, labelID string, asc bool, page Page) ([]LabelMove, error)
	// LabelHadCommit reports whether the label ever pointed at the commit.
	LabelHadCommit(ctx context.Context, labelID, commitID string) (bool, error)

	PluginByName(ctx context.Context, ownerID, name string) (Plugin, error)
	PluginByID(ctx context.Context, id string) (Plugin, error)
	// ListPlugins lists the plugins of one owner, or of all owners if ownerID is empty, by name.
	ListPlugins(ctx context.Context, ownerID string, page Page) ([]Plugin, error)
	// PluginVersion returns a revision of a version of a plugin; revision 0 means the
	// latest revision of that version, and version "" the latest revision of the most
	// recently created version.
	PluginVersion(ctx context.Context, pluginID, version string, revision int) (PluginVersion, error)
	// ListPluginVersions lists every revision of every version of a plugin, newest first.
	ListPluginVersions(ctx context.Context, pluginID string, page Page) ([]PluginVersion, error)

	TemplateByName(ctx context.Context, ownerID, name string) (Template, error)
	// TemplateVersion returns a version of a template; version 0 means the latest.
	TemplateVersion(ctx context.Context, templateID string, version int) (TemplateVersion, error)
	// ListTemplateVersions lists the versions of a template, newest first.
	ListTemplateVersions(ctx context.Context, templateID string, page Page) ([]TemplateVersion, error)

	// GenerationOutput returns the blob key of the output cached under a generation key.
	GenerationOutput(ctx context.Context, key string) (string, error)

	// Artifact returns a published version of a package.
	Artifact(ctx context.Context, ecosystem, name, version string) (Artifact, error)
	// ListArtifacts lists the published versions of a package in publication order.
	ListArtifacts(ctx context.Context, ecosystem, name string, page Page) ([]Artifact, error)

	// Interests lists the interests in a module, oldest first.
	Interests(ctx context.Context, moduleID string) ([]Interest, error)
	// Jobs lists jobs in a state by id (ascending), the state 0 meaning all.
	Jobs(ctx context.Context, state JobState, page Page) ([]Job, error)
}

// Tx is a transaction: reads see the transaction's own writes.
type Tx interface {
	Reader

	// CreateOwner creates a user or organization. The owner's ID, Name and Kind must be set;
	// times are set by the store. Names are unique across users and organizations,
	// compared case-insensitively.
	CreateOwner(ctx context.Context, owner Owner) (Owner, error)
	// CreateToken stores the SHA-256 hash of a new token of the user.
	CreateToken(ctx context.Context, userID string, hash []byte) error

	// CreateModule creates a module; names are unique per owner.
	CreateModule(ctx context.Context, module Module) (Module, error)
	// UpdateModule replaces the mutable fields (visibility, state, description, URL,
	// default label name) and bumps the update time.
	UpdateModule(ctx context.Context, module Module) (Module, error)
	// DeleteModule deletes a module with its commits and labels.
	DeleteModule(ctx context.Context, id string) error

	// CreateCommit stores a new commit, assigning the module's next Seq and returning it.
	CreateCommit(ctx context.Context, commit Commit) (Commit, error)

	// SetLabel points the named label of the module at a commit, creating the label if
	// needed and unarchiving it if archived. A history entry is recorded whenever the
	// label is created or its commit changes.
	SetLabel(ctx context.Context, moduleID, name, commitID, userID string) (Label, error)
	// SetLabelArchived archives or unarchives a label.
	SetLabelArchived(ctx context.Context, labelID string, archived bool) (Label, error)

	// CreatePlugin creates a plugin; names are unique per owner.
	CreatePlugin(ctx context.Context, plugin Plugin) (Plugin, error)
	// CreatePluginVersion stores a new revision of a plugin version, assigning the next
	// Revision for that (plugin, version). If the latest revision of that version has the
	// same Digest, nothing is written and that revision is returned.
	CreatePluginVersion(ctx context.Context, v PluginVersion) (PluginVersion, error)
	// SetPluginVersionDeprecated deprecates or undeprecates every revision of a version.
	SetPluginVersionDeprecated(ctx context.Context, pluginID, version string, deprecated bool) error

	// CreateTemplate creates a template; names are unique per owner.
	CreateTemplate(ctx context.Context, t Template) (Template, error)
	// CreateTemplateVersion stores the template's next version, assigning Version.
	CreateTemplateVersion(ctx context.Context, v TemplateVersion) (TemplateVersion, error)

	// PutGenerationOutput records the blob key of the output of a generation key. Keys are
	// written once: a second Put of the same key keeps the first value and returns it.
	PutGenerationOutput(ctx context.Context, key, blobKey string) (string, error)
	// DeleteGenerationOutputs forgets every cached generation output, returning how many
	// there were. Published artifacts are not outputs and stay.
	DeleteGenerationOutputs(ctx context.Context) (int64, error)

	// PutArtifact publishes a version of a package, setting CreateTime. A version is
	// written once: putting it again keeps the first record and returns it.
	PutArtifact(ctx context.Context, a Artifact) (Artifact, error)

	// AddInterest records an interest, reporting whether it is new.
	AddInterest(ctx context.Context, i Interest) (bool, error)
	// EnqueueJob stores a pending job, assigning ID and times. A job equal in ecosystem,
	// commit, generator and pin to a stored one is not added again: the stored one is
	// returned, made pending again if it had failed.
	EnqueueJob(ctx context.Context, j Job) (Job, error)
	// FinishJob deletes a job; FailJob marks it failed with an error.
	FinishJob(ctx context.Context, id int64) error
	FailJob(ctx context.Context, id int64, message string) error
}

// Store is a metadata store.
type Store interface {
	Reader
	// Update runs fn in one transaction, committing it if fn returns nil.
	Update(ctx context.Context, fn func(tx Tx) error) error
	Close() error
}
