package sdk

import (
	"context"
	"fmt"

	"github.com/lathe-registry/lathe/internal/store"
)

// Deps are the packages of its own ecosystem that a build's package depends on, for
// ecosystems whose indexes must never list a package before its dependencies.
type Deps struct {
	// Base is the build the generated code's types come from: the build itself, or, for
	// a plugin that builds on another (its first plugin dependency, e.g.
	// neoeinstein-tonic on neoeinstein-prost), that plugin's build of the same commit.
	Base Build
	// Packages are the published packages depended on: Base's, when it is not the
	// build, then those of the module's direct dependency commits.
	Packages []store.Artifact

	s        *Service
	eco      Ecosystem
	byCommit map[string]string
}

// Dependencies publishes the packages a build depends on, and returns them.
func (s *Service) Dependencies(ctx context.Context, eco Ecosystem, b Build) (*Deps, error) {
	d := &Deps{Base: b, s: s, eco: eco, byCommit: map[string]string{b.Commit.ID: ""}}
	if !b.SDK.Gen.Template && len(b.Plugin().Config.Deps) > 0 {
		dep := b.Plugin().Config.Deps[0]
		base, err := s.WithPlugin(ctx, b, dep)
		if err != nil {
			return nil, fmt.Errorf("plugin %s builds on %s: %w", b.Plugin().Ref(), dep, err)
		}
		d.Base = base
		a, err := d.publish(ctx, base)
		if err != nil {
			return nil, err
		}
		d.byCommit[b.Commit.ID] = a.Name
	}
	for _, id := range b.Commit.DirectDeps {
		c, err := s.reg.Store().CommitByID(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("dependency %s: %w", id, err)
		}
		db, err := s.Rebase(ctx, d.Base, c)
		if err != nil {
			return nil, err
		}
		a, err := d.publish(ctx, db)
		if err != nil {
			return nil, err
		}
		d.byCommit[c.ID] = a.Name
	}
	return d, nil
}

func (d *Deps) publish(ctx context.Context, b Build) (store.Artifact, error) {
	a, err := d.s.Publish(ctx, d.eco, b)
	if err != nil {
		return a, fmt.Errorf("dependency package of %s: %w", b.SDK, err)
	}
	d.Packages = append(d.Packages, a)
	return a, nil
}

// PackageOf returns the name of the package that holds the types of a commit's files: ""
// for the build's own package. Commits of transitive dependencies are named, not
// published: their packages are published as dependencies of the packages that need them.
func (d *Deps) PackageOf(ctx context.Context, c store.Commit) (string, error) {
	if name, ok := d.byCommit[c.ID]; ok {
		return name, nil
	}
	db, err := d.s.Rebase(ctx, d.Base, c)
	if err != nil {
		return "", err
	}
	name, _, err := d.eco.Package(db)
	if err != nil {
		return "", err
	}
	d.byCommit[c.ID] = name
	return name, nil
}
