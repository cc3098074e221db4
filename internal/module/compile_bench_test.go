package module

import (
	"context"
	"fmt"
	"testing"

	"github.com/lathe-registry/lathe/internal/module/modtest"
)

func BenchmarkCompile500(b *testing.B) {
	files := modtest.Generate(50, 10)
	var targets []string
	for p := range files {
		targets = append(targets, p)
	}
	lookup := func(p string) ([]byte, bool) { c, ok := files[p]; return c, ok }
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			if _, err := Compile(context.Background(), targets, lookup, nil, DefaultLimits, false); err != nil {
				b.Fatal(err)
			}
		}
	})
	// One file changes between compilations, as in a push of a new commit: the root of
	// the import graph, so every other file must be linked again.
	b.Run("one-changed", func(b *testing.B) {
		cache := NewParseCache(64 << 20)
		if _, err := Compile(context.Background(), targets, lookup, cache, DefaultLimits, false); err != nil {
			b.Fatal(err)
		}
		root := files["pkg0/v1/file0.proto"]
		i := 0
		for b.Loop() {
			i++
			files["pkg0/v1/file0.proto"] = fmt.Appendf(append([]byte(nil), root...), "// change %d\n", i)
			if _, err := Compile(context.Background(), targets, lookup, cache, DefaultLimits, false); err != nil {
				b.Fatal(err)
			}
		}
	})
}
