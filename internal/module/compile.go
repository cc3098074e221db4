package module

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/linker"
	"github.com/bufbuild/protocompile/reporter"
	"golang.org/x/sync/semaphore"
)

const (
	// maxCompileErrors bounds how many compile errors one rejection reports.
	maxCompileErrors = 20
	// maxErrorBytes bounds one compile error's message, which may quote a name of megabytes.
	maxErrorBytes = 1024
	// bytesPerToken is how many bytes of source weigh as much as one token in a [CompileBudget].
	bytesPerToken = 32
)

// Lookup returns the content of a .proto file visible to a compilation, and whether it exists.
type Lookup func(path string) ([]byte, bool)

// CompileBudget bounds the memory of the compilations that share it, counted in tokens
// (see [Limits]): each compilation holds its targets' tokens (and a token for every 32 bytes of them) while it runs and first
// waits, as long as its context allows, until that many are free. A compilation larger
// than the whole budget holds all of it. A nil *CompileBudget bounds nothing.
type CompileBudget struct {
	sem  *semaphore.Weighted
	size int64
}

// NewCompileBudget returns a budget of tokens compiled at once.
func NewCompileBudget(tokens int) *CompileBudget {
	return &CompileBudget{sem: semaphore.NewWeighted(int64(tokens)), size: int64(tokens)}
}

// acquire waits until the budget holds tokens more and takes them; release gives them back.
func (b *CompileBudget) acquire(ctx context.Context, tokens int) (release func(), err error) {
	if b == nil {
		return func() {}, nil
	}
	n := min(max(int64(tokens), 1), b.size)
	if err := b.sem.Acquire(ctx, n); err != nil {
		return nil, err
	}
	return func() { b.sem.Release(n) }, nil
}

// Compile compiles the target .proto files, resolving imports through lookup and then the
// well-known types bundled with the compiler. The targets are first checked against lim's
// limits on tokens and nesting, then the compilation waits for its share of lim.Budget.
// Syntax errors, unresolved imports, import cycles and link errors are returned as one
// error listing up to 20 [*InputError] values. Parse results come from cache when it holds
// them. With sourceInfo, descriptors carry source code info (positions and comments), as
// code generation needs.
func Compile(ctx context.Context, targets []string, lookup Lookup, cache *ParseCache, lim Limits, sourceInfo bool) (linker.Files, error) {
	tokens, weight := 0, 0
	for _, t := range targets {
		content, ok := lookup(t)
		if !ok {
			continue // the compiler reports it missing
		}
		n, err := scanFile(t, content, lim)
		if err != nil {
			return nil, err
		}
		if tokens += n; tokens > lim.MaxUploadTokens {
			return nil, &InputError{Msg: fmt.Sprintf("the .proto files compiled together have more than %d tokens, the limit for one upload; push fewer modules at once or split them", lim.MaxUploadTokens)}
		}
		// The parser copies the source a few times over, so long tokens cost too.
		weight += n + len(content)/bytesPerToken
	}
	release, err := lim.Budget.acquire(ctx, weight)
	if err != nil {
		return nil, err
	}
	defer release()
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
	if len(msg) > maxErrorBytes {
		msg = MessagePrefix(msg, maxErrorBytes) + "…"
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
