package codegen_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/lathe-registry/lathe/internal/codegen"
	"github.com/lathe-registry/lathe/internal/plugin"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/store"
)

// fakeRunner answers every request with one file named after the request's first file.
// A run whose parameter is "hold" reports itself on started and waits for release.
type fakeRunner struct {
	started chan string
	release chan struct{}

	mu  sync.Mutex
	ran []string // the first file of each request run
}

func (r *fakeRunner) Run(ctx context.Context, inv plugin.Invocation) ([]byte, error) {
	req := &pluginpb.CodeGeneratorRequest{}
	if err := proto.Unmarshal(inv.Stdin, req); err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.ran = append(r.ran, req.GetFileToGenerate()[0])
	r.mu.Unlock()
	if req.GetParameter() == "hold" {
		r.started <- req.GetFileToGenerate()[0]
		<-r.release
	}
	return proto.Marshal(&pluginpb.CodeGeneratorResponse{File: []*pluginpb.CodeGeneratorResponse_File{{
		Name: proto.String(req.GetFileToGenerate()[0] + ".txt"), Content: proto.String(req.GetParameter()),
	}}})
}

func (r *fakeRunner) runs(file string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, f := range r.ran {
		if f == file {
			n++
		}
	}
	return n
}

// lookupStore reports every cache lookup of the engine. A flight looks its key up once
// more after its first caller has joined it.
type lookupStore struct {
	store.Store
	lookups chan string
}

func (s *lookupStore) GenerationOutput(ctx context.Context, key string) (string, error) {
	s.lookups <- key
	return s.Store.GenerationOutput(ctx, key)
}

// newFakeEngine returns an engine with one worker running plugins on r.
func newFakeEngine(t *testing.T, r *fakeRunner) (*codegen.Engine, store.PluginVersion, *lookupStore) {
	t.Helper()
	st, blobs, dir := openStores(t)
	pv, err := registry.New(st, blobs).PushPlugin(context.Background(), registry.PluginParams{
		Owner: "test", Name: "fake", Version: "v1.0.0", Config: []byte("version: v1\n"),
		Runtime: codegen.RuntimeNative, Program: []byte("fake"), ProgramName: "protoc-gen-fake",
	})
	if err != nil {
		t.Fatal(err)
	}
	programs, err := codegen.NewPrograms(filepath.Join(dir, "programs"), blobs)
	if err != nil {
		t.Fatal(err)
	}
	ls := &lookupStore{Store: st, lookups: make(chan string, 1000)}
	engine := codegen.New(ls, blobs, codegen.Config{
		Runners:  map[string]plugin.Runner{codegen.RuntimeNative: r},
		Programs: programs,
		Workers:  1,
		Logger:   slog.New(slog.DiscardHandler),
	})
	return engine, pv, ls
}

// filesNamed returns generation input of one file, and counts how often it is built.
func filesNamed(name string, built *atomic.Int64) func() ([]codegen.File, error) {
	return func() ([]codegen.File, error) {
		built.Add(1)
		return []codegen.File{{Proto: &descriptorpb.FileDescriptorProto{
			Name: proto.String(name), Package: proto.String("a.v1"), Syntax: proto.String("proto3"),
		}}}, nil
	}
}

// awaitLookups waits until each key has been looked up n times.
func awaitLookups(t *testing.T, ls *lookupStore, n int, keys ...string) {
	t.Helper()
	want := make(map[string]int, len(keys))
	for _, k := range keys {
		want[k] = n
	}
	for len(want) > 0 {
		k := <-ls.lookups
		if want[k]--; want[k] <= 0 {
			delete(want, k)
		}
	}
}

