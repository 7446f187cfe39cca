package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth"
	"github.com/moby/buildkit/session/filesync"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/moby/buildkit/solver/errdefs"
	digest "github.com/opencontainers/go-digest"
	"github.com/tonistiigi/fsutil"
	fstypes "github.com/tonistiigi/fsutil/types"
	"google.golang.org/grpc"
)

// Options describe one build and where its image goes.
type Options struct {
	Context    string // the build context directory
	Dockerfile string // the Dockerfile's path
	Target     string
	BuildArgs  map[string]string
	// Secrets are offered as BuildKit secrets (RUN --mount=type=secret,id=K):
	// they never reach a layer, the image history or a log.
	Secrets map[string][]byte
	// Platform is exactly one platform, e.g. linux/arm64.
	Platform string
	// Push lists the references the image is pushed to (HOST/NAME:TAG).
	Push []string
	// Cache is the registry cache reference (HOST/NAME:buildcache), imported
	// and, when CacheExport is set, exported with mode=max. Empty: no cache.
	Cache       string
	CacheExport bool
	// Login returns the credentials for a registry host ("" user: anonymous).
	// It is called through the BuildKit session whenever buildkitd needs them.
	Login func(ctx context.Context, host string) (user, password string, err error)
	// Progress receives one line per step event and push phase, for a status line.
	Progress func(line string)
}

// Result is what a build made.
type Result struct {
	Digest   string // the pushed image manifest's digest
	Duration time.Duration
	Steps    int // Dockerfile steps
	Cached   int // steps BuildKit took from its cache
}

// Epoch is SOURCE_DATE_EPOCH for every build: the image config's times, and
// with no registry cache to export, every timestamp in the image's layers,
// are clamped to it, so two cold builds of the same source agree byte for
// byte whatever the checkout's and the build's times. It is one constant
// rather than something derived from the source, so that a layer whose
// inputs did not change keeps its bytes (and its digest) when another file
// changes.
//
// With a registry cache the layers are not rewritten: a runner takes them
// from the cache (the same blobs, so the same digest), and a rewritten copy
// of every new layer would otherwise be pushed and stored beside the
// cache's original, doubling what a change uploads. Sending the context
// with fixed file times would not make a cold build reproducible there: a
// COPY into a directory that exists (a base image's ${LAMBDA_TASK_ROOT})
// writes that directory into the layer with the time of the build, as
// BuildKit's differ adds every parent and the Dockerfile frontend sets no
// time on COPY. (The context's file times are left alone: BuildKit's
// context transfer tells a changed file by its time and size.)
const Epoch = 1

// Build solves the Dockerfile and pushes the image, in one BuildKit
// session. The values of o.Secrets are hidden from every progress line and
// error it gives.
func (b *Builder) Build(ctx context.Context, o Options) (Result, error) {
	start := time.Now()
	image, cache, attach, err := solveOpts(o)
	if err != nil {
		return Result{}, err
	}
	scrub := newScrubber(o.Secrets)
	progress := func(string) {}
	if o.Progress != nil {
		progress = func(line string) { o.Progress(scrub.text(line)) }
	}
	sess, err := session.NewSession(ctx, "")
	if err != nil {
		return Result{}, fmt.Errorf("starting a BuildKit session: %w", err)
	}
	for _, a := range attach {
		sess.Allow(a)
	}
	go sess.Run(context.WithoutCancel(ctx), b.c.Dialer())
	defer sess.Close()
	image.SharedSession, image.SessionPreInitialized = sess, true
	cache.SharedSession, cache.SessionPreInitialized = sess, true

	// With a cache to export, the first solve builds and exports the cache,
	// and the second pushes the image (every step cached by then): BuildKit
	// runs an image's push and a cache export side by side, so a new layer,
	// which both hold, would be uploaded twice at once.
	t := newTracker(progress)
	var resp *client.SolveResponse
	if len(cache.CacheExports) > 0 {
		if _, err = b.solve(ctx, cache, t); err == nil {
			p := newTracker(progress)
			p.exporting, p.pushOnly = true, true
			resp, err = b.solve(ctx, image, p)
			if err != nil {
				t = p
			}
		}
	} else {
		resp, err = b.solve(ctx, image, t)
	}
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, &Error{Phase: t.phase(), Err: fmt.Errorf("%s cancelled: %w", t.phase(), ctx.Err())}
		}
		return Result{}, &Error{Phase: t.phase(), Err: errors.New(scrub.text(t.failure(err, o.Dockerfile).Error()))}
	}
	dgst := resp.ExporterResponse["containerimage.digest"]
	if _, err := digest.Parse(dgst); err != nil {
		return Result{}, fmt.Errorf("BuildKit pushed no image digest (exporter response %v)", slices.Sorted(maps.Keys(resp.ExporterResponse)))
	}
	steps, cached := t.steps()
	return Result{Digest: dgst, Duration: time.Since(start), Steps: steps, Cached: cached}, nil
}

