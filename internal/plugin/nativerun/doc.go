// Package nativerun runs protoc plugins that are native executables (and interpreters,
// such as node running a JavaScript plugin): sandboxed by default ([New]), or, only for
// trusted environments, as plain child processes ([NewUnsandboxed]). It is Linux-only;
// elsewhere [New] and [NewUnsandboxed] runners fail.
//
// # Sandbox
//
// Every run gets fresh Linux namespaces of every kind that isolates: user, mount, pid,
// network, IPC, UTS and cgroup. What the plugin can see and do:
//
//   - Files: the root is an empty tmpfs, read-only once populated (pivot_root onto it; the
//     host's root is detached, not merely hidden). Bound into it read-only, nosuid and
//     nodev, each at its own path: the plugin program; [plugin.Invocation].ReadOnly
//     paths (their parent directories appear, empty, on the way); and the system paths
//     that dynamically linked programs need, [DefaultSystemPaths] (/lib, /lib64,
//     /usr/lib, /usr/lib64, /etc/ld.so.cache; a missing one is skipped, and a symbolic
//     link such as Debian's /lib -> usr/lib is recreated as a link). Nothing else of the
//     host: not /etc, /home, /root, /usr/bin, /sys, nor Lathe's data directory,
//     configuration or secrets.
//   - /tmp: the only writable place, a private tmpfs capped at Limits.Memory, owned by
//     the plugin, its working directory, HOME and TMPDIR. It disappears with the run.
//   - /proc of the run's own pid namespace, so only the run's processes; /dev with just
//     null, zero and urandom (bound from the host) and the fd, stdin, stdout and stderr
//     links.
//   - Environment: PATH=/usr/local/bin:/usr/bin:/bin, HOME=/tmp, TMPDIR=/tmp and nothing
//     of Lathe's. The host name is "sandbox".
//   - Network: none. The new network namespace has only a loopback interface, left down,
//     so there is no route anywhere, not even to Lathe on 127.0.0.1; on top of that the
//     seccomp filter refuses every socket but AF_UNIX.
//   - Identity: when Lathe runs as root, the plugin runs as host uid and gid 65534
//     ([WithUnprivilegedIDs]), uid 1 inside, and sees files as any other user would: the
//     program must be executable, and Invocation.ReadOnly files readable, by others.
//     Without root it runs as Lathe's own user (root inside the namespace), the only id
//     an unprivileged process can map. Either way it has no capability at all: the
//     bounding and ambient sets are empty, securebits (NOROOT, locked) deny capabilities
//     to root on exec, and no_new_privs is set, so set-user-ID files cannot help either.
//
// The seccomp filter (amd64 and arm64) adds: system calls of other ABIs kill the process;
// unshare, setns and clone with namespace flags fail (a nested user namespace would hand
// out capabilities again, within it; the namespace limit is also set to 0); clone3 and
// io_uring return ENOSYS (a filter cannot see clone3's flags, and io_uring performs
// operations past the filter), so libc and libuv fall back; ptrace, process_vm_*, mount
// and the new mount API, keyrings, bpf, perf_event_open, userfaultfd, modules, kexec,
// reboot, swap, acct, syslog and file handles fail with EPERM. Landlock is not used:
// after pivot_root the plugin's view of the file system holds only what it may read, so a
// Landlock ruleset would restate it.
//
// # Limits
//
//   - Memory: a memory cgroup per run when the host allows (see Cgroups), whose limit
//     covers what the whole process tree really uses (resident memory, page cache, /tmp),
//     with swap at zero where configurable. Going over gets processes OOM-killed (on
//     cgroup v2 the whole tree at once): "killed: memory limit of 64 MiB exceeded". Without a cgroup, RLIMIT_DATA per process: it
//     counts writable private mappings, that is memory committed, and not address space
//     merely reserved, which Go, V8/node and the race detector reserve far beyond their
//     use, so RLIMIT_AS would break them at any useful limit. Past RLIMIT_DATA allocations
//     fail and the runtime aborts; its "out of memory" message on stderr makes that a limit
//     error too. RLIMIT_DATA bounds each process, not the tree (at most Processes times).
//   - CPU time: RLIMIT_CPU, in whole seconds rounded up, soft = hard so that the kernel
//     sends SIGKILL at the limit: the plugin is the pid namespace's init, which ignores
//     SIGXCPU. It bounds each process; the wall time bounds the tree.
//   - Wall time: a timer kills the pid namespace's init, and the kernel then kills every
//     other process in the namespace; no process of a run survives it, however detached.
//     The same happens when the plugin exits by itself, so background children die with
//     the run. If Lathe dies, the init gets SIGKILL (parent-death signal), and so the run.
//   - Processes: a pids cgroup per run when possible (threads count), and RLIMIT_NPROC
//     in any case, which the kernel counts per user and user namespace, so per run (also
//     threads), and enforces because the plugin is never host root. Without the cgroup,
//     a failed fork is recognized on stderr, as for memory.
//   - Output: past Limits.OutputBytes the runner stops reading stdout, closes it and
//     kills the run. Stderr is kept to its last 64 KiB.
//
// Limit violations are *[plugin.Error] values with Limit set; other plugin failures
// ("exited with status 2", "killed by signal SIGSEGV") are *plugin.Error values too, with
// the stderr tail. Errors of the runner itself (a missing program, a sandbox that could
// not be set up) are plain errors, and a cancelled context returns the context's error.
//
// # Cgroups
//
// cgroup v1 (hybrid hosts): run cgroups go under Lathe's own cgroup of the memory and
// pids hierarchies. cgroup v2 forbids controllers for the children of a cgroup that has
// processes of its own (except the root), so run cgroups go under Lathe's own cgroup only
// if memory and pids are, or can be, enabled there; otherwise they need a delegated
// directory without processes, given with [WithCgroupParent]: with systemd, a unit with
// Delegate=yes whose main process moves itself to a leaf (say lathe.service/server) and
// passes a sibling (lathe.service/plugins); in a container with a writable cgroup
// namespace, the same split under /sys/fs/cgroup. Lathe does not move itself. When no
// cgroup works, [New] falls back to rlimits, and [Runner.String] tells which mechanisms
// are in use.
//
// # How
//
// Go cannot run code in a child between clone and exec, so the runner starts the running
// binary again (/proc/self/exe) in the new namespaces as a small init: [Init], called
// first thing in main, recognizes it by its argv[0] and environment, reads its spec as
// JSON on fd 3 (paths, limits, ids; nothing secret), builds the file system, sets the
// rlimits, drops every privilege, installs the seccomp filter and executes the plugin,
// which so becomes the namespace's pid 1. A setup failure is written to fd 4, which is
// close-on-exec: EOF there means the plugin runs. The runner moves the init into its
// cgroups before writing the spec, so nothing of the plugin runs outside them.
//
// In the user namespace, when Lathe is root, uid 0 is host root for the setup only, so
// that the init can reach programs and paths wherever Lathe can (a 0700 data directory);
// it opens every source before the pivot and binds from the descriptors. It then
// switches to uid 1 (host 65534), which drops its remaining capabilities, before exec.
//
// [New] probes the whole setup once (everything but the final exec) and returns an error
// saying why when the host cannot do it: user namespaces disabled or restricted
// (kernel.unprivileged_userns_clone, AppArmor's userns restriction, a container's seccomp
// profile), or a /proc that cannot be mounted (inside a container that masks parts of
// its /proc), or Init not called by main. The caller decides what to do instead.
// Linux 5.12 or later is best (mount_setattr makes whole bind trees read-only); older
// kernels remount the top of each bind only.
//
// # Cost
//
// A run has a fixed cost of about 10 to 15 ms over an unsandboxed one (BenchmarkStartup,
// on a busy 2-core VM: 18 ms against 4 ms for a trivial plugin): the namespaces (~2 ms),
// the start of the Go runtime and the package initialization of the binary in the init,
// the mounts (under 1 ms), and with cgroup v1 a cgroup move, which waits for an RCU grace
// period but overlaps the init's start. The plugin itself then runs unhindered:
// protoc-gen-go on a 200-file module (BenchmarkProtocGenGo, about 1.7 to 3 s depending on
// the host's load) takes the same wall time, CPU time and peak memory in the sandbox as
// outside, within the noise of a few percent. The peak RSS of a run includes the init's
// own, a few MB, as exec keeps the high-water mark.
package nativerun
