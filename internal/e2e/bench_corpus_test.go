package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// BenchmarkCorpusSDK measures SDKs of googleapis, in the same run as their baselines:
//
//   - install-lathe: from a push of a changed file returning until the new version
//     installs with the ecosystem's client: go get (and go build of packages of it), npm
//     install, pip install. It includes generating the new version: it is cold.
//     install-local is what a developer does without Lathe: buf generate with the same
//     plugin, then the client's own install of the files it wrote (go build in a module
//     holding them; npm install of a package directory; pip install of a project
//     directory).
//   - generate-lathe: cold generation alone: for Go, which generates on request, the
//     requests for the new version's info and zip; for the eager ecosystems (npm, Python,
//     Cargo), from the push returning until the new version is listed.
//     generate-local is buf generate with the same plugin.
//
// go test -run XXX -bench CorpusSDK -benchtime 3x ./internal/e2e
func BenchmarkCorpusSDK(b *testing.B) {
	g := newGoSDKBench(b, 1, 1)
	defer g.stop()
	lathe, buf := filepath.Join(binDir, "lathe"+exe), filepath.Join(binDir, "buf"+exe)
	g.run(b, "", os.Environ(), lathe, "plugin", "install", "--data", g.data, "bufbuild/es")
	g.run(b, "", os.Environ(), lathe, "plugin", "push", "--data", g.data,
		"--shipped", "protocolbuffers/python", "--binary", filepath.Join(pluginDir, "protoc-gen-lathe-python"))
	g.run(b, "", os.Environ(), lathe, "plugin", "push", "--data", g.data,
		"--config", filepath.Join(pluginDir, "lathe-prost.yaml"), "--binary", filepath.Join(pluginDir, "protoc-gen-lathe-prost"))
	files, err := googleapisFiles()
	if err != nil {
		b.Fatal(err)
	}
	mod := filepath.Join(g.work, "googleapis")
	files["buf.yaml"] = []byte("version: v2\nname: " + g.remote + "/bench/googleapis\n")
	if err := writeTree(mod, files); err != nil {
		b.Fatal(err)
	}
	g.run(b, mod, g.env, buf, "push", "--create", "--create-visibility", "public")
	changed := filepath.Join(mod, "google", "type", "money.proto")
	i := 0
	// push changes a comment and pushes, returning the new commit's id.
	push := func(b *testing.B) string {
		i++
		writeFile(b, changed, string(files["google/type/money.proto"])+fmt.Sprintf("// change %d\n", i))
		m := regexp.MustCompile(`/bench/googleapis:([0-9a-f]{32})`).FindStringSubmatch(g.run(b, mod, g.env, buf, "push"))
		if m == nil {
			b.Fatal("buf push printed no commit")
		}
		return m[1]
	}
	// generate runs buf generate on the module with a template of one local plugin.
	generate := func(b *testing.B, env []string, name, plugin, out string) {
		tmpl := filepath.Join(g.work, name+".gen.yaml")
		writeFile(b, tmpl, "version: v2\n"+plugin)
		os.RemoveAll(out)
		g.run(b, mod, env, buf, "generate", "--template", tmpl, "-o", out)
	}
	base := "http://" + g.remote

	b.Run("go", func(b *testing.B) {
		const sdk = "127.0.0.1/gen/go/bench/googleapis/protocolbuffers/go"
		local := filepath.Join(g.work, "go-local")
		consumer := filepath.Join(g.work, "go-consumer")
		writeFile(b, filepath.Join(consumer, "go.mod"), "module example.com/consumer\n\ngo 1.26\n")
		writeFile(b, filepath.Join(consumer, "main.go"), "package main\n\nimport (\n\t_ \""+sdk+"/google/api\"\n\t_ \""+sdk+"/google/longrunning\"\n\t_ \""+sdk+"/google/type\"\n)\n\nfunc main() {}\n")
		env := append(g.goEnv, "GOFLAGS=-modcacherw -mod=mod")
		g.run(b, consumer, env, "go", "get", sdk+"@latest") // the runtime modules, once
		goTemplate := "managed:\n  enabled: true\n  override:\n    - file_option: go_package_prefix\n      value: example.com/gen\nplugins:\n  - local: protoc-gen-go\n    out: .\n    opt: paths=source_relative\n"
		b.Run("generate-local", func(b *testing.B) {
			for b.Loop() {
				generate(b, g.env, "go", goTemplate, local)
			}
		})
		b.Run("generate-lathe", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				commit := push(b)
				b.StartTimer()
				info := httpBody(b, base+"/gen/go/"+sdk+"/@latest")
				m := regexp.MustCompile(`"Version":"([^"]+)"`).FindStringSubmatch(info)
				if m == nil || !strings.Contains(m[1], commit[:12]) {
					b.Fatalf("@latest is not commit %s: %s", commit, info)
				}
				httpBody(b, base+"/gen/go/"+sdk+"/@v/"+m[1]+".zip")
			}
		})
		b.Run("install-local", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				push(b)
				b.StartTimer()
				generate(b, g.env, "go", "managed:\n  enabled: true\n  override:\n    - file_option: go_package_prefix\n      value: example.com/gen\nplugins:\n  - local: protoc-gen-go\n    out: .\n    opt: paths=source_relative\n", local)
				writeFile(b, filepath.Join(local, "go.mod"), "module example.com/gen\n\ngo 1.24\n\nrequire google.golang.org/protobuf v1.36.11\n")
				g.run(b, local, env, "go", "build", "./...")
			}
		})
		b.Run("install-lathe", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				commit := push(b)
				b.StartTimer()
				out := g.run(b, consumer, env, "go", "get", sdk+"@latest")
				g.run(b, consumer, env, "go", "build", "./...")
				if !strings.Contains(out, "-"+commit[:12]+".") {
					b.Fatalf("go get did not take commit %s:\n%s", commit, out)
				}
			}
		})
	})

	b.Run("npm", func(b *testing.B) {
		const pkg = "@lathe/bench_googleapis.bufbuild_es"
		es := filepath.Join(g.work, "es")
		g.run(b, "", os.Environ(), "npm", "install", "--prefix", es, "--no-audit", "--no-fund", "--ignore-scripts", "@bufbuild/protoc-gen-es@2.13.0")
		local := filepath.Join(g.work, "npm-local")
		writeFile(b, filepath.Join(local, "pkg", "package.json"), `{"name":"googleapis-local","version":"1.0.0","type":"module","dependencies":{"@bufbuild/protobuf":"^2.13.0"}}`+"\n")
		writeFile(b, filepath.Join(local, "app", "package.json"), `{"name":"app","version":"1.0.0","private":true}`+"\n")
		consumer := filepath.Join(g.work, "npm-consumer")
		writeFile(b, filepath.Join(consumer, "package.json"), `{"name":"consumer","version":"1.0.0","private":true}`+"\n")
		writeFile(b, filepath.Join(consumer, ".npmrc"), "@lathe:registry="+base+"/gen/npm/v1/\n")
		npm := func(b *testing.B, dir string, args ...string) string {
			return g.run(b, dir, os.Environ(), "npm", append([]string{"install", "--no-audit", "--no-fund"}, args...)...)
		}
		npm(b, consumer, pkg) // interest in the package, and the runtime, once
		npm(b, filepath.Join(local, "app"), "@bufbuild/protobuf@^2.13.0")
		esEnv := append(g.env, "PATH="+filepath.Join(es, "node_modules", ".bin")+string(os.PathListSeparator)+pluginDir+string(os.PathListSeparator)+os.Getenv("PATH"))
		const esTemplate = "plugins:\n  - local: protoc-gen-es\n    out: .\n    opt: import_extension=js\n"
		b.Run("generate-local", func(b *testing.B) {
			for b.Loop() {
				generate(b, esEnv, "es", esTemplate, filepath.Join(local, "pkg", "gen"))
			}
		})
		b.Run("generate-lathe", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				commit := push(b)
				b.StartTimer()
				waitBody(b, base+"/gen/npm/v1/"+pkg, "commit-"+commit)
			}
		})
		b.Run("install-local", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				push(b)
				b.StartTimer()
				generate(b, esEnv, "es", esTemplate, filepath.Join(local, "pkg", "gen"))
				npm(b, filepath.Join(local, "app"), "--install-links", "../pkg")
			}
		})
		b.Run("install-lathe", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				commit := push(b)
				b.StartTimer()
				waitBody(b, base+"/gen/npm/v1/"+pkg, "commit-"+commit)
				npm(b, consumer, pkg+"@commit-"+commit)
			}
		})
	})

	b.Run("python", func(b *testing.B) {
		const project = "bench-googleapis-protocolbuffers-python"
		venv := filepath.Join(g.work, "venv")
		g.run(b, "", os.Environ(), "python3", "-m", "venv", venv)
		pip := func(b *testing.B, args ...string) string {
			return g.run(b, g.work, os.Environ(), filepath.Join(venv, "bin", "pip"), append([]string{"install", "-q", "--disable-pip-version-check"}, args...)...)
		}
		pip(b, "setuptools", "wheel", "protobuf>=7.36.1") // the build backend for local installs and the runtime, once
		local := filepath.Join(g.work, "py-local")
		writeFile(b, filepath.Join(local, "pyproject.toml"), "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n\n[project]\nname = \"googleapis-local\"\nversion = \"1.0\"\ndependencies = [\"protobuf>=7.36.1\"]\n\n[tool.setuptools.packages.find]\nwhere = [\"src\"]\nnamespaces = true\n")
		index := []string{"--index-url", base + "/gen/python/simple/", "--extra-index-url", "https://pypi.org/simple/"}
		pip(b, append(index, project)...) // interest in the project, once
		pyTemplate := "plugins:\n  - protoc_builtin: python\n    protoc_path: " + filepath.Join(pluginDir, "protoc") + "\n    out: .\n"
		b.Run("generate-local", func(b *testing.B) {
			for b.Loop() {
				generate(b, g.env, "py", pyTemplate, filepath.Join(local, "src"))
			}
		})
		b.Run("generate-lathe", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				commit := push(b)
				b.StartTimer()
				waitBody(b, base+"/gen/python/simple/"+project+"/", commit)
			}
		})
		b.Run("install-local", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				push(b)
				b.StartTimer()
				generate(b, g.env, "py", pyTemplate, filepath.Join(local, "src"))
				pip(b, "--no-build-isolation", "--force-reinstall", "--no-deps", local)
			}
		})
		b.Run("install-lathe", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				commit := push(b)
				b.StartTimer()
				waitBody(b, base+"/gen/python/simple/"+project+"/", commit)
				pip(b, append(index, "--upgrade", project)...)
			}
		})
	})

	b.Run("cargo", func(b *testing.B) {
		index := base + "/gen/cargo/be/nc/bench_googleapis_lathe_prost"
		httpBody(b, index) // interest in the crate, once
		b.Run("generate-local", func(b *testing.B) {
			for b.Loop() {
				generate(b, g.env, "rs", "plugins:\n  - local: protoc-gen-lathe-prost\n    out: .\n", filepath.Join(g.work, "rs-local"))
			}
		})
		b.Run("generate-lathe", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				commit := push(b)
				b.StartTimer()
				waitBody(b, index, "-"+commit[:12]+".")
			}
		})
	})
}

// waitBody GETs url until its body contains want, for up to a minute.
func waitBody(b *testing.B, url, want string) {
	for start := time.Now(); !strings.Contains(httpBody(b, url), want); time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > time.Minute {
			b.Fatalf("%s did not show %s within a minute", url, want)
		}
	}
}
