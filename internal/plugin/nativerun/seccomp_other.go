//go:build linux && !amd64 && !arm64

package nativerun

// No seccomp filter on other architectures: the namespaces, the dropped capabilities
// and the rlimits still apply. Adding one takes the architecture's AUDIT_ARCH value, a
// check of its seccomp_data argument layout and its system call numbers.
const (
	auditArch = 0
	x32Bit    = 0
)

var archDenied []uintptr //nolint:gochecknoglobals // none
