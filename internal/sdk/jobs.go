package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lathe-registry/lathe/internal/auth"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/store"
)

// Ecosystem packages builds for one package manager.
type Ecosystem interface {
	// Name is the ecosystem's artifact namespace, e.g. "cargo".
	Name() string
	// Package returns the package name and version of a build.
	Package(b Build) (name, version string, err error)
	// Pack generates a build and returns its archive and the metadata served beside it.
	Pack(ctx context.Context, b Build) (archive, meta []byte, err error)
}

// Publish packages and publishes a build, unless that version is published already. A
// generation that fails is a [*GenerationError]; one that failed recently is not run
// again until its retry time (see [Service.RecentFailure]).
func (s *Service) Publish(ctx context.Context, eco Ecosystem, b Build) (store.Artifact, error) {
	return s.publish(ctx, eco, b, false, false)
}

// GeneratorString spells a generator as interests and jobs store it: "plugin:owner/name"
// or "template:owner/name".
func GeneratorString(g Generator) string {
	kind := "plugin"
	if g.Template {
		kind = "template"
	}
	return kind + ":" + g.Owner + "/" + g.Name
}

func parseGenerator(s string) (Generator, error) {
	kind, ref, _ := strings.Cut(s, ":")
	owner, name, ok := strings.Cut(ref, "/")
	if !ok || (kind != "plugin" && kind != "template") {
		return Generator{}, fmt.Errorf("malformed generator %q", s)
	}
	return Generator{Template: kind == "template", Owner: owner, Name: name}, nil
}

// Jobs generates SDK versions ahead of requests, for ecosystems whose indexes list only
// what exists with its checksum (Cargo). Work is queued durably in the store; workers
// take it in order, so a restart resumes where it stopped. Safe for concurrent use.
//
// Interest drives it: once someone asks for an SDK ([Jobs.Interest]), every move of its
// module's default label enqueues that commit, at the generator's latest version.
type Jobs struct {
	s          *Service
	ecosystems map[string]Ecosystem
	log        *slog.Logger
	wake       chan struct{}
	// poll is how often a waiter reads the store for its job: jobs that another
	// process runs finish without this one hearing of it.
	poll time.Duration

	mu sync.Mutex
	// waiters are the waiters this process's workers tell when a job is done, at most
	// maxWaiters; others only poll.
	waiters    map[int64]map[chan error]struct{}
	nwaiters   int
	maxWaiters int
	running    map[int64]bool
	// interests are the interests known to be on record, so that requests for an SDK
	// do not write them again; at most maxKnownInterests, starting over when full.
	interests map[store.Interest]bool
}

// DefaultMaxWaiters is how many requests may wait for jobs at once to be told as soon as
// they are done, unless configured otherwise ([Jobs.SetMaxWaiters]); more wait as long,
// but notice only when they next read the store.
const DefaultMaxWaiters = 10000

// maxKnownInterests bounds Jobs.interests.
const maxKnownInterests = 10000

// NewJobs returns a queue for the ecosystems and registers it for label moves.
func NewJobs(s *Service, log *slog.Logger, ecosystems ...Ecosystem) *Jobs {
	j := &Jobs{s: s, ecosystems: map[string]Ecosystem{}, log: log, wake: make(chan struct{}, 1), poll: time.Second,
		waiters: map[int64]map[chan error]struct{}{}, maxWaiters: DefaultMaxWaiters, running: map[int64]bool{},
		interests: map[store.Interest]bool{}}
	for _, e := range ecosystems {
		j.ecosystems[e.Name()] = e
	}
	s.reg.OnLabelMove(j.labelMoved)
	return j
}

// SetMaxWaiters sets how many waiters are told at once when their job is done (see
// [DefaultMaxWaiters]); call it before Run and Wait.
func (j *Jobs) SetMaxWaiters(n int) { j.maxWaiters = n }

