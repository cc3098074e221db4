package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lathe-registry/lathe/internal/module/modtest"
)

// BenchmarkBufPush measures `buf push` of a generated 500-file, ~2 MB module with one file
// changed per push (so every push makes a new commit), against a lathe serve process on
// its embedded default stores. Each iteration is timed wall-clock around the buf command;
// the server's own time per stage comes from its upload log line. As the baseline,
// BenchmarkBufPush/build times `buf build` of the same files in the same run.
//
// go test -run XXX -bench BufPush -benchtime 10x ./internal/e2e
func BenchmarkBufPush(b *testing.B) {
	work := b.TempDir()
	logFile := filepath.Join(work, "serve.log")
	logf, err := os.Create(logFile)
	if err != nil {
		b.Fatal(err)
	}
	defer logf.Close()
	data := filepath.Join(work, "data")
	cmd, remote := startServe(b, data, logf)
	defer stopServe(cmd)
	url := "http://" + remote
	token := createUser(b, data, "bench")
	env := append(os.Environ(),
		"HOME="+filepath.Join(work, "home"),
		"BUF_CONFIG_DIR="+filepath.Join(work, "bufconfig"),
		"BUF_CACHE_DIR="+filepath.Join(work, "bufcache"),
		"BUF_TOKEN="+token+"@"+remote,
	)
	writeFile(b, filepath.Join(work, "bufconfig", "config.yaml"), "version: v1\ntls:\n  use: false\n")
	mod := filepath.Join(work, "mod")
	size := generateModule(b, mod, remote, 50, 10)
	b.Logf("module: 500 files, %d bytes; server %s", size, url)
	run := func(args ...string) {
		cmd := exec.Command(filepath.Join(binDir, "buf"+exe), args...)
		cmd.Dir, cmd.Env = mod, env
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("buf %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("push", "--create") // the first commit, untimed
	changed := filepath.Join(mod, "pkg0", "v1", "file0.proto")
	original, err := os.ReadFile(changed)
	if err != nil {
		b.Fatal(err)
	}
	push := 0
	b.Run("push", func(b *testing.B) {
		for b.Loop() {
			push++
			b.StopTimer()
			writeFile(b, changed, string(original)+fmt.Sprintf("// change %d\n", push))
			b.StartTimer()
			run("push")
		}
		compile, hash, storeT, n := uploadStages(b, logFile)
		b.ReportMetric(compile/n, "server-compile-ms/op")
		b.ReportMetric(hash/n, "server-hash-ms/op")
		b.ReportMetric(storeT/n, "server-store-ms/op")
	})
	b.Run("build", func(b *testing.B) {
		for b.Loop() {
			run("build")
		}
	})
}

var uploadLine = regexp.MustCompile(`msg=upload .*new_commits=1 .*compile=(\S+) hash=(\S+) store=(\S+)`)

// uploadStages sums the stage times of the server's upload log lines, skipping the first
// (untimed) push.
func uploadStages(b *testing.B, logFile string) (compile, hash, storeT, n float64) {
	data, err := os.ReadFile(logFile)
	if err != nil {
		b.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	first := true
	for sc.Scan() {
		m := uploadLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		if first {
			first = false
			continue
		}
		ms := func(s string) float64 {
			d, err := time.ParseDuration(s)
			if err != nil {
				b.Fatal(err)
			}
			return float64(d) / float64(time.Millisecond)
		}
		compile += ms(m[1])
		hash += ms(m[2])
		storeT += ms(m[3])
		n++
	}
	if n == 0 {
		b.Fatalf("no upload lines in the server log")
	}
	return compile, hash, storeT, n
}

func writeFile(b *testing.B, path, content string) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		b.Fatal(err)
	}
}

// generateModule writes a buf workspace of one module holding [modtest.Generate]'s files.
func generateModule(b *testing.B, dir, remote string, pkgs, files int) int {
	writeFile(b, filepath.Join(dir, "buf.yaml"), "version: v2\nmodules:\n  - path: .\n    name: "+remote+"/bench/big\n")
	total := 0
	for p, content := range modtest.Generate(pkgs, files) {
		total += len(content)
		writeFile(b, filepath.Join(dir, p), string(content))
	}
	return total
}

// BenchmarkRemoteGenerate compares buf generate of a 200-file module with protoc-gen-go
// run remotely by Lathe (sandboxed native) against the same plugin run locally by buf, in
// one run. "remote-cold" changes one file before each call so that every request misses
// the cache; "remote-cached" repeats one request.
//
// go test -run XXX -bench RemoteGenerate -benchtime 10x ./internal/e2e
func BenchmarkRemoteGenerate(b *testing.B) {
	work := b.TempDir()
	data := filepath.Join(work, "data")
	cmd, remote := startServe(b, data, io.Discard)
	defer stopServe(cmd)
	token := createUser(b, data, "bench")
	push := exec.Command(filepath.Join(binDir, "lathe"+exe), "plugin", "push", "--data", data,
		"--config", filepath.Join(pluginDir, "protocolbuffers-go.yaml"), "--binary", filepath.Join(pluginDir, "protoc-gen-go"))
	if out, err := push.CombinedOutput(); err != nil {
		b.Fatalf("plugin push: %v\n%s", err, out)
	}
	env := append(os.Environ(),
		"HOME="+filepath.Join(work, "home"),
		"BUF_CONFIG_DIR="+filepath.Join(work, "bufconfig"),
		"BUF_CACHE_DIR="+filepath.Join(work, "bufcache"),
		"BUF_TOKEN="+token+"@"+remote,
		"PATH="+pluginDir+string(os.PathListSeparator)+os.Getenv("PATH"),
	)
	writeFile(b, filepath.Join(work, "bufconfig", "config.yaml"), "version: v1\ntls:\n  use: false\n")
	mod := filepath.Join(work, "mod")
	generateModule(b, mod, remote, 20, 10)
	writeFile(b, filepath.Join(mod, "remote.gen.yaml"), "version: v2\nmanaged:\n  enabled: true\n  override:\n    - file_option: go_package_prefix\n      value: example.com/gen\nplugins:\n  - remote: "+remote+"/protocolbuffers/go\n    out: out-remote\n    opt: paths=source_relative\n")
	writeFile(b, filepath.Join(mod, "local.gen.yaml"), "version: v2\nmanaged:\n  enabled: true\n  override:\n    - file_option: go_package_prefix\n      value: example.com/gen\nplugins:\n  - local: protoc-gen-go\n    out: out-local\n    opt: paths=source_relative\n")
	// buf runs a local plugin once per directory by default; strategy all runs it once, as
	// the remote call does.
	writeFile(b, filepath.Join(mod, "local-all.gen.yaml"), "version: v2\nmanaged:\n  enabled: true\n  override:\n    - file_option: go_package_prefix\n      value: example.com/gen\nplugins:\n  - local: protoc-gen-go\n    out: out-local-all\n    opt: paths=source_relative\n    strategy: all\n")
	run := func(args ...string) {
		c := exec.Command(filepath.Join(binDir, "buf"+exe), args...)
		c.Dir, c.Env = mod, env
		if out, err := c.CombinedOutput(); err != nil {
			b.Fatalf("buf %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	changed := filepath.Join(mod, "pkg19", "v1", "file9.proto")
	original, err := os.ReadFile(changed)
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	touch := func() {
		i++
		writeFile(b, changed, string(original)+fmt.Sprintf("// change %d\n", i))
	}
	b.Run("local", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			touch()
			b.StartTimer()
			run("generate", "--template", "local.gen.yaml")
		}
	})
	b.Run("local-all", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			touch()
			b.StartTimer()
			run("generate", "--template", "local-all.gen.yaml")
		}
	})
	b.Run("remote-cold", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			touch()
			b.StartTimer()
			run("generate", "--template", "remote.gen.yaml")
		}
	})
	b.Run("remote-cached", func(b *testing.B) {
		for b.Loop() {
			run("generate", "--template", "remote.gen.yaml")
		}
	})
}
