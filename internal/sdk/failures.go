package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

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
func (e *GenerationError) Error() string {
	return fmt.Sprintf("generating %s package %s %s of module %s/%s at commit %s with %s failed: %v",
		e.Ecosystem, e.Package, e.Version, e.Build.SDK.Owner, e.Build.SDK.Module, e.Build.ShortCommit(), stepRefs(e.Build), e.Err)
}

// Advice says what to do about a plugin's failure.
func (e *GenerationError) Advice() string {
	return fmt.Sprintf("The plugin cannot generate this commit: fix the schema, or have the operator publish a fixed plugin "+
		"(a new plugin version or revision is generated afresh), or use another commit. Requests get this answer until %s; "+
		"lathe sdk jobs lists failed generations, and lathe sdk generate retries one at once", e.RetryAt.UTC().Format(time.RFC3339))
}

func (e *GenerationError) Unwrap() error { return e.Err }

// Failed generations are remembered so that requests for a version that just failed do
// not run its plugins again: retried after firstRetry, then after twice as long each
// time, up to maxRetry. A new plugin version or revision is another version, tried at
// once. At most maxFailures are kept.
const (
	firstRetry  = time.Minute
	maxRetry    = time.Hour
	maxFailures = 10000
)

type failure struct {
	err      *GenerationError
	attempts int
}

type failures struct {
	mu sync.Mutex
	m  map[string]failure // by artifactKey
}

// recent returns the remembered failure of a version if it is not yet due for a retry.
func (f *failures) recent(key string, now time.Time) *GenerationError {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fl, ok := f.m[key]; ok && now.Before(fl.err.RetryAt) {
		return fl.err
	}
	return nil
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
	fl.err = e
	if _, ok := f.m[key]; !ok && len(f.m) >= maxFailures {
		for k, old := range f.m {
			if !now.Before(old.err.RetryAt.Add(maxRetry)) {
				delete(f.m, k)
			}
		}
		if len(f.m) >= maxFailures {
			f.m = map[string]failure{}
		}
	}
	f.m[key] = fl
}

// forget drops a failure, reporting whether there was one.
func (f *failures) forget(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.m[key]
	delete(f.m, key)
	return ok
}

// RecentFailure returns the remembered failure of a build's package version in an
// ecosystem, if it failed recently enough not to be retried yet.
func (s *Service) RecentFailure(eco Ecosystem, b Build) error {
	name, version, err := eco.Package(b)
	if err != nil {
		return err
	}
	if e := s.failures.recent(artifactKey(eco.Name(), name, version), time.Now()); e != nil {
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
	key := artifactKey(eco.Name(), name, version)
	if !retry {
		if e := s.failures.recent(key, time.Now()); e != nil {
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
	if ctx.Err() != nil || errors.Is(err, ErrNotFound) {
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
