package codegen

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"github.com/lathe-registry/lathe/internal/blob"
	"github.com/lathe-registry/lathe/internal/plugin"
	"github.com/lathe-registry/lathe/internal/store"
)

// Runtimes of plugin versions; see also [RuntimeNode] and [RuntimePython].
const (
	// RuntimeNative is an executable run in the native sandbox.
	RuntimeNative = "native"
	// RuntimeWASM is a WASI preview 1 module run by the WASM runtime.
	RuntimeWASM = "wasm"
)

// Programs materializes plugin programs from the blob store as files the runners can
// execute, once per program, under a directory of their own.
type Programs struct {
	dir   string
	blobs blob.Store
	// node is the host's node executable, "" if there is none.
	node string
	mu   sync.Mutex
	// python is the host's python3 (or why there is none), found on first use:
	// finding it runs it.
	python      Python
	pythonErr   error
	pythonFound bool
}

// NewPrograms returns a Programs writing under dir. JavaScript plugins run with the
// node found on PATH, if any. A relative dir is made absolute now: plugins run in a
// working directory of their own, where relative paths would name other files.
func NewPrograms(dir string, blobs blob.Store) (*Programs, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	p := &Programs{dir: dir, blobs: blobs}
	if node, err := exec.LookPath("node"); err == nil {
		if node, err = filepath.EvalSymlinks(node); err == nil {
			p.node, _ = filepath.Abs(node)
		}
	}
	return p, nil
}

// Invocation returns the invocation, without input and limits, that runs the plugin version.
func (p *Programs) Invocation(ctx context.Context, pv store.PluginVersion) (plugin.Invocation, error) {
	switch pv.Runtime {
	case RuntimeNode:
		return p.nodeInvocation(ctx, pv)
	case RuntimePython:
		return p.pythonInvocation(ctx, pv)
	}
	if pv.Runtime != RuntimeNative && pv.Runtime != RuntimeWASM {
		return plugin.Invocation{}, fmt.Errorf("%w: unknown runtime %q", ErrPlugin, pv.Runtime)
	}
	// Under its own name, as plugins see their file name and some print it into code.
	file := filepath.Join(p.dir, pv.Program, pv.ProgramName)
	if err := p.materialize(ctx, pv.Program, file); err != nil {
		return plugin.Invocation{}, err
	}
	return plugin.Invocation{Program: file}, nil
}

// materialize writes the blob to file unless it is there. The file appears atomically
// (rename), so a concurrent or crashed writer never leaves a partial program.
func (p *Programs) materialize(ctx context.Context, key, file string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := os.Stat(file); err == nil {
		return nil
	}
	data, err := blob.ReadAll(ctx, p.blobs, key)
	if err != nil {
		return fmt.Errorf("plugin program %s: %w", key, err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}

// nodeInvocation unpacks a JavaScript plugin once and runs its entry script with node,
// which, with the plugin's files, the sandbox shows read-only.
func (p *Programs) nodeInvocation(ctx context.Context, pv store.PluginVersion) (plugin.Invocation, error) {
	if p.node == "" {
		return plugin.Invocation{}, fmt.Errorf("%w: JavaScript plugins need node, and this server has none on its PATH", ErrPlugin)
	}
	dir, entry, err := p.unpack(ctx, pv)
	if err != nil {
		return plugin.Invocation{}, err
	}
	return plugin.Invocation{
		Program:  p.node,
		Args:     []string{entry},
		ReadOnly: []string{dir},
	}, nil
}

// unpack extracts a [PackNode] archive once into a directory of its own and returns the
// directory and the entry script's path.
func (p *Programs) unpack(ctx context.Context, pv store.PluginVersion) (dir, entry string, err error) {
	dir = filepath.Join(p.dir, pv.Program)
	p.mu.Lock()
	defer p.mu.Unlock()
	entryLink := filepath.Join(dir, entryFile)
	rel, err := os.ReadFile(entryLink)
	if err != nil {
		archive, err := blob.ReadAll(ctx, p.blobs, pv.Program)
		if err != nil {
			return "", "", fmt.Errorf("plugin program %s: %w", pv.Program, err)
		}
		tmp, err := os.MkdirTemp(p.dir, ".tmp-*")
		if err != nil {
			return "", "", err
		}
		defer os.RemoveAll(tmp)
		script, err := unpackNode(archive, filepath.Join(tmp, "pkg"))
		if err != nil {
			return "", "", fmt.Errorf("%w: %v", ErrPlugin, err)
		}
		r, _ := filepath.Rel(filepath.Join(tmp, "pkg"), script)
		if err := os.WriteFile(filepath.Join(tmp, "pkg", entryFile), []byte(r), 0o644); err != nil {
			return "", "", err
		}
		// The directory appears whole or not at all.
		if err := os.Rename(filepath.Join(tmp, "pkg"), dir); err != nil {
			return "", "", err
		}
		rel = []byte(r)
	}
	return dir, filepath.Join(dir, string(rel)), nil
}