// solve runs one solve, its progress through t.
func (b *Builder) solve(ctx context.Context, opt client.SolveOpt, t *tracker) (*client.SolveResponse, error) {
	ch := make(chan *client.SolveStatus)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for s := range ch {
			t.update(s)
		}
	}()
	resp, err := b.c.Solve(ctx, nil, opt, ch) // closes ch
	<-done
	return resp, err
}

// solveOpts is what Build asks BuildKit for: the Dockerfile frontend on the
// context and the Dockerfile's directory, with the image's export in one
// solve and the cache's (if any) in another; and what the session
// offers buildkitd: the two directories (owned by root, as buildctl sends
// them), the registry credentials and the secrets.
func solveOpts(o Options) (image, cache client.SolveOpt, attach []session.Attachable, err error) {
	dirs := filesync.StaticDirSource{}
	for name, dir := range map[string]string{"context": o.Context, "dockerfile": filepath.Dir(o.Dockerfile)} {
		fs, err := fsutil.NewFS(dir)
		if err == nil {
			fs, err = fsutil.NewFilterFS(fs, &fsutil.FilterOpt{Map: func(_ string, st *fstypes.Stat) fsutil.MapResult {
				st.Uid, st.Gid = 0, 0
				return fsutil.MapResultKeep
			}})
		}
		if err != nil {
			return image, cache, nil, fmt.Errorf("%s %s: %w", name, dir, err)
		}
		dirs[name] = fs
	}
	secrets := o.Secrets
	if secrets == nil {
		secrets = map[string][]byte{}
	}
	attach = []session.Attachable{filesync.NewFSSyncProvider(dirs, nil), &authServer{login: o.Login}, secretsprovider.FromMap(secrets)}
	attrs := map[string]string{
		"filename":                    filepath.Base(o.Dockerfile),
		"platform":                    o.Platform,
		"build-arg:SOURCE_DATE_EPOCH": strconv.Itoa(Epoch),
	}
	if o.Target != "" {
		attrs["target"] = o.Target
	}
	for k, v := range o.BuildArgs {
		attrs["build-arg:"+k] = v
	}
	image = client.SolveOpt{
		Frontend:      "dockerfile.v0",
		FrontendAttrs: attrs,
		LocalMounts:   map[string]fsutil.FS{"context": dirs["context"], "dockerfile": dirs["dockerfile"]},
		Exports: []client.ExportEntry{{Type: client.ExporterImage, Attrs: map[string]string{
			"name":              strings.Join(o.Push, ","),
			"push":              "true",
			"compression":       "gzip",
			"force-compression": "true",
			"oci-mediatypes":    "false",
			"rewrite-timestamp": strconv.FormatBool(!o.CacheExport),
		}}},
	}
	if o.Cache != "" {
		image.CacheImports = []client.CacheOptionsEntry{{Type: "registry", Attrs: map[string]string{"ref": o.Cache}}}
	}
	cache = image
	cache.Exports = nil
	if o.Cache != "" {
		if o.CacheExport {
			// One OCI image manifest whose config is the cache's (ECR refuses
			// BuildKit's default, an index), with every stage's layers.
			cache.CacheExports = []client.CacheOptionsEntry{{Type: "registry", Attrs: map[string]string{
				"ref": o.Cache, "mode": "max", "image-manifest": "true", "oci-mediatypes": "true", "compression": "gzip",
			}}}
		}
	}
	return image, cache, attach, nil
}

