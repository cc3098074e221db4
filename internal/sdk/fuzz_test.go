package sdk

import (
	"strconv"
	"testing"
)

// BSR versions parse without panicking, and what they parse to spells them back.
func FuzzParseBSRVersion(f *testing.F) {
	for _, s := range []string{"v1.36.11-20261121143000-0123456789ab.1", "2.13.0-00000000000000-0123456789ab.12",
		"v1.0.0-rc.1-20261121143000-0123456789ab.1", "v1.2.3-20261121143000-0123456789ab.01", "-.", ".1", "--.+1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		p, ok := ParseBSRVersion(v)
		if !ok {
			return
		}
		if got := p.PluginVersion + "-" + p.Timestamp + "-" + p.ShortCommit + "." + strconv.Itoa(p.Revision); got != v {
			t.Errorf("ParseBSRVersion(%q) = %+v, which spells %q", v, p, got)
		}
	})
}
