package e2e

import (
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	// npm-trust makes npm and node trust the server's certificate when lathe-serve serves
	// HTTPS, and does nothing otherwise.
	scriptCmds["npm-trust"] = cmdNPMTrust
	// replace OLD NEW FILE... replaces every OLD with NEW in the files, e.g. a server's old
	// URL in a document saved before a restart.
	scriptCmds["replace"] = cmdReplace
	// npm-tool NAME... puts pinned JavaScript tools on PATH (installed from the npm
	// registry into the user cache on first use): pnpm, yarn (Yarn 4, using the host's
	// npm registry for public packages) and tsc (TypeScript).
	scriptCmds["npm-tool"] = cmdNPMTool
	// npm-consumer DIR PACKAGE... writes a consumer of every generated module (each .js
	// file with a .d.ts beside it) of the packages installed in DIR/node_modules
	// (@scope/* for all of a scope): all.ts and all.mjs import them all, tsconfig.json
	// makes "tsc -p DIR" type-check them strictly, declarations included, and
	// roundtrip.mjs round-trips a message of every message type through the binary and
	// JSON formats. It prints "modules: N".
	scriptCmds["npm-consumer"] = cmdNPMConsumer
}

// cmdNPMTrust points npm's cafile and node's NODE_EXTRA_CA_CERTS at the bundle lathe-serve
// made in TLS mode ($SSL_CERT_FILE: the system's roots, which npm still needs for the
// public registry, and the harness's CA). Node alone would take NODE_EXTRA_CA_CERTS, but
// npm passes its cafile setting (which distributions set globally, e.g. in
// /usr/etc/npmrc) to every TLS connection, replacing node's roots.
func cmdNPMTrust(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: npm-trust")
	}
	if !strings.HasPrefix(ts.Getenv("LATHE_URL"), "https://") {
		return
	}
	bundle := ts.Getenv("SSL_CERT_FILE")
	if _, err := os.Stat(bundle); err != nil {
		ts.Fatalf("npm-trust: the CA bundle: %v", err)
	}
	ts.Setenv("NPM_CONFIG_CAFILE", bundle)
	ts.Setenv("NODE_EXTRA_CA_CERTS", bundle)
}

func cmdReplace(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 {
		ts.Fatalf("usage: replace OLD NEW FILE...")
	}
	for _, name := range args[2:] {
		path := ts.MkAbs(name)
		data, err := os.ReadFile(path)
		ts.Check(err)
		ts.Check(os.WriteFile(path, []byte(strings.ReplaceAll(string(data), args[0], args[1])), 0o644))
	}
}

// npmTools are the JavaScript tools scripts run besides npm and node, at pinned versions.
var npmTools = map[string]*npmTool{
	"pnpm": {pkg: "pnpm", version: "10.34.9"},
	"yarn": {pkg: "@yarnpkg/cli-dist", version: "4.18.1"},
	"tsc":  {pkg: "typescript", version: "7.0.2"},
}

type npmTool struct {
	pkg, version string

	once sync.Once
	bin  string // the directory with its executables
	err  error
}

// install installs the tool once per cache: into a private directory, renamed into
// place, so that concurrent test runs never see half an installation.
func (t *npmTool) install(name string) (string, error) {
	t.once.Do(func() {
		cache, err := os.UserCacheDir()
		if err != nil {
			t.err = err
			return
		}
		dir := filepath.Join(cache, "lathe-test", "npm", strings.ReplaceAll(t.pkg, "/", "+")+"@"+t.version)
		bin := filepath.Join(dir, "node_modules", ".bin")
		if _, err := os.Stat(filepath.Join(bin, name)); err == nil {
			t.bin = bin
			return
		}
		fmt.Fprintf(os.Stderr, "e2e: installing %s@%s into %s\n", t.pkg, t.version, dir)
		if t.err = os.MkdirAll(filepath.Dir(dir), 0o755); t.err != nil {
			return
		}
		tmp, err := os.MkdirTemp(filepath.Dir(dir), "install-")
		if err != nil {
			t.err = err
			return
		}
		defer os.RemoveAll(tmp)
		// With the host's environment: its npm configuration, registry and proxies.
		cmd := exec.Command("npm", "install", "--prefix", tmp, "--no-save", "--no-package-lock", "--no-audit", "--no-fund",
			"--loglevel=error", t.pkg+"@"+t.version)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.err = fmt.Errorf("npm install %s@%s: %v\n%s", t.pkg, t.version, err, out)
			return
		}
		if _, err := os.Stat(filepath.Join(tmp, "node_modules", ".bin", name)); err != nil {
			t.err = fmt.Errorf("%s@%s has no executable %s: %w", t.pkg, t.version, name, err)
			return
		}
		if err := os.Rename(tmp, dir); err != nil {
			if _, serr := os.Stat(filepath.Join(bin, name)); serr != nil {
				t.err = err // not another run's installation either
				return
			}
		}
		t.bin = bin
	})
	return t.bin, t.err
}

