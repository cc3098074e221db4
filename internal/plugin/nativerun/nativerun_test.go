//go:build linux

package nativerun

import (
	"bytes"
	"context"
	"crypto/rand"
	"debug/elf"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lathe-registry/lathe/internal/plugin"
)

// Test programs, built once by TestMain into a directory only root can enter (0700), as
// Lathe's data directory would be.
var (
	hostile string // testdata/hostile, static (CGO_ENABLED=0)
	dynecho string // testdata/dynecho, a dynamically linked C program
)

func TestMain(m *testing.M) {
	Init()
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "nativerun-test-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	defer func() {
		if protocGenGoOnce.dir != "" {
			os.RemoveAll(protocGenGoOnce.dir)
		}
	}()
	if h := os.Getenv(childHostileEnv); h != "" { // TestUnprivileged's child: no go build as nobody
		hostile = h
		return m.Run()
	}
	hostile = filepath.Join(dir, "hostile")
	dynecho = filepath.Join(dir, "dynecho")
	build := []*exec.Cmd{
		exec.Command("go", "build", "-o", hostile, "./testdata/hostile"),
		exec.Command("gcc", "-O2", "-o", dynecho, "testdata/dynecho/dynecho.c"),
	}
	build[0].Env = append(os.Environ(), "CGO_ENABLED=0")
	for _, cmd := range build {
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n%s", cmd, err, out)
			return 1
		}
	}
	return m.Run()
}

// modes are the two ways the sandbox can bound memory and processes here: cgroups when
// the host offers them (this one does: cgroup v1, as root), and rlimits.
func modes(t *testing.T) map[string]*Runner {
	t.Helper()
	return map[string]*Runner{"default": newRunner(t), "rlimits": newRunner(t, WithoutCgroups())}
}

