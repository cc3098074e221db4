package testenv_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-registry/lathe/internal/testenv"
)

// recorder is a T that records how RequireTool stopped it.
type recorder struct{ fatal, skip string }

func (r *recorder) Fatal(args ...any) { r.fatal = args[0].(string) }
func (r *recorder) Skip(args ...any)  { r.skip = args[0].(string) }

func TestRequireTool(t *testing.T) {
	if p := testenv.RequireTool(t, "go"); !filepath.IsAbs(p) {
		t.Errorf("RequireTool(go) = %q, want an absolute path", p)
	}

	const missing = "lathe-no-such-tool"
	t.Setenv("CI", "true")
	var r recorder
	testenv.RequireTool(&r, missing)
	if r.skip != "" || !strings.Contains(r.fatal, missing) {
		t.Errorf("under CI=true: fatal %q, skip %q; want a failure naming %s", r.fatal, r.skip, missing)
	}

	t.Setenv("CI", "")
	r = recorder{}
	testenv.RequireTool(&r, missing)
	if r.fatal != "" || !strings.Contains(r.skip, missing) {
		t.Errorf("outside CI: fatal %q, skip %q; want a skip naming %s", r.fatal, r.skip, missing)
	}
}
