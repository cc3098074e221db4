package nativerun

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// oldRoot is where the host's root sits during setup, between pivot_root and its
// detachment. Invocation paths under it are refused.
const oldRoot = "/.lathe-old-root"

// devices are the only device nodes a plugin gets.
var devices = []string{"/dev/null", "/dev/zero", "/dev/urandom"} //nolint:gochecknoglobals // constant list

// Init turns the process into a sandbox init when the runner started it as one, and
// otherwise returns at once. Call it first thing in main (and in TestMain of tests that
// use a sandboxed [Runner]): the runner re-executes the running binary (/proc/self/exe)
// as the init, because Go cannot run code in a child between clone and exec. As an
// init it never returns: it sets up the sandbox and executes the plugin, or exits.
func Init() {
	if len(os.Args) != 1 || os.Args[0] != initArg0 || os.Getenv(initEnv) != "1" {
		return
	}
	// Capabilities, no_new_privs and the seccomp filter belong to a thread; they are set
	// on this one, which then executes the plugin.
	runtime.LockOSThread()
	errPipe := os.NewFile(errFD, "sandbox-errors")
	sp, err := readSpec()
	if err == nil {
		err = initSandbox(sp)
	}
	code := 125
	if err == nil { // a probe: everything worked
		err, code = errors.New(probeOK), 0
	}
	_, _ = io.WriteString(errPipe, err.Error())
	// Straight out, past exit hooks: the race detector's would sleep a second.
	unix.RawSyscall(unix.SYS_EXIT_GROUP, uintptr(code), 0, 0)
}

func readSpec() (*spec, error) {
	// The error pipe must not reach the plugin: its closing on exec is the signal of success.
	unix.CloseOnExec(errFD)
	f := os.NewFile(specFD, "sandbox-spec")
	defer f.Close()
	var sp spec
	if err := json.NewDecoder(f).Decode(&sp); err != nil {
		return nil, fmt.Errorf("reading the sandbox spec: %w", err)
	}
	return &sp, nil
}

// initSandbox runs in the new namespaces as root of the user namespace: it builds the
// plugin's file system, applies the limits, drops every privilege and executes the
// plugin. It returns nil only for a probe. The phases run in this order because each
// needs what the one before left: the host's paths are opened while still reachable,
// the new root is built from them, and privileges go only once nothing needs them.
func initSandbox(sp *spec) error {
	// Mounts of this namespace must not propagate anywhere (they could not reach the
	// host from a user namespace anyway, but other namespaces of ours could share them).
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	src, err := openSources(sp)
	if err != nil {
		return err
	}
	if err := enterNewRoot(); err != nil {
		return err
	}
	if err := mountScratch(sp); err != nil {
		return err
	}
	if err := makeDev(src.devices); err != nil {
		return err
	}
	if err := bindSources(sp, src.mounts); err != nil {
		return err
	}
	if err := sealRoot(); err != nil {
		return err
	}
	for _, r := range sp.Rlimits {
		lim := unix.Rlimit{Cur: r.Value, Max: r.Value}
		if err := unix.Prlimit(0, r.Resource, &lim, nil); err != nil {
			return fmt.Errorf("setting rlimit %d: %w", r.Resource, err)
		}
	}
	if err := dropPrivileges(sp, src.lastCap); err != nil {
		return err
	}
	if sp.Seccomp {
		if err := installSeccomp(); err != nil {
			return err
		}
	}
	if sp.Probe {
		return nil
	}
	err = unix.Exec(sp.Program, sp.Argv, sp.Env)
	if errors.Is(err, unix.EACCES) {
		return fmt.Errorf("executing %s: %w (the sandbox runs plugins as an unprivileged user: the program must be executable, and its files readable, by others)", sp.Program, err)
	}
	return fmt.Errorf("executing %s: %w", sp.Program, err)
}

// source is a host path opened for binding into the new root.
type source struct {
	fd   int
	dir  bool
	link string // for a system path that is a symbolic link
	st   unix.Stat_t
}

// sources is what the init takes from the host before its root goes out of reach.
type sources struct {
	mounts  []*source // by sp.Mounts index; nil for a missing system path
	devices []int     // O_PATH fds of devices, by index
	lastCap int
}

// openSources opens the mounts' sources and the devices. Binding from the fds (through
// /proc/self/fd) rather than paths means the new root is built after pivot_root, where a
// symbolic link cannot lead out of it.
func openSources(sp *spec) (*sources, error) {
	src := &sources{mounts: make([]*source, len(sp.Mounts)), devices: make([]int, len(devices))}
	for i, m := range sp.Mounts {
		if m.System {
			fi, err := os.Lstat(m.Source)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if fi.Mode()&os.ModeSymlink != 0 {
				link, err := os.Readlink(m.Source)
				if err != nil {
					return nil, err
				}
				src.mounts[i] = &source{link: link}
				continue
			}
		}
		fd, err := unix.Open(m.Source, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", m.Source, err)
		}
		s := &source{fd: fd}
		if err := unix.Fstat(fd, &s.st); err != nil {
			return nil, err
		}
		s.dir = s.st.Mode&unix.S_IFMT == unix.S_IFDIR
		src.mounts[i] = s
	}
	for i, d := range devices {
		fd, err := unix.Open(d, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", d, err)
		}
		src.devices[i] = fd
	}
	var err error
	src.lastCap, err = lastCapability()
	return src, err
}