func newRunner(t testing.TB, opts ...Option) *Runner {
	t.Helper()
	r, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func run(r plugin.Runner, lim plugin.Limits, prog string, args ...string) ([]byte, error) {
	return r.Run(context.Background(), plugin.Invocation{Program: prog, Args: args, Limits: lim})
}

// mustRun runs a hostile program that must succeed and returns its output lines.
func mustRun(t *testing.T, r plugin.Runner, inv plugin.Invocation) []string {
	t.Helper()
	if inv.Program == "" {
		inv.Program = hostile
	}
	out, err := r.Run(context.Background(), inv)
	if err != nil {
		t.Fatalf("%v: %v", inv.Args, err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// pluginError asserts that err is a *plugin.Error with a reason matching pattern and
// the given Limit flag.
func pluginError(t *testing.T, err error, pattern string, limit bool) *plugin.Error {
	t.Helper()
	var pe *plugin.Error
	if !errors.As(err, &pe) {
		t.Fatalf("got error %v (%T), want a *plugin.Error", err, err)
	}
	if !regexp.MustCompile(pattern).MatchString(pe.Reason) {
		t.Errorf("reason %q does not match %q (stderr %q)", pe.Reason, pattern, pe.Stderr)
	}
	if pe.Limit != limit || errors.Is(err, plugin.ErrLimit) != limit {
		t.Errorf("Limit = %v, errors.Is(ErrLimit) = %v, want %v", pe.Limit, errors.Is(err, plugin.ErrLimit), limit)
	}
	return pe
}

func TestEcho(t *testing.T) {
	in := make([]byte, 3<<20) // larger than pipe buffers both ways
	rand.Read(in)
	for name, r := range map[string]plugin.Runner{"sandboxed": newRunner(t), "unsandboxed": NewUnsandboxed()} {
		t.Run(name, func(t *testing.T) {
			out, err := r.Run(context.Background(), plugin.Invocation{Program: hostile, Args: []string{"echo"}, Stdin: in})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, in) {
				t.Errorf("got %d bytes back, want the %d sent", len(out), len(in))
			}
		})
	}
}

// TestDynamicallyLinked proves that the loader and libc are visible to a C program.
func TestDynamicallyLinked(t *testing.T) {
	f, err := elf.Open(dynecho)
	if err != nil {
		t.Fatal(err)
	}
	interp := slices.ContainsFunc(f.Progs, func(p *elf.Prog) bool { return p.Type == elf.PT_INTERP })
	f.Close()
	if !interp {
		t.Fatal("dynecho is not dynamically linked")
	}
	out, err := newRunner(t).Run(context.Background(), plugin.Invocation{Program: dynecho, Stdin: []byte("hello")})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "dynecho:hello" {
		t.Errorf("got %q", out)
	}
	// Without the system paths the same program cannot even start.
	_, err = newRunner(t, WithSystemPaths()).Run(context.Background(), plugin.Invocation{Program: dynecho})
	if err == nil || !strings.Contains(err.Error(), "no such file or directory") {
		t.Errorf("without system paths: got %v, want a failure to execute", err)
	}
}

func TestExitStatus(t *testing.T) {
	for name, r := range map[string]plugin.Runner{"sandboxed": newRunner(t), "unsandboxed": NewUnsandboxed()} {
		t.Run(name, func(t *testing.T) {
			_, err := run(r, plugin.Limits{}, hostile, "exit", "3")
			pe := pluginError(t, err, `^exited with status 3$`, false)
			if pe.Stderr != "failing on purpose\n" {
				t.Errorf("stderr %q", pe.Stderr)
			}
		})
	}
}

func TestStderrTail(t *testing.T) {
	// A shell would do, but there is none in the sandbox: the C program echoes its input,
	// so write the big stderr with the unsandboxed runner and a shell instead.
	script := filepath.Join(t.TempDir(), "noisy")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nhead -c 200000 /dev/zero | tr '\\0' a >&2\necho end >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := run(NewUnsandboxed(), plugin.Limits{}, script)
	pe := pluginError(t, err, `^exited with status 1$`, false)
	if len(pe.Stderr) != stderrTail || !strings.HasSuffix(pe.Stderr, "aaaend\n") {
		t.Errorf("stderr of %d bytes ending %q, want the last %d", len(pe.Stderr), pe.Stderr[max(0, len(pe.Stderr)-10):], stderrTail)
	}
}

func TestWallTime(t *testing.T) {
	for name, r := range map[string]plugin.Runner{"sandboxed": newRunner(t), "unsandboxed": NewUnsandboxed()} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			_, err := run(r, plugin.Limits{WallTime: time.Second, CPUTime: time.Hour}, hostile, "loop")
			pluginError(t, err, `^killed: wall time of 1s exceeded$`, true)
			if d := time.Since(start); d > 4*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

func TestCPUTime(t *testing.T) {
	for name, r := range map[string]plugin.Runner{"sandboxed": newRunner(t), "unsandboxed": NewUnsandboxed()} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			_, err := run(r, plugin.Limits{WallTime: time.Minute, CPUTime: time.Second}, hostile, "loop")
			pluginError(t, err, `^killed: CPU time of 1s exceeded$`, true)
			if d := time.Since(start); d > 10*time.Second { // a busy host gives it less than a CPU
				t.Errorf("took %v", d)
			}
		})
	}
}

func TestMemory(t *testing.T) {
	for name, r := range modes(t) {
		t.Run(name, func(t *testing.T) {
			lim := plugin.Limits{Memory: 256 << 20}
			_, err := run(r, lim, hostile, "alloc", "4096")
			pe := pluginError(t, err, `memory limit of 256 MiB exceeded$`, true)
			if r.cg != nil && !strings.HasPrefix(pe.Reason, "killed:") {
				t.Errorf("with a memory cgroup, got %q, want an OOM kill", pe.Reason)
			}
			// Below the limit the same program is fine.
			out, err := run(r, lim, hostile, "alloc", "100")
			if err != nil || string(out) != "allocated 100 MiB\n" {
				t.Errorf("100 MiB: %q, %v", out, err)
			}
		})
	}
}

// TestScratchSize: the scratch directory is memory, and bounded as such.
func TestScratchSize(t *testing.T) {
	for name, r := range modes(t) {
		t.Run(name, func(t *testing.T) {
			out, err := run(r, plugin.Limits{Memory: 64 << 20}, hostile, "fill", "256")
			if err != nil {
				pluginError(t, err, `^killed: memory limit of 64 MiB exceeded$`, true)
				return
			}
			if !regexp.MustCompile(`^wrote \d+ MiB: error .*no space left on device\n$`).Match(out) {
				t.Errorf("got %q, want the scratch directory to fill up", out)
			}
		})
	}
}

func TestForkBomb(t *testing.T) {
	for name, r := range modes(t) {
		t.Run(name, func(t *testing.T) {
			const limit = 32
			token := uniqueToken()
			// Count the host's tasks (threads) of the bomb while it runs.
			stop := make(chan struct{})
			var peak atomic.Int64
			var wg sync.WaitGroup
			wg.Go(func() {
				for {
					peak.Store(max(peak.Load(), int64(tasksWith(t, token))))
					select {
					case <-stop:
						return
					case <-time.After(10 * time.Millisecond):
					}
				}
			})
			start := time.Now()
			_, err := run(r, plugin.Limits{Processes: limit, WallTime: 3 * time.Second}, hostile, "forkbomb", token)
			close(stop)
			wg.Wait()
			pe := pluginError(t, err, `^killed: wall time of 3s exceeded$|process limit of 32 reached$`, true)
			if !regexp.MustCompile(`fork failed|failed to create new OS thread|resource temporarily unavailable`).MatchString(pe.Stderr) {
				t.Errorf("no failed fork on stderr: %q", pe.Stderr)
			}
			if d := time.Since(start); d > 6*time.Second {
				t.Errorf("took %v", d)
			}
			t.Logf("peak of %d tasks", peak.Load())
			if p := peak.Load(); p > limit || p < limit/2 {
				t.Errorf("peak of %d tasks, want about %d", p, limit)
			}
			if n := tasksWith(t, token); n != 0 {
				t.Errorf("%d tasks left after the run", n)
			}
			mustRun(t, r, plugin.Invocation{Args: []string{"exit", "0"}})
		})
	}
}

func uniqueToken() string { return "token-" + strconv.FormatInt(time.Now().UnixNano(), 36) }

// tasksWith counts the threads of the host's processes with s in their command line.
func tasksWith(t *testing.T, s string) int {
	n := 0
	for _, pid := range processesWith(t, s) {
		status, err := os.ReadFile(filepath.Join("/proc", pid, "status"))
		if err != nil {
			continue // gone
		}
		for line := range strings.SplitSeq(string(status), "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] == "Threads:" {
				k, _ := strconv.Atoi(f[1])
				n += k
			}
		}
	}
	return n
}

