package wasmrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lathe-registry/lathe/internal/plugin"
)

// Built by TestMain.
var (
	protocGenGoWasm   string // protoc-gen-go as WASM
	protocGenGoNative string // the same version built for the host
	hostileWasm       string // testdata/hostile
	wazeroCache       string // compilation cache shared by test runs
	shared            *Runner
)

// slack is how much later than its time limit a stopped module may return: generous,
// for -race and loaded machines.
const slack = 10 * time.Second

func TestMain(m *testing.M) {
	if prog := os.Getenv("WASMRUN_TEST_MAXRSS"); prog != "" {
		os.Exit(maxRSS(prog))
	}
	code, err := testMain(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wasmrun:", err)
		code = 1
	}
	os.Exit(code)
}

func testMain(m *testing.M) (int, error) {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "wasmrun-test-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)

	version, err := goOutput("", nil, "list", "-m", "-f", "{{.Version}}", "google.golang.org/protobuf")
	if err != nil {
		return 0, err
	}
	// The WASM build is slow (minutes without a warm module cache), so it is cached
	// across runs, keyed by everything it depends on.
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	cache = filepath.Join(cache, "lathe-test")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return 0, err
	}
	protocGenGoWasm = filepath.Join(cache, fmt.Sprintf("protoc-gen-go-%s-%s.wasm", version, runtime.Version()))
	if fi, err := os.Stat(protocGenGoWasm); err != nil || fi.Size() == 0 {
		fmt.Fprintf(os.Stderr, "wasmrun: building protoc-gen-go %s as WASM into %s (once)\n", version, protocGenGoWasm)
		// From Lathe's own module, like the native build below.
		if _, err := goOutput("", []string{"GOOS=wasip1", "GOARCH=wasm"}, "build", "-o", protocGenGoWasm, "google.golang.org/protobuf/cmd/protoc-gen-go"); err != nil {
			return 0, err
		}
	}
	// Natively, from Lathe's own module, which requires the same version.
	protocGenGoNative = filepath.Join(tmp, "protoc-gen-go")
	if _, err := goOutput("", nil, "build", "-o", protocGenGoNative, "google.golang.org/protobuf/cmd/protoc-gen-go"); err != nil {
		return 0, err
	}
	hostileWasm = filepath.Join(tmp, "hostile.wasm")
	if _, err := goOutput("testdata/hostile", []string{"GOOS=wasip1", "GOARCH=wasm", "GOWORK=off", "GOFLAGS="},
		"build", "-o", hostileWasm, "."); err != nil {
		return 0, err
	}

	// Compiled machine code is cached across runs too: compiling protoc-gen-go takes over
	// a minute under -race. TestCacheDir compiles into a directory of its own.
	wazeroCache = filepath.Join(cache, "wazero")
	shared, err = New(ctx, WithCacheDir(wazeroCache))
	if err != nil {
		return 0, err
	}
	defer shared.Close(ctx)
	// Compile now, so that tests timing runs of the shared runner don't time compilation.
	if _, err := shared.Run(ctx, plugin.Invocation{Program: hostileWasm, Args: []string{"echo"}}); err != nil {
		return 0, err
	}
	return m.Run(), nil
}

// maxRSS runs prog with this process's stdio and then prints its peak RSS to stderr.
// The test binary runs itself this way to measure a native plugin's memory: Go starts
// processes with vfork, and Linux counts the RSS of the process that called vfork in
// the child's peak, so a large parent, such as a benchmark that has just run WASM,
// would inflate the figure.
func maxRSS(prog string) int {
	cmd := exec.Command(prog)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "\nmaxrss-kib=%d\n", cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
	return cmd.ProcessState.ExitCode()
}

func goOutput(dir string, env []string, args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return strings.TrimSpace(string(out)), nil
}

// hostile runs testdata/hostile in the given mode on the shared runner.
func hostile(t *testing.T, lim plugin.Limits, mode string, args ...string) ([]byte, error) {
	t.Helper()
	return shared.Run(t.Context(), plugin.Invocation{
		Program: hostileWasm,
		Args:    append([]string{mode}, args...),
		Limits:  lim,
	})
}

