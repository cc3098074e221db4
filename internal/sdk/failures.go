package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/lathe-registry/lathe/internal/auth"
	"github.com/lathe-registry/lathe/internal/codegen"
	"github.com/lathe-registry/lathe/internal/store"
)

// GenerationError is a package version that could not be generated: which package,
// module, commit and plugin, and the plugin's own error. [Edge.Fail] adds what to do.
type GenerationError struct {
	Ecosystem, Package, Version string
	Build                       Build
	// Err is why: for a plugin's fault, an error matching [codegen.ErrPlugin].
	Err error
	// RetryAt is when a request generates the version again, unless asked to earlier.
	RetryAt time.Time
}

// Error is kept short: package managers show only the start of long answers (cargo 512
// bytes), and a dependency's failure is part of its dependents'.
func (e *GenerationError) Error() string { return e.head() + ": " + fmt.Sprint(e.Err) }

// head is the message without the cause: what failed.
func (e *GenerationError) head() string {
	return fmt.Sprintf("generating %s package %s %s of module %s/%s at commit %s with %s failed",
		e.Ecosystem, e.Package, e.Version, e.Build.SDK.Owner, e.Build.SDK.Module, e.Build.ShortCommit(), stepRefs(e.Build))
}

// Advice says what to do about a plugin's failure.
func (e *GenerationError) Advice() string {
	return fmt.Sprintf("The plugin cannot generate this commit: fix the schema, or have the operator publish a fixed plugin "+
		"(a new plugin version or revision is generated afresh), or use another commit. Requests get this answer until %s; "+
		"lathe sdk jobs lists failed generations, and lathe sdk retry runs them again at once", e.RetryAt.UTC().Format(time.RFC3339))
}

func (e *GenerationError) Unwrap() error { return e.Err }

// Failed generations are remembered so that requests for a version that just failed do
// not run its plugins again: retried after firstRetry, then after twice as long each
// time, up to maxRetry. A failure is remembered by the job that generates it, which pins
// the commit and the exact plugin version and revision (or template version, which pins
// its plugins' revisions): a new plugin version or revision is another job, tried at
// once. At most maxFailures are kept.
//
// The store's failed jobs are the durable record: a server remembers them from its first
// request on, each to be retried firstRetry after it failed (how many times it failed
// before is not stored), so that a restart does not run every failed generation again
// at once. lathe sdk retry and lathe sdk generate queue a failed job again, which runs
// at once.
const (
	firstRetry  = time.Minute
	maxRetry    = time.Hour
	maxFailures = 10000
)

type failure struct {
	// err is the failure; nil for one read from the store until it is next asked for.
	err *GenerationError
	// stored is the error of the failed job read from the store.
	stored   string
	retryAt  time.Time
	attempts int
}

type failures struct {
	mu sync.Mutex
	m  map[string]failure // by failureKey
	// loaded says the store's failed jobs are in m.
	loaded bool
}

// failureKey identifies a generation as the store's jobs do.
func failureKey(j store.Job) string {
	return fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%s\x00%d\x00%d", j.Ecosystem, j.ModuleID, j.CommitID, j.Generator,
		j.PluginVersion, j.PluginRevision, j.TemplateVersion)
}

// recent returns the remembered failure of a build's package version if it is not yet
// due for a retry.
func (f *failures) recent(key string, now time.Time, eco, name, version string, b Build) *GenerationError {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl, ok := f.m[key]
	if !ok || !now.Before(fl.retryAt) {
		return nil
	}
	if fl.err == nil {
		head := (&GenerationError{Ecosystem: eco, Package: name, Version: version, Build: b}).head() + ": "
		fl.err = &GenerationError{Ecosystem: eco, Package: name, Version: version, Build: b, RetryAt: fl.retryAt,
			Err: storedError(strings.TrimPrefix(fl.stored, head))}
		f.m[key] = fl
	}
	return fl.err
}

// storedError is a failure's error as the store keeps it: words only. Those of a
// plugin's failure say so.
type storedError string

func (e storedError) Error() string { return string(e) }

func (e storedError) Is(target error) bool {
	return target == codegen.ErrPlugin && strings.Contains(string(e), codegen.ErrPlugin.Error()+": ")
}

// add remembers a failure and sets its RetryAt.
func (f *failures) add(key string, e *GenerationError, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string]failure{}
	}
	fl := f.m[key]
	fl.attempts++
	backoff := firstRetry << min(fl.attempts-1, 10)
	e.RetryAt = now.Add(min(backoff, maxRetry))
	fl.err, fl.retryAt = e, e.RetryAt
	if _, ok := f.m[key]; !ok && len(f.m) >= maxFailures {
		f.prune(now)
	}
	f.m[key] = fl
}

// prune drops the failures long due for a retry, or all of them if none is.
func (f *failures) prune(now time.Time) {
	for k, old := range f.m {
		if !now.Before(old.retryAt.Add(maxRetry)) {
			delete(f.m, k)
		}
	}
	if len(f.m) >= maxFailures {
		f.m = map[string]failure{}
	}
}

