// Package module holds the rules for a module's content, independent of storage and API:
//
//  1. [CheckFiles] validates an uploaded file set: paths, kinds, sizes, encoding.
//  2. [Compile] compiles the module's .proto files against its dependencies.
//  3. [B5] computes the b5 digest exactly as the buf CLI does, so that buf can verify
//     what it downloads.
//
// Errors that are the uploader's fault are [*InputError] values: they name the file (and
// line, where there is one) and say what to do.
package module

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/bufbuild/protocompile"
)

// File is one file of a module, with a module-relative, slash-separated path.
type File struct {
	Path    string
	Content []byte
}

// Limits bound what one upload may contain and what compiling it may cost. Sizes bound
// the request; tokens and nesting bound the parser, whose memory grows with the tokens it
// reads (up to about 1 KiB of heap a token, in option values) and with unclosed nesting.
// A cheap scan checks them before any parser runs.
type Limits struct {
	// MaxFiles is the most files one module commit may have.
	MaxFiles int
	// MaxFileBytes is the largest size of one file.
	MaxFileBytes int
	// MaxModuleBytes is the largest total size of one module commit's files.
	MaxModuleBytes int
	// MaxFileTokens is the most tokens, comments included, one .proto file may have.
	MaxFileTokens int
	// MaxNesting is the deepest one .proto file may nest braces, brackets, parentheses
	// and angle brackets.
	MaxNesting int
	// MaxUploadTokens is the most tokens the .proto files compiled together may have:
	// those of one module commit, and those of one upload.
	MaxUploadTokens int
	// Budget, if not nil, is shared by every compilation and bounds them in total.
	Budget *CompileBudget
}

// DefaultLimits are generous for real schemas while keeping one push's memory bounded.
// The largest public modules have a few thousand files of well under 1 MiB; the largest
// .proto file of googleapis (google/cloud/compute/v1beta/compute.proto, 4 MiB) has
// 232,000 tokens and the deepest nests 9 levels; protoc allows messages to nest 32 deep.
var DefaultLimits = Limits{ //nolint:gochecknoglobals // read-only defaults
	MaxFiles:        20000,
	MaxFileBytes:    4 << 20,
	MaxModuleBytes:  64 << 20,
	MaxFileTokens:   1 << 19,
	MaxNesting:      64,
	MaxUploadTokens: 1 << 19,
}

// InputError is a problem with uploaded content that the uploader must fix.
type InputError struct {
	// Path is the module-relative file path, if the problem is in one file.
	Path string
	// Line and Column are 1-based; 0 when unknown.
	Line, Column int
	Msg          string
}

func (e *InputError) Error() string {
	switch {
	case e.Path == "":
		return e.Msg
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.Path, e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
	default:
		return fmt.Sprintf("%s: %s", e.Path, e.Msg)
	}
}

func inputErrorf(p string, format string, args ...any) *InputError {
	return &InputError{Path: p, Msg: fmt.Sprintf(format, args...)}
}

// standardImports resolves exactly the files the compiler provides itself.
var standardImports = protocompile.WithStandardImports(protocompile.ResolverFunc( //nolint:gochecknoglobals // read-only table
	func(string) (protocompile.SearchResult, error) { return protocompile.SearchResult{}, fs.ErrNotExist }))

// docFiles are the documentation files a module may carry, in buf's order of preference.
var docFiles = []string{"buf.md", "README.md", "README.markdown"} //nolint:gochecknoglobals // read-only table

// IsProto reports whether a module path is a .proto file.
func IsProto(p string) bool { return strings.HasSuffix(p, ".proto") }

// IsDoc reports whether a module path is the module's documentation file.
func IsDoc(p string) bool {
	for _, d := range docFiles {
		if p == d {
			return true
		}
	}
	return false
}

// CheckFiles validates the file set of one module commit. It checks every rule buf applies
// to a module's content, so that what Lathe stores is exactly what buf would digest:
// .proto files, LICENSE and at most one documentation file; clean relative paths; no
// duplicates; valid UTF-8; sizes within lim.
func CheckFiles(files []File, lim Limits) error {
	if len(files) == 0 {
		return &InputError{Msg: "the module has no files; a module needs at least one .proto file"}
	}
	if len(files) > lim.MaxFiles {
		return &InputError{Msg: fmt.Sprintf("the module has %d files, more than the limit of %d", len(files), lim.MaxFiles)}
	}
	seen := make(map[string]struct{}, len(files))
	var total, protos int
	var doc string
	for _, f := range files {
		if err := CheckPath(f.Path); err != nil {
			return err
		}
		if _, ok := seen[f.Path]; ok {
			return inputErrorf(f.Path, "duplicate path: each file may appear only once")
		}
		seen[f.Path] = struct{}{}
		switch {
		case IsProto(f.Path):
			protos++
		case f.Path == "LICENSE":
		case IsDoc(f.Path):
			if doc != "" {
				return inputErrorf(f.Path, "a module has one documentation file, but %s is also present", doc)
			}
			doc = f.Path
		default:
			return inputErrorf(f.Path, "not a module file: a module holds only .proto files, LICENSE and one of buf.md, README.md, README.markdown")
		}
		if len(f.Content) > lim.MaxFileBytes {
			return inputErrorf(f.Path, "file is %d bytes, more than the limit of %d", len(f.Content), lim.MaxFileBytes)
		}
		total += len(f.Content)
		if total > lim.MaxModuleBytes {
			return &InputError{Msg: fmt.Sprintf("the module's files total more than the limit of %d bytes", lim.MaxModuleBytes)}
		}
		if !utf8.Valid(f.Content) {
			line := 1 + strings.Count(string(f.Content[:invalidUTF8Offset(f.Content)]), "\n")
			return &InputError{Path: f.Path, Line: line, Msg: "file is not valid UTF-8 text"}
		}
	}
	if protos == 0 {
		return &InputError{Msg: "the module has no .proto files"}
	}
	if err := checkShadowing(files); err != nil {
		return err
	}
	tokens := 0
	for _, f := range files {
		if IsProto(f.Path) {
			n, err := scanFile(f.Path, f.Content, lim)
			if err != nil {
				return err
			}
			if tokens += n; tokens > lim.MaxUploadTokens {
				return &InputError{Msg: fmt.Sprintf("the module's .proto files have more than %d tokens, the limit for what is compiled at once; split the module", lim.MaxUploadTokens)}
			}
		}
	}
	return nil
}