func TestFileSystem(t *testing.T) {
	// Lathe's data directory, a secret anyone could read were it not for the sandbox,
	// and a directory an invocation shares read-only.
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	shared := filepath.Join(tmp, "shared")
	for _, d := range []string{data, shared} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	secret := filepath.Join(tmp, "secret")
	for file, content := range map[string]string{
		secret:                          "hunter2",
		filepath.Join(data, "lathe.db"): "the registry",
		filepath.Join(shared, "input"):  "shared input",
	} {
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := newRunner(t)
	wd, _ := os.Getwd()
	denied := []string{secret, data, filepath.Join(data, "lathe.db"), "/root", "/home", "/etc/passwd",
		"/etc/hostname", "/work", wd, "/var", "/sys", "/usr/bin", "/bin", oldRoot,
		"/proc/" + strconv.Itoa(os.Getpid()) + "/environ"}
	lines := mustRun(t, r, plugin.Invocation{
		Args:     append([]string{"read", "/", "/etc", "/dev", tmp, filepath.Join(shared, "input")}, denied...),
		ReadOnly: []string{shared},
	})
	want := map[string]string{
		// Only the path to the shared directory shows, not its siblings.
		tmp:                            "ok shared",
		"/":                            "ok dev,etc,lib,lib64,proc,tmp,usr",
		"/etc":                         "ok ld.so.cache",
		"/dev":                         "ok fd,null,stderr,stdin,stdout,urandom,zero",
		filepath.Join(shared, "input"): `ok "shared input"`,
	}
	for _, line := range lines {
		path, result, _ := strings.Cut(line, ": ")
		if w, ok := want[path]; ok {
			if result != w {
				t.Errorf("%s: got %q, want %q", path, result, w)
			}
			continue
		}
		if !strings.HasPrefix(result, "error ") {
			t.Errorf("%s: readable in the sandbox: %s", path, result)
		}
	}
	if len(lines) != 5+len(denied) {
		t.Errorf("got %d results for %d paths: %q", len(lines), 5+len(denied), lines)
	}
}

func TestWriteOutsideScratch(t *testing.T) {
	shared := t.TempDir()
	tries := []string{"/x", "/usr/lib/x", "/lib/x", "/etc/x", "/dev/x", "/proc/x", hostile,
		filepath.Join(shared, "x"), filepath.Join(filepath.Dir(hostile), "x")}
	lines := mustRun(t, newRunner(t), plugin.Invocation{
		Args:     append([]string{"write", "/tmp/ok", "relative-ok"}, tries...),
		ReadOnly: []string{shared},
	})
	if len(lines) != 2+len(tries) {
		t.Fatalf("got %q", lines)
	}
	for i, line := range lines {
		if ok := strings.HasSuffix(line, ": ok"); ok != (i < 2) {
			t.Errorf("%s", line)
		}
	}
	if entries, _ := os.ReadDir(shared); len(entries) != 0 {
		t.Errorf("the plugin wrote into a read-only directory: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(hostile), "x")); err == nil {
		t.Error("the plugin wrote next to its program")
	}
}

func TestNetwork(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int64
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
	addrs := []string{ln.Addr().String(), "8.8.8.8:53", "[::1]:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)}
	// With the seccomp filter sockets fail to open; without it, the empty network
	// namespace alone leaves nowhere to connect to.
	for name, r := range map[string]*Runner{"seccomp": newRunner(t), "namespace only": newRunner(t, func(c *config) { c.noSeccomp = true })} {
		t.Run(name, func(t *testing.T) {
			lines := mustRun(t, r, plugin.Invocation{Args: append([]string{"connect"}, addrs...)})
			if len(lines) != 2*len(addrs) {
				t.Fatalf("got %q", lines)
			}
			for _, line := range lines {
				if !strings.Contains(line, ": error ") {
					t.Errorf("connected: %s", line)
				}
			}
			t.Log(strings.Join(lines, "\n"))
		})
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("the listener accepted %d connections", n)
	}
	// The listener works, for the unsandboxed runner: the test is not vacuous.
	lines := mustRun(t, NewUnsandboxed(), plugin.Invocation{Args: []string{"connect", ln.Addr().String()}})
	if lines[0] != "tcp "+ln.Addr().String()+": ok" {
		t.Errorf("unsandboxed: %q", lines)
	}
}

func TestOutputLimit(t *testing.T) {
	for name, r := range map[string]plugin.Runner{"sandboxed": newRunner(t), "unsandboxed": NewUnsandboxed()} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			_, err := run(r, plugin.Limits{OutputBytes: 1 << 20}, hostile, "flood", "1024")
			pluginError(t, err, `^output larger than 1048576 bytes$`, true)
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v", d)
			}
			// Exactly at the limit is fine.
			out, err := run(r, plugin.Limits{OutputBytes: 1 << 20}, hostile, "flood", "1")
			if err != nil || len(out) != 1<<20 {
				t.Errorf("1 MiB: %d bytes, %v", len(out), err)
			}
		})
	}
}

