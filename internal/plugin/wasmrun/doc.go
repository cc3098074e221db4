// Package wasmrun runs protoc plugins compiled to WebAssembly (WASI preview 1,
// "wasi_snapshot_preview1") in-process with wazero.
//
// # Sandbox
//
// WASI is capability-based: a module can reach nothing the host does not hand it, and
// this runtime hands it only stdio and its arguments:
//
//   - stdin is the invocation's request, stdout is captured, stderr is kept as a tail;
//   - argv is the module file's base name (not its host path) followed by Invocation.Args;
//   - no environment variables at all;
//   - no preopened directories, so every path lookup fails: the host file system,
//     including the .wasm file itself, is out of reach, and Invocation.ReadOnly is ignored;
//   - no sockets: WASI preview 1 can only use sockets the host preopens, and none are;
//   - the only importable host functions are those of wasi_snapshot_preview1, so a module
//     importing anything else fails to instantiate;
//   - time is virtual: both clocks advance 1 ms at every reading and by the full length
//     of every sleep, which returns at once, and the wall clock starts at
//     2022-01-01T00:00:00Z. Code generators need no real time, the output stays
//     reproducible, a plugin cannot time the host, and a sleeping plugin neither
//     blocks a host thread (wazero cannot interrupt a real sleep) nor, as with
//     wazero's default fake clocks, spins through its sleep 1 ms at a time;
//   - randomness is wazero's default, a fixed-seed stream, for the same reasons.
//
// The caller's context contributes only its cancellation: wazero reads experimental
// settings (sockets, memory allocators, listeners) from context values, and a fresh
// context keeps those from leaking into the sandbox.
//
// # Limits
//
// Limits.Memory caps the module's linear memory, which is all the memory a module can
// address; growth past it fails inside the module (a Go plugin then dies with "out of
// memory"), and the failure is reported as a limit error. WebAssembly 1.0 addresses at
// most 4 GiB, so larger limits are the same as 4 GiB. The cap is enforced by a per-run
// memory allocator rather than by the runtime's page limit, which is fixed per runtime
// and so would need one runtime, and one compilation of every module, per limit.
//
// The smaller of Limits.WallTime and Limits.CPUTime bounds the run in real time.
// wazero checks for it at every loop head, so even a tight infinite loop stops (and
// unbounded recursion ends in a stack overflow trap). A module runs on one goroutine,
// so it cannot use more CPU time than the real time it takes; on a busy host it may be
// stopped having used less.
//
// A write that would take stdout past Limits.OutputBytes stops the module at once, as
// an exit does, so a plugin that ignores write errors cannot spin until the time limit.
// Limits.Processes does not apply: WASI preview 1 has neither processes nor threads.
//
// Stopping at the time limit is not free: the check is a call, and Go's WASM code
// wraps most functions in a loop (to resume goroutines), so Go plugins run about four
// times slower than without it, and protoc-gen-go about 50 times slower than natively.
// Nothing short of these checks can stop a module that loops without calling the host.
//
// # Caching
//
// Modules are compiled to machine code once per content (keyed by the SHA-256 of the
// .wasm bytes, so a replaced file is recompiled and renamed copies are not) and the
// compiled module is shared by all later runs, each of which instantiates it afresh: no
// state survives from one run to the next. At most [WithMaxModules] compiled modules
// stay in memory; the least recently used one goes first, closed once no run uses it.
// [WithCacheDir] adds wazero's on-disk compilation cache, so a restarted
// server reuses the machine code instead of compiling again, which takes seconds for a
// large plugin such as protoc-gen-go. Go plugins build as modules for this runtime with
// GOOS=wasip1 GOARCH=wasm (see [github.com/lathe-registry/lathe/internal/plugin/wellknown]).
package wasmrun
