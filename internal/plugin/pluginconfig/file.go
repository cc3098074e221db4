package pluginconfig

import (
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The file* types mirror the on-disk schema. checkNode walks them by reflection, so the
// yaml tags here are the single list of known keys.

type fileConfig struct {
	Version             string       `yaml:"version"`
	Name                string       `yaml:"name"`
	PluginVersion       string       `yaml:"plugin_version"`
	SourceURL           string       `yaml:"source_url"`
	Description         string       `yaml:"description"`
	Deps                []fileDep    `yaml:"deps"`
	OutputLanguages     []string     `yaml:"output_languages"`
	Registry            fileRegistry `yaml:"registry"`
	SPDXLicenseID       string       `yaml:"spdx_license_id"`
	LicenseURL          string       `yaml:"license_url"`
	IntegrationGuideURL string       `yaml:"integration_guide_url"`
	Deprecated          bool         `yaml:"deprecated"`
}

type fileDep struct {
	Plugin   string `yaml:"plugin"`
	Revision int64  `yaml:"revision"`
}

type fileRegistry struct {
	Go     *fileGo     `yaml:"go"`
	NPM    *fileNPM    `yaml:"npm"`
	Maven  *fileMaven  `yaml:"maven"`
	Swift  *fileSwift  `yaml:"swift"`
	Python *filePython `yaml:"python"`
	Cargo  *fileCargo  `yaml:"cargo"`
	NuGet  *fileNuGet  `yaml:"nuget"`
	CMake  *fileCMake  `yaml:"cmake"`
	Opts   []string    `yaml:"opts"`
}

type fileGo struct {
	MinVersion string `yaml:"min_version"`
	Deps       []struct {
		Module  string `yaml:"module"`
		Version string `yaml:"version"`
	} `yaml:"deps"`
	BasePlugin string `yaml:"base_plugin"`
}

type fileNPM struct {
	RewriteImportPathSuffix string `yaml:"rewrite_import_path_suffix"`
	Deps                    []struct {
		Package string `yaml:"package"`
		Version string `yaml:"version"`
	} `yaml:"deps"`
	ImportStyle string `yaml:"import_style"`
}

type fileMaven struct {
	Compiler struct {
		Java struct {
			Encoding string `yaml:"encoding"`
			Release  int    `yaml:"release"`
			Source   int    `yaml:"source"`
			Target   int    `yaml:"target"`
		} `yaml:"java"`
		Kotlin struct {
			APIVersion      string `yaml:"api_version"`
			JVMTarget       string `yaml:"jvm_target"`
			LanguageVersion string `yaml:"language_version"`
			Version         string `yaml:"version"`
		} `yaml:"kotlin"`
	} `yaml:"compiler"`
	Deps               []string `yaml:"deps"`
	AdditionalRuntimes []struct {
		Name string   `yaml:"name"`
		Deps []string `yaml:"deps"`
		Opts []string `yaml:"opts"`
	} `yaml:"additional_runtimes"`
}

type fileSwift struct {
	Deps []struct {
		Source    string   `yaml:"source"`
		Package   string   `yaml:"package"`
		Version   string   `yaml:"version"`
		Products  []string `yaml:"products"`
		Platforms struct {
			MacOS   string `yaml:"macos"`
			IOS     string `yaml:"ios"`
			TVOS    string `yaml:"tvos"`
			WatchOS string `yaml:"watchos"`
		} `yaml:"platforms"`
		SwiftVersions []string `yaml:"swift_versions"`
	} `yaml:"deps"`
}

type filePython struct {
	Deps           []string `yaml:"deps"`
	RequiresPython string   `yaml:"requires_python"`
	PackageType    string   `yaml:"package_type"`
}

type fileCargo struct {
	RustVersion string `yaml:"rust_version"`
	Deps        []struct {
		Name            string   `yaml:"name"`
		Req             string   `yaml:"req"`
		DefaultFeatures bool     `yaml:"default_features"`
		Features        []string `yaml:"features"`
	} `yaml:"deps"`
}

type fileNuGet struct {
	TargetFrameworks []string `yaml:"target_frameworks"`
	Deps             []struct {
		Name             string   `yaml:"name"`
		Version          string   `yaml:"version"`
		TargetFrameworks []string `yaml:"target_frameworks"`
	} `yaml:"deps"`
}

type fileCMake struct{}

var fileType = reflect.TypeFor[fileConfig]() //nolint:gochecknoglobals // read-only

const (
	nullTag  = "!!null"
	boolTag  = "!!bool"
	intTag   = "!!int"
	mergeTag = "!!merge"
)

func isNull(n *yaml.Node) bool {
	n = resolveAlias(n)
	return n.Kind == yaml.ScalarNode && n.Tag == nullTag
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// checkNode checks that n has the shape of type t: only known keys, each once, and
// values of the right kind. It reports the first problem with its field path and line,
// which yaml's own strict decoding cannot do (it names Go types instead of fields).
// An explicit null is accepted anywhere and means "not set", as in yaml.v3 decoding.
func checkNode(n *yaml.Node, t reflect.Type, path string) error {
	n = resolveAlias(n)
	if n.Tag != "" && !strings.HasPrefix(n.Tag, "!!") {
		return fieldErrorf(path, n, "custom YAML tag %s is not allowed", n.Tag)
	}
	if isNull(n) {
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		return checkNode(n, t.Elem(), path)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return fieldErrorf(path, n, "must be a mapping of keys to values, not %s", describeNode(n))
		}
		seen := make(map[string]int, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.Tag == mergeTag {
				return fieldErrorf(path, k, "keys must be plain names, not %s", describeNode(k))
			}
			if line, dup := seen[k.Value]; dup {
				return fmt.Errorf("%s: appears twice, on lines %d and %d", join(path, k.Value), line, k.Line)
			}
			seen[k.Value] = k.Line
			f, ok := fieldByTag(t, k.Value)
			if !ok {
				where := path
				if where == "" {
					where = "top level"
				}
				return fmt.Errorf("%s: unknown field %q (line %d); known fields: %s", where, k.Value, k.Line, strings.Join(tagNames(t), ", "))
			}
			if err := checkNode(v, f.Type, join(path, k.Value)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return fieldErrorf(path, n, "must be a list, not %s", describeNode(n))
		}
		for i, e := range n.Content {
			// yaml.v3 silently drops null items from lists of structs, so "- " with
			// nothing after it would vanish; it is more likely a mistake.
			if isNull(e) {
				return fieldErrorf(fmt.Sprintf("%s[%d]", path, i), e, "is empty")
			}
			if err := checkNode(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			return fieldErrorf(path, n, "must be a string, not %s", describeNode(n))
		}
		return nil
	case reflect.Bool:
		// Decoding decides, so the YAML 1.1 spellings (yes, on) that yaml.v3 and
		// therefore buf accept stay accepted.
		var b bool
		if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
			return fieldErrorf(path, n, "must be true or false, not %s", describeNode(n))
		}
		return nil
	case reflect.Int, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.Decode(&i) != nil {
			return fieldErrorf(path, n, "must be an integer, not %s", describeNode(n))
		}
		return nil
	}
	panic("pluginconfig: unhandled field type " + t.String())
}

func fieldErrorf(path string, n *yaml.Node, format string, args ...any) error {
	if path == "" {
		path = "top level"
	}
	return fmt.Errorf("%s: %s (line %d)", path, fmt.Sprintf(format, args...), n.Line)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func tagNames(t reflect.Type) []string {
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		names = append(names, tag)
	}
	if len(names) == 0 {
		return []string{"(none)"}
	}
	return names
}

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case nullTag:
			return "null"
		case boolTag:
			return "the boolean " + n.Value
		case intTag:
			return "the number " + n.Value
		case "!!float":
			return "the number " + n.Value
		}
		return fmt.Sprintf("the string %q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	return "an unknown YAML node"
}
