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
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/moby/buildkit/solver/errdefs"
	digest "github.com/opencontainers/go-digest"
	"github.com/tonistiigi/fsutil"
	"golang.org/x/sync/errgroup"
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

// Build solves the Dockerfile and pushes the image. The values of
// o.Secrets are hidden from every progress line and error it gives.
func (b *Builder) Build(ctx context.Context, o Options) (Result, error) {
	start := time.Now()
	opt, err := solveOpt(o)
	if err != nil {
		return Result{}, err
	}
	scrub := newScrubber(o.Secrets)
	progress := func(string) {}
	if o.Progress != nil {
		progress = func(line string) { o.Progress(scrub.text(line)) }
	}
	ch := make(chan *client.SolveStatus)
	t := newTracker(progress)
	var resp *client.SolveResponse
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		resp, err = b.c.Solve(gctx, nil, opt, ch)
		return err
	})
	g.Go(func() error {
		for s := range ch {
			t.update(s)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
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

// solveOpt is what Build asks BuildKit for: the Dockerfile frontend on the
// context and the Dockerfile's directory, the registry credentials and the
// secrets over the session, and the image (and cache) export.
func solveOpt(o Options) (client.SolveOpt, error) {
	ctxFS, err := fsutil.NewFS(o.Context)
	if err != nil {
		return client.SolveOpt{}, fmt.Errorf("context %s: %w", o.Context, err)
	}
	dfFS, err := fsutil.NewFS(filepath.Dir(o.Dockerfile))
	if err != nil {
		return client.SolveOpt{}, fmt.Errorf("dockerfile %s: %w", o.Dockerfile, err)
	}
	epoch := strconv.Itoa(Epoch)
	attrs := map[string]string{
		"filename":                    filepath.Base(o.Dockerfile),
		"platform":                    o.Platform,
		"build-arg:SOURCE_DATE_EPOCH": epoch,
	}
	if o.Target != "" {
		attrs["target"] = o.Target
	}
	for k, v := range o.BuildArgs {
		attrs["build-arg:"+k] = v
	}
	secrets := o.Secrets
	if secrets == nil {
		secrets = map[string][]byte{}
	}
	opt := client.SolveOpt{
		Frontend:      "dockerfile.v0",
		FrontendAttrs: attrs,
		LocalMounts:   map[string]fsutil.FS{"context": ctxFS, "dockerfile": dfFS},
		Session:       []session.Attachable{&authServer{login: o.Login}, secretsprovider.FromMap(secrets)},
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
		opt.CacheImports = []client.CacheOptionsEntry{{Type: "registry", Attrs: map[string]string{"ref": o.Cache}}}
		if o.CacheExport {
			// One OCI image manifest whose config is the cache's (ECR refuses
			// BuildKit's default, an index), with every stage's layers.
			opt.CacheExports = []client.CacheOptionsEntry{{Type: "registry", Attrs: map[string]string{
				"ref": o.Cache, "mode": "max", "image-manifest": "true", "oci-mediatypes": "true", "compression": "gzip",
			}}}
		}
	}
	return opt, nil
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
