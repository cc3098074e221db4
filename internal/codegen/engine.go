// Package codegen is the code generation engine: it runs a plugin version on a
// CodeGeneratorRequest and returns the plugin's CodeGeneratorResponse, exactly once per
// distinct input.
//
//  1. Key: SHA-256 over the plugin version's digest and a digest of the input: the
//     deterministic encoding of the request, or a cheaper digest the caller vouches for
//     (the bytes of a buf image as they arrived). Same key, same bytes, always.
//  2. Cache: a key whose output is recorded is answered from the blob store.
//  3. Single flight: concurrent calls with one key share one plugin run.
//  4. Worker pool: at most N plugins run at once; callers wait their turn (or give up
//     when their context ends) so that the server stays responsive. A run is admitted to
//     the pool only while at least one of its callers still waits, and only then builds
//     its request: callers that gave up cause no work. Once admitted, a run finishes
//     even if its callers go, for those that join it later and for the cache.
//  5. Run: the plugin's program, materialized from the blob store, runs under its
//     runtime's [plugin.Runner] with the engine's limits.
//  6. Validate: output must parse, file names must be clean relative paths, and the total
//     size is capped. Failures are returned to the caller with the plugin's own words.
package codegen

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/lathe-registry/lathe/internal/blob"
	"github.com/lathe-registry/lathe/internal/plugin"
	"github.com/lathe-registry/lathe/internal/store"
)

// ErrPlugin is matched by errors that are the plugin's fault: it failed, hit a limit or
// wrote invalid output. Their messages are meant for the user who asked for generation.
var ErrPlugin = errors.New("plugin failed")

// Engine runs plugins with caching and single flight. Safe for concurrent use.
type Engine struct {
	store    store.Store
	blobs    blob.Store
	runners  map[string]plugin.Runner
	programs *Programs
	limits   plugin.Limits
	slots    chan struct{}
	log      *slog.Logger
	runs     atomic.Int64

	mu      sync.Mutex
	flights map[string]*flight // by generation key
}

// flight is one run shared by the concurrent callers of a generation key.
type flight struct {
	done chan struct{} // closed once resp and err are set
	resp *pluginpb.CodeGeneratorResponse
	err  error

	// Guarded by Engine.mu.
	waiters  int
	admitted bool
	gone     chan struct{} // closed when the last waiter leaves before admission
}

// Config configures an [Engine].
type Config struct {
	// Runners maps a plugin version's Runtime to the runner for it.
	Runners map[string]plugin.Runner
	// Programs materializes plugin programs for the runners.
	Programs *Programs
	// Limits bound every plugin run; zero fields take plugin.DefaultLimits.
	Limits plugin.Limits
	// Workers is how many plugins may run at once; at least 1.
	Workers int
	Logger  *slog.Logger
}

// New returns an engine.
func New(s store.Store, b blob.Store, cfg Config) *Engine {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Engine{
		store:    s,
		blobs:    b,
		runners:  cfg.Runners,
		programs: cfg.Programs,
		limits:   cfg.Limits.WithDefaults(),
		slots:    make(chan struct{}, max(cfg.Workers, 1)),
		log:      cfg.Logger,
		flights:  make(map[string]*flight),
	}
}

// Supports reports whether the engine can run plugins of the runtime.
func (e *Engine) Supports(runtime string) bool { return e.runners[runtime] != nil }

// Runs reports how many times a plugin process has been started, for tests and metrics.
func (e *Engine) Runs() int64 { return e.runs.Load() }

// InputDigest identifies a request by the SHA-256 of its deterministic encoding.
func InputDigest(req *pluginpb.CodeGeneratorRequest) ([]byte, error) {
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(req)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	return sum[:], nil
}

// Key returns the generation key of a plugin version and an input digest.
func Key(pv store.PluginVersion, inputDigest []byte) string {
	h := sha256.New()
	h.Write([]byte("lathe generation v1\x00"))
	h.Write(pv.Digest)
	h.Write([]byte{0})
	h.Write(inputDigest)
	return hex.EncodeToString(h.Sum(nil))
}

// Generate returns the plugin version's response to the request. A response whose error
// field the plugin set is returned as it is, uncached; any other failure of the plugin is
// an error matching [ErrPlugin].
func (e *Engine) Generate(ctx context.Context, pv store.PluginVersion, req *pluginpb.CodeGeneratorRequest) (*pluginpb.CodeGeneratorResponse, error) {
	digest, err := InputDigest(req)
	if err != nil {
		return nil, err
	}
	return e.generate(ctx, pv, digest, func() (*pluginpb.CodeGeneratorRequest, error) { return req, nil })
}

