// Command hostile misbehaves on request, for the sandbox tests. Its first argument
// selects what it does; results go to stdout, one per line, as the tests expect them.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"
)

func main() {
	args := os.Args[2:]
	switch os.Args[1] {
	case "echo": // copy stdin to stdout
		if _, err := io.Copy(os.Stdout, os.Stdin); err != nil {
			fail(err)
		}
	case "loop": // spin forever on every CPU
		for range runtime.NumCPU() - 1 {
			go spin()
		}
		spin()
	case "alloc": // allocate and touch args[0] MiB
		var n int
		fmt.Sscan(args[0], &n)
		var chunks [][]byte
		for range n {
			b := make([]byte, 1<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			chunks = append(chunks, b)
		}
		fmt.Println("allocated", len(chunks), "MiB")
	case "forkbomb": // every process starts copies of itself, forever; args[0] is a token
		for {
			cmd := exec.Command("/proc/self/exe", "forkbomb", args[0])
			if err := cmd.Start(); err != nil {
				fmt.Fprintln(os.Stderr, "fork failed:", err)
				time.Sleep(10 * time.Millisecond)
			}
		}
	case "read": // try to read each path (a directory is listed)
		for _, p := range args {
			if entries, err := os.ReadDir(p); err == nil {
				names := make([]string, len(entries))
				for i, e := range entries {
					names[i] = e.Name()
				}
				fmt.Printf("%s: ok %s\n", p, strings.Join(names, ","))
			} else if data, err := os.ReadFile(p); err == nil {
				fmt.Printf("%s: ok %q\n", p, data)
			} else {
				fmt.Printf("%s: error %v\n", p, err)
			}
		}
	case "write": // try to create each file
		for _, p := range args {
			if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
				fmt.Printf("%s: error %v\n", p, err)
			} else {
				fmt.Printf("%s: ok\n", p)
			}
		}
	case "connect": // try to connect to each address, TCP and UDP
		for _, a := range args {
			c, err := net.DialTimeout("tcp", a, 2*time.Second)
			if err == nil {
				c.Close()
				fmt.Printf("tcp %s: ok\n", a)
			} else {
				fmt.Printf("tcp %s: error %v\n", a, err)
			}
			if c, err := net.Dial("udp", a); err == nil {
				_, err = c.Write([]byte("x"))
				c.Close()
				if err == nil {
					fmt.Printf("udp %s: ok\n", a)
					continue
				}
				fmt.Printf("udp %s: error %v\n", a, err)
			} else {
				fmt.Printf("udp %s: error %v\n", a, err)
			}
		}
	case "flood": // write args[0] MiB to stdout, ignoring errors
		var n int
		fmt.Sscan(args[0], &n)
		b := make([]byte, 1<<20)
		for range n {
			os.Stdout.Write(b)
		}
	case "background": // leave a detached child behind that writes its pid to a file
		cmd := exec.Command("/proc/self/exe", "linger", args[0])
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			fail(err)
		}
		fmt.Println("started", cmd.Process.Pid)
	case "background-group": // the same without leaving the process group
		cmd := exec.Command("/proc/self/exe", "linger", args[0])
		if err := cmd.Start(); err != nil {
			fail(err)
		}
		fmt.Println("started", cmd.Process.Pid)
	case "linger": // ignore hangups, then say "alive" in the file every 50ms, for a minute
		signalIgnore()
		for range 1200 {
			os.WriteFile(args[0], []byte("alive "+time.Now().Format(time.RFC3339Nano)), 0o644)
			time.Sleep(50 * time.Millisecond)
		}
	case "fill": // write args[0] MiB to a file in the working directory
		var n int
		fmt.Sscan(args[0], &n)
		f, err := os.Create("fill")
		if err != nil {
			fail(err)
		}
		b := make([]byte, 1<<20)
		for i := range n {
			if _, err := f.Write(b); err != nil {
				fmt.Printf("wrote %d MiB: error %v\n", i, err)
				return
			}
		}
		fmt.Printf("wrote %d MiB: ok\n", n)
	case "env":
		fmt.Print(strings.Join(os.Environ(), "\n"))
	case "exit": // write to stderr and exit with args[0]
		var code int
		fmt.Sscan(args[0], &code)
		fmt.Fprintln(os.Stderr, "failing on purpose")
		os.Exit(code)
	case "whoami":
		wd, _ := os.Getwd()
		host, _ := os.Hostname()
		fmt.Printf("uid=%d gid=%d pid=%d cwd=%s host=%s\n", os.Getuid(), os.Getgid(), os.Getpid(), wd, host)
		status, _ := os.ReadFile("/proc/self/status")
		for _, l := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(l, "Cap") || strings.HasPrefix(l, "NoNewPrivs") || strings.HasPrefix(l, "Seccomp:") {
				fmt.Println(strings.Join(strings.Fields(l), " "))
			}
		}
	case "unshare": // try to gain privileges in new namespaces
		err := syscall.Unshare(syscall.CLONE_NEWUSER)
		fmt.Println("unshare:", errString(err))
		cmd := exec.Command("/proc/self/exe", "exit", "0")
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER}
		fmt.Println("clone:", errString(cmd.Run()))
		err = syscall.Mount("tmpfs", "/tmp", "tmpfs", 0, "")
		fmt.Println("mount:", errString(err))
		err = syscall.Chroot("/tmp")
		fmt.Println("chroot:", errString(err))
		_, _, e := syscall.RawSyscall(syscall.SYS_PTRACE, syscall.PTRACE_TRACEME, 0, 0)
		fmt.Println("ptrace:", errString(errOrNil(e)))
	case "traceme": // make a thread other than the main one a tracee of the parent, then exit
		runtime.LockOSThread() // the main goroutine keeps the main thread
		result := make(chan error)
		go func() {
			runtime.LockOSThread() // so this is another thread
			_, _, e := syscall.RawSyscall(syscall.SYS_PTRACE, syscall.PTRACE_TRACEME, 0, 0)
			result <- errOrNil(e)
			select {} // and stay, until the process exits
		}()
		fmt.Println("traceme:", errString(<-result))
	default:
		fail(fmt.Errorf("unknown mode %q", os.Args[1]))
	}
}

func spin() {
	for {
	}
}

func signalIgnore() { signal.Ignore(syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT) }

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return "error " + err.Error()
}

func errOrNil(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
