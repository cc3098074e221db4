package api_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"

	"github.com/lathe-registry/lathe/internal/api"
	"github.com/lathe-registry/lathe/internal/blob/fsblob"
	"github.com/lathe-registry/lathe/internal/codegen"
	imagev1 "github.com/lathe-registry/lathe/internal/gen/buf/alpha/image/v1"
	registryv1alpha1 "github.com/lathe-registry/lathe/internal/gen/buf/alpha/registry/v1alpha1"
	"github.com/lathe-registry/lathe/internal/gen/buf/alpha/registry/v1alpha1/registryv1alpha1connect"
	"github.com/lathe-registry/lathe/internal/module"
	"github.com/lathe-registry/lathe/internal/module/modtest"
	"github.com/lathe-registry/lathe/internal/plugin"
	"github.com/lathe-registry/lathe/internal/plugin/nativerun"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/store"
	"github.com/lathe-registry/lathe/internal/store/sqlitestore"
)

func TestMain(m *testing.M) {
	nativerun.Init()
	os.Exit(m.Run())
}

// codegenServer serves the API with an engine and the behaving test plugin test/plugin.
func codegenServer(tb testing.TB) (registryv1alpha1connect.CodeGenerationServiceClient, *codegen.Engine, *atomic.Int64) {
	tb.Helper()
	return codegenServerWith(tb, func(s store.Store) store.Store { return s })
}

// codegenServerWith is codegenServer with the engine's store wrapped.
func codegenServerWith(tb testing.TB, wrap func(store.Store) store.Store) (registryv1alpha1connect.CodeGenerationServiceClient, *codegen.Engine, *atomic.Int64) {
	tb.Helper()
	dir := tb.TempDir()
	program := filepath.Join(dir, "protoc-gen-hostile")
	build := exec.Command("go", "build", "-o", program, "../codegen/testdata/hostile")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("%v\n%s", err, out)
	}
	st, err := sqlitestore.Open(filepath.Join(dir, "lathe.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	blobs, err := fsblob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		tb.Fatal(err)
	}
	data, err := os.ReadFile(program)
	if err != nil {
		tb.Fatal(err)
	}
	reg := registry.New(st, blobs)
	if _, err := reg.PushPlugin(context.Background(), registry.PluginParams{Owner: "test", Name: "plugin", Version: "v1.0.0",
		Config: []byte("version: v1\n"), Runtime: codegen.RuntimeNative, Program: data, ProgramName: "protoc-gen-hostile"}); err != nil {
		tb.Fatal(err)
	}
	native, err := nativerun.New()
	if err != nil {
		tb.Fatal(err)
	}
	programs, err := codegen.NewPrograms(filepath.Join(dir, "programs"), blobs)
	if err != nil {
		tb.Fatal(err)
	}
	engine := codegen.New(wrap(st), blobs, codegen.Config{
		Runners: map[string]plugin.Runner{codegen.RuntimeNative: native}, Programs: programs, Workers: 2,
		Logger: slog.New(slog.DiscardHandler),
	})
	h := api.Handler(reg, api.Config{MaxMessageBytes: 64 << 20, Logger: slog.New(slog.DiscardHandler), Engine: engine})
	var serverTime atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.ServeHTTP(w, r)
		serverTime.Add(int64(time.Since(start)))
	}))
	tb.Cleanup(srv.Close)
	return registryv1alpha1connect.NewCodeGenerationServiceClient(http.DefaultClient, srv.URL), engine, &serverTime
}

// generatedImage returns a buf image of a generated module of pkgs × files files.
func generatedImage(tb testing.TB, pkgs, files int) *imagev1.Image {
	sources := modtest.Generate(pkgs, files)
	var targets []string
	for p := range sources {
		targets = append(targets, p)
	}
	slices.Sort(targets)
	compiled, err := module.Compile(context.Background(), targets, func(p string) ([]byte, bool) {
		c, ok := sources[p]
		return c, ok
	}, nil, module.DefaultLimits, true)
	if err != nil {
		tb.Fatal(err)
	}
	image := &imagev1.Image{}
	for _, c := range compiled {
		data, err := proto.Marshal(protodesc.ToFileDescriptorProto(c))
		if err != nil {
			tb.Fatal(err)
		}
		f := &imagev1.ImageFile{}
		if err := proto.Unmarshal(data, f); err != nil {
			tb.Fatal(err)
		}
		image.File = append(image.File, f)
	}
	return image
}