// GenerateInput is [Engine.Generate] for a request built from files that the caller
// decodes only if a plugin must run: the request is in's (see [Input.Request]), and
// files is called at most once, on a cache miss, after the run is admitted. Its errors
// are returned as they are.
func (e *Engine) GenerateInput(ctx context.Context, pv store.PluginVersion, in Input, files func() ([]File, error)) (*pluginpb.CodeGeneratorResponse, error) {
	return e.generate(ctx, pv, in.Digest(), func() (*pluginpb.CodeGeneratorRequest, error) {
		f, err := files()
		if err != nil {
			return nil, err
		}
		return in.Request(f)
	})
}

// generate answers from the cache or from the key's flight, starting one if there is
// none; build must return the request that inputDigest identifies.
func (e *Engine) generate(ctx context.Context, pv store.PluginVersion, inputDigest []byte, build func() (*pluginpb.CodeGeneratorRequest, error)) (*pluginpb.CodeGeneratorResponse, error) {
	key := Key(pv, inputDigest)
	if resp, err := e.cached(ctx, key); err == nil || !errors.Is(err, store.ErrNotFound) {
		return resp, err
	}
	fl := e.join(ctx, key, pv, build)
	select {
	case <-ctx.Done():
		e.leave(key, fl)
		return nil, ctx.Err()
	case <-fl.done:
		if fl.err != nil {
			return nil, fl.err
		}
		// Every caller gets its own copy: responses are mutable messages.
		return proto.Clone(fl.resp).(*pluginpb.CodeGeneratorResponse), nil
	}
}

// join adds the caller to the key's flight, starting the flight if there is none. The
// flight must not end because the caller that started it went away: it runs detached
// from the caller's cancellation, keeping its values.
func (e *Engine) join(ctx context.Context, key string, pv store.PluginVersion, build func() (*pluginpb.CodeGeneratorRequest, error)) *flight {
	e.mu.Lock()
	defer e.mu.Unlock()
	fl, ok := e.flights[key]
	if !ok {
		fl = &flight{done: make(chan struct{}), gone: make(chan struct{})}
		e.flights[key] = fl
		go e.fly(context.WithoutCancel(ctx), key, fl, pv, build)
	}
	fl.waiters++
	return fl
}

// leave removes a caller that gave up from its flight. The last one to leave a flight not
// yet admitted abandons it: a later caller of the key starts a new flight.
func (e *Engine) leave(key string, fl *flight) {
	e.mu.Lock()
	defer e.mu.Unlock()
	fl.waiters--
	if fl.waiters == 0 && !fl.admitted {
		close(fl.gone)
		if e.flights[key] == fl {
			delete(e.flights, key)
		}
	}
}

// errAbandoned ends a flight whose callers all gave up; no caller sees it.
var errAbandoned = errors.New("codegen: every caller gave up before the plugin could run")