// checkShadowing rejects files that would replace a well-known type, which every
// compilation takes from the compiler instead, and paths that differ only in case, which
// cannot both be checked out or zipped on case-insensitive file systems.
func checkShadowing(files []File) error {
	byFold := make(map[string]string, len(files))
	for _, f := range files {
		if IsWellKnown(f.Path) {
			return inputErrorf(f.Path, "the file is a well-known type that every compilation takes from the compiler; remove it from the module")
		}
		fold := strings.ToLower(f.Path)
		if other, ok := byFold[fold]; ok {
			return inputErrorf(f.Path, "the path differs from %s only in case; rename one of them", other)
		}
		byFold[fold] = f.Path
	}
	// Directories too: pub/V1/a.proto and pub/v1/b.proto cannot both be checked out.
	dirs := make(map[string]string)
	for _, f := range files {
		for i := range len(f.Path) {
			if f.Path[i] != '/' {
				continue
			}
			dir := f.Path[:i]
			fold := strings.ToLower(dir)
			other, ok := dirs[fold]
			if !ok {
				dirs[fold] = f.Path
				continue
			}
			if otherDir := other[:i]; otherDir != dir {
				return inputErrorf(f.Path, "its directory %s differs from %s (of %s) only in case; rename one of them", dir, otherDir, other)
			}
		}
	}
	return nil
}

// scanFile checks one .proto file against the limits on tokens and nesting, before the
// parser sees it, and returns its count of tokens.
func scanFile(p string, content []byte, lim Limits) (int, error) {
	shape, stop := scanSource(content, lim.MaxFileTokens, lim.MaxNesting)
	switch {
	case stop == nil:
		return shape.tokens, nil
	case stop.tokens:
		return 0, &InputError{Path: p, Line: stop.line, Column: stop.column,
			Msg: fmt.Sprintf("the file has more than %d tokens (comments included), the limit for one file; split it into several files", lim.MaxFileTokens)}
	default:
		return 0, &InputError{Path: p, Line: stop.line, Column: stop.column,
			Msg: fmt.Sprintf("nesting is deeper than %d levels of braces, brackets, parentheses and angle brackets, the limit; close what is open or flatten the declarations", lim.MaxNesting)}
	}
}

// IsWellKnown reports whether a path is one of the well-known types and other standard
// imports that the compiler provides.
func IsWellKnown(p string) bool {
	_, err := standardImports.FindFileByPath(p)
	return err == nil
}

func invalidUTF8Offset(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// MessagePrefix returns at most the first n bytes of s, cut at a rune boundary and made
// valid UTF-8: messages travel in protobuf strings, which must be valid UTF-8.
func MessagePrefix(s string, n int) string {
	if len(s) > n {
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// CheckPath rejects paths that are not clean, relative, slash-separated module paths.
func CheckPath(p string) error {
	switch {
	case p == "":
		return &InputError{Msg: "a file has an empty path"}
	case len(p) > 4096:
		return inputErrorf(MessagePrefix(p, 64)+"…", "path is longer than 4096 bytes")
	case !utf8.ValidString(p):
		return &InputError{Msg: fmt.Sprintf("path %q is not valid UTF-8", p)}
	case strings.HasPrefix(p, "/"):
		return inputErrorf(p, "absolute path: paths must be relative to the module root")
	case strings.Contains(p, "\\"):
		return inputErrorf(p, "path contains a backslash: use / as the separator")
	case strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return &InputError{Msg: fmt.Sprintf("path %q contains control characters", p)}
	}
	for _, elem := range strings.Split(p, "/") {
		if elem == ".." {
			return inputErrorf(p, "path contains ..: paths must stay inside the module")
		}
	}
	if path.Clean(p) != p {
		return inputErrorf(p, "path is not clean (it has empty, . or trailing elements); use %q", path.Clean(p))
	}
	return nil
}