// pluginError returns err as a *plugin.Error, failing the test if it is not one.
func pluginError(t *testing.T, err error) *plugin.Error {
	t.Helper()
	var pe *plugin.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T), want a *plugin.Error", err, err)
	}
	return pe
}

func TestTimeLimits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lim    plugin.Limits
		limit  time.Duration
		reason string
	}{
		{"wall", plugin.Limits{WallTime: time.Second}, time.Second, "killed: wall time of 1s exceeded"},
		{"cpu", plugin.Limits{CPUTime: 500 * time.Millisecond, WallTime: time.Hour}, 500 * time.Millisecond, "killed: CPU time of 500ms exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			out, err := hostile(t, tc.lim, "loop")
			elapsed := time.Since(start)
			pe := pluginError(t, err)
			if !errors.Is(err, plugin.ErrLimit) || pe.Reason != tc.reason {
				t.Errorf("error %v (limit %v), want %q as a limit error", err, pe.Limit, tc.reason)
			}
			if out != nil {
				t.Errorf("output %q with an error", out)
			}
			if elapsed < tc.limit || elapsed > tc.limit+slack {
				t.Errorf("stopped after %s, want between %s and %s", elapsed, tc.limit, tc.limit+slack)
			}
		})
	}
}

func TestCallerCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	_, err := shared.Run(ctx, plugin.Invocation{Program: hostileWasm, Args: []string{"loop"}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	var pe *plugin.Error
	if errors.As(err, &pe) {
		t.Errorf("the caller's cancellation is reported as a plugin failure: %v", pe)
	}
	if elapsed := time.Since(start); elapsed > slack {
		t.Errorf("returned %s after the cancellation", elapsed)
	}
}

func TestMemoryLimit(t *testing.T) {
	const limit = 256 << 20
	for _, mode := range []string{"alloc", "alloc-once"} {
		t.Run(mode, func(t *testing.T) {
			start := time.Now()
			out, err := hostile(t, plugin.Limits{Memory: limit, WallTime: time.Minute}, mode)
			pe := pluginError(t, err)
			if !errors.Is(err, plugin.ErrLimit) {
				t.Errorf("error %v, want a limit error", err)
			}
			if want := fmt.Sprintf("ran out of memory: limit of %d bytes exceeded", limit); pe.Reason != want {
				t.Errorf("reason %q, want %q", pe.Reason, want)
			}
			// The Go runtime's own report.
			if !strings.Contains(pe.Stderr, "out of memory") {
				t.Errorf("stderr %q does not mention running out of memory", pe.Stderr)
			}
			if out != nil {
				t.Errorf("output %q", out)
			}
			if elapsed := time.Since(start); elapsed > 30*time.Second {
				t.Errorf("took %s to fail", elapsed)
			}
		})
	}
	// A plugin that fits runs under a small limit.
	out, err := shared.Run(t.Context(), plugin.Invocation{
		Program: hostileWasm, Args: []string{"echo"}, Stdin: []byte("fits"), Limits: plugin.Limits{Memory: 32 << 20},
	})
	if err != nil || string(out) != "fits" {
		t.Errorf("echo under a 32 MiB limit: %q, %v", out, err)
	}
	// A module whose initial memory is over the limit never starts.
	_, err = shared.Run(t.Context(), plugin.Invocation{Program: hostileWasm, Args: []string{"echo"}, Limits: plugin.Limits{Memory: 64 << 10}})
	if pe := pluginError(t, err); !pe.Limit || !strings.HasPrefix(pe.Reason, "needs ") {
		t.Errorf("64 KiB limit: %v, want a limit error for the initial memory", err)
	}
}

func TestInitialMemory(t *testing.T) {
	wasm, err := os.ReadFile(hostileWasm)
	if err != nil {
		t.Fatal(err)
	}
	got, err := initialMemory(wasm)
	if err != nil {
		t.Fatal(err)
	}
	// Go exports its memory, so wazero's definition is there to compare with.
	cm, err := shared.rt.CompileModule(t.Context(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	defer cm.Close(t.Context())
	def, ok := cm.ExportedMemories()["memory"]
	if !ok {
		t.Fatal("no exported memory")
	}
	if want := uint64(def.Min()) * pageSize; got != want || got == 0 {
		t.Errorf("initialMemory = %d, want %d", got, want)
	}
	if got, err := initialMemory(wasmModule(typeSection, funcSection, memorySection(3), startExport(0), codeSection(nopBody))); got != 3*pageSize || err != nil {
		t.Errorf("hand-made module: %d, %v; want %d", got, err, 3*pageSize)
	}
}

func TestFilesystem(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(secret, []byte("TOP SECRET"), 0o644); err != nil {
		t.Fatal(err)
	}
	marker := "/tmp/hostile-was-here"
	os.Remove(marker)
	paths := []string{"/etc/hostname", "/etc/passwd", secret, hostileWasm, "secret.txt", "../../etc/passwd"}
	out, err := hostile(t, plugin.Limits{}, "open", paths...)
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	for _, p := range append(paths, "/", ".") {
		if !strings.Contains(got, "denied "+p+": ") {
			t.Errorf("%s was not denied:\n%s", p, got)
		}
	}
	if !strings.Contains(got, "denied write: ") {
		t.Errorf("writing was not denied:\n%s", got)
	}
	if strings.Contains(got, "TOP SECRET") || strings.Contains(got, "read ") || strings.Contains(got, "listed ") {
		t.Errorf("the module read the host file system:\n%s", got)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the module created %s", marker)
	}
}

func TestNetwork(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	addrs := []string{ln.Addr().String(), "localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), "1.1.1.1:53"}
	out, err := hostile(t, plugin.Limits{}, "net", addrs...)
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	for _, a := range addrs {
		if !strings.Contains(got, "denied "+a+": ") {
			t.Errorf("dialing %s was not denied:\n%s", a, got)
		}
	}
	ln.Close()
	if n := accepted.Load(); n != 0 {
		t.Errorf("the module made %d connections", n)
	}
}

func TestEnvironmentAndArgs(t *testing.T) {
	t.Setenv("LATHE_TEST_SECRET", "hunter2")
	out, err := hostile(t, plugin.Limits{}, "env")
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 0 {
		t.Errorf("environment %q, want none", out)
	}
	out, err = hostile(t, plugin.Limits{}, "args", "paths=source_relative", "two words")
	if err != nil {
		t.Fatal(err)
	}
	if want := "hostile.wasm\nargs\npaths=source_relative\ntwo words"; string(out) != want {
		t.Errorf("args %q, want %q (the base name, then Args)", out, want)
	}
}

func TestOutputLimit(t *testing.T) {
	lim := plugin.Limits{OutputBytes: 1000}
	out, err := hostile(t, lim, "write", "1000")
	if err != nil || len(out) != 1000 {
		t.Errorf("exactly the limit: %d bytes, %v", len(out), err)
	}
	out, err = hostile(t, lim, "write", "1001")
	if pe := pluginError(t, err); !errors.Is(err, plugin.ErrLimit) || pe.Reason != "killed: output limit of 1000 bytes exceeded" {
		t.Errorf("one byte over: %v", err)
	}
	if out != nil {
		t.Errorf("output %d bytes with an error", len(out))
	}

	// 1 GiB written by a module that ignores write errors: stopped at the limit, not
	// after the time limit.
	start := time.Now()
	_, err = hostile(t, plugin.Limits{OutputBytes: 1 << 20, WallTime: 2 * time.Minute}, "flood")
	pe := pluginError(t, err)
	if !pe.Limit || pe.Reason != "killed: output limit of 1048576 bytes exceeded" {
		t.Errorf("flood: %v", err)
	}
	if strings.Contains(pe.Stderr, "flooded") {
		t.Errorf("the module ran to completion after exceeding the limit")
	}
	if elapsed := time.Since(start); elapsed > slack {
		t.Errorf("flood stopped after %s", elapsed)
	}
}

func TestExitStatus(t *testing.T) {
	_, err := hostile(t, plugin.Limits{}, "exit3")
	pe := pluginError(t, err)
	if pe.Reason != "exited with status 3" || pe.Stderr != "protoc-gen-broken: something broke\n" || pe.Limit || errors.Is(err, plugin.ErrLimit) {
		t.Errorf("got %#v", pe)
	}
	if got, want := err.Error(), "plugin exited with status 3: protoc-gen-broken: something broke\n"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}

	// A Go panic exits with status 2 and the panic on stderr.
	_, err = hostile(t, plugin.Limits{}, "panic")
	pe = pluginError(t, err)
	if pe.Reason != "exited with status 2" || !strings.Contains(pe.Stderr, "assignment to entry in nil map") {
		t.Errorf("panic: %#v", pe)
	}
}

func TestStderrTail(t *testing.T) {
	_, err := hostile(t, plugin.Limits{}, "stderr")
	pe := pluginError(t, err)
	if pe.Reason != "exited with status 1" {
		t.Errorf("reason %q", pe.Reason)
	}
	if len(pe.Stderr) != stderrTail || !strings.HasSuffix(pe.Stderr, "eeeeEND OF STDERR") {
		t.Errorf("stderr is %d bytes ending %q, want the last %d", len(pe.Stderr), pe.Stderr[max(0, len(pe.Stderr)-20):], stderrTail)
	}
}

func TestTailWriter(t *testing.T) {
	var w tailWriter
	w.Write([]byte("hé"))
	if w.String() != "hé" {
		t.Errorf("short: %q", w.String())
	}
	var want []byte
	for i := range 10000 {
		line := fmt.Appendf(nil, "line %d é\n", i)
		want = append(want, line...)
		w.Write(line)
	}
	got := w.String()
	if !strings.HasSuffix(string(want), got) || len(got) < stderrTail-utf8.UTFMax || len(got) > stderrTail {
		t.Errorf("tail of %d bytes is not the last %d", len(got), stderrTail)
	}
	if !utf8.ValidString(got) {
		t.Errorf("tail starts inside a character: %q", got[:10])
	}
}

func TestGarbageOutput(t *testing.T) {
	out, err := hostile(t, plugin.Limits{}, "garbage")
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte("\xff\x00\xfenot proto\x80"); !bytes.Equal(out, want) {
		t.Errorf("output %q, want %q", out, want)
	}
}

// TestClocks checks the virtual clock: time starts at a fixed epoch and a sleep of an
// hour takes an hour of virtual time and no real time.
func TestClocks(t *testing.T) {
	start := time.Now()
	out, err := hostile(t, plugin.Limits{WallTime: time.Minute}, "time")
	if err != nil {
		t.Fatal(err)
	}
	now, sleptText, _ := strings.Cut(strings.TrimSpace(string(out)), " slept=")
	slept, err := time.ParseDuration(sleptText)
	if err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if now != "now=2022-01-01T00:00:00Z" || slept < time.Hour || slept > time.Hour+time.Second {
		t.Errorf("output %q, want the epoch and a sleep of an hour", out)
	}
	if elapsed := time.Since(start); elapsed > slack {
		t.Errorf("sleeping an hour took %s of real time", elapsed)
	}
}

func TestBadModules(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	runnerError := func(name, program string, wantMsg string) {
		t.Helper()
		_, err := shared.Run(t.Context(), plugin.Invocation{Program: program})
		var pe *plugin.Error
		if err == nil || errors.As(err, &pe) || !strings.Contains(err.Error(), wantMsg) {
			t.Errorf("%s: error %v, want a runner error containing %q", name, err, wantMsg)
		}
	}
	runnerError("missing", filepath.Join(dir, "missing.wasm"), "no such file")
	runnerError("not wasm", write("text.wasm", []byte("#!/bin/sh\necho hi\n")), "compile")
	runnerError("reactor", write("empty.wasm", wasmModule()), "no _start function")
	runnerError("foreign import", write("import.wasm",
		wasmModule(typeSection, importSection, funcSection, startExport(1), codeSection(nopBody))), "env")

	// A trap is the plugin crashing.
	_, err := shared.Run(t.Context(), plugin.Invocation{Program: write("trap.wasm",
		wasmModule(typeSection, funcSection, startExport(0), codeSection(unreachableBody)))})
	if pe := pluginError(t, err); !strings.HasPrefix(pe.Reason, "crashed: wasm error: unreachable") || pe.Limit {
		t.Errorf("trap: %#v", pe)
	}
	// Initial memory of 4 GiB, over the default limit: refused before it is allocated.
	_, err = shared.Run(t.Context(), plugin.Invocation{Program: write("huge.wasm",
		wasmModule(typeSection, funcSection, memorySection(65536), startExport(0), codeSection(nopBody)))})
	if pe := pluginError(t, err); !pe.Limit || pe.Reason != "needs 4294967296 bytes of memory to start, over the limit of 2147483648" {
		t.Errorf("huge memory: %#v", pe)
	}
}

// Hand-made modules. Sections are id, size, content; all counts and sizes here are
// under 128, so their LEB128 encoding is one byte.
var (
	typeSection     = []byte{1, 4, 1, 0x60, 0, 0}                     // one type: () -> ()
	importSection   = []byte{2, 9, 1, 3, 'e', 'n', 'v', 1, 'f', 0, 0} // func env.f of type 0
	funcSection     = []byte{3, 2, 1, 0}                              // one function of type 0
	nopBody         = []byte{0, 0x0b}                                 // no locals; end
	unreachableBody = []byte{0, 0, 0x0b}                              // no locals; unreachable; end
)

func memorySection(pages uint32) []byte {
	body := []byte{1, 0} // one memory, no maximum
	for {
		b := byte(pages & 0x7f)
		pages >>= 7
		if pages == 0 {
			body = append(body, b)
			break
		}
		body = append(body, b|0x80)
	}
	return append([]byte{5, byte(len(body))}, body...)
}

func startExport(fn byte) []byte {
	return []byte{7, 10, 1, 6, '_', 's', 't', 'a', 'r', 't', 0, fn}
}

func codeSection(body []byte) []byte {
	return append([]byte{10, byte(len(body) + 2), 1, byte(len(body))}, body...)
}

func wasmModule(sections ...[]byte) []byte {
	m := []byte("\x00asm\x01\x00\x00\x00")
	for _, s := range sections {
		m = append(m, s...)
	}
	return m
}

// TestConcurrentRuns runs one module 8 times at once, under different limits, on a new
// Runner: each run gets its own instance and stdin, and the module is compiled once.
func TestConcurrentRuns(t *testing.T) {
	r, err := New(t.Context(), WithCacheDir(wazeroCache))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(t.Context())
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			in := fmt.Sprintf("run %d", i)
			out, err := r.Run(t.Context(), plugin.Invocation{
				Program: hostileWasm,
				Args:    []string{"echo"},
				Stdin:   []byte(in),
				Limits:  plugin.Limits{Memory: int64(64+i) << 20},
			})
			if err != nil || string(out) != in {
				t.Errorf("run %d: %q, %v", i, out, err)
			}
		})
	}
	wg.Wait()
	if n := r.compiles.Load(); n != 1 {
		t.Errorf("%d compilations, want 1", n)
	}
	// The cache is keyed by content: a copy elsewhere is not compiled again.
	data, err := os.ReadFile(hostileWasm)
	if err != nil {
		t.Fatal(err)
	}
	copied := filepath.Join(t.TempDir(), "copy.wasm")
	if err := os.WriteFile(copied, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := r.Run(t.Context(), plugin.Invocation{Program: copied, Args: []string{"garbage"}}); err != nil || len(out) == 0 {
		t.Fatalf("copy: %q, %v", out, err)
	}
	if n := r.compiles.Load(); n != 1 {
		t.Errorf("%d compilations after running a copy, want 1", n)
	}
}

// TestCacheDir checks that a second Runner on the same cache directory loads the
// machine code the first one stored rather than compiling again.
func TestCacheDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	compileTime := func() time.Duration {
		r, err := New(t.Context(), WithCacheDir(dir))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close(t.Context())
		start := time.Now()
		if out, err := r.Run(t.Context(), plugin.Invocation{Program: hostileWasm, Args: []string{"echo"}, Stdin: []byte("x")}); err != nil || string(out) != "x" {
			t.Fatalf("%q, %v", out, err)
		}
		return time.Since(start)
	}
	cold := compileTime()
	var files int
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, _ error) error {
		if d != nil && !d.IsDir() {
			files++
		}
		return nil
	})
	if files == 0 {
		t.Fatalf("nothing stored in %s", dir)
	}
	warm := compileTime()
	t.Logf("first run %s, with the cache %s", cold, warm)
	if warm > cold/2 {
		t.Errorf("a run from the cache took %s, the first %s: the cache is not used", warm, cold)
	}
	if _, err := New(t.Context(), WithCacheDir("/dev/null/cache")); err == nil {
		t.Error("an unusable cache directory was accepted")
	}
}

