package nativerun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lathe-registry/lathe/internal/plugin"
)

// outcome is what is known about a finished run.
type outcome struct {
	lim    plugin.Limits
	state  *os.ProcessState
	cause  error // context.Cause of the run's context: errWallTime, errOutputLimit, ...
	parent error // the caller's ctx.Err()
	stdout *capture
	stderr *tail

	// From the cgroups, when there are any.
	oomKilled bool // the memory cgroup killed a process
	pidsMax   bool // a fork or clone failed at the process limit
	// memRlimit and pidsRlimit are set when memory and processes are bounded by rlimits
	// rather than cgroups: a plugin over them sees failed allocations or forks, not a
	// kill, and its runtime usually says so on stderr before it gives up.
	memRlimit, pidsRlimit bool
	cpuLimit              time.Duration // the CPU time RLIMIT_CPU enforces, 0 if none
}

// result turns an outcome into Run's results.
func (o *outcome) result() ([]byte, error) {
	stderr := o.stderr.String()
	fail := func(limit bool, format string, args ...any) ([]byte, error) {
		return nil, &plugin.Error{Reason: fmt.Sprintf(format, args...), Stderr: stderr, Limit: limit}
	}
	ws, _ := o.state.Sys().(syscall.WaitStatus)
	killed := ws.Signaled() && (ws.Signal() == syscall.SIGKILL || ws.Signal() == syscall.SIGXCPU)
	switch {
	case o.stdout.over || errors.Is(o.cause, errOutputLimit):
		return fail(true, "output larger than %d bytes", o.lim.OutputBytes)
	case o.state.Success():
		// Success even if the wall time ran out just after: the output is complete.
		return o.stdout.buf, nil
	case errors.Is(o.cause, errWallTime):
		return fail(true, "killed: wall time of %v exceeded", o.lim.WallTime)
	case o.parent != nil:
		return nil, o.parent
	case o.oomKilled:
		return fail(true, "killed: memory limit of %s exceeded", formatBytes(o.lim.Memory))
	case killed && o.cpuLimit > 0 && 2*cpuTime(o.state) >= o.cpuLimit:
		// The kernel kills at the limit exactly, but the rusage times are sampled and
		// come out lower, by over 20% on a busy host. Once the causes above are ruled
		// out, nothing else kills a plugin that used half of its CPU time.
		return fail(true, "killed: CPU time of %v exceeded", o.lim.CPUTime)
	case o.memRlimit && outOfMemory(stderr):
		return fail(true, "%s: memory limit of %s exceeded", status(ws), formatBytes(o.lim.Memory))
	case o.pidsMax || (o.pidsRlimit && forkFailed(stderr)):
		return fail(true, "%s: process limit of %d reached", status(ws), o.lim.Processes)
	}
	return fail(false, "%s", status(ws))
}

func status(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		if name := unix.SignalName(ws.Signal()); name != "" {
			return "killed by signal " + name
		}
		return fmt.Sprintf("killed by signal %d", int(ws.Signal()))
	}
	return fmt.Sprintf("exited with status %d", ws.ExitStatus())
}

func cpuTime(st *os.ProcessState) time.Duration { return st.UserTime() + st.SystemTime() }

// outOfMemory recognizes the messages of runtimes whose allocation failed: Go, glibc,
// C++, V8/Node, Rust.
func outOfMemory(stderr string) bool {
	for _, s := range []string{
		"out of memory",
		"Cannot allocate memory",
		"cannot allocate memory",
		"std::bad_alloc",
		"heap out of memory",
		"memory allocation of",
	} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}

// forkFailed recognizes the messages of a failed fork or thread creation (EAGAIN).
func forkFailed(stderr string) bool {
	for _, s := range []string{
		"failed to create new OS thread",   // Go
		"resource temporarily unavailable", // Go's EAGAIN
		"Resource temporarily unavailable", // libc's EAGAIN
	} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}

// runContext returns the context of one run: cancelled by the caller, at the wall time
// limit (cause errWallTime) or by cancel (cause given).
func runContext(ctx context.Context, wall time.Duration) (context.Context, context.CancelCauseFunc, func()) {
	base, cancel := context.WithCancelCause(ctx)
	run, stop := context.WithTimeoutCause(base, wall, errWallTime)
	return run, cancel, func() { stop(); cancel(nil) }
}
