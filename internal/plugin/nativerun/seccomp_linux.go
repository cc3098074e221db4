package nativerun

import (
	"golang.org/x/sys/unix"
)

// seccompFilter returns the plugin's seccomp filter, or nil on architectures without one
// (see seccomp_*.go). The namespaces and the dropped capabilities are the sandbox; the
// filter narrows what a kernel bug could be reached through, and says no early:
//
//   - system calls of another ABI (x86 32-bit, x32) kill the process, since the filter
//     matches numbers of the native ABI only;
//   - sockets other than AF_UNIX fail with EAFNOSUPPORT: the network namespace has no
//     usable interface anyway, and AF_NETLINK and friends are kernel attack surface;
//   - new namespaces (unshare, setns, clone with namespace flags) fail with EPERM, and
//     clone3, whose flags a filter cannot read, with ENOSYS so that libc falls back to
//     clone; io_uring, which performs operations past the filter, fails with ENOSYS;
//   - tracing, mounting, keyrings, BPF, perf, userfaultfd, modules, kexec, reboot, swap,
//     accounting and file-handle calls fail with EPERM. Most need a capability the plugin
//     does not have; refusing them early costs nothing.
func seccompFilter() []unix.SockFilter {
	if auditArch == 0 {
		return nil
	}
	const (
		ldAbs = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jge   = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
		jset  = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
		ret   = unix.BPF_RET | unix.BPF_K

		// Offsets in struct seccomp_data; arguments are 64-bit, the low half first on
		// the little-endian architectures supported.
		offNr   = 0
		offArch = 4
		offArg0 = 16

		nsFlags = unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC |
			unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET
	)
	stmt := func(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }
	jump := func(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
		return unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k}
	}
	errno := func(e unix.Errno) uint32 { return unix.SECCOMP_RET_ERRNO | uint32(e) }

	p := []unix.SockFilter{
		stmt(ldAbs, offArch),
		jump(jeq, auditArch, 1, 0),
		stmt(ret, unix.SECCOMP_RET_KILL_PROCESS),
		stmt(ldAbs, offNr),
	}
	if x32Bit != 0 {
		p = append(p, jump(jge, x32Bit, 0, 1), stmt(ret, errno(unix.ENOSYS)))
	}
	deny := func(nr uintptr, e unix.Errno) { p = append(p, jump(jeq, uint32(nr), 0, 1), stmt(ret, errno(e))) }
	for _, nr := range append(deniedSyscalls(), archDenied...) {
		deny(nr, unix.EPERM)
	}
	for _, nr := range []uintptr{unix.SYS_CLONE3, unix.SYS_IO_URING_SETUP, unix.SYS_IO_URING_ENTER, unix.SYS_IO_URING_REGISTER} {
		deny(nr, unix.ENOSYS)
	}
	p = append(p,
		// socket(domain, ...): AF_UNIX only.
		jump(jeq, unix.SYS_SOCKET, 0, 4),
		stmt(ldAbs, offArg0),
		jump(jeq, unix.AF_UNIX, 0, 1),
		stmt(ret, unix.SECCOMP_RET_ALLOW),
		stmt(ret, errno(unix.EAFNOSUPPORT)),
		// clone(flags, ...): no namespace flags.
		jump(jeq, unix.SYS_CLONE, 0, 3),
		stmt(ldAbs, offArg0),
		jump(jset, nsFlags, 0, 1),
		stmt(ret, errno(unix.EPERM)),
		stmt(ret, unix.SECCOMP_RET_ALLOW),
	)
	return p
}

func deniedSyscalls() []uintptr {
	return []uintptr{
		unix.SYS_UNSHARE, unix.SYS_SETNS,
		unix.SYS_PTRACE, unix.SYS_PROCESS_VM_READV, unix.SYS_PROCESS_VM_WRITEV,
		unix.SYS_MOUNT, unix.SYS_UMOUNT2, unix.SYS_PIVOT_ROOT, unix.SYS_CHROOT,
		unix.SYS_MOUNT_SETATTR, unix.SYS_MOVE_MOUNT, unix.SYS_OPEN_TREE,
		unix.SYS_FSOPEN, unix.SYS_FSCONFIG, unix.SYS_FSMOUNT, unix.SYS_FSPICK,
		unix.SYS_KEYCTL, unix.SYS_ADD_KEY, unix.SYS_REQUEST_KEY,
		unix.SYS_BPF, unix.SYS_PERF_EVENT_OPEN, unix.SYS_USERFAULTFD,
		unix.SYS_INIT_MODULE, unix.SYS_FINIT_MODULE, unix.SYS_DELETE_MODULE,
		unix.SYS_KEXEC_LOAD, unix.SYS_KEXEC_FILE_LOAD, unix.SYS_REBOOT,
		unix.SYS_SWAPON, unix.SYS_SWAPOFF, unix.SYS_ACCT, unix.SYS_SYSLOG,
		unix.SYS_OPEN_BY_HANDLE_AT, unix.SYS_NAME_TO_HANDLE_AT,
	}
}
