package nativerun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lathe-registry/lathe/internal/plugin"
)

// Runner runs native plugins in a sandbox; see the package documentation. It is safe for
// concurrent use.
type Runner struct {
	cfg    config
	root   bool // Lathe runs as root: plugins run as cfg.uid, cgroups are possible
	uidMap []syscall.SysProcIDMap
	gidMap []syscall.SysProcIDMap
	cg     *cgroups // nil: rlimits only
	cgNote string   // why there are no cgroups
}

// Run cgroups are named lathe-run-PID-NONCE-SEQ: the pid tells whether the owner is still
// alive (see removeStale), the nonce makes names unique across pid reuse, and SEQ
// numbers the runs of the process.
var (
	runSeq   atomic.Uint64                                            //nolint:gochecknoglobals // a counter
	runNonce = fmt.Sprintf("%d-%08x", os.Getpid(), mathrand.Uint32()) //nolint:gochecknoglobals // per process
)

var _ plugin.Runner = (*Runner)(nil)

// New returns a sandboxed Runner after checking, with a trial run of the sandbox's setup,
// that this host supports it: user namespaces allowed to this process, and Init called by
// the program. When that fails it returns an error saying why; the caller decides
// whether to run plugins another way.
func New(opts ...Option) (*Runner, error) {
	r := &Runner{cfg: config{systemPaths: DefaultSystemPaths, uid: nobody, gid: nobody}}
	for _, opt := range opts {
		opt(&r.cfg)
	}
	r.root = os.Geteuid() == 0
	if r.root {
		// Root of the namespace is host root, so that the init can reach plugin files
		// wherever Lathe keeps them; the plugin itself becomes 1, that is cfg.uid.
		r.uidMap = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}, {ContainerID: 1, HostID: r.cfg.uid, Size: 1}}
		r.gidMap = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}, {ContainerID: 1, HostID: r.cfg.gid, Size: 1}}
	} else {
		r.uidMap = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		r.gidMap = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	}
	switch {
	case r.cfg.noCgroups:
		r.cgNote = "disabled"
	default:
		cg, err := detectCgroups(r.cfg.cgroupParent)
		if err != nil {
			if r.cfg.cgroupParent != "" {
				return nil, fmt.Errorf("nativerun: cgroup parent %s: %w", r.cfg.cgroupParent, err)
			}
			r.cgNote = err.Error()
		}
		r.cg = cg
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sp := &spec{Probe: true, Program: "/", ScratchBytes: 1 << 20, Seccomp: !r.cfg.noSeccomp}
	r.identity(sp)
	for _, p := range r.cfg.systemPaths {
		sp.Mounts = append(sp.Mounts, mountSpec{Source: p, Target: p, System: true})
	}
	o, msg, err := r.start(ctx, sp, nil, plugin.DefaultLimits, nil)
	if err != nil {
		return nil, fmt.Errorf("nativerun: sandbox unavailable: %w", err)
	}
	if msg != probeOK {
		if msg == "" {
			msg = fmt.Sprintf("the sandbox init %s without a word; does main call nativerun.Init first? stderr: %q",
				o.state, o.stderr.String())
		}
		return nil, fmt.Errorf("nativerun: sandbox unavailable: %s", msg)
	}
	return r, nil
}

// String describes the mechanisms in use, for logs.
func (r *Runner) String() string {
	var b strings.Builder
	b.WriteString("native sandbox: user, mount, pid, network, IPC, UTS and cgroup namespaces; ")
	if r.root {
		fmt.Fprintf(&b, "plugins run as host uid %d; ", r.cfg.uid)
	} else {
		fmt.Fprintf(&b, "plugins run as host uid %d (Lathe's); ", os.Geteuid())
	}
	if r.cg != nil {
		b.WriteString("cgroups: " + r.cg.String())
		if r.cg.mem == nil || r.cg.pids == nil {
			b.WriteString(", the rest by rlimits")
		}
	} else {
		b.WriteString("rlimits only (no cgroups: " + r.cgNote + ")")
	}
	if auditArch != 0 && !r.cfg.noSeccomp {
		b.WriteString("; seccomp filter")
	}
	return b.String()
}

