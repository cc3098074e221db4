package nativerun

// DefaultSystemPaths are the host paths every plugin sees read-only: what the dynamic
// loader and shared libraries of a dynamically linked program need, nothing else.
var DefaultSystemPaths = []string{"/lib", "/lib64", "/usr/lib", "/usr/lib64", "/etc/ld.so.cache"} //nolint:gochecknoglobals // read-only defaults

// nobody is the host uid and gid that plugins run as when Lathe runs as root.
const nobody = 65534

// Option configures a [Runner].
type Option func(*config)

type config struct {
	noCgroups    bool
	cgroupParent string
	systemPaths  []string
	uid, gid     int
	noSeccomp    bool // tests only: what the namespaces do alone
}

// WithoutCgroups bounds memory and processes with rlimits only, even where cgroups are
// available (see the package documentation for what that changes).
func WithoutCgroups() Option { return func(c *config) { c.noCgroups = true } }

// WithCgroupParent makes per-run cgroups under dir, a cgroup v2 directory delegated to
// Lathe that holds no process itself (for instance a systemd unit's Delegate=yes cgroup
// with Lathe moved to a sibling leaf). Without it the runner uses Lathe's own cgroup,
// which works for cgroup v1 and for a cgroup v2 root (a container with its own cgroup
// namespace), and otherwise falls back to rlimits.
func WithCgroupParent(dir string) Option { return func(c *config) { c.cgroupParent = dir } }

// WithSystemPaths replaces [DefaultSystemPaths].
func WithSystemPaths(paths ...string) Option {
	return func(c *config) { c.systemPaths = append([]string(nil), paths...) }
}

// WithUnprivilegedIDs sets the host user and group that plugins run as when Lathe runs as
// root; the default is 65534 (nobody). An id that owns no files is best. Without root,
// plugins run as Lathe's own user, the only one an unprivileged process can map.
func WithUnprivilegedIDs(uid, gid int) Option { return func(c *config) { c.uid, c.gid = uid, gid } }
