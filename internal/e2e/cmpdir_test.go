package e2e

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmpdir DIR1 DIR2 checks that two directory trees hold the same files with the same bytes.
func cmdCmpDir(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: cmpdir DIR1 DIR2")
	}
	read := func(dir string) map[string][]byte {
		files := map[string][]byte{}
		root := ts.MkAbs(dir)
		ts.Check(filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			files[rel], err = os.ReadFile(p)
			return err
		}))
		return files
	}
	a, b := read(args[0]), read(args[1])
	var names []string
	for n := range a {
		names = append(names, n)
	}
	for n := range b {
		if _, ok := a[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		ts.Fatalf("cmpdir: both %s and %s are empty", args[0], args[1])
	}
	for _, n := range names {
		switch x, y := a[n], b[n]; {
		case x == nil:
			ts.Fatalf("cmpdir: %s is only in %s", n, args[1])
		case y == nil:
			ts.Fatalf("cmpdir: %s is only in %s", n, args[0])
		case !bytes.Equal(x, y):
			ts.Fatalf("cmpdir: %s differs:\n%s\n---\n%s", n, x, y)
		}
	}
	ts.Logf("%d files identical", len(names))
}
