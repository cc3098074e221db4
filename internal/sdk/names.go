package sdk

import (
	"context"
	"errors"
	"iter"
	"strings"

	"github.com/lathe-registry/lathe/internal/registry"
)

// NameSplits yields every SDK a package name may spell as
// {owner}{sep[0]}{module}{sep[1]}{generator owner}{sep[2]}{generator}, shortest module
// first, then shortest generator owner: owner names hold no sep[0], but the other
// names may hold any separator, so a package name alone does not say where they end.
func NameSplits(name string, sep [3]byte) iter.Seq[SDK] {
	return func(yield func(SDK) bool) {
		owner, rest, ok := strings.Cut(name, string(sep[0]))
		if !ok || owner == "" {
			return
		}
		for i := 1; i < len(rest); i++ {
			if rest[i] != sep[1] {
				continue
			}
			for j := i + 2; j+1 < len(rest); j++ {
				if rest[j] != sep[2] {
					continue
				}
				s := SDK{Owner: owner, Module: rest[:i], Gen: Generator{Owner: rest[i+1 : j], Name: rest[j+1:]}}
				if !yield(s) {
					return
				}
			}
		}
	}
}

// ResolveName returns the latest build of the first of candidates whose module and
// generator exist and that the caller may see, checked by usable (which ecosystems use to
// refuse a plugin that does not generate for them). A module that does not exist is looked
// up once, however many candidates name it. None is ErrNotFound, saying there is no what
// (e.g. "crate NAME").
func (s *Service) ResolveName(ctx context.Context, what string, candidates iter.Seq[SDK], usable func(Build) error) (Build, error) {
	missing := map[[2]string]bool{}
	for c := range candidates {
		mod := [2]string{c.Owner, c.Module}
		if missing[mod] {
			continue
		}
		if _, _, err := s.reg.Module(ctx, registry.ModuleRef{Owner: c.Owner, Name: c.Module}); errors.Is(err, ErrNotFound) {
			missing[mod] = true
			continue
		} else if err != nil {
			return Build{}, err
		}
		b, err := s.Resolve(ctx, c, CommitRef{}, Pin{})
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return Build{}, err
		}
		if err := usable(b); err != nil {
			return Build{}, err
		}
		return b, nil
	}
	return Build{}, notFoundf("no %s", what)
}
