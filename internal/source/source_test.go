package source

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func hashDir(t testing.TB, dir string, opt Options) *Tree {
	t.Helper()
	opt.Context = dir
	if opt.CacheDir == "" {
		opt.CacheDir = "off"
	}
	tree, err := Hash(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tree.Hash, "blake3:") || len(tree.Hash) != len("blake3:")+64 {
		t.Fatalf("bad hash %q", tree.Hash)
	}
	return tree
}

// withUmask writes the tricky tree under a umask, as a checkout would.
func withUmask(t *testing.T, mask int) string {
	old := syscall.Umask(mask)
	defer syscall.Umask(old)
	dir := t.TempDir()
	for p, content := range tricky {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o777); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o666)
		if strings.HasSuffix(p, ".sh") {
			mode = 0o777
		}
		if err := os.WriteFile(full, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestHashIgnoresUmaskOwnersAndTimes(t *testing.T) {
	a := hashDir(t, withUmask(t, 0o022), Options{})
	bDir := withUmask(t, 0o077)
	b := hashDir(t, bDir, Options{})
	if a.Hash != b.Hash {
		t.Fatalf("umask 022 and 077 hash differently: %s %s", a.Hash, b.Hash)
	}
	later := time.Now().Add(time.Hour)
	filepath.Walk(bDir, func(p string, _ os.FileInfo, _ error) error {
		os.Chtimes(p, later, later)
		os.Lchown(p, 1234, 5678)
		return nil
	})
	if c := hashDir(t, bDir, Options{}); c.Hash != a.Hash {
		t.Fatalf("touch and chown changed the hash")
	}
	if err := os.Chmod(filepath.Join(bDir, "src/app.py"), 0o700); err != nil {
		t.Fatal(err)
	}
	if d := hashDir(t, bDir, Options{}); d.Hash == a.Hash {
		t.Fatalf("setting an executable bit did not change the hash")
	}
}

func TestHashIsStableAcrossGitClones(t *testing.T) {
	git := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	repo := trickyContext(t, "")
	os.Remove(filepath.Join(repo, "empty")) // git keeps no empty directories
	os.RemoveAll(filepath.Join(repo, ".git"))
	git(repo, "init", "-q")
	git(repo, "add", "-A")
	git(repo, "commit", "-qm", "tree")
	clone := filepath.Join(t.TempDir(), "clone")
	git(filepath.Dir(clone), "clone", "-q", repo, clone)
	os.RemoveAll(filepath.Join(repo, ".git"))
	os.RemoveAll(filepath.Join(clone, ".git"))
	if a, b := hashDir(t, repo, Options{}), hashDir(t, clone, Options{}); a.Hash != b.Hash {
		t.Fatalf("a fresh clone hashes differently: %s %s", a.Hash, b.Hash)
	}
}

func TestHashCoversContentPathsDockerfileAndTriggers(t *testing.T) {
	dir := trickyContext(t, "docs\n")
	base := hashDir(t, dir, Options{}).Hash
	for name, change := range map[string]func() (Options, func()){
		"a content change": func() (Options, func()) {
			p := filepath.Join(dir, "src/app.py")
			old, _ := os.ReadFile(p)
			os.WriteFile(p, []byte("print('v2')\n"), 0o644)
			return Options{}, func() { os.WriteFile(p, old, 0o644) }
		},
		"a rename": func() (Options, func()) {
			os.Rename(filepath.Join(dir, "x.log"), filepath.Join(dir, "z.log"))
			return Options{}, func() { os.Rename(filepath.Join(dir, "z.log"), filepath.Join(dir, "x.log")) }
		},
		"a new empty directory": func() (Options, func()) {
			os.Mkdir(filepath.Join(dir, "new"), 0o755)
			return Options{}, func() { os.Remove(filepath.Join(dir, "new")) }
		},
		"a trigger": func() (Options, func()) { return Options{Triggers: []string{"v2"}}, func() {} },
		"a symlink target": func() (Options, func()) {
			os.Remove(filepath.Join(dir, "link"))
			os.Symlink("src/pkg", filepath.Join(dir, "link"))
			return Options{}, func() { os.Remove(filepath.Join(dir, "link")); os.Symlink("src/app.py", filepath.Join(dir, "link")) }
		},
	} {
		opt, undo := change()
		if got := hashDir(t, dir, opt).Hash; got == base {
			t.Errorf("%s did not change the hash", name)
		}
		undo()
		if got := hashDir(t, dir, Options{}).Hash; got != base {
			t.Fatalf("undoing %s did not restore the hash", name)
		}
	}
	// An ignored file changes nothing; an ignored Dockerfile is still hashed.
	os.WriteFile(filepath.Join(dir, "docs/readme.md"), []byte("changed"), 0o644)
	if got := hashDir(t, dir, Options{}).Hash; got != base {
		t.Errorf("a change to an ignored file changed the hash")
	}
	os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("docs\nDockerfile\n"), 0o644)
	ignored := hashDir(t, dir, Options{})
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY src /src\n"), 0o644)
	changed := hashDir(t, dir, Options{})
	if changed.Hash == ignored.Hash {
		t.Errorf("a change to an ignored Dockerfile did not change the hash")
	}
	if c := Diff(ignored.Digests(1000), changed.Digests(1000)); c.Summary(10) != "1 changed: ~Dockerfile" {
		t.Errorf("the diff of a change to an ignored Dockerfile is %q; want it named", c.Summary(10))
	}
}