// TestAbandonedBeforeAdmission: callers that give up while every worker is busy cause
// no plugin run and no request building; later callers of the same inputs get runs of
// their own.
func TestAbandonedBeforeAdmission(t *testing.T) {
	r := &fakeRunner{started: make(chan string, 1), release: make(chan struct{})}
	engine, pv, ls := newFakeEngine(t, r)
	image := []byte("image")
	var holderBuilt atomic.Int64
	holder := make(chan error, 1)
	go func() {
		_, err := engine.GenerateInput(context.Background(), pv, codegen.Input{ImageDigest: image, Parameter: "hold"}, filesNamed("hold.proto", &holderBuilt))
		holder <- err
	}()
	<-r.started // the only worker is busy

	const n = 20
	inputs := make([]codegen.Input, n)
	keys := make([]string, n)
	for i := range inputs {
		inputs[i] = codegen.Input{ImageDigest: image, Parameter: fmt.Sprint(i)}
		keys[i] = codegen.Key(pv, inputs[i].Digest())
	}
	var goneBuilt atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, n)
	for _, in := range inputs {
		go func() {
			_, err := engine.GenerateInput(ctx, pv, in, filesNamed("gone.proto", &goneBuilt))
			errs <- err
		}()
	}
	awaitLookups(t, ls, 2, keys...) // every caller has joined its flight
	cancel()
	for range n {
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Fatalf("a caller that gave up got %v", err)
		}
	}
	close(r.release)
	if err := <-holder; err != nil {
		t.Fatal(err)
	}

	// Callers of the same inputs now: had the abandoned flights survived, these would
	// join them, or find their outputs cached.
	var wg sync.WaitGroup
	var built atomic.Int64
	for _, in := range inputs {
		wg.Go(func() {
			resp, err := engine.GenerateInput(context.Background(), pv, in, filesNamed("here.proto", &built))
			if err != nil {
				t.Error(err)
				return
			}
			if got := resp.GetFile()[0].GetName(); got != "here.proto.txt" {
				t.Errorf("parameter %s: got the output %s of a request built for callers that gave up", in.Parameter, got)
			}
		})
	}
	wg.Wait()
	if got := r.runs("gone.proto"); got != 0 {
		t.Errorf("%d plugin runs for callers that gave up, want 0", got)
	}
	if got := goneBuilt.Load(); got != 0 {
		t.Errorf("%d requests built for callers that gave up, want 0", got)
	}
	if got, want := engine.Runs(), int64(1+n); got != want {
		t.Errorf("%d plugin runs, want %d", got, want)
	}
}

// TestAdmittedRunOutlivesCaller: a run admitted for one caller finishes for another that
// waits on it after the first gave up, and its output is cached.
func TestAdmittedRunOutlivesCaller(t *testing.T) {
	r := &fakeRunner{started: make(chan string, 1), release: make(chan struct{})}
	engine, pv, ls := newFakeEngine(t, r)
	in := codegen.Input{ImageDigest: []byte("image"), Parameter: "hold"}
	key := codegen.Key(pv, in.Digest())
	var built atomic.Int64
	first, cancel := context.WithCancel(context.Background())
	firstErr := make(chan error, 1)
	go func() {
		_, err := engine.GenerateInput(first, pv, in, filesNamed("a.proto", &built))
		firstErr <- err
	}()
	<-r.started // admitted and running
	awaitLookups(t, ls, 2, key)

	second := make(chan error, 1)
	go func() {
		resp, err := engine.GenerateInput(context.Background(), pv, in, filesNamed("a.proto", &built))
		if err == nil && resp.GetFile()[0].GetContent() != "hold" {
			err = fmt.Errorf("unexpected response %v", resp)
		}
		second <- err
	}()
	awaitLookups(t, ls, 1, key) // the second caller missed the cache
	cancel()
	if err := <-firstErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("the first caller got %v", err)
	}
	close(r.release)
	if err := <-second; err != nil {
		t.Fatalf("the second caller: %v", err)
	}
	if _, err := engine.GenerateInput(context.Background(), pv, in, filesNamed("a.proto", &built)); err != nil {
		t.Fatal(err)
	}
	if got := engine.Runs(); got != 1 {
		t.Errorf("%d plugin runs, want 1", got)
	}
	if got := built.Load(); got != 1 {
		t.Errorf("the request was built %d times, want 1", got)
	}
}
