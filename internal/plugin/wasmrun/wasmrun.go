package wasmrun

import (
	"bytes"
	"container/list"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/lathe-registry/lathe/internal/plugin"
)

const (
	// stderrTail is how much of a plugin's stderr is kept, as runner.go documents.
	stderrTail = 64 << 10
	pageSize   = 64 << 10
	// maxMemory is all a 32-bit WebAssembly memory can address.
	maxMemory = 1 << 32
)

// Runner runs WASI preview 1 modules. It is safe for concurrent use.
type Runner struct {
	rt    wazero.Runtime
	cache wazero.CompilationCache // nil without WithCacheDir
	base  wazero.ModuleConfig

	mu         sync.Mutex
	modules    map[[sha256.Size]byte]*compiled
	recent     list.List // of the compiled modules in modules, most recently used first
	maxModules int

	// compiles and closedModules count compilations and evictions, for tests of the cache.
	compiles      atomic.Int64
	closedModules atomic.Int64
	closed        atomic.Bool
	// runsMu orders run starts against Close; shutdown ends the runs in progress, which
	// must be gone before the runtime closes: wazero's Close races with running code.
	runsMu   sync.Mutex
	runs     sync.WaitGroup
	shutdown context.Context
	stopAll  context.CancelCauseFunc
	// starting, if set, is called with the program of every run about to call _start,
	// so that tests can act while a run is in progress.
	starting func(program string)
}

var _ plugin.Runner = (*Runner)(nil)

// compiled is a cache entry; done is closed once mod or err is set.
type compiled struct {
	done       chan struct{}
	mod        wazero.CompiledModule
	initMemory uint64 // bytes of linear memory the module starts with
	err        error

	// Guarded by Runner.mu.
	key     [sha256.Size]byte
	elem    *list.Element // in Runner.recent once compiled
	users   int           // runs holding the entry
	evicted bool          // out of the cache; closed by its last user
}

// DefaultMaxModules is how many compiled modules a Runner keeps by default.
const DefaultMaxModules = 16

// Option configures a [Runner].
type Option func(*options)

type options struct {
	cacheDir   string
	maxModules int
}

// WithCacheDir keeps compiled machine code in dir (created if missing), so that
// compiling a module another Runner, or an earlier process, already compiled is a file
// read. Several processes may share dir.
func WithCacheDir(dir string) Option {
	return func(o *options) { o.cacheDir = dir }
}

// WithMaxModules keeps at most n compiled modules in memory (at least 1; default
// [DefaultMaxModules]), evicting the least recently used. An evicted module is compiled
// again when next run, which with [WithCacheDir] is a file read.
func WithMaxModules(n int) Option {
	return func(o *options) { o.maxModules = n }
}

// New returns a Runner. Call [Runner.Close] to release its compiled modules.
func New(ctx context.Context, opts ...Option) (*Runner, error) {
	o := options{maxModules: DefaultMaxModules}
	for _, opt := range opts {
		opt(&o)
	}
	// The compiler where wazero has one (amd64, arm64), else the interpreter. Closing on
	// context done is what stops a module at its time limit or when the caller gives up.
	cfg := wazero.NewRuntimeConfig().WithCloseOnContextDone(true)
	r := &Runner{modules: make(map[[sha256.Size]byte]*compiled), maxModules: max(o.maxModules, 1)}
	r.shutdown, r.stopAll = context.WithCancelCause(context.Background())
	if o.cacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(o.cacheDir)
		if err != nil {
			return nil, fmt.Errorf("wasmrun: compilation cache: %w", err)
		}
		r.cache = cache
		cfg = cfg.WithCompilationCache(cache)
	}
	r.rt = wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, r.rt); err != nil {
		r.Close(ctx)
		return nil, fmt.Errorf("wasmrun: WASI: %w", err)
	}
	// No name, so that any number of instances of a module can run at once; no start
	// functions, so that Run calls _start itself and can tell link errors from failures.
	r.base = wazero.NewModuleConfig().WithName("").WithStartFunctions()
	return r, nil
}

// errClosed is returned by runs that Close stopped or that started after it.
var errClosed = errors.New("wasmrun: runner closed")

// Close releases the runtime, its compiled modules and the compilation cache. Runs in
// progress stop and fail.
func (r *Runner) Close(ctx context.Context) error {
	r.runsMu.Lock()
	r.closed.Store(true)
	r.runsMu.Unlock()
	r.stopAll(errClosed)
	r.runs.Wait()
	err := r.rt.Close(ctx)
	if r.cache != nil {
		err = errors.Join(err, r.cache.Close(ctx))
	}
	return err
}

// Errors that stop a module: the cause of the run context's cancellation.
var (
	errTimeLimit = errors.New("time limit")
	errCaller    = errors.New("caller canceled")
)

