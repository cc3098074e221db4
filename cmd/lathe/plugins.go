package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"

	"github.com/lathe-registry/lathe/internal/blob/fsblob"
	"github.com/lathe-registry/lathe/internal/codegen"
	"github.com/lathe-registry/lathe/internal/plugin/grpcpy"
	"github.com/lathe-registry/lathe/internal/plugin/pluginconfig"
	"github.com/lathe-registry/lathe/internal/plugin/protocpy"
	"github.com/lathe-registry/lathe/internal/plugin/wellknown"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/store"
	"github.com/lathe-registry/lathe/internal/store/sqlitestore"
)

// withRegistry opens the stores under dir for an admin command.
func withRegistry(dir string, fn func(*registry.Registry, *sqlitestore.Store, *fsblob.Store) error) (err error) {
	st, err := openMetadata(dir)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, st.Close()) }()
	blobs, err := fsblob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		return fmt.Errorf("opening blob store: %w", err)
	}
	return fn(registry.New(st, blobs), st, blobs)
}

func runtimeFlag(c *command) *string {
	return c.String("runtime", codegen.RuntimeNative, "how the program runs: native (an executable, run sandboxed) or wasm (a WASI module)")
}

func checkRuntime(c *command, rt string) error {
	if rt != codegen.RuntimeNative && rt != codegen.RuntimeWASM {
		return c.usageErrorf("--runtime must be native or wasm, not %q", rt)
	}
	return nil
}