func TestSymlinksAreHashedAsLinksAndNeverFollowed(t *testing.T) {
	dir := trickyContext(t, "")
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("outside"), 0o644)
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "abs-out"))
	os.Symlink("../../../../etc/passwd", filepath.Join(dir, "rel-out"))
	os.Symlink("missing", filepath.Join(dir, "dangling"))
	os.Symlink(outside, filepath.Join(dir, "dir-out"))
	tree := hashDir(t, dir, Options{})
	for _, e := range tree.entries.all() {
		if strings.HasPrefix(e.path, "dir-out/") {
			t.Fatalf("walked into a symlinked directory: %s", e.path)
		}
	}
	before := tree.Hash
	os.WriteFile(filepath.Join(outside, "secret"), []byte("changed outside"), 0o644)
	os.WriteFile(filepath.Join(outside, "new"), []byte("new"), 0o644)
	if hashDir(t, dir, Options{}).Hash != before {
		t.Fatalf("a change outside the context, reached through a link, changed the hash")
	}
	digests := tree.Digests(100)
	for _, p := range []string{"abs-out", "rel-out", "dangling", "dir-out", "link"} {
		if digests[p] == "" {
			t.Errorf("symlink %s not listed: %v", p, digests)
		}
	}
}

func TestSpecialFilesAreSkippedWithAWarning(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"Dockerfile": "FROM scratch\n"})
	l, err := net.Listen("unix", filepath.Join(dir, "app.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	tree := hashDir(t, dir, Options{Warn: func(s string) { warnings = append(warnings, s) }})
	if tree.Files != 1 || len(warnings) != 2 || !strings.Contains(warnings[0], "skipping app.sock") || !strings.Contains(warnings[1], "skipping pipe") {
		t.Fatalf("files=%d warnings=%q", tree.Files, warnings)
	}
}

func TestErrorsNameThePath(t *testing.T) {
	dir := trickyContext(t, "")
	outside := filepath.Join(t.TempDir(), "Dockerfile")
	os.WriteFile(outside, []byte("FROM scratch\n"), 0o644)
	if err := os.Symlink(outside, filepath.Join(dir, "Dockerfile.link")); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		opt  Options
		want string
	}{
		"missing context":          {Options{Context: filepath.Join(dir, "nope")}, filepath.Join(dir, "nope")},
		"context is a file":        {Options{Context: filepath.Join(dir, "x.log")}, "is not a directory"},
		"dockerfile outside":       {Options{Context: filepath.Join(dir, "src"), Dockerfile: "../Dockerfile"}, "is outside the build context"},
		"missing dockerfile":       {Options{Context: dir, Dockerfile: "Dockerfile.nope"}, "Dockerfile.nope"},
		"bad ignore patterns":      {Options{Context: dir}, ".dockerignore"},
		"dockerfile symlinked out": {Options{Context: dir, Dockerfile: "Dockerfile.link"}, "is a symlink to " + outside},
	} {
		if name == "bad ignore patterns" {
			os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("[\n"), 0o644)
		}
		tc.opt.CacheDir = "off"
		tree, err := Hash(context.Background(), tc.opt)
		if err == nil || tree != nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, %v; want an error naming %q", name, tree, err, tc.want)
		}
	}
}

// TestUnreadableFileNamesIt runs the CLI as an unprivileged user over a file
// only root may read (root itself reads everything).
func TestUnreadableFileNamesIt(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test drops privileges and needs root (CI runs as root)")
	}
	bin := filepath.Join(t.TempDir(), "lambdacontainer")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/lambdacontainer").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	os.Chmod(filepath.Dir(bin), 0o755)
	dir := trickyContext(t, "")
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	filepath.Walk(dir, func(p string, info os.FileInfo, _ error) error {
		if info.IsDir() {
			return os.Chmod(p, 0o755)
		}
		return os.Chmod(p, 0o644)
	})
	secret := filepath.Join(dir, "src", "app.py")
	os.Chmod(secret, 0o600)
	cmd := exec.Command(bin, "hash", "--cache-dir", "off", dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), secret) || !strings.Contains(string(out), "permission denied; make it readable by this user, or exclude it in .dockerignore") {
		t.Fatalf("want an error naming %s, got %v:\n%s", secret, err, out)
	}
}

