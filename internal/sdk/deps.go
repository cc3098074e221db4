package sdk

import (
	"context"
	"fmt"

	"github.com/lathe-registry/lathe/internal/plugin/pluginconfig"
	"github.com/lathe-registry/lathe/internal/store"
)

// Plan is what a build's package depends on, whatever the ecosystem: each asks it for
// what its manifest names (go.mod requires, package.json dependencies, Cargo.toml
// dependencies, Requires-Dist) and for the package that holds the types of each input
// file (import mappings).
type Plan struct {
	// Build is the build planned.
	Build Build
	// Base is the build the generated code's types come from: the build itself, or, for
	// a plugin that builds on another (e.g. neoeinstein-tonic on neoeinstein-prost,
	// connectrpc/go on protocolbuffers/go), that plugin's build of the same commit.
	Base Build
	// Direct are the builds of the packages the build's package depends on directly:
	// Base, when it is not the build, then Base at each of the module's direct
	// dependency commits, in that order.
	Direct []Build

	s *Service
	// at caches the builds of Base by commit id.
	at map[string]Build
}

// BaseFunc picks the plugin dependency a plugin's SDK builds on, if any.
type BaseFunc func(*pluginconfig.Config) (pluginconfig.Dep, bool)

// FirstDep is the usual [BaseFunc]: a plugin's first plugin dependency.
func FirstDep(cfg *pluginconfig.Config) (pluginconfig.Dep, bool) {
	if len(cfg.Deps) == 0 {
		return pluginconfig.Dep{}, false
	}
	return cfg.Deps[0], true
}

// Plan plans a build's dependencies; base picks what a plugin build builds on
// (templates build on nothing).
func (s *Service) Plan(ctx context.Context, b Build, base BaseFunc) (*Plan, error) {
	p := &Plan{Build: b, Base: b, s: s, at: map[string]Build{}}
	if !b.SDK.Gen.Template {
		if dep, ok := base(b.Plugin().Config); ok {
			nb, err := s.WithPlugin(ctx, b, dep)
			if err != nil {
				return nil, fmt.Errorf("plugin %s builds on %s: %w", b.Plugin().Ref(), dep, err)
			}
			p.Base = nb
			p.Direct = append(p.Direct, nb)
		}
	}
	p.at[b.Commit.ID] = p.Base
	for _, id := range b.Commit.DirectDeps {
		c, err := s.dependencyCommit(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("dependency %s: %w", id, err)
		}
		db, err := p.At(ctx, c)
		if err != nil {
			return nil, err
		}
		p.Direct = append(p.Direct, db)
	}
	return p, nil
}

// dependencyCommit reads a commit a planned build depends on: every read of a
// dependency by id goes through here.
func (s *Service) dependencyCommit(ctx context.Context, id string) (store.Commit, error) {
	return s.reg.CommitByID(ctx, id)
}

// At returns the build whose package holds the types of a commit's files: Base for the
// build's own commit, else Base rebased on the commit. Commits of transitive
// dependencies are named too.
func (p *Plan) At(ctx context.Context, c store.Commit) (Build, error) {
	if b, ok := p.at[c.ID]; ok {
		return b, nil
	}
	b, err := p.s.Rebase(ctx, p.Base, c)
	if err != nil {
		return Build{}, err
	}
	p.at[c.ID] = b
	return b, nil
}

// Own reports whether a build of the plan is the build's own package.
func (p *Plan) Own(b Build) bool { return b.SDK == p.Build.SDK && b.Commit.ID == p.Build.Commit.ID }

// Deps are a plan's packages published in their ecosystem, for ecosystems whose indexes
// must never list a package before its dependencies.
type Deps struct {
	*Plan
	// Packages are the published packages depended on: those of the plan's Direct
	// builds, then those that [Deps.Require] added.
	Packages []store.Artifact

	eco  Ecosystem
	name map[string]string // package names by commit id; "" for the build's own
}

// Dependencies plans a build's dependencies (on its first plugin dependency, see
// [FirstDep]), publishes their packages, and returns them.
func (s *Service) Dependencies(ctx context.Context, eco Ecosystem, b Build) (*Deps, error) {
	p, err := s.Plan(ctx, b, FirstDep)
	if err != nil {
		return nil, err
	}
	d := &Deps{Plan: p, eco: eco, name: map[string]string{}}
	for _, db := range p.Direct {
		if _, err := d.publish(ctx, db); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func (d *Deps) publish(ctx context.Context, b Build) (string, error) {
	a, err := d.s.Publish(ctx, d.eco, b)
	if err != nil {
		return "", fmt.Errorf("dependency package of %s: %w", b.SDK, err)
	}
	d.Packages = append(d.Packages, a)
	d.name[b.Commit.ID] = a.Name
	return a.Name, nil
}

// PackageOf returns the name of the package that holds the types of a commit's files: ""
// for the build's own package. Commits of transitive dependencies are named, not
// published: their packages are published as dependencies of the packages that need them.
func (d *Deps) PackageOf(ctx context.Context, c store.Commit) (string, error) {
	b, err := d.At(ctx, c)
	if err != nil || d.Own(b) {
		return "", err
	}
	name, _, err := d.eco.Package(b)
	return name, err
}

// Require is PackageOf for ecosystems whose packages must depend on every package their
// code imports, transitive dependencies included (npm): a package not yet among
// Packages is published and added.
func (d *Deps) Require(ctx context.Context, c store.Commit) (string, error) {
	b, err := d.At(ctx, c)
	if err != nil || d.Own(b) {
		return "", err
	}
	if name, ok := d.name[c.ID]; ok {
		return name, nil
	}
	return d.publish(ctx, b)
}
