package codegen_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lathe-registry/lathe/internal/module"
	"github.com/lathe-registry/lathe/internal/module/modtest"
	"google.golang.org/protobuf/reflect/protodesc"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/lathe-registry/lathe/internal/blob/fsblob"
	"github.com/lathe-registry/lathe/internal/codegen"
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

// hostile builds the test plugin once per test binary.
var hostile = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "hostile-")
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "protoc-gen-hostile")
	cmd := exec.Command("go", "build", "-o", out, "./testdata/hostile")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", errors.New(string(b))
	}
	return out, nil
})

type fixture struct {
	engine *codegen.Engine
	pv     store.PluginVersion
	dir    string
}

func newFixture(t testing.TB, limits plugin.Limits) *fixture {
	t.Helper()
	program, err := hostile()
	if err != nil {
		t.Fatal(err)
	}
	st, blobs, dir := openStores(t)
	data, err := os.ReadFile(program)
	if err != nil {
		t.Fatal(err)
	}
	pv, err := registry.New(st, blobs).PushPlugin(context.Background(), registry.PluginParams{
		Owner: "test", Name: "hostile", Version: "v1.0.0", Config: []byte("version: v1\n"),
		Runtime: codegen.RuntimeNative, Program: data, ProgramName: "protoc-gen-hostile",
	})
	if err != nil {
		t.Fatal(err)
	}
	native, err := nativerun.New()
	if err != nil {
		t.Fatal(err)
	}
	programs, err := codegen.NewPrograms(filepath.Join(dir, "programs"), blobs)
	if err != nil {
		t.Fatal(err)
	}
	engine := codegen.New(st, blobs, codegen.Config{
		Runners:  map[string]plugin.Runner{codegen.RuntimeNative: native},
		Programs: programs,
		Limits:   limits,
		Workers:  2,
		Logger:   slog.New(slog.DiscardHandler),
	})
	return &fixture{engine: engine, pv: pv, dir: dir}
}

func request(parameter string) *pluginpb.CodeGeneratorRequest {
	files := []codegen.File{{Proto: &descriptorpb.FileDescriptorProto{
		Name: proto.String("a/v1/a.proto"), Package: proto.String("a.v1"), Syntax: proto.String("proto3"),
	}}}
	req, err := codegen.Request(files, parameter, false, false)
	if err != nil {
		panic(err)
	}
	return req
}

// TestSingleFlight sends 100 identical requests at once: the plugin runs once and every
// caller gets the same bytes; a later request is answered from the cache.
func TestSingleFlight(t *testing.T) {
	f := newFixture(t, plugin.Limits{})
	var wg sync.WaitGroup
	outputs := make([][]byte, 100)
	errs := make([]error, 100)
	for i := range outputs {
		wg.Go(func() {
			resp, err := f.engine.Generate(context.Background(), f.pv, request(""))
			errs[i] = err
			outputs[i], _ = proto.MarshalOptions{Deterministic: true}.Marshal(resp)
		})
	}
	wg.Wait()
	for i := range outputs {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if !bytes.Equal(outputs[i], outputs[0]) {
			t.Fatalf("call %d got different bytes", i)
		}
	}
	if n := f.engine.Runs(); n != 1 {
		t.Fatalf("the plugin ran %d times for 100 identical calls, want 1", n)
	}
	if _, err := f.engine.Generate(context.Background(), f.pv, request("")); err != nil {
		t.Fatal(err)
	}
	if n := f.engine.Runs(); n != 1 {
		t.Fatalf("a cached request ran the plugin again (%d runs)", n)
	}
}

// TestHostilePlugins runs misbehaving plugins in the sandbox: each is stopped or refused
// with an error that says what happened, and nothing escapes.
func TestHostilePlugins(t *testing.T) {
	f := newFixture(t, plugin.Limits{
		Memory: 256 << 20, CPUTime: 5 * time.Second, WallTime: 5 * time.Second,
		Processes: 32, OutputBytes: 16 << 20,
	})
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("the data directory's secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	connected := make(chan struct{}, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
			connected <- struct{}{}
		}
	}()
	escape := filepath.Join(t.TempDir(), "escaped")
	tests := []struct{ param, want string }{
		{"loop", "time"},
		{"alloc", "memory"},
		{"fork", ""},
		{"read=" + secret, "read:"},
		{"read=" + filepath.Join(f.dir, "lathe.db"), "read:"},
		{"dial=" + ln.Addr().String(), "dial:"},
		{"dial=8.8.8.8:53", "dial:"},
		{"write=" + escape, "write:"},
		{"abs", "output paths must be relative"},
		{"dotdot", "stay inside the output directory"},
		{"huge", "output"},
		{"garbage", "not a CodeGeneratorResponse"},
		{"exit", "hostile: giving up"},
	}
	for _, tt := range tests {
		t.Run(strings.SplitN(tt.param, "=", 2)[0], func(t *testing.T) {
			start := time.Now()
			_, err := f.engine.Generate(context.Background(), f.pv, request(tt.param))
			if !errors.Is(err, codegen.ErrPlugin) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want a plugin error containing %q", err, tt.want)
			}
			if d := time.Since(start); d > 15*time.Second {
				t.Fatalf("took %v, beyond its limits", d)
			}
			t.Logf("%s: %v", tt.param, err)
		})
	}
	select {
	case <-connected:
		t.Fatal("a plugin connected to the host")
	default:
	}
	if _, err := os.Stat(escape); err == nil {
		t.Fatal("a plugin wrote outside its scratch directory")
	}
	// The plugin's own error is returned to the caller, not cached as success.
	resp, err := f.engine.Generate(context.Background(), f.pv, request("error"))
	if err != nil || !strings.Contains(resp.GetError(), "not to my taste") {
		t.Fatalf("error response: %v, %v", resp, err)
	}
	// And the engine still works.
	if _, err := f.engine.Generate(context.Background(), f.pv, request("")); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkGenerate measures the engine's server time for a 200-file module with the
// hostile test plugin behaving (it sleeps 300 ms, so "cold" is dominated by that): a cache
// miss, and a cache hit (target under 20 ms).
func BenchmarkGenerate(b *testing.B) {
	f := newFixture(b, plugin.Limits{})
	files := modtest.Generate(20, 10)
	var targets []string
	for p := range files {
		targets = append(targets, p)
	}
	slices.Sort(targets)
	compiled, err := module.Compile(context.Background(), targets, func(p string) ([]byte, bool) {
		c, ok := files[p]
		return c, ok
	}, nil, module.DefaultLimits, true)
	if err != nil {
		b.Fatal(err)
	}
	var in []codegen.File
	for _, c := range compiled {
		in = append(in, codegen.File{Proto: protodesc.ToFileDescriptorProto(c)})
	}
	req, err := codegen.Request(in, "", false, false)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("cache-hit", func(b *testing.B) {
		if _, err := f.engine.Generate(context.Background(), f.pv, req); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := f.engine.Generate(context.Background(), f.pv, req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// openStores opens a metadata and a blob store in a temporary directory, which it
// returns for other files of the test.
func openStores(t testing.TB) (*sqlitestore.Store, *fsblob.Store, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlitestore.Open(filepath.Join(dir, "lathe.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := fsblob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return st, blobs, dir
}
