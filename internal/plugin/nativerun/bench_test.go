//go:build linux

package nativerun

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/lathe-registry/lathe/internal/module/modtest"
	"github.com/lathe-registry/lathe/internal/plugin"
)

// BenchmarkProtocGenGo compares a real plugin, protoc-gen-go, sandboxed and unsandboxed, on
// a CodeGeneratorRequest for a generated 200-file module (about 0.8 MB of .proto source).
// Besides ns/op each sub-benchmark reports the plugin's peak RSS (the largest over the
// iterations, from the rusage of its process). The paired sub-benchmark runs both
// runners in every iteration, in alternating order, and reports the ratio of their wall
// times, which holds up on a host whose load varies. Run it without -race:
//
//	go test -run XXX -bench ProtocGenGo -benchtime 20x ./internal/plugin/nativerun
func BenchmarkProtocGenGo(b *testing.B) {
	prog, req := protocGenGo(b)
	inv := plugin.Invocation{Program: prog, Stdin: req}
	type runFunc func(context.Context, plugin.Invocation) (*outcome, error)
	unsandboxed, sandboxed := NewUnsandboxed().run, newRunner(b).run
	// once runs the plugin and returns its wall time, CPU time and peak RSS in KiB.
	once := func(b *testing.B, run runFunc) (wall, cpu time.Duration, rss int64) {
		start := time.Now()
		o, err := run(context.Background(), inv)
		if err != nil {
			b.Fatal(err)
		}
		out, err := o.result()
		d := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		checkResponse(b, out)
		return d, cpuTime(o.state), o.state.SysUsage().(*syscall.Rusage).Maxrss
	}
	for _, r := range []struct {
		name string
		run  runFunc
	}{
		{"unsandboxed", unsandboxed},
		{"sandboxed", sandboxed},
		{"sandboxed-rlimits", newRunner(b, WithoutCgroups()).run},
	} {
		b.Run(r.name, func(b *testing.B) {
			var peak int64
			for b.Loop() {
				_, _, rss := once(b, r.run)
				peak = max(peak, rss)
			}
			b.ReportMetric(float64(peak)/1024, "peak-RSS-MiB")
		})
	}
	b.Run("paired", func(b *testing.B) {
		var total, cpu [2]time.Duration
		var peak [2]int64
		var ratios []float64
		i := 0
		for b.Loop() {
			var d [2]time.Duration
			for k := range 2 {
				which := (i + k) % 2 // 0 unsandboxed, 1 sandboxed; who goes first alternates
				var c time.Duration
				var rss int64
				d[which], c, rss = once(b, []runFunc{unsandboxed, sandboxed}[which])
				total[which] += d[which]
				cpu[which] += c
				peak[which] = max(peak[which], rss)
			}
			ratios = append(ratios, float64(d[1])/float64(d[0]))
			i++
		}
		slices.Sort(ratios)
		b.ReportMetric(float64(total[0].Milliseconds())/float64(i), "unsandboxed-ms/op")
		b.ReportMetric(float64(total[1].Milliseconds())/float64(i), "sandboxed-ms/op")
		b.ReportMetric(float64(total[1])/float64(total[0]), "wall-ratio")
		b.ReportMetric(ratios[len(ratios)/2], "median-wall-ratio")
		b.ReportMetric(float64(cpu[1])/float64(cpu[0]), "cpu-ratio")
		b.ReportMetric(float64(peak[0])/1024, "unsandboxed-peak-RSS-MiB")
		b.ReportMetric(float64(peak[1])/1024, "sandboxed-peak-RSS-MiB")
	})
}

func checkResponse(b *testing.B, out []byte) {
	var resp pluginpb.CodeGeneratorResponse
	if err := proto.Unmarshal(out, &resp); err != nil {
		b.Fatal(err)
	}
	if resp.Error != nil || len(resp.File) != 200 {
		b.Fatalf("response with error %q and %d files", resp.GetError(), len(resp.File))
	}
}

// protocGenGoOnce holds protoc-gen-go and the request; TestMain removes dir.
var protocGenGoOnce struct {
	sync.Once
	dir  string
	prog string
	req  []byte
	err  error
}

// protocGenGo builds protoc-gen-go (the version in go.mod) and the request, once.
func protocGenGo(b *testing.B) (prog string, req []byte) {
	o := &protocGenGoOnce
	o.Do(func() {
		o.dir, o.err = os.MkdirTemp("", "nativerun-bench-*")
		if o.err != nil {
			return
		}
		o.prog = filepath.Join(o.dir, "protoc-gen-go")
		cmd := exec.Command("go", "build", "-o", o.prog, "google.golang.org/protobuf/cmd/protoc-gen-go")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			o.err = fmt.Errorf("building protoc-gen-go: %v\n%s", err, out)
			return
		}
		o.req, o.err = generatorRequest(20, 10)
	})
	if o.err != nil {
		b.Fatal(o.err)
	}
	return o.prog, o.req
}

// generatorRequest compiles a generated module with source info and makes the request a
// code generation service would send protoc-gen-go.
func generatorRequest(pkgs, files int) ([]byte, error) {
	sources := modtest.Generate(pkgs, files)
	names := make([]string, 0, len(sources))
	for name := range sources {
		names = append(names, name)
	}
	slices.Sort(names)
	compiler := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
			Accessor: protocompile.SourceAccessorFromMap(toStrings(sources)),
		}),
		SourceInfoMode: protocompile.SourceInfoStandard,
	}
	linked, err := compiler.Compile(context.Background(), names...)
	if err != nil {
		return nil, err
	}
	// ProtoFile lists every file after its imports.
	var ordered []*descriptorpb.FileDescriptorProto
	seen := map[string]bool{}
	var visit func(fd protoreflect.FileDescriptor)
	visit = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		imports := fd.Imports()
		for i := range imports.Len() {
			visit(imports.Get(i).FileDescriptor)
		}
		ordered = append(ordered, protodesc.ToFileDescriptorProto(fd))
	}
	var params []string
	for _, f := range linked {
		visit(f)
		dir := filepath.Dir(f.Path())
		params = append(params, fmt.Sprintf("M%s=example.com/gen/%s;%s", f.Path(), dir, strings.ReplaceAll(dir, "/", "")))
	}
	req := &pluginpb.CodeGeneratorRequest{
		FileToGenerate: names,
		Parameter:      proto.String(strings.Join(params, ",")),
		ProtoFile:      ordered,
	}
	return proto.Marshal(req)
}

func toStrings(m map[string][]byte) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}

// BenchmarkStartup measures the fixed cost of a run: a trivial plugin (the hostile test
// program copying 1 KB from stdin to stdout), sandboxed and unsandboxed.
func BenchmarkStartup(b *testing.B) {
	in := bytes.Repeat([]byte("x"), 1024)
	for _, r := range []struct {
		name string
		r    plugin.Runner
	}{{"unsandboxed", NewUnsandboxed()}, {"sandboxed", newRunner(b)}, {"sandboxed-rlimits", newRunner(b, WithoutCgroups())}} {
		b.Run(r.name, func(b *testing.B) {
			for b.Loop() {
				out, err := r.r.Run(context.Background(), plugin.Invocation{Program: hostile, Args: []string{"echo"}, Stdin: in})
				if err != nil || !bytes.Equal(out, in) {
					b.Fatalf("%q, %v", out, err)
				}
			}
		})
	}
}
