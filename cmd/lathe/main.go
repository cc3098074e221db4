// Command lathe is Lathe, a self-hosted Protobuf schema registry that the buf
// CLI pushes to and pulls from.
//
// Usage:
//
//	lathe serve [flags]                    run the registry server
//	lathe user create NAME [flags]         create a user
//	lathe token create --user NAME [flags] create an API token for a user
//	lathe version                          print the version
//
// Every flag can also be set with an environment variable LATHE_<FLAG>,
// e.g. LATHE_DATA for --data; the command line wins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/lathe-registry/lathe/internal/plugin/nativerun"
	"github.com/lathe-registry/lathe/internal/plugin/protocpy"
)

// version is set at release time with -ldflags "-X main.version=v1.2.3".
var version = ""

const topUsage = `Lathe is a self-hosted Protobuf schema registry for the buf CLI.

Usage:
  lathe <command> [arguments]

Commands:
  serve          run the registry server
  user create    create a user
  token create   create an API token for a user
  plugin push    publish a plugin version from buf.plugin.yaml and a program
  plugin install build and publish the shipped plugins
  plugin list    list plugin versions
  plugin deprecate  deprecate a plugin version
  template push  publish the next version of a template
  template generate  generate code for a module with a template
  sdk go         print how to consume a module's Go SDK (GOPROXY, netrc, go get)
  sdk cargo|npm|python  the same for its crate, npm package or Python project
  sdk generate   publish a package version for a module commit ahead of requests
  sdk jobs       list pending and failed SDK generation jobs
  sdk retry      run failed SDK generations again now
  cache clear    forget cached generation outputs (published SDKs stay)
  version        print the version

Run "lathe <command> --help" for the flags of a command. Every flag can also
be set with an environment variable LATHE_<FLAG>, e.g. LATHE_DATA for --data;
the command line wins.
`

func main() {
	// A sandboxed plugin run re-executes this binary to set up the sandbox; Init takes
	// over (and never returns) in that case.
	nativerun.Init()
	// A lathe binary with protoc appended is the plugin protocolbuffers/python; Main
	// takes over (and never returns) in that case.
	protocpy.Main()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal starts a graceful shutdown, restore the default
		// handling so that a second Ctrl-C kills the process at once.
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// env abstracts the process environment for tests.
type env struct {
	getenv         func(string) string
	stdout, stderr io.Writer
}

// run runs the command line args and returns the exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	e := env{getenv: getenv, stdout: stdout, stderr: stderr}
	err := dispatch(ctx, e, args)
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		if ue.cmd == "" {
			fmt.Fprintf(stderr, "lathe: %s\nRun \"lathe help\" for usage.\n", ue.msg)
		} else {
			fmt.Fprintf(stderr, "lathe %s: %s\nRun \"lathe %s --help\" for usage.\n", ue.cmd, ue.msg, ue.cmd)
		}
		return 2
	default:
		fmt.Fprintf(stderr, "lathe: %v\n", err)
		return 1
	}
}

func dispatch(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, topUsage)
		return &usageError{msg: "no command given"}
	}
	name, rest := args[0], args[1:]
	switch name {
	case "serve":
		return cmdServe(ctx, e, rest)
	case "user", "token":
		switch {
		case len(rest) > 0 && isHelp(rest[0]):
			rest = []string{"create", "--help"}
		case len(rest) == 0 || rest[0] != "create":
			return &usageError{msg: fmt.Sprintf("unknown command; did you mean \"lathe %s create\"?", name)}
		}
		if name == "user" {
			return cmdUserCreate(ctx, e, rest[1:])
		}
		return cmdTokenCreate(ctx, e, rest[1:])
	case "plugin":
		sub := map[string]func(context.Context, env, []string) error{
			"push": cmdPluginPush, "install": cmdPluginInstall, "list": cmdPluginList, "deprecate": cmdPluginDeprecate,
		}
		if len(rest) == 0 || sub[rest[0]] == nil {
			return &usageError{msg: "want one of: plugin push, plugin install, plugin list, plugin deprecate"}
		}
		return sub[rest[0]](ctx, e, rest[1:])
	case "template":
		sub := map[string]func(context.Context, env, []string) error{"push": cmdTemplatePush, "generate": cmdTemplateGenerate}
		if len(rest) == 0 || sub[rest[0]] == nil {
			return &usageError{msg: "want one of: template push, template generate"}
		}
		return sub[rest[0]](ctx, e, rest[1:])
	case "sdk":
		sub := map[string]func(context.Context, env, []string) error{"go": cmdSDKGo, "generate": cmdSDKGenerate, "jobs": cmdSDKJobs, "retry": cmdSDKRetry,
			"cargo": cmdSDKSetup("cargo"), "npm": cmdSDKSetup("npm"), "python": cmdSDKSetup("python")}
		if len(rest) == 0 || sub[rest[0]] == nil {
			return &usageError{msg: "want one of: sdk go, sdk cargo, sdk npm, sdk python, sdk generate, sdk jobs, sdk retry"}
		}
		return sub[rest[0]](ctx, e, rest[1:])
	case "cache":
		if len(rest) == 0 || rest[0] != "clear" {
			return &usageError{msg: "want: cache clear"}
		}
		return cmdCacheClear(ctx, e, rest[1:])
	case "version", "--version", "-version":
		fmt.Fprintf(e.stdout, "lathe %s (%s %s/%s)\n", versionString(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return nil
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			// "lathe help serve" is "lathe serve --help".
			return dispatch(ctx, e, append(rest, "--help"))
		}
		fmt.Fprint(e.stdout, topUsage)
		return nil
	default:
		return &usageError{msg: fmt.Sprintf("unknown command %q", name)}
	}
}

func versionString() string {
	if version != "" {
		return version
	}
	// "go install ...@v1.2.3" records the module version.
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "devel"
}

func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}