// TestBackgroundChild: a child the plugin leaves behind dies with the run.
func TestBackgroundChild(t *testing.T) {
	for name, c := range map[string]struct {
		r    plugin.Runner
		mode string
		// The sandbox's processes are gone when Run returns; without it the kill is
		// asynchronous, and a killed process may take a moment to go.
		grace time.Duration
	}{
		// In the sandbox even a child in a session of its own, ignoring hangups.
		"sandboxed":   {newRunner(t), "background", 0},
		"unsandboxed": {NewUnsandboxed(), "background-group", time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			token := uniqueToken()
			start := time.Now()
			lines := mustRun(t, c.r, plugin.Invocation{Args: []string{c.mode, token}})
			if !strings.HasPrefix(lines[0], "started ") {
				t.Fatalf("got %q", lines)
			}
			if d := time.Since(start); d > drainTimeout {
				t.Errorf("took %v: the run waited for the child", d)
			}
			deadline := time.Now().Add(c.grace)
			for pids := processesWith(t, token); len(pids) != 0; pids = processesWith(t, token) {
				if time.Now().After(deadline) {
					t.Fatalf("processes %v outlived the run", pids)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// processesWith returns the host's processes with s in their command line.
func processesWith(t *testing.T, s string) []string {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte(s)) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

func TestEnvironment(t *testing.T) {
	t.Setenv("LATHE_TEST_SECRET", "hunter2")
	for name, r := range map[string]plugin.Runner{"sandboxed": newRunner(t), "unsandboxed": NewUnsandboxed()} {
		t.Run(name, func(t *testing.T) {
			lines := mustRun(t, r, plugin.Invocation{Args: []string{"env"}})
			var names []string
			for _, l := range lines {
				if strings.Contains(l, "hunter2") {
					t.Errorf("the plugin sees %s", l)
				}
				k, _, _ := strings.Cut(l, "=")
				names = append(names, k)
			}
			if !slices.Equal(names, []string{"PATH", "HOME", "TMPDIR"}) {
				t.Errorf("environment %q", lines)
			}
		})
	}
}

// TestPrivileges: the plugin has no capability, cannot get any and runs as nobody.
func TestPrivileges(t *testing.T) {
	r := newRunner(t)
	lines := mustRun(t, r, plugin.Invocation{Args: []string{"whoami"}})
	want := []string{
		"uid=1 gid=1 pid=1 cwd=/tmp host=sandbox",
		"CapInh: 0000000000000000", "CapPrm: 0000000000000000", "CapEff: 0000000000000000",
		"CapBnd: 0000000000000000", "CapAmb: 0000000000000000", "NoNewPrivs: 1", "Seccomp: 2",
	}
	if os.Geteuid() != 0 {
		want[0] = "uid=0 gid=0 pid=1 cwd=/tmp host=sandbox"
	}
	if !slices.Equal(lines, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	for _, line := range mustRun(t, r, plugin.Invocation{Args: []string{"unshare"}}) {
		if !strings.Contains(line, "operation not permitted") {
			t.Errorf("%s", line)
		}
	}
	// The namespaces and dropped capabilities alone (no seccomp) still refuse all but
	// ptrace(PTRACE_TRACEME), which is harmless there: tracing within the sandbox.
	for _, line := range mustRun(t, newRunner(t, func(c *config) { c.noSeccomp = true }), plugin.Invocation{Args: []string{"unshare"}}) {
		if !strings.Contains(line, ": error ") && !strings.HasPrefix(line, "ptrace:") {
			t.Errorf("without seccomp: %s", line)
		}
	}
}

// TestTraceMe: a plugin thread that makes itself a tracee of Lathe (PTRACE_TRACEME) does
// not keep the run from ending. The seccomp filter refuses it; without the filter (some
// architectures, and the unsandboxed runner) the runner reaps the traced thread.
func TestTraceMe(t *testing.T) {
	for name, c := range map[string]struct {
		r    plugin.Runner
		want string
	}{
		"sandboxed":      {newRunner(t), "traceme: error operation not permitted"},
		"without filter": {newRunner(t, func(c *config) { c.noSeccomp = true }), "traceme: ok"},
		"unsandboxed":    {NewUnsandboxed(), "traceme: ok"},
	} {
		t.Run(name, func(t *testing.T) {
			for range 5 {
				// Run never returned when it failed, whatever the limits.
				var out []byte
				var err error
				done := make(chan struct{})
				go func() {
					defer close(done)
					out, err = c.r.Run(context.Background(), plugin.Invocation{Program: hostile, Args: []string{"traceme"}})
				}()
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					t.Fatal("the run does not end")
				}
				if err != nil || string(out) != c.want+"\n" {
					t.Fatalf("got %q, %v; want %q", out, err, c.want)
				}
			}
		})
	}
}

func TestConcurrent(t *testing.T) {
	r := newRunner(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			in := bytes.Repeat([]byte{byte('a' + i)}, 100<<10*(i+1))
			out, err := r.Run(context.Background(), plugin.Invocation{Program: hostile, Args: []string{"echo"}, Stdin: in})
			if err != nil {
				t.Errorf("run %d: %v", i, err)
			} else if !bytes.Equal(out, in) {
				t.Errorf("run %d: got %d bytes, want %d", i, len(out), len(in))
			}
		})
	}
	wg.Wait()
}

func TestCancel(t *testing.T) {
	for name, r := range map[string]plugin.Runner{"sandboxed": newRunner(t), "unsandboxed": NewUnsandboxed()} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			_, err := r.Run(ctx, plugin.Invocation{Program: hostile, Args: []string{"loop"}})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("got %v, want the context's error", err)
			}
		})
	}
}

