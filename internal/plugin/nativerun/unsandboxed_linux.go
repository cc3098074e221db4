package nativerun

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lathe-registry/lathe/internal/plugin"
)

// Unsandboxed runs native plugins as ordinary child processes of Lathe, with Lathe's
// user, file system, network and everything else. It is for trusted environments only,
// where every plugin is as trusted as Lathe itself (an operator must choose it
// explicitly): a plugin run this way can read Lathe's data and secrets.
//
// What it does enforce: the wall time limit and the output limit, by killing the
// plugin's process group (so children that stay in the group die with it, including
// children left running when the plugin exits); CPU time and memory by RLIMIT_CPU and
// RLIMIT_DATA per process, set right after start (a few instructions of the plugin may
// run before them; a run whose limits cannot be set fails, and rlimits Lathe itself
// has lower stay the lower); the stderr tail; the same empty environment as the sandbox; and a
// fresh temporary working directory, removed afterwards. Limits.Processes is not
// enforced, and a process that leaves the group (setsid) survives the run.
type Unsandboxed struct{}

var _ plugin.Runner = (*Unsandboxed)(nil)

// NewUnsandboxed returns an [Unsandboxed] runner: for trusted environments only.
func NewUnsandboxed() *Unsandboxed { return &Unsandboxed{} }

// Run implements [plugin.Runner].
func (u *Unsandboxed) Run(ctx context.Context, inv plugin.Invocation) ([]byte, error) {
	o, err := u.run(ctx, inv)
	if err != nil {
		return nil, err
	}
	return o.result()
}

func (u *Unsandboxed) run(ctx context.Context, inv plugin.Invocation) (*outcome, error) {
	lim := inv.Limits.WithDefaults()
	prog, err := filepath.Abs(inv.Program)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "lathe-plugin-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	runCtx, cancel, stop := runContext(ctx, lim.WallTime)
	defer stop()
	runtime.LockOSThread() // for Pdeathsig, as in Runner.start
	defer runtime.UnlockOSThread()
	p, err := newPipes()
	if err != nil {
		return nil, err
	}
	proc, err := os.StartProcess(prog, append([]string{prog}, inv.Args...), &os.ProcAttr{
		Dir:   dir,
		Env:   pluginEnv(dir),
		Files: []*os.File{p.inR, p.outW, p.errW},
		Sys: &syscall.SysProcAttr{
			Setpgid:   true, // the group is what gets killed
			Pdeathsig: syscall.SIGKILL,
		},
	})
	p.closeChild()
	if err != nil {
		p.inW.Close()
		p.outR.Close()
		p.errR.Close()
		return nil, fmt.Errorf("nativerun: starting %s: %w", prog, err)
	}
	cpu := uint64((lim.CPUTime + time.Second - 1) / time.Second)
	if err := setRlimits(proc.Pid, []rlimitSpec{{unix.RLIMIT_CPU, cpu}, {unix.RLIMIT_DATA, uint64(lim.Memory)}, {unix.RLIMIT_CORE, 0}}); err != nil {
		// Not yet reaped, so the group's id is still the plugin's.
		_ = unix.Kill(-proc.Pid, unix.SIGKILL)
		_, _ = proc.Wait()
		p.close()
		return nil, fmt.Errorf("nativerun: limiting %s: %w", prog, err)
	}
	// The group's id is the plugin's pid, which stays the plugin's until it is reaped:
	// the killer is disarmed before that.
	k := &killer{kill: func() { _ = unix.Kill(-proc.Pid, unix.SIGKILL) }}
	exited := make(chan struct{})
	go func() {
		select {
		case <-runCtx.Done():
			k.Kill()
		case <-exited:
		}
	}()
	o := &outcome{lim: lim, memRlimit: true}
	o.stdout = startCapture(p.outR, lim.OutputBytes, func() { cancel(errOutputLimit) })
	o.stderr = startTail(p.errR)
	feed(p.inW, inv.Stdin)
	// Wait for the exit without reaping, kill what is left of the group, then reap.
	waitUntraced(proc.Pid, func() {
		var info unix.Siginfo
		for unix.Waitid(unix.P_PID, proc.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil) == unix.EINTR {
		}
	})
	k.Kill()
	k.Reaped()
	close(exited)
	o.state, err = proc.Wait()
	drain(o.stdout, o.stderr)
	if err != nil {
		return nil, err
	}
	o.cause = context.Cause(runCtx)
	o.parent = ctx.Err()
	o.cpuLimit = time.Duration(cpu) * time.Second
	return o, nil
}

// setRlimits sets the rlimits of process pid, soft = hard, each at most the hard limit
// the process has: Lathe's, inherited, which is no less binding and which only a
// privileged Lathe could raise.
func setRlimits(pid int, specs []rlimitSpec) error {
	for _, r := range specs {
		var old unix.Rlimit
		if err := unix.Prlimit(pid, r.Resource, nil, &old); err != nil {
			return fmt.Errorf("reading rlimit %d: %w", r.Resource, err)
		}
		v := min(r.Value, old.Max)
		if err := unix.Prlimit(pid, r.Resource, &unix.Rlimit{Cur: v, Max: v}, nil); err != nil {
			return fmt.Errorf("setting rlimit %d: %w", r.Resource, err)
		}
	}
	return nil
}