func TestStatCacheServesUnchangedFilesWithoutReading(t *testing.T) {
	dir := trickyContext(t, "")
	cache := t.TempDir()
	old := time.Now().Add(-time.Minute)
	filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Chtimes(p, old, old) })
	cold := hashDir(t, dir, Options{CacheDir: cache})
	if cold.Hashed != cold.Files-1 { // all but the symlink are read
		t.Fatalf("cold hash read %d of %d files", cold.Hashed, cold.Files)
	}
	warm := hashDir(t, dir, Options{CacheDir: cache})
	if warm.Hashed != 0 || warm.Hash != cold.Hash {
		t.Fatalf("warm hash read %d files (hash equal: %v)", warm.Hashed, warm.Hash == cold.Hash)
	}
	os.WriteFile(filepath.Join(dir, "src/app.py"), []byte("print('v2')\n"), 0o644)
	changed := hashDir(t, dir, Options{CacheDir: cache})
	if changed.Hashed != 1 || changed.Hash == cold.Hash {
		t.Fatalf("one changed file: read %d, hash changed %v", changed.Hashed, changed.Hash != cold.Hash)
	}
}

// TestRacyEntriesAreRehashed is git's racy-clean case: a file rewritten in
// the same clock tick as the cache, keeping its size, mtime and inode.
func TestRacyEntriesAreRehashed(t *testing.T) {
	dir := trickyContext(t, "")
	cache := t.TempDir()
	app := filepath.Join(dir, "src/app.py")
	tick := time.Now().Add(-time.Minute).Truncate(time.Second)
	os.Chtimes(app, tick, tick)
	first := hashDir(t, dir, Options{CacheDir: cache})
	files, _ := filepath.Glob(filepath.Join(cache, "*"))
	if len(files) != 1 {
		t.Fatalf("want one cache file, got %v", files)
	}
	os.Chtimes(files[0], tick, tick) // the cache was written in the same tick as app.py
	os.WriteFile(app, []byte("print('APP')\n"), 0o644)
	os.Chtimes(app, tick, tick)
	second := hashDir(t, dir, Options{CacheDir: cache})
	if second.Hash == first.Hash {
		t.Fatalf("a same-tick rewrite was served from the stat cache")
	}
	if second.Hashed == 0 {
		t.Fatalf("the racy entry was not re-read")
	}
}

func TestCorruptOrForeignCacheIsIgnored(t *testing.T) {
	dir := trickyContext(t, "")
	other := trickyContext(t, "")
	cache := t.TempDir()
	want := hashDir(t, dir, Options{CacheDir: cache})
	files, _ := filepath.Glob(filepath.Join(cache, "*"))
	data, _ := os.ReadFile(files[0])
	for name, bad := range map[string][]byte{
		"truncated":   data[:len(data)/2],
		"bit flip":    append(append([]byte{}, data[:40]...), append([]byte{data[40] ^ 1}, data[41:]...)...),
		"not a cache": []byte("hello"),
	} {
		os.WriteFile(files[0], bad, 0o644)
		var warned bool
		got := hashDir(t, dir, Options{CacheDir: cache, Warn: func(s string) { warned = warned || strings.Contains(s, "ignoring the stat cache") }})
		if got.Hash != want.Hash || got.Hashed != got.Files-1 || !warned {
			t.Errorf("%s cache: hash ok %v, read %d, warned %v", name, got.Hash == want.Hash, got.Hashed, warned)
		}
	}
	// A cache written for another context, copied over this one's, is refused.
	hashDir(t, other, Options{CacheDir: cache})
	otherFiles, _ := filepath.Glob(filepath.Join(cache, "*"))
	for _, f := range otherFiles {
		if f != files[0] {
			data, _ := os.ReadFile(f)
			os.WriteFile(files[0], data, 0o644)
		}
	}
	if got := hashDir(t, dir, Options{CacheDir: cache}); got.Hashed != got.Files-1 {
		t.Errorf("a foreign cache served %d files", got.Files-1-got.Hashed)
	}
}

