//go:build linux

package nativerun

import "golang.org/x/sys/unix"

const (
	auditArch = unix.AUDIT_ARCH_X86_64
	// x32Bit marks system calls of the x32 ABI, which share AUDIT_ARCH_X86_64.
	x32Bit = 0x40000000
)

// archDenied adds direct I/O port access to deniedSyscalls.
var archDenied = []uintptr{unix.SYS_IOPL, unix.SYS_IOPERM} //nolint:gochecknoglobals // constant list
