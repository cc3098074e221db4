package nativerun

// The runner hands the sandbox init a spec as JSON on fd specFD, and the init reports a
// failure to set up as text on fd errFD, which it marks close-on-exec: EOF without text
// means the plugin has been exec'ed.
const (
	specFD = 3
	errFD  = 4

	// initEnv and initArg0 mark a process as a sandbox init (see Init).
	initEnv  = "LATHE_NATIVERUN_INIT"
	initArg0 = "lathe-sandbox-init"

	// probeOK is what a probe init writes on errFD once every setup step has succeeded.
	probeOK = "probe ok"

	// scratchDir is the plugin's private, writable working directory inside the sandbox.
	scratchDir = "/tmp"
)

// spec is everything the init needs to build the sandbox and start the plugin.
type spec struct {
	// Probe makes the init set everything up, report probeOK and exit instead of exec'ing.
	Probe bool `json:"probe,omitempty"`

	Program string   `json:"program"` // absolute; the same path inside and outside
	Argv    []string `json:"argv"`
	Env     []string `json:"env"`

	// Mounts are read-only binds, made in order after the scratch tmpfs, /proc and /dev.
	Mounts []mountSpec `json:"mounts"`
	// ScratchBytes caps the scratch tmpfs.
	ScratchBytes int64 `json:"scratchBytes"`

	// UID and GID are the plugin's ids inside the user namespace; SetGroups says the
	// init may (and must) clear the supplementary groups.
	UID       int  `json:"uid"`
	GID       int  `json:"gid"`
	SetGroups bool `json:"setGroups,omitempty"`

	Rlimits []rlimitSpec `json:"rlimits"`
	Seccomp bool         `json:"seccomp"`
}

type mountSpec struct {
	// Source is a host path and Target the path inside the sandbox.
	Source string `json:"source"`
	Target string `json:"target"`
	// System marks a system path: skipped when missing, and a symbolic link is
	// recreated as one (Debian's /lib -> usr/lib) rather than followed.
	System bool `json:"system,omitempty"`
}

type rlimitSpec struct {
	Resource int    `json:"resource"`
	Value    uint64 `json:"value"` // soft and hard
}