func TestDigestsListDirectoriesAboveTheLimit(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"Dockerfile": "FROM scratch\n"}
	for _, d := range []string{"a/one", "a/two", "b/one", "b/two"} {
		for _, f := range []string{"1.py", "2.py", "3.py"} {
			files[d+"/"+f] = d + f
		}
	}
	writeTree(t, dir, files)
	os.Mkdir(filepath.Join(dir, "empty"), 0o755)
	tree := hashDir(t, dir, Options{})
	if all := tree.Digests(100); len(all) != 14 || all["a/one/1.py"] == "" || all["empty/"] == "" {
		t.Fatalf("per-file digests: %v", all)
	}
	grouped := tree.Digests(8) // the fullest directories first, until 8 entries are left
	if len(grouped) != 8 || grouped["a/one/"] == "" || grouped["a/two/"] == "" || grouped["b/one/"] == "" || grouped["b/two/3.py"] == "" ||
		grouped["Dockerfile"] == "" || grouped["empty/"] == "" {
		t.Fatalf("per-directory digests: %v", grouped)
	}
	top := tree.Digests(4)
	if len(top) != 4 || top["a/"] == "" || top["b/"] == "" {
		t.Fatalf("top-level digests: %v", top)
	}
	os.WriteFile(filepath.Join(dir, "b/one/2.py"), []byte("changed"), 0o644)
	change := Diff(grouped, hashDir(t, dir, Options{}).Digests(8))
	if len(change.Modified) != 1 || change.Modified[0] != "b/one/" || len(change.Added)+len(change.Removed) != 0 {
		t.Fatalf("change = %+v", change)
	}

	// A big data tree collapses into one entry; the code beside it stays listed.
	big := t.TempDir()
	files = map[string]string{"Dockerfile": "FROM scratch\n", "app/main.py": "x", "app/routers/health.py": "y"}
	for i := range 300 {
		files[fmt.Sprintf("data/d%02d/f%d.json", i/10, i%10)] = strconv.Itoa(i)
	}
	writeTree(t, big, files)
	digests := hashDir(t, big, Options{}).Digests(20)
	if len(digests) != 4 || digests["data/"] == "" || digests["app/main.py"] == "" || digests["app/routers/health.py"] == "" {
		t.Fatalf("a data tree beside the code: %v", digests)
	}
}

func TestChangeSummaryNamesUpToTenPaths(t *testing.T) {
	old := map[string]string{"a.py": "1", "b.py": "1", "gone.py": "1"}
	new := map[string]string{"a.py": "2", "b.py": "1", "new.py": "1"}
	if got := Diff(old, new).Summary(10); got != "3 changed: ~a.py +new.py -gone.py" {
		t.Fatalf("summary = %q", got)
	}
	many := map[string]string{}
	for i := range 12 {
		many[string(rune('a'+i))+".py"] = "x"
	}
	if got := Diff(nil, many).Summary(10); !strings.HasPrefix(got, "12 changed: +a.py") || !strings.HasSuffix(got, "+j.py ...") {
		t.Fatalf("summary = %q", got)
	}
}

// FuzzIgnoreWalk feeds arbitrary ignore files to the walk: it may fail, never panic.
func FuzzIgnoreWalk(f *testing.F) {
	for _, tc := range ignoreCases {
		f.Add(tc.ignore)
	}
	f.Add("!\n!!\n**/**/**\n/\n\\\n[a-\n")
	dir := trickyContext(f, "")
	f.Fuzz(func(t *testing.T, ignore string) {
		if err := os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte(ignore), 0o644); err != nil {
			t.Fatal(err)
		}
		tree, err := Hash(context.Background(), Options{Context: dir, CacheDir: "off"})
		if err == nil && (tree == nil || !strings.HasPrefix(tree.Hash, "blake3:")) {
			t.Fatalf("no error and no hash")
		}
	})
}

// BenchmarkHash hashes a generated context of 5,000 small files: cold (no
// stat cache) and warm (cache filled, nothing changed). `make bench-hash`
// runs the full comparison against b3sum.
func BenchmarkHash(b *testing.B) {
	dir := b.TempDir()
	files := map[string]string{"Dockerfile": "FROM scratch\nCOPY . /\n"}
	for i := range 5000 {
		files[filepath.Join("pkg"+strconv.Itoa(i%50), "mod"+strconv.Itoa(i)+".py")] = strings.Repeat("x = 1\n", 200+i%500)
	}
	writeTree(b, dir, files)
	old := time.Now().Add(-time.Hour)
	filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Chtimes(p, old, old) })
	for _, mode := range []string{"cold", "warm"} {
		b.Run(mode, func(b *testing.B) {
			cache := b.TempDir()
			if mode == "cold" {
				cache = "off"
			} else {
				hashDir(b, dir, Options{CacheDir: cache})
			}
			for b.Loop() {
				hashDir(b, dir, Options{CacheDir: cache})
			}
		})
	}
}
