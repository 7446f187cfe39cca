package provider

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/ecr"
	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/testenv"
)

// publishArgs are the Args of the bench's deployment, hashed by Check.
func (b *deployBench) publishArgs() Args {
	return Args{Repository: "api", Context: b.dir, BuildArgs: map[string]string{"BASE_IMAGE": b.base}, SourceHash: ptr(str(b.args(nil), "sourceHash"))}
}

func ptr[T any](v T) *T { return &v }

// TestPublishSkipsAnUnchangedSourceAndPushesOnlyTheChangedLayer publishes a
// source, then the same source from a fresh buildkitd (a new CI runner,
// with an empty cache), then a one-file change.
func TestPublishSkipsAnUnchangedSourceAndPushesOnlyTheChangedLayer(t *testing.T) {
	b := newDeployBench(t)
	cfg := &Config{}
	if err := cfg.Configure(context.Background()); err != nil {
		t.Fatal(err)
	}
	clients, err := cfg.clients(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	registry := ecr.New(clients.ecr)
	ctx := context.Background()
	logs := recordLogs(t)

	first, err := publish(ctx, cfg, registry, b.publishArgs(), "x86_64", "")
	if err != nil || !first.Built || !strings.HasPrefix(first.Tag, "src-") || first.Image.Architecture != "amd64" {
		t.Fatalf("the first publish: %+v %v", first, err)
	}
	// The status line shows the steps and the push; one line sums it up.
	if n, m := logs.summary(t); n != 0 || m != 3 {
		t.Errorf("the first build's summary says %d of %d steps cached; want 0 of 3 (FROM is no step)", n, m)
	}
	if !logs.has(true, "build: [3/4] RUN pip install") || !logs.has(true, "build: pushing layers") ||
		!logs.has(true, "build: pushing manifest for "+first.Repository.URI+":"+first.Tag) {
		t.Errorf("the status lines lack the steps or the push's progress:\n%s", logs)
	}

	fresh := testenv.Buildkitd(t) // a new runner: nothing cached in buildkitd, nor in its user cache
	os.Setenv("BUILDKIT_HOST", fresh)
	cfg.BuildkitHost = &fresh
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	before := b.calls()
	logs.reset()
	again, err := publish(ctx, cfg, registry, b.publishArgs(), "x86_64", first.Image.Ref)
	if err != nil || again.Built || again.Image.Digest != first.Image.Digest || again.Image.UncompressedSize != first.Image.UncompressedSize {
		t.Fatalf("an unchanged source was rebuilt: %+v %v", again, err)
	}
	if !logs.has(false, "source unchanged: "+first.Repository.URI+":"+first.Tag+" is already in ECR") || !logs.has(false, "skipping the build") {
		t.Errorf("the log does not say the build was skipped:\n%s", logs)
	}
	if d := diffCalls(before, b.calls(), "registry:PUT-manifest", "registry:PUT-blob", "registry:POST-blob"); len(d) > 0 {
		t.Fatalf("an unchanged source pushed: %v", d)
	}
	// Its proof reads the manifest and the config, not the layers: the
	// unpacked size the first proof measured is recorded on the image.
	if d := diffCalls(before, b.calls(), "registry:GET-blob"); d["registry:GET-blob"] > 1 {
		t.Fatalf("proving an image already in ECR downloaded %d blobs", d["registry:GET-blob"])
	}

	b.write("app.py", app("v2", ""))
	before = b.calls()
	logs.reset()
	changed, err := publish(ctx, cfg, registry, b.publishArgs(), "x86_64", first.Image.Ref)
	if err != nil || !changed.Built || changed.Image.Digest == first.Image.Digest {
		t.Fatalf("a one-file change: %+v %v", changed, err)
	}
	// A fresh runner: the unchanged steps come from the registry cache.
	if n, m := logs.summary(t); n != 2 || m != 3 {
		t.Errorf("the one-file change's summary says %d of %d steps cached; want 2 of 3", n, m)
	}
	for _, step := range []string{"build: CACHED [2/4] COPY requirements.txt", "build: CACHED [3/4] RUN pip install"} {
		if !logs.has(true, step) {
			t.Errorf("no status line %q:\n%s", step, logs)
		}
	}
	if logs.has(true, "build: CACHED [4/4] COPY app.py") {
		t.Errorf("the changed step is said to be cached:\n%s", logs)
	}
	// Its proof measured only the layers it does not share with the image
	// the function ran (whose size is recorded; TestProveFromABaseline), and
	// got the same size as measuring them all.
	creds0, _ := registry.Login(ctx, changed.Repository.Host)
	whole, err := ecr.Prove(ctx, changed.Image.Ref, creds0, ecr.ProveOptions{Architecture: "amd64"})
	if err != nil || whole.UncompressedSize != changed.Image.UncompressedSize {
		t.Fatalf("the size from the baseline %d, measured whole %d (%v)", changed.Image.UncompressedSize, whole.UncompressedSize, err)
	}
	// What was uploaded: the changed layer, the image config, and the cache
	// manifest's config; the base and the dependency layers were already there.
	creds, _ := registry.Login(ctx, changed.Repository.Host)
	auth := remote.WithAuth(authn.FromConfig(authn.AuthConfig{Username: creds.Username, Password: creds.Password}))
	oldImg, _ := remote.Image(mustDigest(t, first.Image.Ref), auth)
	newImg, _ := remote.Image(mustDigest(t, changed.Image.Ref), auth)
	oldLayers, _ := oldImg.Layers()
	newLayers, _ := newImg.Layers()
	var changedBytes int64
	for i, l := range newLayers {
		d, _ := l.Digest()
		od, _ := oldLayers[i].Digest()
		if d != od {
			n, _ := l.Size()
			changedBytes += n
			if i != len(newLayers)-1 {
				t.Errorf("layer %d of %d changed; only the last (COPY app.py) should", i+1, len(newLayers))
			}
		}
	}
	uploaded := b.calls().RegistryBlobBytes - before.RegistryBlobBytes
	if changedBytes == 0 || uploaded > changedBytes+16<<10 {
		t.Fatalf("a one-file change uploaded %d bytes; the changed layer has %d", uploaded, changedBytes)
	}
	t.Logf("one-file change: uploaded %d bytes for a changed layer of %d (image %d bytes)", uploaded, changedBytes, changed.Image.Size)
}

func mustTag(t *testing.T, ref string) name.Tag {
	r, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustDigest(t *testing.T, ref string) name.Digest {
	d, err := name.NewDigest(ref)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// logs records what the provider logs (through slog, as it does without an
// engine to log to) while a test runs.
type logs struct {
	mu    sync.Mutex
	lines []logLine
}

type logLine struct {
	status bool // a status line (InfoStatus), else a log message
	level  slog.Level
	msg    string
}

func recordLogs(t *testing.T) *logs {
	l := &logs{}
	old := slog.Default()
	slog.SetDefault(slog.New(logHandler{logs: l}))
	t.Cleanup(func() { slog.SetDefault(old) })
	return l
}

func (l *logs) reset() { l.mu.Lock(); l.lines = nil; l.mu.Unlock() }

// has says whether a line (a status line, or a log message) contains s.
func (l *logs) has(status bool, s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.ContainsFunc(l.lines, func(x logLine) bool { return x.status == status && strings.Contains(x.msg, s) })
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, x := range l.lines {
		fmt.Fprintf(&b, "%v status=%v %s\n", x.level, x.status, x.msg)
	}
	return b.String()
}

var summaryLine = regexp.MustCompile(`^built \S+ in [0-9.]+s: (\d+) of (\d+) steps cached; pushed [0-9.]+ [KMG]?i?B of the [0-9.]+ [KMG]?i?B image`)

// summary finds the build's summary line and returns its cached and total steps.
func (l *logs) summary(t *testing.T) (cached, steps int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, x := range l.lines {
		if m := summaryLine.FindStringSubmatch(x.msg); m != nil && !x.status {
			cached, _ = strconv.Atoi(m[1])
			steps, _ = strconv.Atoi(m[2])
			return cached, steps
		}
	}
	t.Fatalf("no summary line in the log")
	return 0, 0
}

type logHandler struct {
	*logs
	status bool
}

func (h logHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h logHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.lines = append(h.lines, logLine{h.status, r.Level, r.Message})
	h.mu.Unlock()
	return nil
}

func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	for _, a := range attrs {
		h.status = h.status || a.Key == "kind" && a.Value.String() == "status"
	}
	return h
}

func (h logHandler) WithGroup(string) slog.Handler { return h }

// registry is an ECR client on the bench's localaws, as the provider makes it.
func (b *deployBench) registry() (*Config, *ecr.Client) {
	cfg := &Config{}
	if err := cfg.Configure(context.Background()); err != nil {
		b.t.Fatal(err)
	}
	clients, err := cfg.clients(context.Background())
	if err != nil {
		b.t.Fatal(err)
	}
	return cfg, ecr.New(clients.ecr)
}

// TestBuildSecretsStayOutOfTheDeploymentsErrorStateAndLog deploys a
// Dockerfile whose step prints a secret, raw and in base64, and fails: the
// secret is in neither the error, nor the state's lastFailure, nor any
// status line or log message.
func TestBuildSecretsStayOutOfTheDeploymentsErrorStateAndLog(t *testing.T) {
	b := newDeployBench(t)
	logs := recordLogs(t)
	const secret = "pr0vider-s3cret-81c4"
	b.write("Dockerfile", "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY app.py ${LAMBDA_TASK_ROOT}/\n"+
		"RUN --mount=type=secret,id=tok echo \"using $(cat /run/secrets/tok)\"; base64 /run/secrets/tok; echo resolving-deps; exit 7\nCMD [\"app.handler\"]\n")
	st, err := b.up(b.args(func(m map[string]property.Value) {
		m["secrets"] = property.New(map[string]property.Value{"tok": property.New(secret).WithSecret(true)})
		m["analysis"] = property.New("off") // this Dockerfile installs no requirements
	}))
	if err == nil || !strings.Contains(err.Error(), "resolving-deps") || !strings.Contains(err.Error(), `build secret "tok" is hidden`) {
		t.Fatalf("the failed build: %v", err)
	}
	for _, leak := range []string{secret, base64.StdEncoding.EncodeToString([]byte(secret))} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("the error holds the secret (%q):\n%v", leak, err)
		}
		if msg := str(st, "lastFailure", "message"); strings.Contains(msg, leak) || strings.Contains(fmt.Sprint(st), leak) {
			t.Errorf("the state holds the secret (%q): %v", leak, st)
		}
		if logs.has(true, leak) || logs.has(false, leak) {
			t.Errorf("a status line or log message holds the secret (%q):\n%s", leak, logs)
		}
	}
	if !logs.has(true, "build: ") {
		t.Fatalf("no build status line was recorded:\n%s", logs)
	}
}

