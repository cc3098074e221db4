package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// newCargoBench is a lathe serve process with lathe/prost and the public 100-file module
// bench/big pushed, and interest in its crate registered (the first version published).
func newCargoBench(b *testing.B) (*goSDKBench, string) {
	g := newGoSDKBench(b, 10, 10)
	g.run(b, "", os.Environ(), filepath.Join(binDir, "lathe"+exe), "plugin", "push", "--data", g.data,
		"--config", filepath.Join(pluginDir, "lathe-prost.yaml"), "--binary", filepath.Join(pluginDir, "protoc-gen-lathe-prost"))
	g.run(b, g.mod, g.env, filepath.Join(binDir, "buf"+exe), "push", "--create", "--create-visibility", "public")
	index := "http://" + g.remote + "/gen/cargo/be/nc/bench_big_lathe_prost"
	if n := strings.Count(httpBody(b, index), "\n"); n != 1 {
		b.Fatalf("the index lists %d versions, want 1", n)
	}
	return g, index
}

// BenchmarkCargoPushToIndex measures, over 20 pushes of a changed 100-file module, the
// time from the start of buf push until the crate's new version is in the index, with no
// client asking for it: p50 and p99.
//
// go test -run XXX -bench CargoPushToIndex -benchtime 1x ./internal/e2e
func BenchmarkCargoPushToIndex(b *testing.B) {
	g, index := newCargoBench(b)
	defer g.stop()
	changed := filepath.Join(g.mod, "pkg9", "v1", "file9.proto")
	original, err := os.ReadFile(changed)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		var took []time.Duration
		for i := range 20 {
			writeFile(b, changed, string(original)+fmt.Sprintf("// change %d\n", i))
			start := time.Now()
			g.run(b, g.mod, g.env, filepath.Join(binDir, "buf"+exe), "push")
			for strings.Count(httpBody(b, index), "\n") != i+2 {
				if time.Since(start) > time.Minute {
					b.Fatalf("push %d did not reach the index within a minute", i+1)
				}
				time.Sleep(10 * time.Millisecond)
			}
			took = append(took, time.Since(start))
		}
		slices.Sort(took)
		b.ReportMetric(float64(took[len(took)/2])/float64(time.Millisecond), "p50-ms")
		b.ReportMetric(float64(took[len(took)*99/100])/float64(time.Millisecond), "p99-ms")
	}
}

// BenchmarkCargoServe compares serving the crate's index file and its .crate at 64
// connections with nginx serving the same bytes, in the same run.
//
// go test -run XXX -bench CargoServe -benchtime 1x ./internal/e2e
func BenchmarkCargoServe(b *testing.B) {
	g, index := newCargoBench(b)
	defer g.stop()
	line := httpBody(b, index)
	version := line[strings.Index(line, `"vers":"`)+len(`"vers":"`):]
	version = version[:strings.IndexByte(version, '"')]
	b.Run("index", func(b *testing.B) {
		for b.Loop() {
			compareWithNginx(b, g.work, "http://"+g.remote, "/gen/cargo/be/nc/bench_big_lathe_prost")
		}
	})
	b.Run("crate", func(b *testing.B) {
		for b.Loop() {
			compareWithNginx(b, g.work, "http://"+g.remote, "/gen/cargo/api/v1/crates/bench_big_lathe_prost/"+version+"/download")
		}
	})
}
