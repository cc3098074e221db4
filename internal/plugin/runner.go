// Package plugin runs protoc code-generation plugins for the registry.
//
// A plugin invocation is one process (or WASM instance) that reads a serialized
// google.protobuf.compiler.CodeGeneratorRequest on stdin and writes a
// CodeGeneratorResponse on stdout. A [Runner] executes invocations under [Limits]; the
// runtimes are sub-packages: sandboxed native executables (the default), WebAssembly
// (WASI preview 1) and, only when an operator asks for it, unsandboxed native.
package plugin

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Runner executes plugin invocations. Implementations must be safe for concurrent use.
type Runner interface {
	// Run runs the invocation to completion and returns its stdout. A plugin that fails
	// (non-zero exit, killed, over a limit) yields a *[Error]; errors of the runner
	// itself are returned as they are.
	Run(ctx context.Context, inv Invocation) ([]byte, error)
}

// Invocation is one run of a plugin.
type Invocation struct {
	// Program is the plugin's executable (native runtimes) or .wasm module (WASM runtime).
	Program string
	// Args follow the program name, e.g. a script path when Program is an interpreter.
	Args []string
	// Stdin is the serialized CodeGeneratorRequest.
	Stdin []byte
	// ReadOnly lists extra host paths (files or directories) the plugin may read, such as
	// an interpreter's installation or a script's directory. Native sandboxes expose them
	// read-only at the same paths; the WASM runtime ignores them.
	ReadOnly []string
	Limits   Limits
}

// Limits bound one invocation. Zero fields take the defaults of [DefaultLimits].
type Limits struct {
	// Memory is the most memory the plugin's processes may use, in bytes.
	Memory int64
	// CPUTime is the most CPU time the plugin may use.
	CPUTime time.Duration
	// WallTime is the most real time the plugin may take.
	WallTime time.Duration
	// Processes is the most processes (and threads) the plugin may have at once.
	Processes int
	// OutputBytes is the most the plugin may write to stdout; stderr is truncated to 64 KiB.
	OutputBytes int64
}

// DefaultLimits fit real code generation of large modules with room to spare.
var DefaultLimits = Limits{ //nolint:gochecknoglobals // read-only defaults
	Memory:      2 << 30,
	CPUTime:     2 * time.Minute,
	WallTime:    2 * time.Minute,
	Processes:   256,
	OutputBytes: 256 << 20,
}

// WithDefaults returns l with zero fields set from [DefaultLimits].
func (l Limits) WithDefaults() Limits {
	if l.Memory == 0 {
		l.Memory = DefaultLimits.Memory
	}
	if l.CPUTime == 0 {
		l.CPUTime = DefaultLimits.CPUTime
	}
	if l.WallTime == 0 {
		l.WallTime = DefaultLimits.WallTime
	}
	if l.Processes == 0 {
		l.Processes = DefaultLimits.Processes
	}
	if l.OutputBytes == 0 {
		l.OutputBytes = DefaultLimits.OutputBytes
	}
	return l
}

// ErrLimit is matched (errors.Is) by errors of plugins stopped for exceeding a limit.
var ErrLimit = errors.New("plugin exceeded a limit")

// Error is a plugin failure, with what a user needs to understand it.
type Error struct {
	// Reason says what went wrong, e.g. "exited with status 1" or "killed: wall time of
	// 2m0s exceeded".
	Reason string
	// Stderr is the tail of the plugin's standard error.
	Stderr string
	// Limit is set when the plugin was stopped for exceeding a limit.
	Limit bool
}

func (e *Error) Error() string {
	if e.Stderr == "" {
		return "plugin " + e.Reason
	}
	return fmt.Sprintf("plugin %s: %s", e.Reason, e.Stderr)
}

// Is makes errors.Is(err, ErrLimit) true for limit errors.
func (e *Error) Is(target error) bool { return target == ErrLimit && e.Limit }