// enterNewRoot makes an empty tmpfs the root, read-only once populated, so that nothing
// of the host is visible unless bound into it; the host's root stays at oldRoot until
// sealRoot. It mounts a /proc of the new pid namespace: the plugin sees only its own
// processes.
func enterNewRoot() error {
	base, err := mountBase()
	if err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", base, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755,size=1m"); err != nil {
		return fmt.Errorf("mounting the root tmpfs: %w", err)
	}
	if err := os.Mkdir(base+oldRoot, 0o700); err != nil {
		return err
	}
	if err := unix.PivotRoot(base, base+oldRoot); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return err
	}
	if err := os.Mkdir("/proc", 0o555); err != nil {
		return err
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting /proc: %w", err)
	}
	return nil
}

func fdPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// mountScratch mounts the only writable place, owned by the plugin's user, capped in
// size (its pages are memory, counted by a memory cgroup if there is one).
func mountScratch(sp *spec) error {
	if err := os.Mkdir(scratchDir, 0o755); err != nil {
		return err
	}
	opts := fmt.Sprintf("mode=0700,uid=%d,gid=%d,size=%d", sp.UID, sp.GID, max(sp.ScratchBytes, 4096))
	if err := unix.Mount("tmpfs", scratchDir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mounting the scratch tmpfs: %w", err)
	}
	return nil
}

// makeDev builds /dev from the opened devices and the stdio links.
func makeDev(fds []int) error {
	if err := os.Mkdir("/dev", 0o755); err != nil {
		return err
	}
	for i, d := range devices {
		if err := os.WriteFile(d, nil, 0o444); err != nil {
			return err
		}
		if err := bindReadOnly(fdPath(fds[i]), d, true); err != nil {
			return err
		}
		unix.Close(fds[i])
	}
	for name, target := range map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"} {
		if err := os.Symlink(target, "/dev/"+name); err != nil {
			return err
		}
	}
	return nil
}

// bindSources binds the opened sources read-only at their targets, or recreates their
// symbolic links.
func bindSources(sp *spec, srcs []*source) error {
	for i, m := range sp.Mounts {
		s := srcs[i]
		if s == nil {
			continue
		}
		if s.link != "" {
			if err := os.MkdirAll(filepath.Dir(m.Target), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(s.link, m.Target); err != nil && !errors.Is(err, os.ErrExist) {
				return err
			}
			continue
		}
		if err := mountPoint(m.Target, s.dir, &s.st); err != nil {
			if errors.Is(err, errVisible) {
				unix.Close(s.fd)
				continue
			}
			return fmt.Errorf("making the mount point %s: %w", m.Target, err)
		}
		if err := bindReadOnly(fdPath(s.fd), m.Target, false); err != nil {
			return err
		}
		unix.Close(s.fd)
	}
	return nil
}

// sealRoot detaches the host's root (the mounts above hold what the plugin may see of
// it), makes the new root read-only, forbids nested user namespaces, enters the scratch
// directory and makes sure no fd but stdio reaches the plugin.
func sealRoot() error {
	if err := unix.Unmount(oldRoot, unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detaching the old root: %w", err)
	}
	if err := os.Remove(oldRoot); err != nil {
		return err
	}
	if err := unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("making the root read-only: %w", err)
	}
	if err := unix.Sethostname([]byte("sandbox")); err != nil {
		return err
	}
	// No user namespaces below this one: a nested one would give the plugin capabilities
	// again (within it). The seccomp filter refuses them too; this also covers clone3.
	if err := os.WriteFile("/proc/sys/user/max_user_namespaces", []byte("0"), 0); err != nil {
		return fmt.Errorf("limiting user namespaces: %w", err)
	}
	if err := unix.Chdir(scratchDir); err != nil {
		return err
	}
	// Only the fds above 2 of the init and the Go runtime are open, and all are
	// close-on-exec already; this makes sure of it.
	if err := closeOnExecFrom(3); err != nil {
		return fmt.Errorf("closing inherited files on exec: %w", err)
	}
	return nil
}

// closeOnExecFrom marks every fd from first up close-on-exec: with one close_range call
// where the kernel has CLOSE_RANGE_CLOEXEC (Linux 5.11), else fd by fd.
func closeOnExecFrom(first int) error {
	err := unix.CloseRange(uint(first), ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	if err != unix.ENOSYS && err != unix.EINVAL {
		return err
	}
	return closeOnExecEach(first)
}

// closeOnExecEach marks each open fd from first up close-on-exec, as /proc/self/fd lists
// them.
func closeOnExecEach(first int) error {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return err
	}
	for _, name := range names {
		fd, err := strconv.Atoi(name)
		if err != nil {
			return fmt.Errorf("/proc/self/fd lists %q", name)
		}
		if fd < first {
			continue
		}
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil && err != unix.EBADF {
			// EBADF: the fd that listed the directory, closed since.
			return fmt.Errorf("fd %d: %w", fd, err)
		}
	}
	return nil
}

