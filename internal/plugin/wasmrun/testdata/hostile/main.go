// Command hostile misbehaves in the way its first argument names, to test the sandbox.
// Built with GOOS=wasip1 GOARCH=wasm.
package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: hostile mode [args]")
		os.Exit(2)
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "echo": // stdin to stdout
		if _, err := io.Copy(os.Stdout, os.Stdin); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "args":
		fmt.Print(strings.Join(os.Args, "\n"))
	case "env":
		fmt.Print(strings.Join(os.Environ(), "\n"))
	case "loop":
		for {
		}
	case "alloc": // 4 GiB in 64 MiB blocks, each touched so that it is really used
		var blocks [][]byte
		for range 64 {
			b := make([]byte, 64<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			blocks = append(blocks, b)
		}
		fmt.Println("allocated", len(blocks)*64, "MiB")
	case "alloc-once": // one block of 3 GiB: 4 GiB is more than Go on wasm can address
		b := make([]byte, 3<<30)
		b[len(b)-1] = 1
		fmt.Println("allocated", len(b))
	case "open": // every argument is a path; each must fail
		for _, p := range args {
			data, err := os.ReadFile(p)
			if err != nil {
				fmt.Printf("denied %s: %v\n", p, err)
				continue
			}
			fmt.Printf("read %s: %q\n", p, data)
		}
		for _, d := range []string{"/", "."} {
			entries, err := os.ReadDir(d)
			if err != nil {
				fmt.Printf("denied %s: %v\n", d, err)
				continue
			}
			fmt.Printf("listed %s: %d entries\n", d, len(entries))
		}
		if err := os.WriteFile("/tmp/hostile-was-here", []byte("x"), 0o644); err != nil {
			fmt.Printf("denied write: %v\n", err)
		} else {
			fmt.Println("wrote /tmp/hostile-was-here")
		}
	case "net": // args are TCP addresses; each dial must fail
		for _, addr := range args {
			dial(addr)
		}
	case "write": // args[0] bytes of 'x'
		n, _ := strconv.Atoi(args[0])
		os.Stdout.Write(bytes.Repeat([]byte("x"), n))
	case "flood": // 1 GiB to stdout, ignoring errors as a hostile plugin would
		b := bytes.Repeat([]byte("y"), 1<<20)
		for range 1024 {
			os.Stdout.Write(b)
		}
		fmt.Fprintln(os.Stderr, "flooded")
	case "stderr": // 1 MiB to stderr, ending with a marker, then fail
		b := bytes.Repeat([]byte("e"), 1<<20)
		os.Stderr.Write(b)
		fmt.Fprint(os.Stderr, "END OF STDERR")
		os.Exit(1)
	case "exit3":
		fmt.Fprintln(os.Stderr, "protoc-gen-broken: something broke")
		os.Exit(3)
	case "garbage":
		os.Stdout.Write([]byte{0xff, 0x00, 0xfe, 'n', 'o', 't', ' ', 'p', 'r', 'o', 't', 'o', 0x80})
	case "panic":
		var m map[string]int
		m["x"] = 1
	case "time": // what the clocks say, and whether sleeping blocks
		start := time.Now()
		time.Sleep(time.Hour)
		fmt.Printf("now=%s slept=%s\n", start.UTC().Format(time.RFC3339), time.Since(start))
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", os.Args[1])
		os.Exit(2)
	}
}

// dial connects to addr. Go's net package on wasip1 has only an in-process network
// (and sockets the host preopens, of which there are none), so this must fail.
func dial(addr string) {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		fmt.Printf("denied %s: %v\n", addr, err)
		return
	}
	conn.Write([]byte("escaped"))
	conn.Close()
	fmt.Printf("connected %s\n", addr)
}
