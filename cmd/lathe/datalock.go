package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// lockFileName is the file in the data directory that a serving lathe holds locked.
const lockFileName = "serve.lock"

// dataLock is the exclusive hold of one lathe serve on its data directory. Two servers
// on one directory would both run the job queue and sweep each other's temporary
// files; the admin commands take no lock, so they keep working beside a server (SQLite
// serializes their writes).
//
// The lock is a flock on the lock file, which the kernel releases when the process
// ends however it ends: a server killed with SIGKILL leaves a file that the next one
// simply locks again. The file says who holds it, for the message of the next server.
type dataLock struct{ f *os.File }

// lockDataDir takes the data directory's lock, or fails at once naming its holder.
func lockDataDir(dir string) (*dataLock, error) {
	name := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the data directory's lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		defer f.Close()
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("locking %s: %w", name, err)
		}
		holder, _ := os.ReadFile(name)
		return nil, fmt.Errorf("data directory %s is in use by another lathe serve (%s); stop that server first, or give this one another --data",
			dir, describeHolder(string(holder)))
	}
	l := &dataLock{f: f}
	if err := l.record("pid", fmt.Sprint(os.Getpid()), "started", time.Now().UTC().Format(time.RFC3339)); err != nil {
		l.release()
		return nil, err
	}
	return l, nil
}

// record rewrites the lock file as "key value" lines.
func (l *dataLock) record(kv ...string) error {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, "%s %s\n", kv[i], kv[i+1])
	}
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("writing the data directory's lock: %w", err)
	}
	if _, err := l.f.WriteAt([]byte(b.String()), 0); err != nil {
		return fmt.Errorf("writing the data directory's lock: %w", err)
	}
	return nil
}

// serving adds the URL the holder serves on to the lock file.
func (l *dataLock) serving(url string) error {
	holder, err := os.ReadFile(l.f.Name())
	if err != nil {
		return fmt.Errorf("reading the data directory's lock: %w", err)
	}
	return l.record(append(strings.Fields(string(holder)), "address", url)...)
}

// release gives the lock up. The file stays: removing it would race with a server
// that has opened it and is about to lock it.
func (l *dataLock) release() { l.f.Close() }

// describeHolder renders a lock file's content for a message: "pid 12, serving on
// http://…, started …".
func describeHolder(content string) string {
	fields := strings.Fields(content)
	var parts []string
	for i := 0; i+1 < len(fields); i += 2 {
		switch fields[i] {
		case "pid":
			parts = append(parts, "pid "+fields[i+1])
		case "address":
			parts = append(parts, "serving on "+fields[i+1])
		case "started":
			parts = append(parts, "started "+fields[i+1])
		}
	}
	if len(parts) == 0 {
		return "which is still starting"
	}
	return strings.Join(parts, ", ")
}
