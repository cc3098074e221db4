package gosdk

import (
	"strings"
	"testing"

	"golang.org/x/mod/module"
)

// Proxy request paths, with their case-encoded (!x) module paths and versions, parse
// without panicking, and what they parse to spells the path back.
func FuzzProxyPath(f *testing.F) {
	for _, s := range []string{
		"h.example/gen/go/acme/m/protocolbuffers/go/@v/list",
		"h.example/gen/go/acme/m/protocolbuffers/go/@latest",
		"h.example/gen/go/!acme/m/protocolbuffers/go/v2/@v/v2.0.0-20261121143000-0123456789ab.1.info",
		"h.example/gen/go/t/acme/tpl/alice/m/@v/v1.2.3.zip",
		"h.example/gen/go/acme/m/protocolbuffers/go/@v/v1.0.0-!r!c.1-00000000000000-0123456789ab.2.mod",
		"h.example/gen/go/acme/m/protocolbuffers/go/sub/pkg/@v/list", "h.example/gen/go/@latest", "@v/x", "a/@v/b/c", "!", "",
	} {
		f.Add(s)
	}
	paths := Paths{Host: "h.example"}
	f.Fuzz(func(t *testing.T, rest string) {
		escPath, file, ok := splitRequest(rest)
		if !ok {
			return
		}
		if escPath+"/"+file != rest {
			t.Fatalf("splitRequest(%q) = %q, %q", rest, escPath, file)
		}
		modPath, err := module.UnescapePath(escPath)
		if err != nil {
			return
		}
		if s, major, ok := paths.Parse(modPath); ok {
			if !paths.Owns(modPath) {
				t.Errorf("Parse(%q) = %+v, but Owns says it is not the registry's", modPath, s)
			}
			if major != "" && !strings.HasSuffix(modPath, "/"+major) {
				t.Errorf("Parse(%q): major %q", modPath, major)
			}
		}
		if s, ok := paths.Enclosing(modPath); ok && !paths.Owns(modPath) {
			t.Errorf("Enclosing(%q) = %+v outside the registry", modPath, s)
		}
		v, err := module.UnescapeVersion(strings.TrimSuffix(strings.TrimPrefix(file, "@v/"), ".info"))
		if err != nil {
			return
		}
		for _, template := range []bool{false, true} {
			if vr, ok := parseVersion(template, v); ok && !template {
				if got := vr.bsr.PluginVersion + "-" + vr.bsr.Timestamp + "-" + vr.bsr.ShortCommit; !strings.HasPrefix(v, got) {
					t.Errorf("parseVersion(%q) = %+v", v, vr)
				}
			}
		}
	})
}
