package nativerun

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lathe-registry/lathe/internal/plugin"
)

// cgroups are where runs get cgroups of their own: one per run, under a parent
// directory per controller. Memory and pids are the controllers used: memory because it
// counts what a process tree really uses (RSS, page cache, tmpfs) rather than address
// space, and pids because it covers threads and every process of the tree at once.
// Either may be missing, and the runner then falls back to the matching rlimit.
type cgroups struct {
	mem, pids *controller
}

type controller struct {
	parent string // directory under which run cgroups are made
	v2     bool
}

// detectCgroups finds parents for per-run cgroups: parent if given (a cgroup v2
// directory delegated to Lathe), else Lathe's own cgroup, of each controller's v1
// hierarchy or of the v2 one. It returns nil and why when neither controller is usable.
func detectCgroups(parent string) (*cgroups, error) {
	var cg cgroups
	if parent != "" {
		c := &controller{parent: parent, v2: true}
		if err := enableV2(parent, "memory", "pids"); err != nil {
			return nil, err
		}
		cg.mem, cg.pids = c, c
	} else {
		own, err := ownCgroups()
		if err != nil {
			return nil, err
		}
		var errs []error
		for _, name := range []string{"memory", "pids"} {
			c, err := own.controller(name)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if name == "memory" {
				cg.mem = c
			} else {
				cg.pids = c
			}
		}
		if cg.mem == nil && cg.pids == nil {
			return nil, errors.Join(errs...)
		}
	}
	cg.removeStale()
	// A trial run cgroup proves that the parents are writable and the files there.
	rc, err := cg.create(fmt.Sprintf("lathe-probe-%s", runNonce), plugin.DefaultLimits)
	if err != nil {
		return nil, err
	}
	if err := rc.remove(); err != nil {
		return nil, err
	}
	return &cg, nil
}

// removeStale removes the run cgroups that processes which are gone left behind (a
// Lathe killed during a run). A cgroup still in use cannot be removed anyway.
func (cg *cgroups) removeStale() {
	for _, c := range []*controller{cg.mem, cg.pids} {
		if c == nil {
			continue
		}
		dirs, _ := filepath.Glob(filepath.Join(c.parent, "lathe-*-*-*"))
		for _, d := range dirs {
			// lathe-run-PID-NONCE-SEQ or lathe-probe-PID-NONCE
			parts := strings.Split(filepath.Base(d), "-")
			if len(parts) < 4 {
				continue
			}
			pid, err := strconv.Atoi(parts[2])
			if err != nil || pid == os.Getpid() {
				continue
			}
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); errors.Is(err, os.ErrNotExist) {
				_ = unix.Rmdir(d)
			}
		}
	}
}

func (cg *cgroups) String() string {
	var parts []string
	for _, c := range []struct {
		name string
		c    *controller
	}{{"memory", cg.mem}, {"pids", cg.pids}} {
		if c.c == nil {
			continue
		}
		v := "v1"
		if c.c.v2 {
			v = "v2"
		}
		parts = append(parts, fmt.Sprintf("%s (cgroup %s under %s)", c.name, v, c.c.parent))
	}
	return strings.Join(parts, ", ")
}

// ownCgroup is the process's cgroup membership and the cgroup mounts it can see.
type ownCgroup struct {
	paths  map[string]string // v1 controller -> cgroup path; "" -> v2 path
	mounts []cgroupMount
}

type cgroupMount struct {
	point, root string
	v2          bool
	options     []string // super options of v1 mounts, which name the controllers
}

func ownCgroups() (*ownCgroup, error) {
	own := &ownCgroup{paths: map[string]string{}}
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		// hierarchy-ID:controller-list:cgroup-path
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			own.paths[""] = parts[2]
			continue
		}
		for c := range strings.SplitSeq(parts[1], ",") {
			own.paths[c] = parts[2]
		}
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if sep < 5 || len(fields) < sep+4 {
			continue
		}
		switch fields[sep+1] {
		case "cgroup":
			own.mounts = append(own.mounts, cgroupMount{point: unescapeMount(fields[4]), root: unescapeMount(fields[3]), options: strings.Split(fields[sep+3], ",")})
		case "cgroup2":
			own.mounts = append(own.mounts, cgroupMount{point: unescapeMount(fields[4]), root: unescapeMount(fields[3]), v2: true})
		}
	}
	return own, sc.Err()
}

// controller returns where run cgroups of the named controller go: under the process's
// own cgroup of the v1 hierarchy that has the controller, else of the v2 hierarchy if the
// controller can be enabled for children there.
func (own *ownCgroup) controller(name string) (*controller, error) {
	if path, ok := own.paths[name]; ok {
		for _, m := range own.mounts {
			if !m.v2 && slices.Contains(m.options, name) {
				dir, err := m.dir(path)
				if err != nil {
					return nil, err
				}
				return &controller{parent: dir}, nil
			}
		}
		return nil, fmt.Errorf("cgroup v1 %s hierarchy not mounted", name)
	}
	path, ok := own.paths[""]
	if !ok {
		return nil, fmt.Errorf("no cgroup %s controller", name)
	}
	for _, m := range own.mounts {
		if m.v2 {
			dir, err := m.dir(path)
			if err != nil {
				return nil, err
			}
			if err := enableV2(dir, name); err != nil {
				return nil, err
			}
			return &controller{parent: dir, v2: true}, nil
		}
	}
	return nil, errors.New("cgroup v2 hierarchy not mounted")
}