func cmdPluginPush(ctx context.Context, e env, args []string) error {
	c := newCommand("plugin push", "lathe plugin push --config buf.plugin.yaml --binary FILE [flags]",
		`Publish a plugin version from a buf.plugin.yaml (the schema of
github.com/bufbuild/plugins) and its program. Publishing the same version again
with a different program or configuration makes its next revision. The owner
in the configuration's name is created as an organization if needed. Works
while a server is running on the same data directory.`, e.stdout)
	data := dataFlag(c)
	configFile := c.String("config", "", "the plugin's buf.plugin.yaml `FILE`")
	shipped := c.String("shipped", "", "instead of --config, the definition Lathe ships for `OWNER/NAME`, e.g. community/neoeinstein-prost")
	binary := c.String("binary", "", "the plugin program `FILE`: an executable, or a .wasm module with --runtime wasm")
	rt := runtimeFlag(c)
	args, err := c.parse(args, e.getenv)
	if err != nil {
		return err
	}
	if len(args) > 0 || (*configFile == "") == (*shipped == "") || *binary == "" {
		return c.usageErrorf("--binary and one of --config and --shipped are required, and nothing else")
	}
	if err := checkRuntime(c, *rt); err != nil {
		return err
	}
	var raw []byte
	if *shipped != "" {
		p, ok := wellknown.Lookup(*shipped)
		if !ok {
			return c.usageErrorf("Lathe ships no definition of %s", *shipped)
		}
		raw = p.Raw
	} else if raw, err = os.ReadFile(*configFile); err != nil {
		return err
	}
	cfg, err := pluginconfig.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", *configFile, err)
	}
	program, err := os.ReadFile(*binary)
	if err != nil {
		return err
	}
	return withRegistry(*data, func(reg *registry.Registry, _ *sqlitestore.Store, _ *fsblob.Store) error {
		pv, err := reg.PushPlugin(ctx, registry.PluginParams{
			Owner: cfg.Owner, Name: cfg.Name, Version: cfg.PluginVersion, Description: cfg.Description,
			Config: raw, Runtime: *rt, Program: program, ProgramName: programName(*binary),
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s revision %d (%s)\n", cfg.Ref(), pv.Revision, pv.Runtime)
		return nil
	})
}

func cmdPluginInstall(ctx context.Context, e env, args []string) error {
	c := newCommand("plugin install", "lathe plugin install [flags] [OWNER/NAME...]",
		`Fetch and publish the plugins Lathe ships definitions for. Go plugins
(protocolbuffers/go, grpc/go, connectrpc/go; all three when no names are
given) are built from the Go module proxy, natively or with --runtime wasm as
WASM, and need the go command. bufbuild/es is installed from the npm registry
and runs with node; lathe/prost (Rust, prost 0.14) is built with cargo from
source Lathe carries and crates.io; protocolbuffers/python is protoc's Python
generator, protoc fetched from --maven-url and checked against the SHA-256
Lathe pins, run by this lathe binary; grpc/python is grpcio-tools' generator,
its wheel for the python3 on PATH fetched from --pypi-url and checked the same
way, run by that python3; name them to install them.`, e.stdout)
	data := dataFlag(c)
	rt := runtimeFlag(c)
	maven := c.String("maven-url", wellknown.MavenCentral, "the Maven repository `URL` protoc releases are fetched from (a mirror of Maven Central)")
	pypi := c.String("pypi-url", wellknown.PyPI, "the Python package index `URL` (simple API) wheels are fetched from (a mirror of PyPI)")
	args, err := c.parse(args, e.getenv)
	if err != nil {
		return err
	}
	if err := checkRuntime(c, *rt); err != nil {
		return err
	}
	var plugins []wellknown.Plugin
	for _, p := range wellknown.List() {
		named := containsString(args, p.Config.Owner+"/"+p.Config.Name)
		if named || (len(args) == 0 && p.Source.GoPackage != "") {
			plugins = append(plugins, p)
		}
	}
	if len(plugins) == 0 {
		return c.usageErrorf("no shipped Go plugin matches %s", strings.Join(args, ", "))
	}
	return withRegistry(*data, func(reg *registry.Registry, _ *sqlitestore.Store, _ *fsblob.Store) error {
		return installPlugins(ctx, reg, plugins, *rt, sources{maven: *maven, pypi: *pypi}, func(line string) { fmt.Fprintln(e.stdout, line) })
	})
}

// sources are the repositories plugins are fetched from.
type sources struct {
	maven, pypi string
}

// installPlugins builds or fetches the plugins for the runtime and publishes them.
func installPlugins(ctx context.Context, reg *registry.Registry, plugins []wellknown.Plugin, rt string, from sources, report func(string)) error {
	dir, err := os.MkdirTemp("", "lathe-plugin-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	goos, goarch := runtime.GOOS, runtime.GOARCH
	if rt == codegen.RuntimeWASM {
		goos, goarch = "wasip1", "wasm"
	}
	for _, p := range plugins {
		name, pluginRuntime, program, err := fetchPlugin(ctx, p, dir, goos, goarch, rt, from)
		if err != nil {
			return err
		}
		pv, err := reg.PushPlugin(ctx, registry.PluginParams{
			Owner: p.Config.Owner, Name: p.Config.Name, Version: p.Config.PluginVersion, Description: p.Config.Description,
			Config: p.Raw, Runtime: pluginRuntime, Program: program, ProgramName: name,
		})
		if err != nil {
			return err
		}
		report(fmt.Sprintf("%s revision %d (%s)", p.Config.Ref(), pv.Revision, pv.Runtime))
	}
	return nil
}

// fetchPlugin builds a Go plugin for the runtime, installs a JavaScript plugin from npm
// for the node runtime, builds a Rust plugin, bundles protoc, or packs a wheel for the
// python runtime, and returns its program.
func fetchPlugin(ctx context.Context, p wellknown.Plugin, dir, goos, goarch, rt string, from sources) (name, pluginRuntime string, program []byte, err error) {
	if p.Source.ProtocVersion != "" {
		program, err := protocBundle(ctx, p, dir, from.maven)
		return protocpy.ProgramName, codegen.RuntimeNative, program, err
	}
	if p.Source.PyPIProject != "" {
		program, err := wheelProgram(ctx, p, dir, from.pypi)
		return grpcpy.ProgramName, codegen.RuntimePython, program, err
	}
	if p.Source.CargoDir != "" {
		out := filepath.Join(dir, p.Source.CargoDir)
		if err := wellknown.BuildCargo(ctx, p, out); err != nil {
			return "", "", nil, err
		}
		program, err = os.ReadFile(out)
		return p.Source.CargoDir, codegen.RuntimeNative, program, err
	}
	if p.Source.GoPackage == "" && p.Source.NPMPackage == "" {
		return "", "", nil, fmt.Errorf("Lathe does not build %s; publish your build of it with lathe plugin push --shipped %s/%s --binary FILE",
			p.Config.Ref(), p.Config.Owner, p.Config.Name)
	}
	if p.Source.NPMPackage != "" {
		prefix := filepath.Join(dir, p.Config.Owner+"-"+p.Config.Name)
		entry, err := wellknown.FetchNPM(ctx, p, prefix)
		if err != nil {
			return "", "", nil, err
		}
		program, err := codegen.PackNode(prefix, entry)
		return p.Source.NPMBin, codegen.RuntimeNode, program, err
	}
	name = filepath.Base(p.Source.GoPackage)
	out := filepath.Join(dir, name)
	if err := wellknown.BuildGo(ctx, p, goos, goarch, out); err != nil {
		return "", "", nil, err
	}
	program, err = os.ReadFile(out)
	return name, rt, program, err
}

// protocBundle fetches the pinned protoc of p for this host and appends it to this lathe
// binary, which then runs as the plugin (see protocpy). Built from the running binary,
// it needs no Go toolchain, and the same lathe binary always makes the same program.
func protocBundle(ctx context.Context, p wellknown.Plugin, dir, maven string) ([]byte, error) {
	protoc := filepath.Join(dir, "protoc")
	if err := wellknown.FetchProtoc(ctx, p, maven, runtime.GOOS, runtime.GOARCH, protoc); err != nil {
		return nil, err
	}
	exe, err := os.ReadFile(protoc)
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bundling protoc for %s: finding this program: %w", p.Config.Ref(), err)
	}
	lathe, err := os.ReadFile(self)
	if err != nil {
		return nil, fmt.Errorf("bundling protoc for %s: %w", p.Config.Ref(), err)
	}
	return protocpy.Bundle(lathe, exe)
}

// wheelProgram fetches the pinned wheel of p for the python3 on PATH, which the server
// runs Python plugins with, and packs it with the plugin script (see grpcpy).
func wheelProgram(ctx context.Context, p wellknown.Plugin, dir, pypi string) ([]byte, error) {
	py, err := codegen.FindPython(ctx)
	if err != nil {
		return nil, fmt.Errorf("installing %s: %w", p.Config.Ref(), err)
	}
	name, err := wellknown.WheelName(p, py.Tag, runtime.GOOS, runtime.GOARCH)
	if err != nil {
		return nil, err
	}
	wheel, err := wellknown.FetchWheel(ctx, p, pypi, name)
	if err != nil {
		return nil, err
	}
	pkg := filepath.Join(dir, p.Config.Owner+"-"+p.Config.Name)
	entry, err := grpcpy.Unpack(wheel, pkg)
	if err != nil {
		return nil, fmt.Errorf("installing %s: %w", p.Config.Ref(), err)
	}
	return codegen.PackNode(pkg, entry)
}

// programName is the name a plugin's program has: its file name, without the .wasm
// extension a WASM module's file usually carries.
func programName(file string) string {
	return strings.TrimSuffix(filepath.Base(file), ".wasm")
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func cmdPluginList(ctx context.Context, e env, args []string) error {
	c := newCommand("plugin list", "lathe plugin list [flags]", `List every revision of every plugin version.`, e.stdout)
	data := dataFlag(c)
	args, err := c.parse(args, e.getenv)
	if err != nil {
		return err
	}
	if len(args) > 0 {
		return c.usageErrorf("unexpected argument %q", args[0])
	}
	return withRegistry(*data, func(_ *registry.Registry, st *sqlitestore.Store, _ *fsblob.Store) error {
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "PLUGIN\tVERSION\tREVISION\tRUNTIME\tDEPRECATED")
		plugins, err := st.ListPlugins(ctx, "", store.Page{})
		if err != nil {
			return err
		}
		for _, p := range plugins {
			owner, err := st.OwnerByID(ctx, p.OwnerID)
			if err != nil {
				return err
			}
			versions, err := st.ListPluginVersions(ctx, p.ID, store.Page{})
			if err != nil {
				return err
			}
			for _, v := range versions {
				fmt.Fprintf(w, "%s/%s\t%s\t%d\t%s\t%v\n", owner.Name, p.Name, v.Version, v.Revision, v.Runtime, v.Deprecated)
			}
		}
		return w.Flush()
	})
}

func cmdPluginDeprecate(ctx context.Context, e env, args []string) error {
	c := newCommand("plugin deprecate", "lathe plugin deprecate OWNER/NAME:VERSION [flags]",
		`Deprecate a plugin version (all its revisions), or undeprecate it with --undo.`, e.stdout)
	data := dataFlag(c)
	undo := c.Bool("undo", false, "undeprecate instead")
	args, err := c.parse(args, e.getenv)
	if err != nil {
		return err
	}
	owner, name, version, ok := oneRef(args)
	if !ok || version == "" {
		return c.usageErrorf("want one OWNER/NAME:VERSION")
	}
	return withRegistry(*data, func(reg *registry.Registry, st *sqlitestore.Store, _ *fsblob.Store) error {
		pv, err := reg.PluginVersion(ctx, owner, name, version, 0)
		if err != nil {
			return err
		}
		if err := st.Update(ctx, func(tx store.Tx) error {
			return tx.SetPluginVersionDeprecated(ctx, pv.PluginID, version, !*undo)
		}); err != nil {
			return err
		}
		state := "deprecated"
		if *undo {
			state = "undeprecated"
		}
		fmt.Fprintf(e.stdout, "%s %s\n", args[0], state)
		return nil
	})
}