// TestClose checks that closing a Runner stops a run in progress at once, and refuses
// runs after it.
func TestClose(t *testing.T) {
	r, err := New(t.Context(), WithCacheDir(wazeroCache))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(t.Context(), plugin.Invocation{Program: hostileWasm, Args: []string{"echo"}}); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	r.starting = func(string) { close(started) }
	done := make(chan error, 1)
	go func() {
		_, err := r.Run(t.Context(), plugin.Invocation{Program: hostileWasm, Args: []string{"loop"}})
		done <- err
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("the run ended before it started: %v", err)
	}
	start := time.Now()
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, errClosed) {
		t.Errorf("run in progress: %v, want %v", err, errClosed)
	}
	if elapsed := time.Since(start); elapsed > slack {
		t.Errorf("the run stopped %s after Close", elapsed)
	}
	if _, err := r.Run(t.Context(), plugin.Invocation{Program: hostileWasm, Args: []string{"echo"}}); !errors.Is(err, errClosed) {
		t.Errorf("run after Close: %v, want %v", err, errClosed)
	}
}

// TestEviction runs two modules on a Runner that keeps one: each evicts the other, and a
// module evicted while a run uses it is closed only after that run.
func TestEviction(t *testing.T) {
	r, err := New(t.Context(), WithCacheDir(wazeroCache), WithMaxModules(1))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(t.Context())
	data, err := os.ReadFile(hostileWasm)
	if err != nil {
		t.Fatal(err)
	}
	// The same module with a custom section appended: other bytes, so another entry.
	other := filepath.Join(t.TempDir(), "other.wasm")
	if err := os.WriteFile(other, append(data, 0, 3, 1, 'x', 'y'), 0o644); err != nil {
		t.Fatal(err)
	}
	echo := func(program, in string) error {
		out, err := r.Run(t.Context(), plugin.Invocation{Program: program, Args: []string{"echo"}, Stdin: []byte(in)})
		if err == nil && string(out) != in {
			err = fmt.Errorf("output %q, want %q", out, in)
		}
		return err
	}
	for i, program := range []string{hostileWasm, other, hostileWasm} {
		if err := echo(program, "x"); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	if c, e := r.compiles.Load(), r.closedModules.Load(); c != 3 || e != 2 {
		t.Fatalf("%d compilations and %d evictions, want 3 and 2", c, e)
	}

	// A run of hostileWasm holds its module while other evicts it.
	started, proceed := make(chan struct{}), make(chan struct{})
	r.starting = func(program string) {
		if program == hostileWasm {
			close(started)
			<-proceed
		}
	}
	done := make(chan error, 1)
	go func() { done <- echo(hostileWasm, "in use") }()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("the run ended before it started: %v", err)
	}
	if err := echo(other, "y"); err != nil {
		t.Fatal(err)
	}
	if n := r.closedModules.Load(); n != 2 {
		t.Errorf("%d evictions closed, want 2: a module in use was closed", n)
	}
	close(proceed)
	if err := <-done; err != nil {
		t.Fatalf("the run of the evicted module: %v", err)
	}
	if n := r.closedModules.Load(); n != 3 {
		t.Errorf("%d evictions closed, want 3: the evicted module outlived its last run", n)
	}
}
