package layers

import (
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/lathe-registry/lathe"

// layers is the table the package doc describes, from the top down. A package belongs to
// the row with the longest pattern that matches it ("dir/..." matches dir and everything
// under it) and may import only the layers its row names, besides its own
// subdirectories, the standard library and other modules. Rows name only layers below
// themselves, or themselves where their packages build on each other (generated code),
// which the test checks too.
var layers = []struct {
	name string
	pkgs []string
	may  []string
}{
	{"test support", []string{"internal/testenv/...", "internal/layers/...", "internal/e2e/...",
		"internal/blob/blobtest/...", "internal/store/storetest/...", "internal/module/modtest/..."},
		[]string{"blob", "store", "module"}},
	{"cmd", []string{"cmd/..."},
		[]string{"api", "ecosystems", "sdk", "registry", "codegen", "runtimes", "plugin", "auth", "backends", "store", "blob", "module", "limit", "server"}},
	{"api", []string{"internal/api/..."},
		[]string{"sdk", "registry", "codegen", "plugin", "auth", "store", "module", "limit", "gen"}},
	{"ecosystems", []string{"internal/sdk/gosdk/...", "internal/sdk/npmsdk/...", "internal/sdk/cargosdk/...", "internal/sdk/pysdk/..."},
		[]string{"sdk", "registry", "codegen", "plugin", "auth", "store", "blob", "module"}},
	{"sdk", []string{"internal/sdk/..."},
		[]string{"registry", "codegen", "plugin", "auth", "store", "blob", "module", "limit"}},
	{"registry", []string{"internal/registry/..."},
		[]string{"codegen", "plugin", "auth", "store", "blob", "module"}},
	{"codegen", []string{"internal/codegen/..."},
		[]string{"plugin", "store", "blob", "module", "gen"}},
	{"runtimes", []string{"internal/plugin/nativerun/...", "internal/plugin/wasmrun/...",
		"internal/plugin/wellknown/...", "internal/plugin/protocpy/...", "internal/plugin/grpcpy/..."},
		[]string{"plugin"}},
	{"plugin", []string{"internal/plugin", "internal/plugin/pluginconfig/..."}, nil},
	{"auth", []string{"internal/auth/..."}, []string{"store"}},
	{"backends", []string{"internal/store/sqlitestore/...", "internal/blob/fsblob/...", "internal/blob/memblob/..."},
		[]string{"store", "blob"}},
	{"store", []string{"internal/store/..."}, nil},
	{"blob", []string{"internal/blob/..."}, nil},
	{"module", []string{"internal/module/..."}, nil},
	{"limit", []string{"internal/limit/..."}, nil},
	{"server", []string{"internal/server/..."}, nil},
	{"gen", []string{"internal/gen/..."}, []string{"gen"}},
}

// layerOf returns the index in layers of the row for pkg, a path relative to the module,
// or -1.
func layerOf(pkg string) int {
	best, bestLen := -1, -1
	for i, l := range layers {
		for _, p := range l.pkgs {
			dir, tree := strings.CutSuffix(p, "/...")
			if pkg == dir || tree && strings.HasPrefix(pkg, dir+"/") {
				if len(dir) > bestLen {
					best, bestLen = i, len(dir)
				}
			}
		}
	}
	return best
}

func TestTable(t *testing.T) {
	seen := map[string]int{}
	for i, l := range layers {
		if _, dup := seen[l.name]; dup {
			t.Errorf("layer %q is listed twice", l.name)
		}
		seen[l.name] = i
	}
	for i, l := range layers {
		for _, m := range l.may {
			j, ok := seen[m]
			switch {
			case !ok:
				t.Errorf("layer %q may import %q, which is not a layer", l.name, m)
			case j < i:
				t.Errorf("layer %q may import %q, which is above it", l.name, m)
			}
		}
	}
}

// TestImports parses the imports of every package's non-test files, whatever their build
// constraints, and checks them against the table. Parsing in this process, rather than
// running go list, also tells go test which files the result depends on, so a cached
// pass is never reused after an import changes.
func TestImports(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	imports := packageImports(t, root)
	if len(imports) == 0 {
		t.Fatalf("no packages found under %s", root)
	}
	for _, pkg := range slices.Sorted(maps.Keys(imports)) {
		from := layerOf(pkg)
		if from < 0 {
			t.Errorf("%s has no layer: give it a row in the table in layers_test.go", pkg)
			continue
		}
		for _, imp := range imports[pkg] {
			dep, ok := strings.CutPrefix(imp, module+"/")
			if !ok || dep == pkg || strings.HasPrefix(dep, pkg+"/") {
				continue
			}
			to := layerOf(dep)
			if to < 0 || !slices.Contains(layers[from].may, layers[to].name) {
				t.Errorf("%s (layer %q) imports %s, which it may not: %q may import only %v",
					pkg, layers[from].name, dep, layers[from].name, layers[from].may)
			}
		}
	}
}

// packageImports returns the imports of the non-test Go files of each package under root,
// keyed by the package's path relative to the module.
func packageImports(t *testing.T, root string) map[string][]string {
	t.Helper()
	fset := token.NewFileSet()
	imports := map[string][]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			// As the go command does: testdata and directories starting with . or _ hold
			// no packages.
			if p != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, p, src, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		pkg := path.Clean(filepath.ToSlash(rel))
		for _, spec := range f.Imports {
			imp, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				return err
			}
			if !slices.Contains(imports[pkg], imp) {
				imports[pkg] = append(imports[pkg], imp)
			}
		}
		if _, ok := imports[pkg]; !ok {
			imports[pkg] = nil
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return imports
}
