package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Every flag has an environment twin, LATHE_<FLAG_IN_UPPER_SNAKE_CASE>, so that
// container deployments can configure Lathe without a command line. The
// variable sets the flag's default and the command line overrides it.

const envPrefix = "LATHE_"

// envName returns the environment twin of a flag: "tls-cert" -> "LATHE_TLS_CERT".
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// usageError is an error in how a command was invoked; it exits with status 2
// and a hint to run --help.
type usageError struct {
	cmd string // "serve", "user create", ...
	msg string
}

func (e *usageError) Error() string { return e.msg }

// command is a subcommand's flag set with its usage text.
type command struct {
	*flag.FlagSet
	usage string    // e.g. "lathe user create NAME [flags]"
	doc   string    // what the command does
	help  io.Writer // where --help prints
	// dirs are directory flags, made absolute once parsed: the server hands paths under
	// them to plugins, which run in working directories of their own.
	dirs []*string
}

func newCommand(name, usage, doc string, help io.Writer) *command {
	c := &command{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), usage: usage, doc: doc, help: help}
	// The flag package would print errors and usage itself; errors are reported
	// once, by main, instead.
	c.SetOutput(io.Discard)
	c.Usage = func() {}
	return c
}

func (c *command) printUsage() {
	w := c.help
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", c.usage, c.doc)
	first := true
	c.VisitAll(func(f *flag.Flag) {
		if first {
			fmt.Fprintf(w, "\nFlags (each can also be set by the environment variable shown;\nthe command line wins):\n")
			first = false
		}
		arg, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  --%s %s\n", f.Name, arg)
		fmt.Fprintf(w, "        %s", usage)
		if f.DefValue != "" && f.DefValue != "0" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, " [$%s]\n", envName(f.Name))
	})
}

// parse applies the environment twins of c's flags, then parses args, which
// may mix flags and positional arguments ("user create alice --data d"). It
// returns the positional arguments; after "--" everything is positional. For
// --help it prints the usage and returns flag.ErrHelp.
func (c *command) parse(args []string, getenv func(string) string) ([]string, error) {
	positional, err := c.parseArgs(args, getenv)
	if err != nil {
		return nil, err
	}
	for _, d := range c.dirs {
		if *d, err = filepath.Abs(*d); err != nil {
			return nil, err
		}
	}
	return positional, nil
}

func (c *command) parseArgs(args []string, getenv func(string) string) ([]string, error) {
	var envErr error
	c.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		// An empty variable counts as unset, as in most Unix tools.
		if v := getenv(name); v != "" && envErr == nil {
			if err := c.Set(f.Name, v); err != nil {
				envErr = c.usageErrorf("invalid value %q for $%s: %v", v, name, err)
			}
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	var positional []string
	for {
		if err := c.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				c.printUsage()
				return nil, err
			}
			return nil, c.usageErrorf("%v", err)
		}
		rest := c.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		// Parse consumed a "--" right before rest: the rest is all positional.
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// usageErrorf returns a usage error of the command.
func (c *command) usageErrorf(format string, args ...any) error {
	return &usageError{cmd: c.Name(), msg: fmt.Sprintf(format, args...)}
}