// Error is a failed build, with the phase it failed in: "build" while
// BuildKit solves the Dockerfile, "push" once it exports the image (and the
// cache) to the registry.
type Error struct {
	Phase string
	Err   error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// authServer answers buildkitd's credential requests from Login, in memory.
type authServer struct {
	auth.UnimplementedAuthServer
	login func(ctx context.Context, host string) (string, string, error)
}

func (a *authServer) Register(s *grpc.Server) { auth.RegisterAuthServer(s, a) }

func (a *authServer) Credentials(ctx context.Context, req *auth.CredentialsRequest) (*auth.CredentialsResponse, error) {
	if a.login == nil {
		return &auth.CredentialsResponse{}, nil
	}
	user, password, err := a.login(ctx, req.Host)
	if err != nil {
		return nil, err
	}
	return &auth.CredentialsResponse{Username: user, Secret: password}, nil
}

// stepName matches the Dockerfile frontend's build step vertices, "[2/5] COPY ..."
// or "[builder 2/5] RUN ...", but not FROM, which only names a base image.
var stepName = regexp.MustCompile(`^\[(?:[^\]]+ )?\d+/\d+\] (\S+)`)

func isStep(vertex string) bool {
	m := stepName.FindStringSubmatch(vertex)
	return m != nil && m[1] != "FROM"
}

// tracker follows the solve's vertices: for the status line, the cache
// counts, the push's progress, and the failing step's log.
type tracker struct {
	progress  func(string)
	vertices  map[digest.Digest]*client.Vertex
	order     []digest.Digest
	logs      map[digest.Digest]*bytes.Buffer
	dropped   map[digest.Digest]int // bytes of a step's log beyond maxStepLog, from its start
	said      map[string]bool
	tenths    map[string]int64 // the last tenth of each transfer reported
	exporting bool             // the solve is done; the image and cache go to the registry
	pushOnly  bool             // a solve that only pushes what an earlier one built: its steps go unsaid
}

func newTracker(progress func(string)) *tracker {
	return &tracker{progress: progress, vertices: map[digest.Digest]*client.Vertex{}, logs: map[digest.Digest]*bytes.Buffer{},
		dropped: map[digest.Digest]int{}, said: map[string]bool{}, tenths: map[string]int64{}}
}

// maxStepLog bounds the log kept per step: a failing step's log is shown
// whole up to this size, else its last maxStepLog bytes.
const maxStepLog = 1 << 20

// phase is "push" once the export to the registry started, else "build".
func (t *tracker) phase() string {
	if t.exporting {
		return "push"
	}
	return "build"
}

// isExport says whether a vertex sends the result to the registry.
func isExport(name string) bool {
	return strings.HasPrefix(name, "exporting ") || strings.HasPrefix(name, "pushing ")
}

func (t *tracker) update(s *client.SolveStatus) {
	for _, v := range s.Vertexes {
		if old, ok := t.vertices[v.Digest]; !ok {
			t.order = append(t.order, v.Digest)
		} else if old.Cached && !v.Cached { // later updates (layer extraction) drop the flag
			v.Cached = true
		}
		t.vertices[v.Digest] = v
		if isExport(v.Name) && v.Started != nil {
			t.exporting = true
		}
		switch {
		case t.pushOnly && !isExport(v.Name):
		case v.Cached:
			t.say("CACHED " + v.Name)
		case v.Completed != nil && v.Error == "":
			t.say(fmt.Sprintf("DONE %s (%.1fs)", v.Name, v.Completed.Sub(*v.Started).Seconds()))
		case v.Started != nil:
			t.say(v.Name)
		}
	}
	for _, st := range s.Statuses {
		switch {
		case st.ID == "" || st.Completed != nil:
		case st.Total > 0: // a transfer: say every tenth of it
			last, ok := t.tenths[st.ID]
			if tenth := st.Current * 10 / st.Total; !ok || tenth > last {
				t.tenths[st.ID] = tenth
				t.progress(fmt.Sprintf("%s %s of %s", st.ID, units.BytesSize(float64(st.Current)), units.BytesSize(float64(st.Total))))
			}
		default:
			t.say(st.ID)
		}
	}
	for _, l := range s.Logs {
		b := t.logs[l.Vertex]
		if b == nil {
			b = &bytes.Buffer{}
			t.logs[l.Vertex] = b
		}
		b.Write(l.Data)
		if b.Len() > maxStepLog {
			t.dropped[l.Vertex] += b.Len() - maxStepLog
			b.Next(b.Len() - maxStepLog)
		}
	}
}

func (t *tracker) say(line string) {
	if !t.said[line] {
		t.said[line] = true
		t.progress(line)
	}
}

func (t *tracker) steps() (steps, cached int) {
	for _, d := range t.order {
		if v := t.vertices[d]; isStep(v.Name) {
			steps++
			if v.Cached {
				cached++
			}
		}
	}
	return steps, cached
}

// failure explains a failed solve: the failing step, its log, and the
// Dockerfile lines BuildKit points at.
func (t *tracker) failure(err error, dockerfile string) error {
	var b strings.Builder
	var failed digest.Digest // the failing Dockerfile step, else the first vertex that failed
	for _, d := range t.order {
		v := t.vertices[d]
		if v.Error == "" || strings.Contains(v.Error, "context canceled") {
			continue
		}
		if failed == "" || isStep(v.Name) {
			failed = d
		}
	}
	if v := t.vertices[failed]; v != nil {
		fmt.Fprintf(&b, "step %q failed: %s\n", v.Name, v.Error)
		if l := t.logs[failed]; l != nil && l.Len() > 0 {
			b.WriteString("its log:\n")
			log := l.String()
			if n := t.dropped[failed]; n > 0 {
				// The cut fell inside a line: drop what is left of it, which
				// could hold part of a secret no scrubbing would recognise.
				_, rest, _ := strings.Cut(log, "\n")
				n += len(log) - len(rest)
				log = rest
				fmt.Fprintf(&b, "[the first %s are left out]\n", units.BytesSize(float64(n)))
			}
			fmt.Fprintf(&b, "%s\n", strings.TrimRight(log, "\n"))
		}
	}
	for _, src := range errdefs.Sources(err) {
		if src.Info == nil || len(src.Ranges) == 0 {
			continue
		}
		name := src.Info.Filename
		if name == "" || name == filepath.Base(dockerfile) || name == "Dockerfile" {
			name = dockerfile
		}
		fmt.Fprintf(&b, "at %s:%d:\n", name, src.Ranges[0].Start.Line)
		src.Print(&b)
	}
	msg := strings.TrimSpace(b.String())
	if msg == "" {
		return fmt.Errorf("build failed: %v", err)
	}
	return fmt.Errorf("build failed: %v\n%s", rootCause(err), msg)
}

// rootCause drops the gRPC and stack wrapping from a solve error.
func rootCause(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, "desc = "); i >= 0 {
		s = s[i+len("desc = "):]
	}
	return s
}
