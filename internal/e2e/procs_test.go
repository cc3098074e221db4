package e2e

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// startServe runs lathe serve on a free port with the data directory (no example module),
// logging to stderr, and returns the process and its host:port.
func startServe(tb testing.TB, data string, stderr io.Writer) (*exec.Cmd, string) {
	tb.Helper()
	return startServeEnv(tb, data, stderr)
}

// startServeEnv is startServe with LATHE_… settings (KEY=VALUE) added to the environment.
func startServeEnv(tb testing.TB, data string, stderr io.Writer, env ...string) (*exec.Cmd, string) {
	tb.Helper()
	cmd := exec.Command(filepath.Join(binDir, "lathe"+exe), "serve", "--listen", "127.0.0.1:0", "--data", data, "--seed-example=false", "--install-plugins=false")
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	m := servingLine.FindStringSubmatch(line)
	if err != nil || m == nil {
		cmd.Process.Kill()
		cmd.Wait()
		tb.Fatalf("lathe serve printed %q (%v)", line, err)
	}
	return cmd, m[2]
}

// stopServe stops lathe serve gracefully and waits for it.
func stopServe(cmd *exec.Cmd) {
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
}

// createUser creates a user and a token with the CLI and returns the token.
func createUser(tb testing.TB, data, name string) string {
	tb.Helper()
	lathe := func(args ...string) string {
		out, err := exec.Command(filepath.Join(binDir, "lathe"+exe), append(args, "--data", data)...).Output()
		if err != nil {
			tb.Fatalf("lathe %v: %v", args, err)
		}
		return string(out)
	}
	lathe("user", "create", name)
	lines := strings.Split(strings.TrimSpace(lathe("token", "create", "--user", name)), "\n")
	return lines[len(lines)-1]
}
