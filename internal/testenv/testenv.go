// Package testenv is what tests ask of the machine they run on.
//
// A test that needs a program the suite cannot fetch itself (node, npm, python3, …) gets
// it from [RequireTool]. Under CI=true, which .ci/run sets, a missing program fails the
// test: a CI run promises that every test ran. Anywhere else the test skips and says
// what is missing, so that go test ./... stays useful on a machine without, say, npm.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
)

// T is what [RequireTool] needs of a test. A [testing.TB] has it, and so has the
// testscript.T of a script command (TestScript.T), so script commands that need a
// program follow the same rule as tests.
type T interface {
	Fatal(args ...any)
	Skip(args ...any)
}

// RequireTool returns the path of the program name found on PATH. If there is none, it
// fails t under CI=true and skips it otherwise; either way t stops.
func RequireTool(t T, name string) string {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(fmt.Sprintf("%s is required under CI=true: %v", name, err))
	} else {
		t.Skip(fmt.Sprintf("SKIPPING: %s is not installed (%v); under CI=true this fails", name, err))
	}
	return ""
}
