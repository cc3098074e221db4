package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"time"

	"github.com/lathe-registry/lathe/internal/plugin/wellknown"
	"github.com/lathe-registry/lathe/internal/registry"

	"github.com/lathe-registry/lathe/internal/blob"
	"github.com/lathe-registry/lathe/internal/codegen"
	"github.com/lathe-registry/lathe/internal/plugin"
	"github.com/lathe-registry/lathe/internal/plugin/nativerun"
	"github.com/lathe-registry/lathe/internal/plugin/wasmrun"
	"github.com/lathe-registry/lathe/internal/store"
)

// engineFlags are the code generation settings shared by the commands that run plugins.
type engineFlags struct {
	unsandboxed *bool
	workers     *int
	memory      *int64
	timeout     *time.Duration
	cpuTime     *time.Duration
	processes   *int
	maxOutput   *int64
	wasmCache   *string
	wasmModules *int
	cgroup      *string
}

func addEngineFlags(c *command) engineFlags {
	d := plugin.DefaultLimits
	return engineFlags{
		unsandboxed: c.Bool("unsandboxed-plugins", false, "run native plugins WITHOUT the sandbox; only for trusted plugins on trusted hosts"),
		workers:     c.Int("plugin-workers", runtime.NumCPU(), "plugins that may run at once (`N`)"),
		memory:      c.Int64("plugin-memory", d.Memory, "memory limit of one plugin run, in `BYTES`"),
		timeout:     c.Duration("plugin-timeout", d.WallTime, "wall-time limit of one plugin run (`DURATION`)"),
		cpuTime:     c.Duration("plugin-cpu-time", d.CPUTime, "CPU-time limit of one plugin run (`DURATION`)"),
		processes:   c.Int("plugin-processes", d.Processes, "process limit of one plugin run (`N`)"),
		maxOutput:   c.Int64("plugin-max-output", d.OutputBytes, "output limit of one plugin run, in `BYTES`"),
		cgroup:      c.String("plugin-cgroup", "", "delegated cgroup v2 `DIR`ectory under which each sandboxed run gets its own cgroup (default: found automatically; see the nativerun package doc)"),
		wasmCache:   c.String("wasm-cache", "", "`DIR`ectory of compiled WASM plugins, kept across restarts (default DATA/cache/wasm)"),
		wasmModules: c.Int("wasm-modules", wasmrun.DefaultMaxModules, "compiled WASM plugins kept in memory (`N`); the least recently used beyond them is dropped and read back from the cache directory when next needed"),
	}
}

// newEngine builds the code generation engine with every runtime this host supports:
// native plugins in the sandbox (or unsandboxed when the operator says so), and WASM.
// Its close function releases the runtimes.
func newEngine(ctx context.Context, f engineFlags, dataDir string, st store.Store, blobs blob.Store, logger *slog.Logger) (*codegen.Engine, func(), error) {
	runners := map[string]plugin.Runner{}
	var native plugin.Runner
	if *f.unsandboxed {
		logger.Warn("native plugins run WITHOUT a sandbox (--unsandboxed-plugins)")
		native = nativerun.NewUnsandboxed()
	} else if sandbox, err := nativerun.New(sandboxOptions(f)...); err != nil {
		logger.Warn("native and JavaScript plugins are disabled: this host cannot sandbox them; WASM plugins still run", "err", err)
	} else {
		logger.Info("native plugins run sandboxed", "sandbox", sandbox.String())
		native = sandbox
	}
	if native != nil {
		// JavaScript and Python plugins are node or python3 running a script: native programs.
		runners[codegen.RuntimeNative] = native
		runners[codegen.RuntimeNode] = native
		runners[codegen.RuntimePython] = native
	}
	wasmCache := *f.wasmCache
	if wasmCache == "" {
		wasmCache = filepath.Join(dataDir, "cache", "wasm")
	}
	wasm, err := wasmrun.New(ctx, wasmrun.WithCacheDir(wasmCache), wasmrun.WithMaxModules(*f.wasmModules))
	if err != nil {
		return nil, nil, fmt.Errorf("starting the WASM runtime: %w", err)
	}
	runners[codegen.RuntimeWASM] = wasm
	programs, err := codegen.NewPrograms(filepath.Join(dataDir, "cache", "programs"), blobs)
	if err != nil {
		return nil, nil, err
	}
	engine := codegen.New(st, blobs, codegen.Config{
		Runners:  runners,
		Programs: programs,
		Limits: plugin.Limits{
			Memory: *f.memory, CPUTime: *f.cpuTime, WallTime: *f.timeout,
			Processes: *f.processes, OutputBytes: *f.maxOutput,
		},
		Workers: *f.workers,
		Logger:  logger,
	})
	return engine, func() { wasm.Close(context.Background()) }, nil
}

// installShipped builds and publishes the shipped Go plugins for the runtime the engine
// can run (native if the host can sandbox it, else WASM), logging the outcome.
func installShipped(ctx context.Context, reg *registry.Registry, engine *codegen.Engine, logger *slog.Logger) {
	rt := codegen.RuntimeNative
	if !engine.Supports(rt) {
		rt = codegen.RuntimeWASM
	}
	var plugins []wellknown.Plugin
	for _, p := range wellknown.List() {
		if p.Source.GoPackage != "" {
			plugins = append(plugins, p)
		}
	}
	logger.Info("installing the shipped Go plugins in the background", "runtime", rt)
	err := installPlugins(ctx, reg, plugins, rt, sources{maven: wellknown.MavenCentral, pypi: wellknown.PyPI}, func(line string) { logger.Info("installed plugin " + line) })
	if err != nil {
		logger.Error("installing the shipped plugins failed; install them with lathe plugin install", "err", err)
		return
	}
	logger.Info("the shipped Go plugins are ready")
}

func sandboxOptions(f engineFlags) []nativerun.Option {
	if *f.cgroup == "" {
		return nil
	}
	return []nativerun.Option{nativerun.WithCgroupParent(*f.cgroup)}
}
