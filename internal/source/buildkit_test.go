package source

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/testenv"
)

// tricky is a context with the shapes ignore files trip over.
var tricky = map[string]string{
	"Dockerfile":                          "FROM scratch\nCOPY . /\n",
	"src/app.py":                          "print('app')\n",
	"src/app_test.py":                     "test\n",
	"src/__pycache__/app.cpython-311.pyc": "pyc\n",
	"src/pkg/__init__.py":                 "",
	"src/pkg/deep/x.log":                  "deep log\n",
	"node_modules/left-pad/index.js":      "js\n",
	".git/HEAD":                           "ref: refs/heads/main\n",
	".env":                                "SECRET=1\n",
	"sub/.env":                            "SECRET=2\n",
	"x.log":                               "x\n",
	"y.log":                               "y\n",
	"logs/y.log":                          "y\n",
	"keep/keep.txt":                       "keep\n",
	"keep/drop.txt":                       "drop\n",
	"docs/readme.md":                      "docs\n",
	"build/out.bin":                       "bin\n",
	"a/b/c/d.txt":                         "d\n",
	"a/x/c/e.txt":                         "e\n",
	"dir with space/f.txt":                "f\n",
	"bin/run.sh":                          "#!/bin/sh\n",
}

func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func trickyContext(t testing.TB, ignore string) string {
	dir := t.TempDir()
	writeTree(t, dir, tricky)
	if err := os.Chmod(filepath.Join(dir, "bin/run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("src/app.py", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	if ignore != "" {
		if err := os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte(ignore), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// ignoreCases are pattern sets whose results BuildKit decides.
var ignoreCases = []struct{ name, ignore string }{
	{"no ignore file", ""},
	{"python caches anywhere", "**/*.pyc\n**/__pycache__\n"},
	{"everything but src and the Dockerfile", "*\n!src\n!Dockerfile\n"},
	{"vcs and deps and root logs", "node_modules\n.git\n*.log\n"},
	{"logs anywhere but one re-included", "**/*.log\n!logs/y.log\n"},
	{"leading and trailing slashes", "/build\ndocs/\n"},
	{"dotenv anywhere", "**/.env\n"},
	{"double star in the middle and dir contents with one exception", "a/**/c\nkeep/*\n!keep/keep.txt\n"},
	{"exclusion with a glob under an excluded tree", "**\n!**/*.py\n"},
	{"the Dockerfile and the ignore file themselves", "Dockerfile\n.dockerignore\n"},
	{"comments and blanks and dot segments and spaces", "# a comment\n\n  docs  \n./src/../build\ndir with space\n"},
	{"character classes and single-char wildcards", "?.log\n[xy].log\nsrc/*_test.py\n"},
	{"links and empty directories", "link\nempty\n"},
	{"re-include inside an excluded directory without a glob", "src\n!src/pkg/deep\n"},
	{"exclude then re-include then exclude again", "*.log\n!x.log\nx.log\n"},
}

// TestIgnoreMatchesBuildKit builds each case's context with a real buildkitd
// (COPY . / into a local export) and compares what arrived with the walk.
func TestIgnoreMatchesBuildKit(t *testing.T) {
	addr := testenv.Buildkitd(t)
	buildctl := testenv.Tool(t, "buildctl")
	for _, tc := range ignoreCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := trickyContext(t, tc.ignore)
			out := t.TempDir()
			cmd := exec.Command(buildctl, "--addr", addr, "build", "--progress", "plain",
				"--frontend", "dockerfile.v0", "--local", "context="+dir, "--local", "dockerfile="+dir,
				"--output", "type=local,dest="+out)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("buildctl: %v\n%s", err, b)
			}
			want := listTree(t, out)
			tree, err := Hash(context.Background(), Options{Context: dir, CacheDir: "off"})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range tree.entries.all() {
				got = append(got, string(e.kind)+" "+e.path)
			}
			if !slices.Equal(got, want) {
				t.Errorf("ignore file:\n%s\nwalk sent:\n  %s\nBuildKit received:\n  %s", tc.ignore,
					strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
}

// TestDockerfileIgnoreTakesPrecedence checks <Dockerfile>.dockerignore against BuildKit.
func TestDockerfileIgnoreTakesPrecedence(t *testing.T) {
	addr := testenv.Buildkitd(t)
	dir := trickyContext(t, "src\n")
	writeTree(t, dir, map[string]string{
		"deploy/Dockerfile.prod":              "FROM scratch\nCOPY . /\n",
		"deploy/Dockerfile.prod.dockerignore": "docs\nnode_modules\n",
	})
	out := t.TempDir()
	cmd := exec.Command(testenv.Tool(t, "buildctl"), "--addr", addr, "build", "--frontend", "dockerfile.v0",
		"--local", "context="+dir, "--local", "dockerfile="+filepath.Join(dir, "deploy"),
		"--opt", "filename=Dockerfile.prod", "--output", "type=local,dest="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("buildctl: %v\n%s", err, b)
	}
	tree, err := Hash(context.Background(), Options{Context: dir, Dockerfile: "deploy/Dockerfile.prod", CacheDir: "off"})
	if err != nil {
		t.Fatal(err)
	}
	if tree.IgnoreFile != "deploy/Dockerfile.prod.dockerignore" {
		t.Errorf("ignore file = %q", tree.IgnoreFile)
	}
	var got []string
	for _, e := range tree.entries.all() {
		got = append(got, string(e.kind)+" "+e.path)
	}
	if want := listTree(t, out); !slices.Equal(got, want) {
		t.Errorf("walk sent:\n  %s\nBuildKit received:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if !slices.Contains(got, "f src/app.py") || slices.Contains(got, "f docs/readme.md") {
		t.Errorf("Dockerfile.prod.dockerignore did not win over .dockerignore: %v", got)
	}
}

// listTree lists a directory as the walk does: "<kind> <path>", depth first, sorted.
func listTree(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		kind := File
		switch {
		case d.IsDir():
			kind = Dir
		case d.Type()&fs.ModeSymlink != 0:
			kind = Symlink
		case info.Mode()&0o111 != 0:
			kind = Executable
		}
		out = append(out, string(kind)+" "+filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
