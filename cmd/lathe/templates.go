package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lathe-registry/lathe/internal/blob/fsblob"

	"go.yaml.in/yaml/v3"

	"github.com/lathe-registry/lathe/internal/codegen"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/store/sqlitestore"
)

// templateFile is the YAML form of a template version.
type templateFile struct {
	Description string `yaml:"description"`
	Plugins     []struct {
		Plugin   string   `yaml:"plugin"`
		Revision int      `yaml:"revision"`
		Opt      []string `yaml:"opt"`
	} `yaml:"plugins"`
}

func splitRef(ref string) (owner, name, version string, ok bool) {
	ownerName, version, _ := strings.Cut(ref, ":")
	owner, name, ok = strings.Cut(ownerName, "/")
	return owner, name, version, ok && owner != "" && name != ""
}

// oneRef parses the only argument as OWNER/NAME[:VERSION]; ok is false unless there is
// exactly one argument of that form.
func oneRef(args []string) (owner, name, version string, ok bool) {
	if len(args) != 1 {
		return "", "", "", false
	}
	return splitRef(args[0])
}

func cmdTemplatePush(ctx context.Context, e env, args []string) error {
	c := newCommand("template push", "lathe template push OWNER/NAME --file TEMPLATE.yaml [flags]",
		`Publish the next version (v1, v2, ...) of a template: a named set of pinned
plugin versions and their options. The file looks like:

  description: Go with Connect
  plugins:
    - plugin: protocolbuffers/go:v1.36.11
      opt: [paths=source_relative]
    - plugin: connectrpc/go:v1.21.1
      revision: 1              # optional; the latest revision is pinned if absent
      opt: [paths=source_relative]`, e.stdout)
	data := dataFlag(c)
	file := c.String("file", "", "the template `FILE`")
	args, err := c.parse(args, e.getenv)
	if err != nil {
		return err
	}
	owner, name, version, ok := oneRef(args)
	if !ok || version != "" || *file == "" {
		return c.usageErrorf("want one OWNER/NAME and --file")
	}
	raw, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	spec, err := parseTemplateFile(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", *file, err)
	}
	return withRegistry(*data, func(reg *registry.Registry, _ *sqlitestore.Store, _ *fsblob.Store) error {
		tv, err := reg.PushTemplate(ctx, owner, name, spec)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s/%s:v%d\n", owner, name, tv.Version)
		return nil
	})
}

// parseTemplateFile reads a template file: its description and pinned plugins.
func parseTemplateFile(raw []byte) (registry.TemplateSpec, error) {
	var tf templateFile
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&tf); err != nil {
		return registry.TemplateSpec{}, err
	}
	spec := registry.TemplateSpec{Description: tf.Description}
	for _, p := range tf.Plugins {
		po, pn, pv, ok := splitRef(p.Plugin)
		if !ok || pv == "" {
			return registry.TemplateSpec{}, fmt.Errorf("plugin %q: want OWNER/NAME:VERSION", p.Plugin)
		}
		spec.Plugins = append(spec.Plugins, registry.TemplatePlugin{Owner: po, Name: pn, Version: pv, Revision: p.Revision, Options: p.Opt})
	}
	return spec, nil
}

func cmdTemplateGenerate(ctx context.Context, e env, args []string) error {
	c := newCommand("template generate", "lathe template generate OWNER/NAME[:vN] --module OWNER/MODULE[:REF] --out DIR [flags]",
		`Generate code for a module commit with a template version (the latest when
no :vN is given) and write the merged output of its plugins under --out.`, e.stdout)
	data := dataFlag(c)
	moduleRef := c.String("module", "", "the module, as OWNER/MODULE or OWNER/MODULE:REF (a label or commit)")
	out := c.String("out", "", "output `DIR`ectory")
	ef := addEngineFlags(c)
	args, err := c.parse(args, e.getenv)
	if err != nil {
		return err
	}
	owner, name, version, ok := oneRef(args)
	mOwner, mName, mRef, mok := splitRef(*moduleRef)
	if !ok || !mok || *out == "" {
		return c.usageErrorf("want OWNER/NAME[:vN], --module and --out")
	}
	tvNum := 0
	if version != "" {
		if tvNum, err = strconv.Atoi(strings.TrimPrefix(version, "v")); err != nil || !strings.HasPrefix(version, "v") {
			return c.usageErrorf("template version %q is not vN", version)
		}
	}
	return withRegistry(*data, func(reg *registry.Registry, st *sqlitestore.Store, blobs *fsblob.Store) error {
		tv, spec, err := reg.TemplateVersion(ctx, owner, name, tvNum)
		if err != nil {
			return err
		}
		// Public modules only: this command acts as an anonymous reader.
		commit, _, err := reg.Commit(ctx, registry.ResourceRef{Owner: mOwner, Module: mName, Ref: mRef})
		if err != nil {
			return err
		}
		files, _, err := reg.GenerationFiles(ctx, commit)
		if err != nil {
			return err
		}
		logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		engine, closeEngine, err := newEngine(ctx, ef, *data, st, blobs, logger)
		if err != nil {
			return err
		}
		defer closeEngine()
		var steps []codegen.Step
		for _, p := range spec.Plugins {
			pv, err := reg.PluginVersion(ctx, p.Owner, p.Name, p.Version, p.Revision)
			if err != nil {
				return err
			}
			steps = append(steps, codegen.Step{
				Name:      fmt.Sprintf("%s/%s:%s", p.Owner, p.Name, p.Version),
				Version:   pv,
				Parameter: strings.Join(p.Options, ","),
			})
		}
		generated, err := engine.GenerateAll(ctx, steps, files)
		if err != nil {
			return err
		}
		n, err := codegen.WriteFiles(*out, generated)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s/%s:v%d on %s/%s:%s: %d files in %s\n", owner, name, tv.Version, mOwner, mName, commit.ID, n, filepath.Clean(*out))
		return nil
	})
}