// Run implements [plugin.Runner].
func (r *Runner) Run(ctx context.Context, inv plugin.Invocation) ([]byte, error) {
	o, err := r.run(ctx, inv)
	if err != nil {
		return nil, err
	}
	return o.result()
}

func (r *Runner) run(ctx context.Context, inv plugin.Invocation) (*outcome, error) {
	lim := inv.Limits.WithDefaults()
	sp, err := r.spec(inv, lim)
	if err != nil {
		return nil, err
	}
	var rc *runCgroup
	if r.cg != nil {
		name := fmt.Sprintf("lathe-run-%s-%d", runNonce, runSeq.Add(1))
		if rc, err = r.cg.create(name, lim); err != nil {
			return nil, fmt.Errorf("nativerun: creating the run's cgroup: %w", err)
		}
		defer rc.remove() //nolint:errcheck // nothing to do about a leftover
	}
	o, msg, err := r.start(ctx, sp, inv.Stdin, lim, rc)
	if err != nil {
		return nil, fmt.Errorf("nativerun: %w", err)
	}
	if msg != "" {
		return nil, fmt.Errorf("nativerun: %s", msg)
	}
	o.oomKilled = rc.oomKilled()
	o.pidsMax = rc.pidsMax()
	o.memRlimit = rc == nil || rc.mem == ""
	o.pidsRlimit = rc == nil || rc.pids == ""
	return o, nil
}