func TestInvalidInvocation(t *testing.T) {
	r := newRunner(t)
	for _, inv := range []plugin.Invocation{
		{Program: filepath.Join(t.TempDir(), "missing")},
		{Program: t.TempDir()},
		{Program: hostile, ReadOnly: []string{"/proc/self"}},
		{Program: hostile, ReadOnly: []string{"/"}},
		{Program: hostile, ReadOnly: []string{"/nonexistent"}},
	} {
		_, err := r.Run(context.Background(), inv)
		var pe *plugin.Error
		if err == nil || errors.As(err, &pe) {
			t.Errorf("%+v: got %v, want an error of the runner", inv, err)
		}
	}
	// A program others may not execute fails to start, and says why.
	private := filepath.Join(t.TempDir(), "private")
	data, err := os.ReadFile(hostile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(private, data, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err = r.Run(context.Background(), plugin.Invocation{Program: private, Args: []string{"echo"}})
	if os.Geteuid() == 0 && (err == nil || !strings.Contains(err.Error(), "executable, and its files readable, by others")) {
		t.Errorf("got %v", err)
	}
}

// TestCgroupsRemoved: runs leave no cgroup behind.
func TestCgroupsRemoved(t *testing.T) {
	r := newRunner(t)
	t.Log(r)
	if r.cg == nil {
		return // nothing to remove: rlimits only on this host
	}
	mustRun(t, r, plugin.Invocation{Args: []string{"exit", "0"}})
	_, _ = run(r, plugin.Limits{Memory: 64 << 20}, hostile, "alloc", "1024")
	for _, c := range []*controller{r.cg.mem, r.cg.pids} {
		if c == nil {
			continue
		}
		matches, _ := filepath.Glob(filepath.Join(c.parent, fmt.Sprintf("lathe-*-%d-*", os.Getpid())))
		if len(matches) != 0 {
			t.Errorf("left behind: %v", matches)
		}
	}
}

// childHostileEnv passes the hostile program to TestUnprivileged's child, and
// childSetuidEnv a set-user-ID root copy of it.
const (
	childHostileEnv = "NATIVERUN_TEST_HOSTILE"
	childSetuidEnv  = "NATIVERUN_TEST_SETUID"
)

// TestUnprivileged runs the sandbox from a Lathe that is not root, as nobody: run as
// root, the test binary runs this test again as uid 65534.
func TestUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		unprivileged(t) // this whole run is unprivileged already
		return
	}
	dir, err := os.MkdirTemp("", "nativerun-unprivileged-*") // t.TempDir's parent is private
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ src, dst string }{{self, "nativerun.test"}, {hostile, "hostile"}, {hostile, "hostile-setuid"}} {
		data, err := os.ReadFile(c.src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, c.dst), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "hostile-setuid"), 0o755|os.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "nativerun.test"), "-test.run=^TestUnprivileged$", "-test.v", "-test.timeout=90s")
	cmd.Dir = dir
	cmd.Env = []string{childHostileEnv + "=" + filepath.Join(dir, "hostile"), childSetuidEnv + "=" + filepath.Join(dir, "hostile-setuid"), "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	t.Logf("child:\n%s", out)
	if err != nil || !strings.Contains(string(out), "--- PASS: TestUnprivileged") {
		t.Errorf("child: %v", err)
	}
}