// Run instantiates the module at inv.Program afresh and runs its _start function.
func (r *Runner) Run(ctx context.Context, inv plugin.Invocation) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.runsMu.Lock()
	if r.closed.Load() {
		r.runsMu.Unlock()
		return nil, errClosed
	}
	r.runs.Add(1)
	r.runsMu.Unlock()
	defer r.runs.Done()
	lim := inv.Limits.WithDefaults()
	wasm, err := os.ReadFile(inv.Program)
	if err != nil {
		return nil, fmt.Errorf("wasmrun: %w", err)
	}
	c, err := r.compile(ctx, wasm)
	if err != nil {
		return nil, err
	}
	defer r.release(c)
	memLimit := uint64(min(max(lim.Memory, 0), maxMemory)) &^ (pageSize - 1)
	if c.initMemory > memLimit {
		return nil, &plugin.Error{
			Reason: fmt.Sprintf("needs %d bytes of memory to start, over the limit of %d", c.initMemory, memLimit),
			Limit:  true,
		}
	}

	// A fresh context, so that only the caller's cancellation reaches wazero (see the
	// package doc); causes tell apart why the module was stopped.
	runCtx, stop := context.WithCancelCause(context.Background())
	defer stop(nil)
	defer context.AfterFunc(ctx, func() { stop(errCaller) })()
	defer context.AfterFunc(r.shutdown, func() { stop(errClosed) })()
	timeout, timeLimit := lim.WallTime, "wall time"
	if lim.CPUTime < timeout {
		timeout, timeLimit = lim.CPUTime, "CPU time"
	}
	runCtx, cancel := context.WithTimeoutCause(runCtx, timeout, errTimeLimit)
	defer cancel()
	st := &runState{
		ctx:       runCtx,
		stdout:    &cappedWriter{limit: lim.OutputBytes},
		stderr:    &tailWriter{},
		mem:       &memoryGuard{limit: memLimit},
		timeLimit: fmt.Sprintf("%s of %s", timeLimit, timeout),
	}
	runCtx = experimental.WithMemoryAllocator(runCtx, st.mem)
	var clock virtualClock
	cfg := r.base.
		WithWalltime(clock.walltime, sys.ClockResolution(time.Microsecond)).
		WithNanotime(clock.nanotime, sys.ClockResolution(1)).
		WithNanosleep(clock.sleep).
		WithArgs(append([]string{filepath.Base(inv.Program)}, inv.Args...)...).
		WithStdin(bytes.NewReader(inv.Stdin)).
		WithStdout(st.stdout).
		WithStderr(st.stderr)
	mod, err := r.rt.InstantiateModule(runCtx, c.mod, cfg)
	if err != nil {
		if pe := st.failure(err); pe != nil {
			return nil, pe
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("wasmrun: instantiate %s: %w", inv.Program, err)
	}
	defer mod.Close(context.Background())
	start := mod.ExportedFunction("_start")
	if start == nil {
		return nil, fmt.Errorf("wasmrun: %s is not a WASI command: no _start function", inv.Program)
	}
	if r.starting != nil {
		r.starting(inv.Program)
	}
	_, err = start.Call(runCtx)
	if r.closed.Load() {
		// Closing the runtime closes its modules with status 0, which is no success.
		return nil, errClosed
	}
	if exit := (*sys.ExitError)(nil); errors.As(err, &exit) && exit.ExitCode() == 0 {
		err = nil // proc_exit(0), which Go's main always calls
	}
	if pe := st.failure(err); pe != nil {
		return nil, pe
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// A trap: the module crashed (a Rust panic, say). The first line is the message;
		// a wasm stack trace follows.
		msg, _, _ := strings.Cut(err.Error(), "\n")
		return nil, &plugin.Error{Reason: "crashed: " + msg, Stderr: st.stderr.String()}
	}
	return st.stdout.buf.Bytes(), nil
}

// runState is what a run's failure is judged by.
type runState struct {
	ctx       context.Context // the run's, whose cause says why it was stopped
	stdout    *cappedWriter
	stderr    *tailWriter
	mem       *memoryGuard
	timeLimit string // "wall time of 2m0s"
}