func generateRequest(image *imagev1.Image, options ...string) *connect.Request[registryv1alpha1.GenerateCodeRequest] {
	return connect.NewRequest(&registryv1alpha1.GenerateCodeRequest{
		Image: image,
		Requests: []*registryv1alpha1.PluginGenerationRequest{{
			PluginReference: &registryv1alpha1.CuratedPluginReference{Owner: "test", Name: "plugin"},
			Options:         options,
		}},
	})
}

// TestGenerateCodeCache sends 100 identical GenerateCode calls at once: the plugin runs
// once and every caller gets the same bytes; the input is identified by the bytes of the
// image as they arrived. Other options run the plugin again.
func TestGenerateCodeCache(t *testing.T) {
	client, engine, _ := codegenServer(t)
	image := generatedImage(t, 2, 10)
	outputs := make([][]byte, 100)
	errs := make([]error, 100)
	var wg sync.WaitGroup
	for i := range outputs {
		wg.Go(func() {
			resp, err := client.GenerateCode(context.Background(), generateRequest(image))
			errs[i] = err
			if err == nil {
				outputs[i], _ = proto.MarshalOptions{Deterministic: true}.Marshal(resp.Msg)
			}
		})
	}
	wg.Wait()
	for i := range outputs {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if !bytes.Equal(outputs[i], outputs[0]) {
			t.Fatalf("call %d returned different bytes", i)
		}
	}
	if n := engine.Runs(); n != 1 {
		t.Fatalf("plugin ran %d times for 100 identical calls, want 1", n)
	}
	if _, err := client.GenerateCode(context.Background(), generateRequest(image, "error")); connect.CodeOf(err) != connect.CodeFailedPrecondition {
		t.Fatalf("plugin error: %v, want failed_precondition", err)
	}
	if n := engine.Runs(); n != 2 {
		t.Fatalf("plugin ran %d times, want 2", n)
	}
}

// countingStore counts the engine's cache lookups, the first thing a generation does.
type countingStore struct {
	store.Store
	lookups atomic.Int64
}

func (s *countingStore) GenerationOutput(ctx context.Context, key string) (string, error) {
	s.lookups.Add(1)
	return s.Store.GenerationOutput(ctx, key)
}

// TestGenerateCodeUnknownPlugin: a request naming an unknown plugin after a known one is
// refused before any generation starts, so that nothing runs on after the call returns.
func TestGenerateCodeUnknownPlugin(t *testing.T) {
	var counting *countingStore
	client, engine, _ := codegenServerWith(t, func(s store.Store) store.Store {
		counting = &countingStore{Store: s}
		return counting
	})
	req := generateRequest(generatedImage(t, 1, 2))
	req.Msg.Requests = append(req.Msg.Requests, &registryv1alpha1.PluginGenerationRequest{
		PluginReference: &registryv1alpha1.CuratedPluginReference{Owner: "test", Name: "missing"},
	})
	if _, err := client.GenerateCode(context.Background(), req); connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("error %v, want not_found", err)
	}
	if n := counting.lookups.Load(); n != 0 {
		t.Errorf("%d generations started for a request that failed", n)
	}
	if n := engine.Runs(); n != 0 {
		t.Errorf("%d plugin runs for a request that failed", n)
	}
}

// BenchmarkGenerateCodeCacheHit measures a cache hit for a 200-file image over HTTP,
// decoding and encoding included (target under 20 ms of server time).
func BenchmarkGenerateCodeCacheHit(b *testing.B) {
	client, _, serverTime := codegenServer(b)
	image := generatedImage(b, 20, 10)
	if _, err := client.GenerateCode(context.Background(), generateRequest(image)); err != nil {
		b.Fatal(err)
	}
	serverTime.Store(0)
	for b.Loop() {
		if _, err := client.GenerateCode(context.Background(), generateRequest(image)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(serverTime.Load())/float64(b.N)/1e6, "server-ms/op")
}
