package main

import (
	"strings"
	"testing"
)

// Template files are parsed without panicking, and every plugin of an accepted one is
// pinned: an owner, a name and a version.
func FuzzParseTemplateFile(f *testing.F) {
	for _, s := range []string{
		"description: Go\nplugins:\n  - plugin: protocolbuffers/go:v1.36.11\n  - plugin: grpc/go:v1.6.2\n    revision: 2\n    opt: [paths=source_relative]\n",
		"plugins:\n  - plugin: a/b\n",
		"plugins: [{plugin: 'a/b:v1', opt: [x, y]}]\n",
		"unknown: 1\n",
		"plugins:\n  - plugin: a/b:v1\n    revision: -1\n",
		"&a [*a]",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		spec, err := parseTemplateFile(raw)
		if err != nil {
			return
		}
		for _, p := range spec.Plugins {
			if p.Owner == "" || p.Name == "" || p.Version == "" || strings.Contains(p.Owner+p.Name, "/") {
				t.Fatalf("accepted plugin %+v from %q", p, raw)
			}
		}
	})
}
