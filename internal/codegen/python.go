package codegen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/lathe-registry/lathe/internal/plugin"
	"github.com/lathe-registry/lathe/internal/store"
)

// RuntimePython is a Python plugin run by the host's python3 in the native sandbox. Its
// program is a [PackNode] archive, as for [RuntimeNode], whose entry is the script to run.
const RuntimePython = "python"

// Python is a CPython interpreter as the sandbox runs it.
type Python struct {
	// Executable is the interpreter itself, symbolic links (a virtual environment's
	// python) resolved.
	Executable string
	// Tag is its wheel tag, e.g. "cp311": compiled extension modules are built for one.
	Tag string
	// ReadOnly are the host paths it reads: its standard library and, if it is linked
	// to one, its libpython.
	ReadOnly []string
}

// probePython asks the python3 on PATH about itself. It runs outside any sandbox so that
// wrappers (pyenv's shims) and virtual environments resolve to the interpreter itself.
const probePython = `import json, os, sys, sysconfig
v = sysconfig.get_config_var
paths = {sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib")}
if v("Py_ENABLE_SHARED") and v("LIBDIR") and v("INSTSONAME"):
    lib = os.path.join(v("LIBDIR"), v("INSTSONAME"))
    if os.path.exists(lib):
        paths.add(os.path.realpath(lib))
print(json.dumps({"impl": sys.implementation.name, "tag": "cp%d%d" % sys.version_info[:2],
    "executable": os.path.realpath(sys.executable), "paths": sorted(os.path.realpath(p) for p in paths)}))
`

// FindPython returns the python3 on PATH as [RuntimePython] runs it.
func FindPython(ctx context.Context) (Python, error) {
	py, err := exec.LookPath("python3")
	if err != nil {
		return Python{}, fmt.Errorf("no python3 on PATH: %w", err)
	}
	cmd := exec.CommandContext(ctx, py, "-I", "-S", "-c", probePython)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return Python{}, fmt.Errorf("%s: %w: %s", py, err, bytes.TrimSpace(stderr.Bytes()))
	}
	var info struct {
		Impl, Tag, Executable string
		Paths                 []string
	}
	if err := json.Unmarshal(out, &info); err != nil {
		return Python{}, fmt.Errorf("%s: %w", py, err)
	}
	if info.Impl != "cpython" {
		return Python{}, fmt.Errorf("%s is %s, not CPython", py, info.Impl)
	}
	for _, p := range append([]string{info.Executable}, info.Paths...) {
		if !filepath.IsAbs(p) {
			return Python{}, fmt.Errorf("%s reports the relative path %q", py, p)
		}
		if _, err := os.Stat(p); err != nil {
			return Python{}, fmt.Errorf("%s: %w", py, err)
		}
	}
	return Python{Executable: info.Executable, Tag: info.Tag, ReadOnly: info.Paths}, nil
}

// pythonInvocation unpacks a Python plugin once and runs its entry script with the host's
// python3, isolated from the environment and from site-packages (-I -S) and writing no
// bytecode (-B; the plugin's files are read-only anyway).
func (p *Programs) pythonInvocation(ctx context.Context, pv store.PluginVersion) (plugin.Invocation, error) {
	p.mu.Lock()
	if !p.pythonFound {
		p.python, p.pythonErr = FindPython(ctx)
		p.pythonFound = ctx.Err() == nil
	}
	py, pyErr := p.python, p.pythonErr
	p.mu.Unlock()
	if pyErr != nil {
		return plugin.Invocation{}, fmt.Errorf("%w: Python plugins need python3: %v", ErrPlugin, strings.TrimSpace(pyErr.Error()))
	}
	dir, entry, err := p.unpack(ctx, pv)
	if err != nil {
		return plugin.Invocation{}, err
	}
	return plugin.Invocation{
		Program:  py.Executable,
		Args:     []string{"-I", "-S", "-B", entry},
		ReadOnly: append([]string{dir}, py.ReadOnly...),
	}, nil
}
