package pluginconfig

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds Parse arbitrary bytes, seeded with every real buf.plugin.yaml in
// testdata: it must never panic, and a file it accepts must name a plugin and a version.
func FuzzParse(f *testing.F) {
	err := filepath.WalkDir(filepath.Join("testdata", "bufbuild-plugins"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.Name() != "buf.plugin.yaml" {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f.Add(data)
		return nil
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte("version: v1\nname: buf.build/a/b\nplugin_version: v1.0.0\nregistry:\n  go: &g {}\n  opts: *g\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if c != nil {
				t.Fatalf("Parse returned a config and the error %v", err)
			}
			return
		}
		if c.Owner == "" || c.Name == "" || c.PluginVersion == "" || strings.Count(c.Ref(), "/") != 1 {
			t.Fatalf("accepted a config without a full identity: %q", c.Ref())
		}
		if c.Registry != nil {
			_ = c.Registry.Kind()
		}
		for _, d := range c.Deps {
			if d.Owner == "" || d.Name == "" || d.Version == "" {
				t.Fatalf("accepted a dependency without a full identity: %q", d)
			}
		}
	})
}
