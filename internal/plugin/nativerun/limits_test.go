//go:build linux

package nativerun

import (
	"os"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSetRlimits sets a child's rlimits: never above the hard limit it has, and an
// error, not silence, when they cannot be set.
func TestSetRlimits(t *testing.T) {
	cmd := exec.Command(hostile, "linger", uniqueToken())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	if err := unix.Prlimit(pid, unix.RLIMIT_CPU, &unix.Rlimit{Cur: 100, Max: 100}, nil); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ set, want uint64 }{{1000, 100}, {10, 10}} {
		if err := setRlimits(pid, []rlimitSpec{{unix.RLIMIT_CPU, tt.set}}); err != nil {
			t.Fatal(err)
		}
		var got unix.Rlimit
		if err := unix.Prlimit(pid, unix.RLIMIT_CPU, nil, &got); err != nil {
			t.Fatal(err)
		}
		if got.Cur != tt.want || got.Max != tt.want {
			t.Errorf("set %d: rlimit %+v, want %d", tt.set, got, tt.want)
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if err := setRlimits(pid, []rlimitSpec{{unix.RLIMIT_CPU, 10}}); err == nil {
		t.Error("setting the rlimits of a process that is gone succeeded")
	}
}

// TestCloseOnExecEach marks an inherited fd close-on-exec, as the sandbox init does on
// kernels without CLOSE_RANGE_CLOEXEC.
func TestCloseOnExecEach(t *testing.T) {
	fd, err := unix.Open(os.DevNull, unix.O_RDONLY, 0) // without O_CLOEXEC
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC != 0 {
		t.Fatalf("flags %#x, %v before", flags, err)
	}
	if err := closeOnExecEach(fd); err != nil {
		t.Fatal(err)
	}
	if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("flags %#x, %v after: not close-on-exec", flags, err)
	}
}
