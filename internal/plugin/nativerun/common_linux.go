package nativerun

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// stderrTail is how much of a plugin's stderr is kept, as plugin.Limits documents.
	stderrTail = 64 << 10
	// drainTimeout bounds the wait for stdout and stderr to reach EOF once the plugin's
	// processes are gone. Only a process that escaped the kill (possible only without
	// the sandbox) can hold the pipes open that long.
	drainTimeout = 2 * time.Second
)

// Causes of a run's cancellation, told apart afterwards with context.Cause.
var (
	errWallTime    = errors.New("wall time exceeded")
	errOutputLimit = errors.New("output limit exceeded")
)

// pluginEnv is the whole environment of a plugin: nothing of the host's. PATH lists the
// usual directories in case an invocation makes some visible (Invocation.ReadOnly);
// HOME and TMPDIR point at the private scratch directory, the only writable place.
func pluginEnv(scratch string) []string {
	return []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + scratch,
		"TMPDIR=" + scratch,
	}
}

// capture reads a plugin's stdout up to a limit. Past the limit it stops reading, closes
// the pipe (so the plugin's next write fails) and calls exceeded once.
type capture struct {
	r        *os.File
	max      int64
	exceeded func()

	buf  []byte
	over bool
	done chan struct{}
}

func startCapture(r *os.File, limit int64, exceeded func()) *capture {
	c := &capture{r: r, max: limit, exceeded: exceeded, done: make(chan struct{})}
	go c.run()
	return c
}

func (c *capture) run() {
	defer close(c.done)
	defer c.r.Close()
	chunk := make([]byte, 64<<10)
	for {
		n, err := c.r.Read(chunk)
		if int64(len(c.buf))+int64(n) > c.max {
			c.over = true
			c.exceeded()
			return
		}
		c.buf = append(c.buf, chunk[:n]...)
		if err != nil {
			return
		}
	}
}

// tail keeps the last stderrTail bytes of a plugin's stderr.
type tail struct {
	r    *os.File
	buf  []byte
	done chan struct{}
}

func startTail(r *os.File) *tail {
	t := &tail{r: r, done: make(chan struct{})}
	go t.run()
	return t
}

func (t *tail) run() {
	defer close(t.done)
	defer t.r.Close()
	chunk := make([]byte, 16<<10)
	for {
		n, err := t.r.Read(chunk)
		t.buf = append(t.buf, chunk[:n]...)
		if len(t.buf) > 2*stderrTail { // amortized trim
			t.buf = append(t.buf[:0], t.buf[len(t.buf)-stderrTail:]...)
		}
		if err != nil {
			return
		}
	}
}

func (t *tail) String() string {
	if len(t.buf) > stderrTail {
		return string(t.buf[len(t.buf)-stderrTail:])
	}
	return string(t.buf)
}

// drain waits for the readers to reach EOF, and after drainTimeout closes their pipes so
// that they stop. Readers close their own ends when they finish; closing twice is harmless.
func drain(c *capture, t *tail) {
	timer := time.NewTimer(drainTimeout)
	defer timer.Stop()
	cDone, tDone := c.done, t.done
	for cDone != nil || tDone != nil {
		select {
		case <-cDone:
			cDone = nil
		case <-tDone:
			tDone = nil
		case <-timer.C:
			c.r.Close()
			t.r.Close()
		}
	}
}

// feed writes the request to the plugin's stdin and closes it. A plugin that exits
// without reading makes the write fail with EPIPE, which is not an error of the run.
func feed(w *os.File, data []byte) {
	go func() {
		_, _ = w.Write(data)
		w.Close()
	}()
}

// pipes are the parent's ends and the child's ends of a plugin's standard streams.
type pipes struct {
	inR, inW, outR, outW, errR, errW *os.File
}

func newPipes() (*pipes, error) {
	var p pipes
	var err error
	if p.inR, p.inW, err = os.Pipe(); err != nil {
		return nil, err
	}
	if p.outR, p.outW, err = os.Pipe(); err != nil {
		p.close()
		return nil, err
	}
	if p.errR, p.errW, err = os.Pipe(); err != nil {
		p.close()
		return nil, err
	}
	return &p, nil
}

// closeChild closes the child's ends once it has them, so that EOF reaches the readers
// when the last plugin process exits.
func (p *pipes) closeChild() {
	for _, f := range []*os.File{p.inR, p.outW, p.errW} {
		if f != nil {
			f.Close()
		}
	}
}

func (p *pipes) close() {
	for _, f := range []*os.File{p.inR, p.inW, p.outR, p.outW, p.errR, p.errW} {
		if f != nil {
			f.Close()
		}
	}
}

// killer kills a started process (or its whole tree) at most until the process is reaped,
// after which its pid may belong to someone else.
type killer struct {
	mu     sync.Mutex
	reaped bool
	kill   func()
}

func (k *killer) Kill() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.reaped {
		k.kill()
	}
}

// Reaped marks the process as about to be reaped: no kill after this.
func (k *killer) Reaped() {
	k.mu.Lock()
	k.reaped = true
	k.mu.Unlock()
}

// formatBytes writes n the way limits are usually written: "64 MiB", "2 GiB".
func formatBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// waitUntraced calls wait, which waits for the process pid, and meanwhile reaps threads
// of pid that made themselves tracees of this process with PTRACE_TRACEME (the seccomp
// filter refuses ptrace, but not on every architecture, and not the unsandboxed runner's
// plugins). A traced thread that exits stays a zombie until its tracer reaps it, and
// until then neither is the process's exit reported nor, for a sandbox, can its pid
// namespace finish tearing down: without this, wait would never return.
func waitUntraced(pid int, wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		wait()
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
			reapTracedThreads(pid)
		}
	}
}

// reapTracedThreads reaps the zombie threads of pid traced by this process, once pid's
// main thread has exited. Only this process's tracees can be reaped; the pid (unreaped)
// and its threads' ids (zombies) cannot be reused meanwhile.
func reapTracedThreads(pid int) {
	if procState(fmt.Sprintf("/proc/%d/stat", pid)) != 'Z' {
		return
	}
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, task := range tasks {
		tid, err := strconv.Atoi(task.Name())
		if err != nil || tid == pid || procState(fmt.Sprintf("/proc/%d/task/%d/stat", pid, tid)) != 'Z' {
			continue
		}
		var info unix.Siginfo
		_ = unix.Waitid(unix.P_PID, tid, &info, unix.WEXITED|unix.WNOHANG|unix.WALL, nil)
	}
}

// procState returns the state letter of a /proc/.../stat file, or 0.
func procState(file string) byte {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	// pid (comm) state ...; comm may contain anything but ends at the last ')'.
	if i := bytes.LastIndexByte(data, ')'); i >= 0 && i+2 < len(data) {
		return data[i+2]
	}
	return 0
}