// forget drops a failure, reporting whether there was one.
func (f *failures) forget(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.m[key]
	delete(f.m, key)
	return ok
}

// loadFailures remembers the store's failed jobs, once.
func (s *Service) loadFailures(ctx context.Context) {
	s.failures.mu.Lock()
	loaded := s.failures.loaded
	s.failures.mu.Unlock()
	if loaded {
		return
	}
	// Every failed job, whichever modules the first caller may read.
	jobs, err := s.reg.Jobs(auth.AsSystem(context.WithoutCancel(ctx)), store.JobFailed, store.Page{Limit: maxFailures})
	if err != nil {
		s.log.Error("reading the failed SDK generations", "err", err)
		return
	}
	f := &s.failures
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string]failure{}
	}
	for _, j := range jobs {
		key := failureKey(j)
		if _, ok := f.m[key]; ok || len(f.m) >= maxFailures {
			continue
		}
		f.m[key] = failure{stored: j.Error, retryAt: j.UpdateTime.Add(firstRetry), attempts: 1}
	}
	f.loaded = true
}

// RecentFailure returns the remembered failure of a build's package version in an
// ecosystem, if it failed recently enough not to be retried yet.
func (s *Service) RecentFailure(ctx context.Context, eco Ecosystem, b Build) error {
	name, version, err := eco.Package(b)
	if err != nil {
		return err
	}
	s.loadFailures(ctx)
	if e := s.failures.recent(failureKey(jobOf(eco.Name(), b)), time.Now(), eco.Name(), name, version, b); e != nil {
		return e
	}
	return nil
}

// publish is Publish; retry runs a recently failed version again, as a deliberate
// request (a queued job) does. A failure is logged, remembered, and, unless a job
// records it (inJob), recorded as a failed job, which lathe sdk jobs and
// SDKService/ListJobs list.
func (s *Service) publish(ctx context.Context, eco Ecosystem, b Build, retry, inJob bool) (store.Artifact, error) {
	name, version, err := eco.Package(b)
	if err != nil {
		return store.Artifact{}, err
	}
	key := failureKey(jobOf(eco.Name(), b))
	if !retry {
		s.loadFailures(ctx)
		if e := s.failures.recent(key, time.Now(), eco.Name(), name, version, b); e != nil {
			return store.Artifact{}, e
		}
	}
	a, err := s.Artifact(ctx, eco.Name(), name, version, b.Module.ID, func(ctx context.Context) ([]byte, []byte, error) {
		return eco.Pack(ctx, b)
	})
	if err == nil {
		if s.failures.forget(key) && !inJob {
			// The failed job recorded for it is done with.
			if err := s.clearFailure(ctx, eco.Name(), b); err != nil {
				s.log.Error("clearing a failed SDK generation", "ecosystem", eco.Name(), "package", name, "version", version, "err", err)
			}
		}
		return a, nil
	}
	// A refused request generated nothing: there is no failure to remember.
	if limited := (*RateLimitError)(nil); ctx.Err() != nil || errors.Is(err, ErrNotFound) || errors.As(err, &limited) || errors.Is(err, ErrTokenRequired) {
		return a, err
	}
	ge := &GenerationError{Ecosystem: eco.Name(), Package: name, Version: version, Build: b, Err: err}
	s.failures.add(key, ge, time.Now())
	s.log.Warn("SDK generation failed", "ecosystem", eco.Name(), "package", name, "version", version,
		"module", b.SDK.Owner+"/"+b.SDK.Module, "commit", b.Commit.ID, "generator", GeneratorString(b.SDK.Gen), "plugins", stepRefs(b),
		"retry_at", ge.RetryAt.UTC().Format(time.RFC3339), "err", err)
	if !inJob {
		if rerr := s.recordFailure(ctx, eco.Name(), b, ge.Error()); rerr != nil {
			s.log.Error("recording a failed SDK generation", "ecosystem", eco.Name(), "package", name, "version", version, "err", rerr)
		}
	}
	return a, ge
}

// recordFailure stores a failed job for a generation that ran outside the queue.
func (s *Service) recordFailure(ctx context.Context, eco string, b Build, msg string) error {
	return s.reg.RecordFailedJob(context.WithoutCancel(ctx), jobOf(eco, b), msg)
}

// clearFailure deletes the job recordFailure stored.
func (s *Service) clearFailure(ctx context.Context, eco string, b Build) error {
	return s.reg.ClearJob(context.WithoutCancel(ctx), jobOf(eco, b))
}

func stepRefs(b Build) string {
	var refs []string
	for _, s := range b.Steps {
		refs = append(refs, s.Ref())
	}
	return strings.Join(refs, ",")
}

// Option configures a [Service].
type Option func(*Service)

// WithLogger logs failed generations to log; the default discards them.
func WithLogger(log *slog.Logger) Option {
	return func(s *Service) { s.log = log }
}