func unprivileged(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Fatal("running as root")
	}
	r := newRunner(t)
	t.Log(r)
	if !strings.Contains(r.String(), fmt.Sprintf("host uid %d (Lathe's)", os.Geteuid())) {
		t.Errorf("runner %s", r)
	}
	lines := mustRun(t, r, plugin.Invocation{Args: []string{"whoami"}})
	if want := "uid=0 gid=0 pid=1 cwd=/tmp host=sandbox"; lines[0] != want || !slices.Contains(lines, "CapBnd: 0000000000000000") ||
		!slices.Contains(lines, "CapEff: 0000000000000000") || !slices.Contains(lines, "NoNewPrivs: 1") {
		t.Errorf("whoami: %q", lines)
	}
	if lines := mustRun(t, r, plugin.Invocation{Args: []string{"read", "/", "/etc/passwd"}}); !slices.Equal(lines, []string{
		"/: ok dev,etc,lib,lib64,proc,tmp,usr", "/etc/passwd: error open /etc/passwd: no such file or directory",
	}) {
		t.Errorf("read: %q", lines)
	}
	for _, line := range mustRun(t, r, plugin.Invocation{Args: []string{"connect", "127.0.0.1:1", "8.8.8.8:53"}}) {
		if !strings.Contains(line, ": error ") {
			t.Errorf("connect: %s", line)
		}
	}
	_, err := run(r, plugin.Limits{Memory: 256 << 20}, hostile, "alloc", "4096")
	pluginError(t, err, `memory limit of 256 MiB exceeded$`, true)
	_, err = run(r, plugin.Limits{Processes: 32, WallTime: 2 * time.Second}, hostile, "forkbomb", uniqueToken())
	pe := pluginError(t, err, `^killed: wall time of 2s exceeded$|process limit of 32 reached$`, true)
	if !strings.Contains(pe.Stderr, "resource temporarily unavailable") {
		t.Errorf("fork bomb not stopped by the process limit: %q", pe.Stderr)
	}
	_, err = run(r, plugin.Limits{CPUTime: time.Second}, hostile, "loop")
	pluginError(t, err, `^killed: CPU time of 1s exceeded$`, true)
	// A set-user-ID plugin is beyond an unprivileged Lathe's rlimits: it must not run.
	if setuid := os.Getenv(childSetuidEnv); setuid != "" {
		_, err = run(NewUnsandboxed(), plugin.Limits{}, setuid, "whoami")
		if err == nil || !strings.Contains(err.Error(), "limiting") {
			t.Errorf("unsandboxed set-user-ID plugin: %v, want a limiting error", err)
		}
	}
}

// lingerEnv makes the test binary a stand-in for Lathe that runs a lingering plugin.
const lingerEnv = "NATIVERUN_TEST_LINGER"

// TestLatheDies: when Lathe dies, its runs die with it.
func TestLatheDies(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	token := uniqueToken()
	cmd := exec.Command(self, "-test.run=^TestLatheDiesHelper$")
	cmd.Env = append(os.Environ(), lingerEnv+"="+token, childHostileEnv+"="+hostile)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for len(processesWith(t, "linger\x00"+token)) == 0 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the plugin did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for len(processesWith(t, "linger\x00"+token)) != 0 {
		if time.Now().After(deadline.Add(2 * time.Second)) {
			t.Fatal("the plugin outlived Lathe")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLatheDiesHelper is TestLatheDies's stand-in for Lathe; in other runs it does nothing.
func TestLatheDiesHelper(t *testing.T) {
	token := os.Getenv(lingerEnv)
	if token == "" {
		return
	}
	_, err := run(newRunner(t), plugin.Limits{}, hostile, "linger", token)
	t.Fatalf("the plugin ended: %v", err)
}