// mountBase returns an existing directory to mount the new root on; which one does not
// matter, its content is hidden only in this mount namespace.
func mountBase() (string, error) {
	for _, d := range []string{"/tmp", "/mnt", "/run", "/var/tmp", "/opt", "/srv", "/media"} {
		if fi, err := os.Lstat(d); err == nil && fi.IsDir() {
			return d, nil
		}
	}
	return "", errors.New("no directory to mount the sandbox root on (tried /tmp, /mnt, /run, ...)")
}

var errVisible = errors.New("already visible")

// mountPoint creates an empty file or directory to bind onto, with its parents. It
// returns errVisible when target is the source already, through an earlier bind.
func mountPoint(target string, dir bool, src *unix.Stat_t) error {
	var st unix.Stat_t
	if err := unix.Stat(target, &st); err == nil {
		if st.Dev == src.Dev && st.Ino == src.Ino {
			return errVisible
		}
		return nil // bind over it
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	if dir {
		return os.Mkdir(target, 0o755)
	}
	return os.WriteFile(target, nil, 0o444)
}

// bindReadOnly binds source (with what is mounted below it) onto target, read-only and
// without set-user-ID or, except for device nodes, devices.
func bindReadOnly(source, target string, device bool) error {
	if err := unix.Mount(source, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("binding %s: %w", target, err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID}
	if device {
		attr.Attr_set |= unix.MOUNT_ATTR_NOEXEC
	} else {
		attr.Attr_set |= unix.MOUNT_ATTR_NODEV
	}
	err := unix.MountSetattr(unix.AT_FDCWD, target, unix.AT_RECURSIVE, &attr)
	if err == nil {
		return nil
	}
	if err != unix.ENOSYS {
		return fmt.Errorf("making %s read-only: %w", target, err)
	}
	// Before Linux 5.12: remount the top mount only, keeping the flags the kernel locks
	// in a user namespace (it refuses a remount that would clear them).
	var fs unix.Statfs_t
	if err := unix.Statfs(target, &fs); err != nil {
		return err
	}
	flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY | unix.MS_NOSUID)
	if !device {
		flags |= unix.MS_NODEV
	}
	for _, f := range []struct{ st, ms uintptr }{
		{unix.ST_NODEV, unix.MS_NODEV}, {unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_NOATIME, unix.MS_NOATIME}, {unix.ST_NODIRATIME, unix.MS_NODIRATIME},
		{unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if uintptr(fs.Flags)&f.st != 0 {
			flags |= f.ms
		}
	}
	if err := unix.Mount("", target, "", flags, ""); err != nil {
		return fmt.Errorf("making %s read-only: %w", target, err)
	}
	return nil
}

func lastCapability() (int, error) {
	data, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(data)))
}

// dropPrivileges leaves the plugin without any capability, now or after exec, and
// unable to gain one: the bounding and ambient sets are emptied, "root" no longer gets
// capabilities on exec (securebits), no_new_privs is set, and the process becomes the
// plugin's user. As root of the sandbox's user namespace the init has every capability
// there, though none outside.
func dropPrivileges(sp *spec, lastCap int) error {
	// SECBIT_NOROOT, its lock, SECBIT_NO_CAP_AMBIENT_RAISE and its lock
	// (linux/securebits.h; not in x/sys/unix).
	const secbits = 1<<0 | 1<<1 | 1<<6 | 1<<7
	if err := unix.Prctl(unix.PR_SET_SECUREBITS, secbits, 0, 0, 0); err != nil {
		return fmt.Errorf("setting securebits: %w", err)
	}
	for c := 0; c <= lastCap; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			return fmt.Errorf("dropping capability %d: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clearing ambient capabilities: %w", err)
	}
	// Raw system calls act on this thread only, the one that executes the plugin.
	if sp.SetGroups {
		if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, 0, 0, 0); e != 0 {
			return fmt.Errorf("setgroups: %w", e)
		}
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(sp.GID), uintptr(sp.GID), uintptr(sp.GID)); e != 0 {
		return fmt.Errorf("setresgid: %w", e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(sp.UID), uintptr(sp.UID), uintptr(sp.UID)); e != 0 {
		return fmt.Errorf("setresuid: %w", e)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("clearing capabilities: %w", err)
	}
	// Changing the effective uid cleared the parent-death signal the runner asked for.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("setting the parent-death signal: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("setting no_new_privs: %w", err)
	}
	return nil
}

// installSeccomp installs the filter on this thread; the plugin inherits it on exec.
func installSeccomp() error {
	filter := seccompFilter()
	if filter == nil {
		return nil
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&prog)), 0, 0); err != nil {
		return fmt.Errorf("installing the seccomp filter: %w", err)
	}
	runtime.KeepAlive(filter)
	return nil
}