// admit waits for a worker slot for the flight, unless its callers all give up first.
// On success the caller must release the slot.
func (e *Engine) admit(fl *flight) error {
	select {
	case e.slots <- struct{}{}:
	case <-fl.gone:
		return errAbandoned
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if fl.waiters == 0 { // the last caller left as the slot came free
		<-e.slots
		return errAbandoned
	}
	fl.admitted = true
	return nil
}

func (e *Engine) fly(ctx context.Context, key string, fl *flight, pv store.PluginVersion, build func() (*pluginpb.CodeGeneratorRequest, error)) {
	fl.resp, fl.err = e.run(ctx, key, fl, pv, build)
	e.mu.Lock()
	if e.flights[key] == fl {
		delete(e.flights, key)
	}
	e.mu.Unlock()
	close(fl.done)
}

func (e *Engine) cached(ctx context.Context, key string) (*pluginpb.CodeGeneratorResponse, error) {
	blobKey, err := e.store.GenerationOutput(ctx, key)
	if err != nil {
		return nil, err
	}
	data, err := blob.ReadAll(ctx, e.blobs, blobKey)
	if err != nil {
		return nil, fmt.Errorf("cached output %s: %w", key, err)
	}
	resp := &pluginpb.CodeGeneratorResponse{}
	if err := proto.Unmarshal(data, resp); err != nil {
		return nil, fmt.Errorf("cached output %s: %w", key, err)
	}
	return resp, nil
}

func (e *Engine) run(ctx context.Context, key string, fl *flight, pv store.PluginVersion, build func() (*pluginpb.CodeGeneratorRequest, error)) (*pluginpb.CodeGeneratorResponse, error) {
	// Another flight may have finished between the cache check and this one.
	if resp, err := e.cached(ctx, key); err == nil || !errors.Is(err, store.ErrNotFound) {
		return resp, err
	}
	runner, ok := e.runners[pv.Runtime]
	if !ok {
		return nil, fmt.Errorf("%w: runtime %q is not enabled on this server", ErrPlugin, pv.Runtime)
	}
	if err := e.admit(fl); err != nil {
		return nil, err
	}
	stdout, err := e.invoke(ctx, runner, pv, build)
	<-e.slots
	var perr *plugin.Error
	if errors.As(err, &perr) {
		return nil, fmt.Errorf("%w: %s", ErrPlugin, strings.TrimSpace(perr.Error()))
	}
	if err != nil {
		return nil, err
	}
	resp := &pluginpb.CodeGeneratorResponse{}
	if err := proto.Unmarshal(stdout, resp); err != nil {
		return nil, fmt.Errorf("%w: its output is not a CodeGeneratorResponse: %v", ErrPlugin, err)
	}
	if err := checkResponse(resp, e.limits.OutputBytes); err != nil {
		return nil, err
	}
	if resp.GetError() != "" {
		return resp, nil
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(resp)
	if err != nil {
		return nil, err
	}
	blobKey, err := blob.PutBytes(ctx, e.blobs, data)
	if err != nil {
		return nil, err
	}
	if err := e.store.Update(ctx, func(tx store.Tx) error {
		_, err := tx.PutGenerationOutput(ctx, key, blobKey)
		return err
	}); err != nil {
		return nil, err
	}
	return resp, nil
}

// invoke builds the request and runs the plugin on it; the caller holds a worker slot.
func (e *Engine) invoke(ctx context.Context, runner plugin.Runner, pv store.PluginVersion, build func() (*pluginpb.CodeGeneratorRequest, error)) ([]byte, error) {
	inv, err := e.programs.Invocation(ctx, pv)
	if err != nil {
		return nil, err
	}
	req, err := build()
	if err != nil {
		return nil, err
	}
	inv.Stdin, err = proto.Marshal(req)
	if err != nil {
		return nil, err
	}
	inv.Limits = e.limits
	e.runs.Add(1)
	start := time.Now()
	stdout, err := runner.Run(ctx, inv)
	e.log.Info("plugin run", "plugin", pv.PluginID, "version", pv.Version, "revision", pv.Revision,
		"runtime", pv.Runtime, "duration", time.Since(start), "err", err)
	return stdout, err
}

// checkResponse rejects output a consumer could not safely write: names that are empty,
// absolute, unclean or escape the output directory, and content beyond the size cap.
// Insertion points are kept for the consumer to apply, as protoc does, but must name a
// file the same way.
func checkResponse(resp *pluginpb.CodeGeneratorResponse, maxBytes int64) error {
	var total int64
	for _, f := range resp.GetFile() {
		name := f.GetName()
		if name == "" && f.GetInsertionPoint() == "" {
			// A continuation of the previous file, as protoc allows.
			total += int64(len(f.GetContent()))
			continue
		}
		if err := checkOutputPath(name); err != nil {
			return fmt.Errorf("%w: it wrote %q: %v", ErrPlugin, name, err)
		}
		total += int64(len(f.GetContent()))
		if total > maxBytes {
			return fmt.Errorf("%w: its output is larger than %d bytes", ErrPlugin, maxBytes)
		}
	}
	return nil
}

func checkOutputPath(name string) error {
	switch {
	case name == "":
		return errors.New("an insertion point names no file")
	case strings.HasPrefix(name, "/"), strings.Contains(name, "\\"), len(name) > 1 && name[1] == ':':
		return errors.New("output paths must be relative")
	case strings.ContainsRune(name, 0):
		return errors.New("output paths must not contain NUL")
	case path.Clean(name) != name || name == "." || name == ".." || strings.HasPrefix(name, "../"):
		return errors.New("output paths must be clean and stay inside the output directory")
	}
	return nil
}

// ResponseError returns the error the plugin reported in the response's error field, or
// nil if it reported none. It matches [ErrPlugin] and reads as the plugin's own words.
func ResponseError(resp *pluginpb.CodeGeneratorResponse) error {
	if resp.GetError() == "" {
		return nil
	}
	return responseError(resp.GetError())
}

type responseError string

func (e responseError) Error() string { return string(e) }

func (responseError) Is(target error) bool { return target == ErrPlugin }
