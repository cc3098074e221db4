package api

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"

	"github.com/lathe-registry/lathe/internal/codegen"
	"github.com/lathe-registry/lathe/internal/limit"
	"github.com/lathe-registry/lathe/internal/module"
	"github.com/lathe-registry/lathe/internal/registry"
)

// requestError is a domain error raised by the API layer itself, for a request the
// registry never sees: its message is for the client, its kind one of the registry's
// sentinels.
type requestError struct {
	kind error
	msg  string
}

func (e *requestError) Error() string { return e.msg }
func (e *requestError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &requestError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

func invalid(format string, args ...any) error { return errorf(registry.ErrInvalid, format, args...) }

// checkCount bounds how many references one request may carry.
func checkCount(n int, what string) error {
	if n == 0 {
		return invalid("the request names no %s", what)
	}
	if n > maxRefs {
		return invalid("the request names %d %s, more than the limit of %d", n, what, maxRefs)
	}
	return nil
}

// internalError is the client's view of an error no rule of [connectError] covers: a
// message that hides the cause, which the edge logs.
type internalError struct{ cause error }

func (*internalError) Error() string { return "internal error; the server log has details" }

// connectError maps a domain error to a Connect error; the message reaches the client.
// Errors that already carry a code keep it. An error no rule covers (a store's or a blob
// store's, say) becomes an internal error wrapping an [*internalError], so that the edge
// can log its cause while the client learns nothing of the server's insides.
func (*server) connectError(err error) error {
	var inputErr *module.InputError
	var connectErr *connect.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &connectErr):
		return err
	case errors.As(err, &inputErr), errors.Is(err, registry.ErrInvalid):
		return connect.NewError(connect.CodeInvalidArgument, err)
	case errors.Is(err, registry.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, registry.ErrAlreadyExists):
		return connect.NewError(connect.CodeAlreadyExists, err)
	case errors.Is(err, registry.ErrUnauthenticated):
		return connect.NewError(connect.CodeUnauthenticated, err)
	case errors.Is(err, registry.ErrPermissionDenied):
		return connect.NewError(connect.CodePermissionDenied, err)
	case errors.Is(err, registry.ErrFailedPrecondition):
		return connect.NewError(connect.CodeFailedPrecondition, err)
	case errors.Is(err, limit.ErrBusy):
		return connect.NewError(connect.CodeResourceExhausted, err)
	case errors.Is(err, codegen.ErrPlugin):
		// The plugin's own message is what the user must read to fix the input.
		return connect.NewError(connect.CodeFailedPrecondition, err)
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, err)
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, err)
	}
	return connect.NewError(connect.CodeInternal, &internalError{cause: err})
}