// Interest records interest in an SDK and, the first time, enqueues the head of the
// module's default label. It returns that job (zero if there was nothing to enqueue).
func (j *Jobs) Interest(ctx context.Context, eco string, b Build) (store.Job, error) {
	in := store.Interest{ModuleID: b.Module.ID, Ecosystem: eco, Generator: GeneratorString(b.SDK.Gen)}
	j.mu.Lock()
	known := j.interests[in]
	j.mu.Unlock()
	if known {
		return store.Job{}, nil
	}
	created, err := j.s.reg.AddInterest(ctx, in)
	if err != nil {
		return store.Job{}, err
	}
	j.mu.Lock()
	if len(j.interests) >= maxKnownInterests {
		j.interests = map[store.Interest]bool{}
	}
	j.interests[in] = true
	j.mu.Unlock()
	if !created {
		return store.Job{}, nil
	}
	j.log.Info("new interest in an SDK", "ecosystem", eco, "sdk", b.SDK.String())
	return j.Enqueue(ctx, eco, b)
}

// jobOf returns the job that generates a build.
func jobOf(eco string, b Build) store.Job {
	job := store.Job{Ecosystem: eco, ModuleID: b.Module.ID, CommitID: b.Commit.ID, Generator: GeneratorString(b.SDK.Gen)}
	if b.SDK.Gen.Template {
		job.TemplateVersion = b.Template.Version
	} else {
		job.PluginVersion, job.PluginRevision = b.Plugin().Version.Version, b.Plugin().Version.Revision
	}
	return job
}

// Enqueue queues the generation of a build. A queued job runs even if the version failed
// recently: it is a deliberate request.
func (j *Jobs) Enqueue(ctx context.Context, eco string, b Build) (store.Job, error) {
	job, err := j.s.reg.EnqueueJob(ctx, jobOf(eco, b))
	if err != nil {
		return job, err
	}
	select {
	case j.wake <- struct{}{}:
	default:
	}
	return job, nil
}

