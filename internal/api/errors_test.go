package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"connectrpc.com/connect"

	"github.com/lathe-registry/lathe/internal/codegen"
	"github.com/lathe-registry/lathe/internal/limit"
	"github.com/lathe-registry/lathe/internal/module"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/store"
)

func TestConnectError(t *testing.T) {
	const hidden = "internal error; the server log has details"
	tests := []struct {
		name string
		err  error
		code connect.Code
		msg  string
	}{
		{"input error", &module.InputError{Path: "a.proto", Line: 3, Msg: "syntax error"},
			connect.CodeInvalidArgument, "a.proto:3: syntax error"},
		{"wrapped input error", fmt.Errorf("module alice/app: %w", &module.InputError{Path: "Makefile", Msg: "not a module file"}),
			connect.CodeInvalidArgument, "module alice/app: Makefile: not a module file"},
		{"invalid", invalid("invalid page token %q", "x"), connect.CodeInvalidArgument, `invalid page token "x"`},
		{"checkCount", checkCount(0, "commits"), connect.CodeInvalidArgument, "the request names no commits"},
		{"not found", fmt.Errorf("module alice/app: %w", registry.ErrNotFound), connect.CodeNotFound, "module alice/app: not found"},
		{"store not found", store.ErrNotFound, connect.CodeNotFound, "not found"},
		{"already exists", fmt.Errorf("module alice/app %w", registry.ErrAlreadyExists), connect.CodeAlreadyExists, "module alice/app already exists"},
		{"unauthenticated", errorf(registry.ErrUnauthenticated, "no token"), connect.CodeUnauthenticated, "no token"},
		{"permission denied", fmt.Errorf("alice/app: %w", registry.ErrPermissionDenied), connect.CodePermissionDenied, "alice/app: permission denied"},
		{"failed precondition", fmt.Errorf("label is archived: %w", registry.ErrFailedPrecondition), connect.CodeFailedPrecondition, "label is archived: failed precondition"},
		{"plugin", fmt.Errorf("plugin test/plugin:v1 (revision 1): %w: exit status 1: boom", codegen.ErrPlugin),
			connect.CodeFailedPrecondition, "plugin test/plugin:v1 (revision 1): plugin failed: exit status 1: boom"},
		{"canceled", fmt.Errorf("reading: %w", context.Canceled), connect.CodeCanceled, "reading: context canceled"},
		{"deadline", context.DeadlineExceeded, connect.CodeDeadlineExceeded, "context deadline exceeded"},
		{"busy", fmt.Errorf("%w: the server is busy", limit.ErrBusy), connect.CodeResourceExhausted, "too many requests at once: the server is busy"},
		{"connect error keeps its code", connect.NewError(connect.CodeResourceExhausted, errors.New("too big")),
			connect.CodeResourceExhausted, "too big"},
		{"unknown", errors.New("sqlite: disk I/O error at /var/lib/lathe/lathe.db"), connect.CodeInternal, hidden},
	}
	s := &server{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.connectError(tt.err)
			var ce *connect.Error
			if !errors.As(err, &ce) {
				t.Fatalf("connectError(%v) = %T, want a *connect.Error", tt.err, err)
			}
			if ce.Code() != tt.code || ce.Message() != tt.msg {
				t.Errorf("connectError(%v) = %v %q, want %v %q", tt.err, ce.Code(), ce.Message(), tt.code, tt.msg)
			}
			if again := s.connectError(err); again != err {
				t.Errorf("mapping twice changed the error: %v, then %v", err, again)
			}
		})
	}
	if err := s.connectError(nil); err != nil {
		t.Errorf("connectError(nil) = %v", err)
	}
	var internal *internalError
	if err := s.connectError(io.ErrUnexpectedEOF); !errors.As(err, &internal) || internal.cause != io.ErrUnexpectedEOF {
		t.Errorf("an unknown error is not kept for the log: %#v", err)
	}
}
