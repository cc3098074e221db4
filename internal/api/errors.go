package api

import (
	"errors"
	"fmt"

	"connectrpc.com/connect"
)

func invalid(format string, args ...any) error {
	return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf(format, args...))
}

// checkCount bounds how many references one request may carry.
func checkCount(n int, what string) error {
	if n == 0 {
		return connect.NewError(connect.CodeInvalidArgument, errors.New("the request names no "+what))
	}
	if n > maxRefs {
		return invalid("the request names %d %s, more than the limit of %d", n, what, maxRefs)
	}
	return nil
}