// failure returns the plugin error that err, returned by running a module, stands for;
// nil when err is nil or a successful exit, or a trap or runner error for the caller to
// handle.
func (st *runState) failure(err error) *plugin.Error {
	// First: the module was stopped by an exit error, with a status of no meaning.
	if st.stdout.exceeded {
		return &plugin.Error{
			Reason: fmt.Sprintf("killed: output limit of %d bytes exceeded", st.stdout.limit),
			Stderr: st.stderr.String(),
			Limit:  true,
		}
	}
	var exit *sys.ExitError
	isExit := errors.As(err, &exit)
	if err == nil || isExit && exit.ExitCode() == 0 {
		return nil
	}
	// Denied memory counts only if the module failed; one that coped with it succeeded.
	if st.mem.denied {
		return &plugin.Error{
			Reason: fmt.Sprintf("ran out of memory: limit of %d bytes exceeded", st.mem.limit),
			Stderr: st.stderr.String(),
			Limit:  true,
		}
	}
	switch context.Cause(st.ctx) {
	case errTimeLimit:
		return &plugin.Error{Reason: "killed: " + st.timeLimit + " exceeded", Stderr: st.stderr.String(), Limit: true}
	case errCaller:
		return nil // the caller's error, not the plugin's
	}
	if isExit {
		return &plugin.Error{Reason: fmt.Sprintf("exited with status %d", exit.ExitCode()), Stderr: st.stderr.String()}
	}
	return nil
}

// compile returns the compiled module for wasm, compiling it unless it is cached.
// Concurrent runs of a new module wait for one compilation. The caller must release the
// entry once it no longer uses the module.
func (r *Runner) compile(ctx context.Context, wasm []byte) (*compiled, error) {
	key := sha256.Sum256(wasm)
	r.mu.Lock()
	c, ok := r.modules[key]
	if !ok {
		c = &compiled{done: make(chan struct{}), key: key}
		r.modules[key] = c
	} else if c.elem != nil {
		r.recent.MoveToFront(c.elem)
	}
	c.users++
	r.mu.Unlock()
	if ok {
		select {
		case <-c.done:
			if c.err != nil {
				r.release(c)
				return nil, c.err
			}
			return c, nil
		case <-ctx.Done():
			r.release(c)
			return nil, ctx.Err()
		}
	}

	r.compiles.Add(1)
	// Not the caller's context: compilation is not interruptible, its result serves every
	// later caller, and wazero reads experimental settings, such as function listeners,
	// from context values.
	c.mod, c.err = r.rt.CompileModule(context.Background(), wasm)
	if c.err == nil {
		c.initMemory, c.err = initialMemory(wasm)
	}
	if c.err != nil {
		c.err = fmt.Errorf("wasmrun: compile: %w", c.err)
	}
	r.mu.Lock()
	var evicted []*compiled
	if c.err != nil {
		// Not cached: the bytes are bad for good, but the error may be the host's.
		delete(r.modules, key)
		c.evicted = true
	} else {
		c.elem = r.recent.PushFront(c)
		evicted = r.evict()
	}
	r.mu.Unlock()
	close(c.done)
	r.closeModules(evicted)
	if c.err != nil {
		r.release(c)
		return nil, c.err
	}
	return c, nil
}

// evict drops the least recently used modules beyond the cap from the cache and returns
// those that no run uses, for the caller to close; the others are closed by their last
// user. Called with r.mu held.
func (r *Runner) evict() []*compiled {
	var unused []*compiled
	for r.recent.Len() > r.maxModules {
		c := r.recent.Remove(r.recent.Back()).(*compiled)
		c.elem = nil
		c.evicted = true
		delete(r.modules, c.key)
		if c.users == 0 {
			unused = append(unused, c)
		}
	}
	return unused
}

// release ends a run's use of a cache entry, closing it if it was evicted meanwhile.
func (r *Runner) release(c *compiled) {
	r.mu.Lock()
	c.users--
	last := c.users == 0 && c.evicted
	r.mu.Unlock()
	if last {
		r.closeModules([]*compiled{c})
	}
}

func (r *Runner) closeModules(cs []*compiled) {
	for _, c := range cs {
		// Closing the runtime has closed every module already.
		if c.mod != nil && !r.closed.Load() {
			_ = c.mod.Close(context.Background()) // always nil in wazero
			r.closedModules.Add(1)
		}
	}
}

// initialMemory returns the initial size in bytes of the memory a module defines. The
// size is not part of wazero's CompiledModule when the memory is not exported, so it is
// read from the binary, which wazero has already validated.
func initialMemory(wasm []byte) (uint64, error) {
	const memorySection = 5
	if len(wasm) < 8 {
		return 0, errors.New("truncated module")
	}
	p := wasm[8:] // magic and version
	for len(p) > 0 {
		id := p[0]
		size, n := uleb(p[1:])
		if n == 0 || size > uint64(len(p)-1-n) {
			return 0, errors.New("malformed section")
		}
		body := p[1+n : 1+n+int(size)]
		p = p[1+n+int(size):]
		if id != memorySection {
			continue
		}
		count, n := uleb(body)
		if n == 0 {
			return 0, errors.New("malformed memory section")
		}
		body = body[n:]
		var total uint64
		for range count {
			if len(body) == 0 {
				return 0, errors.New("malformed memory section")
			}
			flags := body[0]
			pages, n := uleb(body[1:])
			if n == 0 {
				return 0, errors.New("malformed memory section")
			}
			body = body[1+n:]
			if flags&1 != 0 { // a maximum follows
				_, n = uleb(body)
				if n == 0 {
					return 0, errors.New("malformed memory section")
				}
				body = body[n:]
			}
			total += pages * pageSize
		}
		return total, nil
	}
	return 0, nil
}