// Wait waits until a job is done, returning its error if it failed. A job this process
// runs is reported as soon as it is done; one that another process runs, when the store
// next says so.
func (j *Jobs) Wait(ctx context.Context, id int64) error {
	ch := make(chan error, 1)
	if j.addWaiter(id, ch) {
		defer j.removeWaiter(id, ch)
	}
	tick := time.NewTicker(j.poll)
	defer tick.Stop()
	for {
		// The job may have finished before the waiter was registered, or elsewhere.
		if done, err := j.finished(ctx, id); done {
			return err
		}
		select {
		case err := <-ch:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// addWaiter registers ch to be told when job id is done, unless maxWaiters are already.
func (j *Jobs) addWaiter(id int64, ch chan error) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.nwaiters >= j.maxWaiters {
		return false
	}
	if j.waiters[id] == nil {
		j.waiters[id] = map[chan error]struct{}{}
	}
	j.waiters[id][ch] = struct{}{}
	j.nwaiters++
	return true
}

func (j *Jobs) removeWaiter(id int64, ch chan error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, ok := j.waiters[id][ch]; !ok {
		return // told, and removed then
	}
	delete(j.waiters[id], ch)
	j.nwaiters--
	if len(j.waiters[id]) == 0 {
		delete(j.waiters, id)
	}
}

func (j *Jobs) finished(ctx context.Context, id int64) (bool, error) {
	jobs, err := j.s.reg.Jobs(ctx, 0, store.Page{})
	if err != nil {
		return false, nil
	}
	for _, job := range jobs {
		if job.ID == id {
			if job.State == store.JobFailed {
				return true, errors.New(job.Error)
			}
			return false, nil
		}
	}
	return true, nil
}

// labelMoved enqueues the commit for every interest in the module when its default
// label moves.
func (j *Jobs) labelMoved(ctx context.Context, m store.Module, label string, c store.Commit) {
	if label != m.DefaultLabelName {
		return
	}
	ctx = auth.AsSystem(context.WithoutCancel(ctx))
	interests, err := j.s.reg.Interests(ctx, m.ID)
	if err != nil {
		j.log.Error("reading interests", "module", m.ID, "err", err)
		return
	}
	for _, in := range interests {
		if j.ecosystems[in.Ecosystem] == nil {
			continue
		}
		if err := j.enqueueInterest(ctx, in, m, c); err != nil {
			j.log.Error("enqueueing SDK generation", "module", m.ID, "commit", c.ID, "generator", in.Generator, "err", err)
		}
	}
}

func (j *Jobs) enqueueInterest(ctx context.Context, in store.Interest, m store.Module, c store.Commit) error {
	gen, err := parseGenerator(in.Generator)
	if err != nil {
		return err
	}
	owner, err := j.s.reg.Owner(ctx, m.OwnerID, "")
	if err != nil {
		return err
	}
	b, err := j.s.Resolve(ctx, SDK{Owner: owner.Name, Module: m.Name, Gen: gen}, CommitRef{ID: c.ID}, Pin{})
	if err != nil {
		return err
	}
	_, err = j.Enqueue(ctx, in.Ecosystem, b)
	return err
}

// Run works through the queue with n workers until ctx ends.
func (j *Jobs) Run(ctx context.Context, n int) {
	ctx = auth.AsSystem(ctx)
	work := make(chan store.Job)
	var wg sync.WaitGroup
	for range max(n, 1) {
		wg.Go(func() {
			for job := range work {
				j.run(ctx, job)
			}
		})
	}
	defer wg.Wait()
	defer close(work)
	// Polling as well as waking picks up jobs other processes enqueued (lathe commands).
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		jobs, err := j.s.reg.Jobs(ctx, store.JobPending, store.Page{Limit: 100})
		if err != nil && ctx.Err() == nil {
			j.log.Error("reading the job queue", "err", err)
		}
		for _, job := range jobs {
			j.mu.Lock()
			busy := j.running[job.ID]
			j.running[job.ID] = true
			j.mu.Unlock()
			if busy {
				continue
			}
			select {
			case work <- job:
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-j.wake:
		case <-tick.C:
		}
	}
}

func (j *Jobs) run(ctx context.Context, job store.Job) {
	start := time.Now()
	a, err := j.do(ctx, job)
	if ctx.Err() != nil {
		return // shutting down: the job stays pending
	}
	if err == nil {
		err = j.s.reg.FinishJob(ctx, job.ID)
		j.log.Info("published SDK version", "ecosystem", job.Ecosystem, "package", a.Name, "version", a.Version, "duration", time.Since(start))
	} else {
		if ge := (*GenerationError)(nil); !errors.As(err, &ge) {
			// Generation failures are logged where they happen, with the package.
			j.log.Error("SDK generation failed", "ecosystem", job.Ecosystem, "module", job.ModuleID, "commit", job.CommitID,
				"generator", job.Generator, "err", err)
		}
		if ferr := j.s.reg.FailJob(ctx, job.ID, err.Error()); ferr != nil {
			j.log.Error("recording a failed job", "err", ferr)
		}
	}
	j.mu.Lock()
	delete(j.running, job.ID)
	waiters := j.waiters[job.ID]
	delete(j.waiters, job.ID)
	j.nwaiters -= len(waiters)
	j.mu.Unlock()
	for ch := range waiters {
		ch <- err // buffered: a waiter that left is not waited for
	}
}

func (j *Jobs) do(ctx context.Context, job store.Job) (store.Artifact, error) {
	eco := j.ecosystems[job.Ecosystem]
	if eco == nil {
		return store.Artifact{}, fmt.Errorf("no ecosystem %q on this server", job.Ecosystem)
	}
	gen, err := parseGenerator(job.Generator)
	if err != nil {
		return store.Artifact{}, err
	}
	m, owner, err := j.s.reg.Module(ctx, registry.ModuleRef{ID: job.ModuleID})
	if err != nil {
		return store.Artifact{}, err
	}
	b, err := j.s.Resolve(ctx, SDK{Owner: owner.Name, Module: m.Name, Gen: gen}, CommitRef{ID: job.CommitID},
		Pin{Version: job.PluginVersion, Revision: job.PluginRevision, Template: job.TemplateVersion})
	if err != nil {
		return store.Artifact{}, err
	}
	return j.s.publish(ctx, eco, b, true, true)
}

// Request queues the generation of an SDK version at a commit with the generator's
// latest version, records interest in the SDK, and returns the job with the package and
// version it publishes. The caller must be able to read the module.
func (j *Jobs) Request(ctx context.Context, eco string, s SDK, ref CommitRef) (store.Job, string, string, error) {
	e := j.ecosystems[eco]
	if e == nil {
		return store.Job{}, "", "", fmt.Errorf("%w: SDK generation ahead of requests is for %s, not %q", registry.ErrInvalid, strings.Join(j.ecosystemNames(), ", "), eco)
	}
	b, err := j.s.Resolve(ctx, s, ref, Pin{})
	if err != nil {
		return store.Job{}, "", "", err
	}
	name, version, err := e.Package(b)
	if err != nil {
		return store.Job{}, "", "", err
	}
	if _, err := j.Interest(ctx, eco, b); err != nil {
		return store.Job{}, "", "", err
	}
	job, err := j.Enqueue(ctx, eco, b)
	return job, name, version, err
}

func (j *Jobs) ecosystemNames() []string {
	var names []string
	for name := range j.ecosystems {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// FirstWait bounds how long a request that finds an SDK with no published version waits
// for its first one.
const FirstWait = 2 * time.Minute

// List is what a package index does when asked for an SDK's package: it lists what is
// published of it (list returns how many versions it found), records interest in the
// SDK, and if nothing is published yet generates the first version as [Jobs.First] does
// and lists again. Still nothing is ErrNotFound, saying that what (e.g. "crate NAME")
// has no published version yet.
func (j *Jobs) List(ctx context.Context, eco string, b Build, what string, list func(context.Context) (int, error)) error {
	n, err := list(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		_, err := j.Interest(ctx, eco, b)
		return err
	}
	if err := j.First(ctx, eco, b); err != nil {
		return err
	}
	if n, err = list(ctx); err != nil {
		return err
	}
	if n == 0 {
		return notFoundf("%s has no published version yet (lathe sdk jobs shows why)", what)
	}
	return nil
}

// First records interest in an SDK of which nothing is published yet, queues its build
// and waits for it, at most FirstWait. A late generation is only logged: the caller lists
// whatever is published. A failed one, now or recently (it is not run again before its
// retry time), is returned as a [*GenerationError].
func (j *Jobs) First(ctx context.Context, eco string, b Build) error {
	e := j.ecosystems[eco]
	if e != nil {
		if err := j.s.RecentFailure(ctx, e, b); err != nil {
			return err
		}
	}
	if err := j.s.mayGenerate(ctx); err != nil {
		return err
	}
	job, err := j.Interest(ctx, eco, b)
	if err == nil && job.ID == 0 {
		// Interest was recorded earlier, but nothing is published yet.
		job, err = j.Enqueue(ctx, eco, b)
	}
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, FirstWait)
	defer cancel()
	err = j.Wait(wctx, job.ID)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case wctx.Err() != nil:
		j.log.Warn("the first version of an SDK is not ready", "ecosystem", eco, "sdk", b.SDK.String(), "err", err)
		return nil
	}
	if ge := (*GenerationError)(nil); errors.As(err, &ge) || e == nil {
		return err
	}
	// The job failed before Wait was called, or in another process.
	if rerr := j.s.RecentFailure(ctx, e, b); rerr != nil {
		return rerr
	}
	name, version, perr := e.Package(b)
	if perr != nil {
		return perr
	}
	return &GenerationError{Ecosystem: eco, Package: name, Version: version, Build: b, Err: err}
}