// hostNPMRegistry is the registry npm uses on the host, for tools that do not read npm's
// configuration.
var hostNPMRegistry = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("npm", "config", "get", "registry").Output()
	if err != nil {
		return "", fmt.Errorf("npm config get registry: %w", err)
	}
	return strings.TrimSuffix(strings.TrimSpace(string(out)), "/"), nil
})

func cmdNPMTool(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: npm-tool NAME...")
	}
	for _, name := range args {
		t := npmTools[name]
		if t == nil {
			ts.Fatalf("npm-tool: no tool %q", name)
		}
		bin, err := t.install(name)
		if err != nil {
			ts.Fatalf("npm-tool: %v", err)
		}
		ts.Setenv("PATH", bin+string(os.PathListSeparator)+ts.Getenv("PATH"))
		switch name {
		case "pnpm":
			ts.Setenv("NPM_CONFIG_UPDATE_NOTIFIER", "false")
		case "yarn":
			registry, err := hostNPMRegistry()
			if err != nil {
				ts.Fatalf("npm-tool: %v", err)
			}
			ts.Setenv("YARN_NPM_REGISTRY_SERVER", registry)
			ts.Setenv("YARN_ENABLE_TELEMETRY", "0")
		}
	}
}

//go:embed testdata/npm/tsconfig.json
var consumerTSConfig []byte

//go:embed testdata/npm/roundtrip.mjs
var consumerRoundTrip []byte

func cmdNPMConsumer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: npm-consumer DIR PACKAGE...")
	}
	dir := ts.MkAbs(args[0])
	var pkgs []string
	for _, p := range args[1:] {
		scope, ok := strings.CutSuffix(p, "/*")
		if !ok {
			pkgs = append(pkgs, p)
			continue
		}
		entries, err := os.ReadDir(filepath.Join(dir, "node_modules", scope))
		ts.Check(err)
		for _, e := range entries {
			pkgs = append(pkgs, scope+"/"+e.Name())
		}
	}
	var specs []string
	for _, p := range pkgs {
		// pnpm links packages into node_modules.
		root, err := filepath.EvalSymlinks(filepath.Join(dir, "node_modules", filepath.FromSlash(p)))
		ts.Check(err)
		var found []string
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			js, ok := strings.CutSuffix(path, ".d.ts")
			if !ok {
				return nil
			}
			if _, err := os.Stat(js + ".js"); errors.Is(err, fs.ErrNotExist) {
				return nil
			} else if err != nil {
				return err
			}
			rel, err := filepath.Rel(root, js+".js")
			found = append(found, p+"/"+filepath.ToSlash(rel))
			return err
		})
		ts.Check(err)
		if len(found) == 0 {
			ts.Fatalf("npm-consumer: %s has no modules", p)
		}
		specs = append(specs, found...)
	}
	slices.Sort(specs)
	var b strings.Builder
	for i, spec := range specs {
		fmt.Fprintf(&b, "import * as m%d from %q;\n", i, spec)
	}
	b.WriteString("\nexport const modules = [")
	for i := range specs {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "m%d", i)
	}
	b.WriteString("];\n")
	for name, data := range map[string][]byte{"all.ts": []byte(b.String()), "all.mjs": []byte(b.String()),
		"tsconfig.json": consumerTSConfig, "roundtrip.mjs": consumerRoundTrip} {
		ts.Check(os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}
	fmt.Fprintf(ts.Stdout(), "modules: %d\n", len(specs))
}
