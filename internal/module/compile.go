package module

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/linker"
	"github.com/bufbuild/protocompile/reporter"
)

// maxCompileErrors bounds how many compile errors one rejection reports.
const maxCompileErrors = 20

// Lookup returns the content of a .proto file visible to a compilation, and whether it exists.
type Lookup func(path string) ([]byte, bool)

// Compile compiles the target .proto files, resolving imports through lookup and then the
// well-known types bundled with the compiler. Syntax errors, unresolved imports, import
// cycles and link errors are returned as one error listing up to 20 [*InputError] values.
// Parse results come from cache when it holds them. With sourceInfo, descriptors carry
// source code info (positions and comments), as code generation needs.
func Compile(ctx context.Context, targets []string, lookup Lookup, cache *ParseCache, sourceInfo bool) (linker.Files, error) {
	resolver := protocompile.WithStandardImports(protocompile.ResolverFunc(func(p string) (protocompile.SearchResult, error) {
		content, ok := lookup(p)
		if !ok {
			return protocompile.SearchResult{}, fs.ErrNotExist
		}
		if result, ok := cache.parse(p, content); ok {
			return protocompile.SearchResult{ParseResult: result}, nil
		}
		return protocompile.SearchResult{Source: bytes.NewReader(content)}, nil
	}))
	var errs []error
	rep := reporter.NewReporter(func(err reporter.ErrorWithPos) error {
		errs = append(errs, positionError(err))
		if len(errs) >= maxCompileErrors {
			return err
		}
		return nil
	}, nil)
	compiler := protocompile.Compiler{
		Resolver:       resolver,
		Reporter:       rep,
		SourceInfoMode: protocompile.SourceInfoNone,
	}
	if sourceInfo {
		compiler.SourceInfoMode = protocompile.SourceInfoStandard
	}
	files, err := compiler.Compile(ctx, targets...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, compileError(err)
	}
	return files, nil
}

func positionError(err reporter.ErrorWithPos) error {
	pos := err.GetPosition()
	msg := err.Unwrap().Error()
	if errors.Is(err, fs.ErrNotExist) {
		msg = strings.TrimSuffix(msg, ": file does not exist") +
			": not found in this module or its dependencies (declare the module that provides it in buf.yaml deps and run buf dep update)"
	}
	return &InputError{Path: pos.Filename, Line: pos.Line, Column: pos.Col, Msg: msg}
}

// compileError turns an error the compiler returned without a position (such as a missing
// target file or an import cycle) into an input error.
func compileError(err error) error {
	var withPos reporter.ErrorWithPos
	if errors.As(err, &withPos) {
		return positionError(withPos)
	}
	return &InputError{Msg: err.Error()}
}
