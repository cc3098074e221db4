// Package layers writes down which of Lathe's packages may import which, and its test
// enforces it: no package imports one above it. From the top down:
//
//  1. cmd/lathe, the composition root: the only place that wires every backend, runtime
//     and surface together.
//  2. internal/api, the Connect services, and the ecosystem surfaces
//     internal/sdk/{gosdk,npmsdk,cargosdk,pysdk}.
//  3. internal/sdk: SDK jobs, artifacts and the serving they share.
//  4. internal/registry: modules, commits, labels, plugins, and who may see them.
//  5. internal/codegen: the generation engine. It runs plugins through the
//     [internal/plugin] contract and never names a runtime.
//  6. The plugin runtimes and shipped plugins: internal/plugin/{nativerun,wasmrun,
//     wellknown,protocpy,grpcpy}.
//  7. internal/plugin (the runner contract) and internal/plugin/pluginconfig
//     (buf.plugin.yaml).
//  8. internal/auth, over the store.
//  9. The backends: internal/store/sqlitestore, internal/blob/{fsblob,memblob}.
//  10. The contracts and the domain: internal/store, internal/blob, internal/module.
//  11. internal/limit: the caps on concurrent expensive requests, which the API and the
//     package registries share.
//  12. internal/server: serving HTTP, which knows nothing of what it serves.
//  13. internal/gen, the generated API code, at the bottom.
//
// Test support (internal/testenv, the conformance suites internal/blob/blobtest and
// internal/store/storetest, internal/module/modtest, and this package) is imported only
// by tests. Tests themselves may import anything, as any other consumer of a package.
//
// The test reads the table of allowed imports in layers_test.go; a new package gets a
// row there, or falls under a row for its parent directory.
package layers