// TestRefusedImageLeavesTheFunctionAlone builds an image Lambda would not
// run (no ENTRYPOINT or CMD): the deployment fails before the function is
// touched, and the refused image is deleted.
func TestRefusedImageLeavesTheFunctionAlone(t *testing.T) {
	b := newDeployBench(t)
	b.mustUp(b.args(nil))
	good, alias := b.function()
	before := b.calls()
	b.write("Dockerfile", "FROM scratch\nCOPY app.py /var/task/\n")
	_, err := b.up(b.args(func(m map[string]property.Value) { m["analysis"] = property.New("off") }))
	if err == nil || !strings.Contains(err.Error(), "neither ENTRYPOINT nor CMD") || !strings.Contains(err.Error(), "Fix:") {
		t.Fatalf("an image without a command: %v", err)
	}
	if d := diffCalls(before, b.calls(), "registry:PUT-manifest", "lambda:UpdateFunctionCode", "lambda:PublishVersion", "lambda:UpdateAlias"); d["registry:PUT-manifest"] == 0 ||
		d["lambda:UpdateFunctionCode"]+d["lambda:PublishVersion"]+d["lambda:UpdateAlias"] > 0 {
		t.Fatalf("the image was not pushed, or the function was touched: %v", d)
	}
	if digest, a := b.function(); digest != good || a != alias {
		t.Fatalf("the function runs %s with the alias on %s; want %s on %s", digest, a, good, alias)
	}
	m := regexp.MustCompile(`@(sha256:[0-9a-f]{64}) is not one Lambda accepts`).FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("the error does not name the refused image: %v", err)
	}
	images := b.images()
	if tags, kept := images[m[1]]; kept {
		t.Errorf("the refused image %s is kept, with tags %v", m[1], tags)
	}
	for digest, tags := range images {
		if digest != good && slices.ContainsFunc(tags, func(t string) bool { return strings.HasPrefix(t, "src-") }) {
			t.Errorf("%s holds a content tag: %v", digest, tags)
		}
	}
}

