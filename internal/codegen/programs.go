package codegen

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/lathe-registry/lathe/internal/blob"
	"github.com/lathe-registry/lathe/internal/plugin"
	"github.com/lathe-registry/lathe/internal/store"
)

// Runtimes of plugin versions.
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
	mu    sync.Mutex
}

// NewPrograms returns a Programs writing under dir.
func NewPrograms(dir string, blobs blob.Store) (*Programs, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &Programs{dir: dir, blobs: blobs}, nil
}

// Invocation returns the invocation, without input and limits, that runs the plugin version.
func (p *Programs) Invocation(ctx context.Context, pv store.PluginVersion) (plugin.Invocation, error) {
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