// uleb decodes an unsigned LEB128 number, returning it and its length, 0 if malformed.
func uleb(p []byte) (uint64, int) {
	var v uint64
	for i := 0; i < len(p) && i < 10; i++ {
		v |= uint64(p[i]&0x7f) << (7 * i)
		if p[i]&0x80 == 0 {
			return v, i + 1
		}
	}
	return 0, 0
}

// memoryGuard backs a module's linear memory, refusing to grow it past limit. wazero
// calls it from the goroutine running the module.
type memoryGuard struct {
	limit     uint64
	buf       []byte
	allocated bool
	denied    bool
}

func (g *memoryGuard) Allocate(_, _ uint64) experimental.LinearMemory { return g }

// Reallocate grows the memory by copying, as wazero's default allocator does. The first
// call allocates the initial memory, which Run checked against the limit.
func (g *memoryGuard) Reallocate(size uint64) []byte {
	if size > g.limit && g.allocated {
		g.denied = true
		return nil // memory.grow returns -1 to the module
	}
	g.allocated = true
	if size > uint64(cap(g.buf)) {
		// Room to grow by a quarter, as append would, but not past the limit. Memory
		// never shrinks, so bytes past the length are still the zeros make gave them.
		capacity := max(size, min(uint64(cap(g.buf))/4*5, g.limit))
		buf := make([]byte, size, capacity)
		copy(buf, g.buf)
		g.buf = buf
	}
	g.buf = g.buf[:size]
	return g.buf
}

func (g *memoryGuard) Free() { g.buf = nil }

// virtualClock is a module's time: it advances 1 ms at every reading, as wazero's fake
// clocks do, so that a loop waiting for time to pass ends, and by the full duration of
// every sleep, at once, so that a sleeping module neither blocks a host thread (wazero
// cannot interrupt a sleep) nor spins through the sleep 1 ms at a time. Its wall clock
// starts at 2022-01-01T00:00:00Z, as wazero's does.
type virtualClock struct{ ns atomic.Int64 }

const virtualEpoch = 1640995200 * int64(time.Second)

func (c *virtualClock) nanotime() int64 {
	return c.ns.Add(int64(time.Millisecond)) - int64(time.Millisecond)
}

func (c *virtualClock) walltime() (int64, int32) {
	t := virtualEpoch + c.nanotime()
	return t / int64(time.Second), int32(t % int64(time.Second))
}

func (c *virtualClock) sleep(ns int64) { c.ns.Add(max(ns, 0)) }

// cappedWriter keeps up to limit bytes, and stops the module at the first write past
// them.
type cappedWriter struct {
	limit    int64
	buf      bytes.Buffer
	exceeded bool
}

func (w *cappedWriter) Write(p []byte) (int, error) {
	if int64(w.buf.Len())+int64(len(p)) > w.limit {
		w.exceeded = true
		// Write runs inside the module's fd_write call, on its goroutine. Panicking with
		// an exit error is how WASI's proc_exit stops a module: wazero recovers it and
		// returns it from the call, and no more of the module's code runs. (Cancelling
		// the context would have wazero stop the module later, from another goroutine.)
		panic(sys.NewExitError(sys.ExitCodeContextCanceled))
	}
	return w.buf.Write(p)
}

// tailWriter keeps the last stderrTail bytes written to it.
type tailWriter struct {
	buf       []byte
	truncated bool
}

func (w *tailWriter) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= stderrTail {
		w.buf = append(w.buf[:0], p[len(p)-stderrTail:]...)
		w.truncated = true
		return n, nil
	}
	w.buf = append(w.buf, p...)
	// Drop the head only once twice the tail has accumulated, so that copying stays
	// linear in what is written.
	if len(w.buf) >= 2*stderrTail {
		w.buf = append(w.buf[:0], w.buf[len(w.buf)-stderrTail:]...)
		w.truncated = true
	}
	return n, nil
}

func (w *tailWriter) String() string {
	b := w.buf
	if len(b) > stderrTail {
		b = b[len(b)-stderrTail:]
		w.truncated = true
	}
	if w.truncated {
		// Don't start in the middle of a character.
		for i := 0; i < utf8.UTFMax && len(b) > 0 && !utf8.RuneStart(b[0]); i++ {
			b = b[1:]
		}
	}
	return string(b)
}