// TestRefusedImageUnderTheContentTagIsReplaced: an image Lambda refuses that
// already holds the content tag (an older provider's, or pushed by hand)
// would block every rebuild, its tag being immutable. It is deleted, or,
// when a function still references it, loses only the content tag, and the
// source is built again.
func TestRefusedImageUnderTheContentTagIsReplaced(t *testing.T) {
	b := newDeployBench(t)
	cfg, registry := b.registry()
	ctx := context.Background()
	logs := recordLogs(t)
	repo, err := registry.Ensure(ctx, "api", ecr.NewRepository{})
	if err != nil {
		t.Fatal(err)
	}
	creds, _ := registry.Login(ctx, repo.Host)
	auth := remote.WithAuth(authn.FromConfig(authn.AuthConfig{Username: creds.Username, Password: creds.Password}))
	for i, referenced := range []bool{false, true} {
		args := b.publishArgs()
		args.BuildArgs["VARIANT"] = strconv.Itoa(i) // another content tag
		tag := contentTag(args, "linux/amd64")
		cf, _ := testenv.PythonBase(t).ConfigFile()
		cf = cf.DeepCopy()
		cf.Config.Entrypoint, cf.Config.Cmd = nil, nil
		bad, _ := mutate.ConfigFile(testenv.PythonBase(t), cf)
		if err := remote.Write(mustTag(t, repo.URI+":"+tag), bad, auth); err != nil {
			t.Fatal(err)
		}
		badDigest, _ := bad.Digest()
		if referenced {
			if err := registry.Reference(ctx, repo, "arn:aws:lambda:us-east-1:123456789012:function:other", badDigest.String()); err != nil {
				t.Fatal(err)
			}
		}
		logs.reset()
		out, err := publish(ctx, cfg, registry, args, "x86_64", "")
		if err != nil || !out.Built || out.Tag != tag || out.Image.Digest == badDigest.String() {
			t.Fatalf("publishing over a refused image (referenced %v): %+v %v", referenced, out, err)
		}
		if !logs.has(false, "Lambda would refuse it: it has neither ENTRYPOINT nor CMD") || !logs.has(false, "deleting it and building again") {
			t.Errorf("the log does not say why the image under %s was replaced:\n%s", tag, logs)
		}
		if got := b.tagged(tag); got != out.Image.Digest {
			t.Errorf("%s names %s, not the new build %s", tag, got, out.Image.Digest)
		}
		tags, kept := b.images()[badDigest.String()]
		if kept != referenced || slices.Contains(tags, tag) {
			t.Errorf("the refused image (referenced by a function: %v) is kept: %v, with tags %v", referenced, kept, tags)
		}
	}
}