func (m cgroupMount) dir(path string) (string, error) {
	if m.root != "/" {
		rel, ok := strings.CutPrefix(path, m.root)
		if !ok || (rel != "" && rel[0] != '/') {
			return "", fmt.Errorf("own cgroup %s is outside the mount of %s at %s", path, m.root, m.point)
		}
		path = rel
	}
	return filepath.Join(m.point, path), nil
}

// enableV2 makes the controllers available to the children of a v2 cgroup. That fails
// (EBUSY) for a cgroup other than the root that has processes of its own, such as the
// cgroup a service runs in; a delegated, empty parent is then needed (WithCgroupParent).
func enableV2(dir string, names ...string) error {
	have, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
	if err != nil {
		return err
	}
	for _, name := range names {
		if slices.Contains(strings.Fields(string(have)), name) {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+"+name), 0); err != nil {
			return fmt.Errorf("enabling the cgroup v2 %s controller in %s: %w", name, dir, err)
		}
	}
	return nil
}

// runCgroup is the cgroup (one per v1 hierarchy, or one v2 cgroup) of one run.
type runCgroup struct {
	dirs       []string
	mem, pids  string // "" without the controller
	memV2, pV2 bool
}

// create makes the cgroups of a run and sets their limits.
func (cg *cgroups) create(name string, lim plugin.Limits) (rc *runCgroup, err error) {
	rc = &runCgroup{}
	defer func() {
		if err != nil {
			_ = rc.remove()
			rc = nil
		}
	}()
	mkdir := func(c *controller) (string, error) {
		dir := filepath.Join(c.parent, name)
		for _, d := range rc.dirs {
			if d == dir { // v2: memory and pids share the cgroup
				return dir, nil
			}
		}
		if err := os.Mkdir(dir, 0o700); err != nil {
			return "", err
		}
		rc.dirs = append(rc.dirs, dir)
		return dir, nil
	}
	if cg.mem != nil {
		if rc.mem, err = mkdir(cg.mem); err != nil {
			return rc, err
		}
		rc.memV2 = cg.mem.v2
		limit := strconv.FormatInt(lim.Memory, 10)
		if rc.memV2 {
			if err := writeCgroup(rc.mem, "memory.max", limit); err != nil {
				return rc, err
			}
			// Without swap the limit is the memory really used, and one OOM kill takes
			// the whole tree, which is then reported once. Both files may be missing
			// (no swap accounting, old kernels).
			_ = writeCgroup(rc.mem, "memory.swap.max", "0")
			_ = writeCgroup(rc.mem, "memory.oom.group", "1")
		} else {
			if err := writeCgroup(rc.mem, "memory.limit_in_bytes", limit); err != nil {
				return rc, err
			}
			_ = writeCgroup(rc.mem, "memory.memsw.limit_in_bytes", limit)
		}
	}
	if cg.pids != nil {
		if rc.pids, err = mkdir(cg.pids); err != nil {
			return rc, err
		}
		rc.pV2 = cg.pids.v2
		if err := writeCgroup(rc.pids, "pids.max", strconv.Itoa(lim.Processes)); err != nil {
			return rc, err
		}
	}
	return rc, nil
}

// add moves a process into the run's cgroups. Its descendants stay there.
func (rc *runCgroup) add(pid int) error {
	for _, d := range rc.dirs {
		if err := writeCgroup(d, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

// oomKilled tells whether the memory controller killed a process of the run.
func (rc *runCgroup) oomKilled() bool {
	if rc == nil || rc.mem == "" {
		return false
	}
	if rc.memV2 {
		return cgroupField(rc.mem, "memory.events", "oom_kill") > 0
	}
	return cgroupField(rc.mem, "memory.oom_control", "oom_kill") > 0
}

// pidsMax tells whether a fork of the run failed at the process limit.
func (rc *runCgroup) pidsMax() bool {
	if rc == nil || rc.pids == "" {
		return false
	}
	return cgroupField(rc.pids, "pids.events", "max") > 0
}

// remove deletes the run's cgroups. The run's processes are gone by then, but the
// kernel may take a moment to notice.
func (rc *runCgroup) remove() error {
	var errs []error
	for _, d := range rc.dirs {
		var err error
		for range 200 {
			err = unix.Rmdir(d)
			if err != unix.EBUSY {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err != nil && err != unix.ENOENT {
			errs = append(errs, fmt.Errorf("removing cgroup %s: %w", d, err))
		}
	}
	return errors.Join(errs...)
}

func writeCgroup(dir, file, value string) error {
	return os.WriteFile(filepath.Join(dir, file), []byte(value), 0)
}

// cgroupField reads a "key value" line of a flat-keyed cgroup file; 0 if missing.
func cgroupField(dir, file, key string) int64 {
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == key {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// unescapeMount undoes the octal escapes (\040 for a space) of /proc/self/mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
