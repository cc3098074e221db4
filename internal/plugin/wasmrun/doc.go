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
//   - clocks and randomness are wazero's deterministic fakes: wall time starts at
//     2022-01-01 and both clocks advance 1 ms per reading, sleeps return at once, and the
//     random source is a fixed-seed stream. Code generators need neither real time nor
//     entropy (protoc-gen-go runs unchanged), the output stays reproducible, and a
//     plugin can neither read the host clock nor block a host thread sleeping.
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
// The smaller of Limits.WallTime and Limits.CPUTime bounds the run in real time, and
// wazero checks for it at every function entry and loop head, so even a tight infinite
// loop stops. A module runs on one goroutine, so it cannot use more CPU time than the
// real time it takes.
//
// Stdout beyond Limits.OutputBytes fails the write and stops the module at once, so a
// plugin that ignores write errors cannot spin until the time limit. Limits.Processes
// does not apply: WASI preview 1 has neither processes nor threads.
//
// # Caching
//
// Modules are compiled to machine code once per content (keyed by the SHA-256 of the
// .wasm bytes, so a replaced file is recompiled and renamed copies are not) and the
// compiled module is shared by all later runs, each of which instantiates it afresh: no
// state survives from one run to the next. Compiled modules stay cached until
// [Runner.Close]. [WithCacheDir] adds wazero's on-disk compilation cache, so a restarted
// server reuses the machine code instead of compiling again, which takes seconds for a
// large plugin such as protoc-gen-go.
//
// [BuildGoPlugin] builds a Go plugin, such as protoc-gen-go, as a module for this runtime.
package wasmrun
