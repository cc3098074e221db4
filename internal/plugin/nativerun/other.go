//go:build !linux

package nativerun

import (
	"context"
	"errors"
	"runtime"

	"github.com/lathe-registry/lathe/internal/plugin"
)

var errUnsupported = errors.New("nativerun: native plugins need Linux, not " + runtime.GOOS)

// Init does nothing outside Linux.
func Init() {}

// Runner is the sandboxed runner, which needs Linux.
type Runner struct{}

// New fails outside Linux.
func New(...Option) (*Runner, error) { return nil, errUnsupported }

// Run fails outside Linux.
func (*Runner) Run(context.Context, plugin.Invocation) ([]byte, error) { return nil, errUnsupported }

// Unsandboxed is the unsandboxed runner, which needs Linux.
type Unsandboxed struct{}

// NewUnsandboxed returns a runner that fails outside Linux.
func NewUnsandboxed() *Unsandboxed { return &Unsandboxed{} }

// Run fails outside Linux.
func (*Unsandboxed) Run(context.Context, plugin.Invocation) ([]byte, error) {
	return nil, errUnsupported
}