// spec turns an invocation into what the init needs.
func (r *Runner) spec(inv plugin.Invocation, lim plugin.Limits) (*spec, error) {
	prog, err := filepath.Abs(inv.Program)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(prog)
	if err != nil {
		return nil, fmt.Errorf("nativerun: plugin program: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("nativerun: plugin program %s is not a file", prog)
	}
	sp := &spec{
		Program:      prog,
		Argv:         append([]string{prog}, inv.Args...),
		Env:          pluginEnv(scratchDir),
		ScratchBytes: lim.Memory,
		Seccomp:      !r.cfg.noSeccomp,
	}
	r.identity(sp)
	for _, p := range r.cfg.systemPaths {
		sp.Mounts = append(sp.Mounts, mountSpec{Source: p, Target: p, System: true})
	}
	for _, p := range inv.ReadOnly {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		if err := checkTarget(abs); err != nil {
			return nil, err
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("nativerun: read-only path: %w", err)
		}
		sp.Mounts = append(sp.Mounts, mountSpec{Source: abs, Target: abs})
	}
	if err := checkTarget(prog); err != nil {
		return nil, err
	}
	sp.Mounts = append(sp.Mounts, mountSpec{Source: prog, Target: prog})

	cpu := uint64((lim.CPUTime + time.Second - 1) / time.Second) // whole seconds, rounded up
	sp.Rlimits = []rlimitSpec{
		{Resource: unix.RLIMIT_CPU, Value: cpu},
		// Counted per user and user namespace, so per run; ignored for host root,
		// which plugins never are.
		{Resource: unix.RLIMIT_NPROC, Value: uint64(lim.Processes)},
		{Resource: unix.RLIMIT_CORE, Value: 0},
	}
	if r.cg == nil || r.cg.mem == nil {
		sp.Rlimits = append(sp.Rlimits, rlimitSpec{Resource: unix.RLIMIT_DATA, Value: uint64(lim.Memory)})
	}
	return sp, nil
}

func (r *Runner) identity(sp *spec) {
	if r.root {
		sp.UID, sp.GID, sp.SetGroups = 1, 1, true
	}
}

// checkTarget refuses paths that would shadow the sandbox's own mounts.
func checkTarget(p string) error {
	for _, reserved := range []string{"/proc", "/dev", oldRoot} {
		if p == reserved || strings.HasPrefix(p, reserved+"/") {
			return fmt.Errorf("nativerun: %s cannot be made visible in the sandbox", p)
		}
	}
	if p == "/" || p == scratchDir {
		return fmt.Errorf("nativerun: %s cannot be made visible in the sandbox", p)
	}
	return nil
}

// start runs the sandbox init with the spec and waits for it and every process of the
// run to finish. msg is what the init reported instead of exec'ing the plugin (probeOK
// for a probe), or "".
func (r *Runner) start(ctx context.Context, sp *spec, stdin []byte, lim plugin.Limits, rc *runCgroup) (o *outcome, msg string, err error) {
	runCtx, cancel, stop := runContext(ctx, lim.WallTime)
	defer stop()
	// Pdeathsig fires when the thread that started the child exits, and Go ends a thread
	// when a goroutine locked to it returns: holding this thread until the run is over
	// keeps other goroutines from doing that to it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p, err := newPipes()
	if err != nil {
		return nil, "", err
	}
	specR, specW, err := os.Pipe()
	if err != nil {
		p.close()
		return nil, "", err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		p.close()
		specR.Close()
		specW.Close()
		return nil, "", err
	}
	proc, err := os.StartProcess("/proc/self/exe", []string{initArg0}, &os.ProcAttr{
		// GOMAXPROCS=1: the init is brief and single-threaded work, and fewer runtime
		// threads leave the process limit to the plugin.
		Env:   []string{initEnv + "=1", "GOMAXPROCS=1"},
		Files: []*os.File{p.inR, p.outW, p.errW, specR, errW},
		Sys: &syscall.SysProcAttr{
			Cloneflags: unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWNET |
				unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWCGROUP,
			UidMappings:                r.uidMap,
			GidMappings:                r.gidMap,
			GidMappingsEnableSetgroups: r.root,
			// If Lathe dies, so does the init, and with it (pid namespace) the whole run.
			Pdeathsig: syscall.SIGKILL,
		},
	})
	p.closeChild()
	specR.Close()
	errW.Close()
	if err != nil {
		p.inW.Close()
		p.outR.Close()
		p.errR.Close()
		specW.Close()
		errR.Close()
		return nil, "", fmt.Errorf("starting the sandbox: %w", err)
	}
	// The init is the pid namespace's init: killing it kills every process of the run.
	// Process.Kill goes through a pidfd, so it can never hit a recycled pid.
	exited := make(chan struct{})
	go func() {
		select {
		case <-runCtx.Done():
			_ = proc.Kill()
		case <-exited:
		}
	}()
	o = &outcome{lim: lim}
	o.stdout = startCapture(p.outR, lim.OutputBytes, func() { cancel(errOutputLimit) })
	o.stderr = startTail(p.errR)
	feed(p.inW, stdin) // the pipe holds it until the plugin reads
	var setupErr error
	if rc != nil {
		// Into the cgroups before the init reads the spec, so before anything of the
		// plugin runs; its children are born there.
		setupErr = rc.add(proc.Pid)
	}
	if setupErr == nil {
		err := json.NewEncoder(specW).Encode(sp)
		if err != nil && !errors.Is(err, syscall.EPIPE) {
			setupErr = err
		}
	}
	specW.Close()
	if setupErr != nil {
		_ = proc.Kill()
	}
	report, _ := io.ReadAll(errR) // EOF at exec (close-on-exec) or exit
	errR.Close()
	waitUntraced(proc.Pid, func() { o.state, err = proc.Wait() })
	close(exited)
	drain(o.stdout, o.stderr)
	if err != nil {
		return nil, "", err
	}
	if setupErr != nil {
		return nil, "", fmt.Errorf("starting the sandbox: %w", setupErr)
	}
	o.cause = context.Cause(runCtx)
	o.parent = ctx.Err()
	o.cpuLimit = (lim.CPUTime + time.Second - 1) / time.Second * time.Second
	return o, string(report), nil
}