// TestWrongPlatformOpensNoBuildKitSession: an arm64 platform for an x86_64
// function fails before BuildKit or the registry hear of it.
func TestWrongPlatformOpensNoBuildKitSession(t *testing.T) {
	b := newDeployBench(t)
	cfg, registry := b.registry()
	args := b.publishArgs()
	args.Platform = ptr("linux/arm64")
	before, sessions := b.calls(), b.bk.Sessions()
	_, err := publish(context.Background(), cfg, registry, args, "x86_64", "")
	if err == nil || !strings.Contains(err.Error(), "disagrees with the function's architecture x86_64") {
		t.Fatalf("an arm64 platform for an x86_64 function: %v", err)
	}
	if got := b.bk.Sessions() - sessions; got != 0 {
		t.Errorf("%d BuildKit sessions were opened", got)
	}
	if d := diffCalls(before, b.calls(), "ecr:CreateRepository", "ecr:GetAuthorizationToken", "registry:PUT-manifest", "registry:POST-blob"); len(d) > 0 {
		t.Errorf("ECR was called: %v", d)
	}
}

// TestBuildErrorsClassified holds the registry errors BuildKit has reported
// here, from the image's push and from the cache export, to the retry they get.
func TestBuildErrorsClassified(t *testing.T) {
	for _, c := range []struct {
		err                string
		refused, transient bool
	}{
		{`failed to solve: failed to push 127.0.0.1:5000/api:x: failed to authorize: failed to fetch oauth token: unexpected status: 401 Unauthorized`, true, false},
		{`failed to solve: error writing config blob: denied: Your authorization token has expired. Reauthenticate and try again.`, true, false},
		{`failed to solve: error writing layer blob: unauthorized: Your authorization token is invalid.`, true, false},
		{`failed to solve: failed to push 127.0.0.1:5000/api:x: unexpected status from PUT request to http://127.0.0.1:5000/v2/api/blobs/uploads/1: 503 Service Unavailable`, false, true},
		{`failed to solve: error writing manifest blob: toomanyrequests: Rate exceeded`, false, true},
		{`failed to solve: failed to push 127.0.0.1:5000/api:x: denied: User is not authorized to perform ecr:InitiateLayerUpload`, false, false},
		{`failed to solve: process "/bin/sh -c pip install -r requirements.txt" did not complete successfully: exit code: 1`, false, false},
	} {
		err := errors.New(c.err)
		if refused(err) != c.refused || transient(err) != c.transient {
			t.Errorf("%s: refused %v, transient %v; want %v, %v", c.err, refused(err), transient(err), c.refused, c.transient)
		}
	}
}
