package build

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/ecr"
	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/testenv"
	"github.com/lambdacontainer/pulumi-lambdacontainer/localaws"
)

var ctx = context.Background()

func TestConnectGuidesWhenNothingAnswers(t *testing.T) {
	t.Setenv("BUILDKIT_HOST", "")
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	for _, h := range []Host{
		{Address: "unix://" + filepath.Join(t.TempDir(), "buildkitd.sock")},
		{Address: "tcp://" + closed},
		{}, // nothing configured, no local socket
	} {
		rootful := rootfulSocket
		rootfulSocket = filepath.Join(t.TempDir(), "buildkitd.sock") // whatever this machine runs
		_, err := Connect(ctx, h)
		rootfulSocket = rootful
		if err == nil || !strings.Contains(err.Error(), "buildkitd --addr unix:///run/buildkit/buildkitd.sock") ||
			!strings.Contains(err.Error(), "BUILDKIT_HOST") || !strings.Contains(err.Error(), "lambdacontainer:buildkitHost") {
			t.Errorf("Connect(%+v) = %v; want the guidance", h, err)
		}
	}
	if _, err := Connect(ctx, Host{Address: "ssh://builder"}); err == nil || !strings.Contains(err.Error(), "scheme ssh is not supported") {
		t.Errorf("an unsupported scheme: %v", err)
	}
	if _, err := Connect(ctx, Host{Address: "tcp://" + closed, TLSDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "holds no CA certificate") {
		t.Errorf("an empty TLS dir: %v", err)
	}
}

// certificates writes a CA, a server certificate for 127.0.0.1 and a client
// certificate into a new directory, named as BuildkitdTLS and Host.TLSDir want.
func certificates(t *testing.T) string {
	dir := t.TempDir()
	key := func() *ecdsa.PrivateKey { k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader); return k }
	write := func(file, kind string, der []byte) {
		os.WriteFile(filepath.Join(dir, file), pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600)
	}
	caKey := key()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, _ := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	write("ca.pem", "CERTIFICATE", caDER)
	for i, leaf := range []struct {
		cert, key string
		usage     x509.ExtKeyUsage
	}{{"server.pem", "server-key.pem", x509.ExtKeyUsageServerAuth}, {"cert.pem", "key.pem", x509.ExtKeyUsageClientAuth}} {
		k := key()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 2)), Subject: pkix.Name{CommonName: leaf.cert},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{leaf.usage},
			KeyUsage: x509.KeyUsageDigitalSignature, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		write(leaf.cert, "CERTIFICATE", der)
		kd, _ := x509.MarshalECPrivateKey(k)
		write(leaf.key, "EC PRIVATE KEY", kd)
	}
	return dir
}

func TestConnectOverTCPWithMutualTLS(t *testing.T) {
	certs := certificates(t)
	addr := testenv.BuildkitdTLS(t, certs)
	t.Setenv("BUILDKIT_HOST", "")
	t.Setenv("BUILDKIT_TLS_DIR", "")
	b, err := Connect(ctx, Host{Address: addr, TLSDir: certs})
	if err != nil {
		t.Fatalf("Connect with mTLS: %v", err)
	}
	b.Close()
	if _, err := Connect(ctx, Host{Address: addr}); err == nil || !strings.Contains(err.Error(), "does not answer") {
		t.Fatalf("Connect without the client certificate: %v", err)
	}
	// With nothing configured, BUILDKIT_HOST and BUILDKIT_TLS_DIR say it all, as for buildctl.
	t.Setenv("BUILDKIT_HOST", addr)
	t.Setenv("BUILDKIT_TLS_DIR", certs)
	if b, err = Connect(ctx, Host{}); err != nil || b.Address != addr {
		t.Fatalf("Connect from BUILDKIT_HOST and BUILDKIT_TLS_DIR: %v", err)
	}
	b.Close()
}

// TestConnectOrder: the configured address wins over BUILDKIT_HOST, which
// wins over the local sockets; of those, each that exists is tried in turn,
// so a stale rootful socket does not hide a rootless daemon.
func TestConnectOrder(t *testing.T) {
	working := testenv.Buildkitd(t)
	dir, err := os.MkdirTemp("", "xdg-") // short: a unix socket path has at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	stale := filepath.Join(dir, "rootful.sock") // a socket file whose daemon is gone
	ln, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	rootful := rootfulSocket
	rootfulSocket = stale
	t.Cleanup(func() { rootfulSocket = rootful })
	t.Setenv("XDG_RUNTIME_DIR", dir)
	t.Setenv("BUILDKIT_TLS_DIR", "")

	connect := func(h Host) string {
		t.Helper()
		b, err := Connect(ctx, h)
		if err != nil {
			t.Fatalf("Connect(%+v) with BUILDKIT_HOST=%q: %v", h, os.Getenv("BUILDKIT_HOST"), err)
		}
		b.Close()
		return b.Address
	}
	t.Setenv("BUILDKIT_HOST", "unix://"+stale)
	if got := connect(Host{Address: working}); got != working {
		t.Errorf("the configured buildkitHost lost to BUILDKIT_HOST: connected to %s", got)
	}
	if _, err := Connect(ctx, Host{}); err == nil || !strings.Contains(err.Error(), stale) || !strings.Contains(err.Error(), "does not answer") {
		t.Errorf("an unanswered BUILDKIT_HOST: %v", err)
	}
	t.Setenv("BUILDKIT_HOST", working)
	if got := connect(Host{}); got != working {
		t.Errorf("BUILDKIT_HOST: connected to %s", got)
	}

	t.Setenv("BUILDKIT_HOST", "")
	rootless := filepath.Join(dir, "buildkit", "buildkitd.sock")
	if err := os.MkdirAll(filepath.Dir(rootless), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := Connect(ctx, Host{}); err == nil || !strings.Contains(err.Error(), "no BuildKit daemon answers") ||
		!strings.Contains(err.Error(), stale) || !strings.Contains(err.Error(), "buildkitd --addr") {
		t.Errorf("only a stale socket: %v", err)
	}
	if err := os.Symlink(strings.TrimPrefix(working, "unix://"), rootless); err != nil {
		t.Fatal(err)
	}
	if got := connect(Host{}); got != "unix://"+rootless {
		t.Errorf("with a stale rootful socket and a rootless daemon under XDG_RUNTIME_DIR: connected to %s", got)
	}
}

// TestConnectToADockerContainer reaches buildkitd through docker-container://,
// which runs `docker exec -i NAME buildctl dial-stdio`; a docker on PATH that
// checks those arguments runs buildctl itself.
func TestConnectToADockerContainer(t *testing.T) {
	addr := testenv.Buildkitd(t)
	bin := t.TempDir()
	script := "#!/bin/sh\n" +
		`[ "$1 $2 $3 $4 $5" = "exec -i builder buildctl dial-stdio" ] || { echo "unexpected docker $*" >&2; exit 2; }` + "\n" +
		`exec "` + testenv.Tool(t, "buildctl") + `" --addr "` + addr + `" dial-stdio` + "\n"
	os.WriteFile(filepath.Join(bin, "docker"), []byte(script), 0o755)
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	b, err := Connect(ctx, Host{Address: "docker-container://builder"})
	if err != nil {
		t.Fatalf("Connect through docker-container://: %v", err)
	}
	b.Close()
}

// bench is a buildkitd and a localaws ECR repository to push to.
type bench struct {
	b     *Builder
	s     *localaws.Server
	ecr   *ecr.Client
	repo  ecr.Repository
	lines []string
	mu    sync.Mutex
}

func newBench(t *testing.T) *bench {
	s, err := localaws.Start(localaws.Options{Log: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := ecr.New(awsecr.NewFromConfig(aws.Config{Region: s.Region(), BaseEndpoint: aws.String(s.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}))
	repo, err := c.Ensure(ctx, "api", ecr.NewRepository{})
	if err != nil {
		t.Fatal(err)
	}
	return &bench{b: builder(t), s: s, ecr: c, repo: repo}
}

func builder(t *testing.T) *Builder {
	b, err := Connect(ctx, Host{Address: testenv.Buildkitd(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// pushBase puts the stand-in Python base image into the repository, as
// BASE_IMAGE for the Dockerfiles below.
func (e *bench) pushBase(t *testing.T) string {
	creds, _ := e.ecr.Login(ctx, e.repo.Host)
	ref := e.repo.URI + ":python3.11"
	r, _ := name.ParseReference(ref)
	if err := remote.Write(r, testenv.PythonBase(t), remote.WithAuth(authn.FromConfig(authn.AuthConfig{Username: creds.Username, Password: creds.Password}))); err != nil {
		t.Fatal(err)
	}
	return ref
}

func (e *bench) options(dir, tag string) Options {
	return Options{
		Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile"), Platform: "linux/amd64",
		Push: []string{e.repo.URI + ":" + tag},
		Login: func(ctx context.Context, host string) (string, string, error) {
			c, err := e.ecr.Login(ctx, host)
			return c.Username, c.Password, err
		},
		Progress: func(l string) { e.mu.Lock(); e.lines = append(e.lines, l); e.mu.Unlock() },
	}
}

func writeFiles(t *testing.T, files map[string]string) string {
	dir := t.TempDir()
	for p, content := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDockerfileSyntaxErrorNamesTheFileAndLine(t *testing.T) {
	e := newBench(t)
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY app.py /\nFROBNICATE now\n", "app.py": "x = 1\n"})
	_, err := e.b.Build(ctx, e.options(dir, "v1"))
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "Dockerfile")+":3") || !strings.Contains(err.Error(), "unknown instruction") ||
		!strings.Contains(err.Error(), "FROBNICATE now") {
		t.Fatalf("a syntax error: %v", err)
	}
}

func TestFailingStepShowsItsLogAndLine(t *testing.T) {
	e := newBench(t)
	base := e.pushBase(t)
	dir := writeFiles(t, map[string]string{"Dockerfile": "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo installing-deps && echo no-such-dist >&2 && exit 3\n"})
	o := e.options(dir, "v1")
	o.BuildArgs = map[string]string{"BASE_IMAGE": base}
	_, err := e.b.Build(ctx, o)
	for _, want := range []string{"installing-deps", "no-such-dist", "exit code: 3", filepath.Join(dir, "Dockerfile") + ":3", `step "[2/2] RUN echo installing-deps`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the failure lacks %q: %v", want, err)
		}
	}
}

func TestCancelStopsTheSolve(t *testing.T) {
	e := newBench(t)
	base := e.pushBase(t)
	dir := writeFiles(t, map[string]string{"Dockerfile": "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN sleep 300\n"})
	o := e.options(dir, "v1")
	o.BuildArgs = map[string]string{"BASE_IMAGE": base}
	cctx, cancel := context.WithCancel(ctx)
	cancelled := make(chan time.Time, 1)
	var once sync.Once
	o.Progress = func(l string) {
		if strings.Contains(l, "RUN sleep 300") {
			once.Do(func() { time.AfterFunc(500*time.Millisecond, func() { cancelled <- time.Now(); cancel() }) })
		}
	}
	_, err := e.b.Build(cctx, o)
	if err == nil || !errors.Is(err, context.Canceled) || len(cancelled) == 0 {
		t.Fatalf("a cancelled build: %v", err)
	}
	// "within seconds": far below the 300 s the step would take.
	if d := time.Since(<-cancelled); d > 30*time.Second {
		t.Fatalf("the build stopped %v after the cancel", d)
	}
}

func TestSameSourceGivesTheSameDigest(t *testing.T) {
	e := newBench(t)
	base := e.pushBase(t)
	dir := writeFiles(t, map[string]string{
		"Dockerfile": "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY app.py ${LAMBDA_TASK_ROOT}/\nRUN mkdir -p /var/task/data && echo ready > /var/task/data/state\nCMD [\"app.handler\"]\n",
		"app.py":     "def handler(event, context):\n    return {'ok': True}\n",
	})
	var digests []string
	for i, b := range []*Builder{e.b, builder(t)} { // two daemons, two empty caches
		o := e.options(dir, []string{"a", "b"}[i])
		o.BuildArgs = map[string]string{"BASE_IMAGE": base}
		res, err := b.Build(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if res.Cached != 0 {
			t.Fatalf("build %d took %d steps from a cache that should be empty", i, res.Cached)
		}
		os.Chtimes(filepath.Join(dir, "app.py"), time.Now().Add(time.Hour), time.Now().Add(time.Hour))
		time.Sleep(1100 * time.Millisecond) // later mtimes for what RUN writes
		digests = append(digests, res.Digest)
	}
	if digests[0] != digests[1] {
		t.Fatalf("the same source built %s, then %s", digests[0], digests[1])
	}
}

// TestRegistryCacheServesAFreshBuilder builds on one buildkitd and exports
// the cache to the registry; a fresh buildkitd (a new CI runner) imports it
// and rebuilds only the step after the changed file.
func TestRegistryCacheServesAFreshBuilder(t *testing.T) {
	e := newBench(t)
	base := e.pushBase(t)
	dir := writeFiles(t, map[string]string{
		"Dockerfile":       "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY requirements.txt /var/task/\nRUN sleep 1 && echo deps > /var/task/deps.txt\nCOPY app.py /var/task/\nCMD [\"app.handler\"]\n",
		"requirements.txt": "mangum\n",
		"app.py":           "def handler(e, c):\n    return 1\n",
	})
	o := e.options(dir, "v1")
	o.BuildArgs = map[string]string{"BASE_IMAGE": base}
	o.Cache, o.CacheExport = e.repo.URI+":"+ecr.CacheTag, true
	first, err := e.b.Build(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "app.py"), []byte("def handler(e, c):\n    return 2\n"), 0o644)
	o.Push = []string{e.repo.URI + ":v2"}
	second, err := builder(t).Build(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if first.Steps != 3 || second.Steps != 3 || second.Cached != 2 || first.Digest == second.Digest {
		t.Fatalf("first %+v, second %+v: want 3 steps (FROM is no step), 2 of them from the registry cache the second time", first, second)
	}
	// A third runner, the same source, new file times: every layer comes
	// from the cache, so the image is the same one, digest and all.
	os.Chtimes(filepath.Join(dir, "app.py"), time.Now().Add(time.Hour), time.Now().Add(time.Hour))
	o.Push = []string{e.repo.URI + ":v3"}
	third, err := builder(t).Build(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if third.Digest != second.Digest || third.Cached != 3 {
		t.Fatalf("a fresh runner built %s (%d of 3 steps cached), not the cached %s", third.Digest, third.Cached, second.Digest)
	}
}

// TestImagesAreOnesLambdaAccepts builds a Python image on the stand-in base
// and a FROM scratch Go image (aws-lambda-go's runtime client), pushes them
// with the ECR token handed over the session, and proves each: one image
// manifest, gzip layers, the requested architecture, a command.
func TestImagesAreOnesLambdaAccepts(t *testing.T) {
	e := newBench(t)
	base := e.pushBase(t)
	py := writeFiles(t, map[string]string{
		"Dockerfile": "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY app.py ${LAMBDA_TASK_ROOT}/\nCMD [\"app.handler\"]\n",
		"app.py":     "def handler(event, context):\n    return {'statusCode': 200}\n",
	})
	goDir := writeFiles(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY bootstrap /bootstrap\nENTRYPOINT [\"/bootstrap\"]\n"})
	gobuild := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(goDir, "bootstrap"), "../../localaws/testfunction")
	gobuild.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := gobuild.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	creds, _ := e.ecr.Login(ctx, e.repo.Host)
	for tag, dir := range map[string]string{"python": py, "go": goDir} {
		o := e.options(dir, tag)
		o.BuildArgs = map[string]string{"BASE_IMAGE": base}
		res, err := e.b.Build(ctx, o)
		if err != nil {
			t.Fatalf("%s: %v", tag, err)
		}
		im, err := ecr.Prove(ctx, e.repo.URI+"@"+res.Digest, creds, ecr.ProveOptions{Architecture: "amd64"})
		if err != nil || im.MediaType != "application/vnd.docker.distribution.manifest.v2+json" {
			t.Fatalf("%s: %+v %v", tag, im, err)
		}
		if d, _, err := e.ecr.FindTag(ctx, e.repo, tag); err != nil || d != res.Digest {
			t.Fatalf("%s: the tag points at %q, not the built %s (%v)", tag, d, res.Digest, err)
		}
	}
}

// TestBuildSecretsStayOutOfLayersHistoryAndLogs reads a secret in a RUN
// step and checks that it is in no layer, no history entry, no config and
// no progress line, while the step really saw it.
func TestBuildSecretsStayOutOfLayersHistoryAndLogs(t *testing.T) {
	e := newBench(t)
	base := e.pushBase(t)
	const secret = "s3cr3t-token-6f1d2a"
	dir := writeFiles(t, map[string]string{"Dockerfile": "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n" +
		"RUN --mount=type=secret,id=token test \"$(cat /run/secrets/token)\" = \"" + secret[:6] + "$(echo -n " + secret[6:] + ")\" && " +
		"echo \"secret has $(wc -c < /run/secrets/token) bytes\" && sha256sum /run/secrets/token > /var/task/seen\nCMD [\"app.handler\"]\n"})
	o := e.options(dir, "v1")
	o.BuildArgs = map[string]string{"BASE_IMAGE": base}
	o.Secrets = map[string][]byte{"token": []byte(secret)}
	res, err := e.b.Build(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	creds, _ := e.ecr.Login(ctx, e.repo.Host)
	ref, _ := name.NewDigest(e.repo.URI + "@" + res.Digest)
	img, err := remote.Image(ref, remote.WithAuth(authn.FromConfig(authn.AuthConfig{Username: creds.Username, Password: creds.Password})))
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := img.RawConfigFile()
	if strings.Contains(string(cfg), secret) {
		t.Fatal("the secret is in the image config or history")
	}
	layers, _ := img.Layers()
	for _, l := range layers[len(layers)-1:] { // the RUN step's layer
		rc, _ := l.Uncompressed()
		data, _ := io.ReadAll(rc)
		rc.Close()
		if strings.Contains(string(data), secret) || !strings.Contains(string(data), "/run/secrets/token") {
			t.Fatalf("the RUN layer holds the secret, or the step did not see it")
		}
	}
	for _, l := range e.lines {
		if strings.Contains(l, secret) {
			t.Fatalf("a progress line holds the secret: %q", l)
		}
	}
}

func TestScrubberHidesEveryFormOfASecret(t *testing.T) {
	const secret = "tok-9f8e7d6c5b4a"
	s := newScrubber(map[string][]byte{"tok": []byte(secret + "\n"), "empty": []byte(" \n")})
	for _, leak := range []string{
		"the token is " + secret + ", see",
		base64.StdEncoding.EncodeToString([]byte(secret)),
		base64.StdEncoding.EncodeToString([]byte(secret + "\n")),       // base64 /run/secrets/tok
		base64.StdEncoding.EncodeToString([]byte("user:" + secret)),    // inside a basic-auth header
		base64.URLEncoding.EncodeToString([]byte("ab" + secret + "x")), // another alignment and alphabet
	} {
		got := s.text("before\n" + leak + "\nafter")
		if strings.Contains(got, secret) || got != "before\n[a line holding the value of build secret \"tok\" is hidden]\nafter" {
			t.Errorf("scrubbing %q gave %q", leak, got)
		}
	}
	if got := s.text("nothing to hide: tok, tok-9f8"); got != "nothing to hide: tok, tok-9f8" {
		t.Errorf("a line without the secret was changed: %q", got)
	}
}

// TestBuildSecretsStayOutOfFailuresAndProgress runs steps that print a
// secret, raw and in base64, and fail or succeed: neither the error nor any
// progress line holds it, while the failure still shows the rest of its log.
func TestBuildSecretsStayOutOfFailuresAndProgress(t *testing.T) {
	e := newBench(t)
	base := e.pushBase(t)
	const secret = "s3cr3t-6f1d2a9e"
	leaks := []string{secret, base64.StdEncoding.EncodeToString([]byte(secret)), base64.StdEncoding.EncodeToString([]byte(secret + "\n"))}
	for i, run := range []string{
		"cat /run/secrets/tok; echo; base64 /run/secrets/tok; echo before-failing; exit 1",
		"cat /run/secrets/tok && echo && base64 /run/secrets/tok && echo \"token=$(cat /run/secrets/tok)\"",
	} {
		dir := writeFiles(t, map[string]string{"Dockerfile": "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN --mount=type=secret,id=tok " + run + "\nCMD [\"app.handler\"]\n"})
		o := e.options(dir, fmt.Sprintf("v%d", i))
		o.BuildArgs = map[string]string{"BASE_IMAGE": base}
		o.Secrets = map[string][]byte{"tok": []byte(secret)}
		e.lines = nil
		_, err := e.b.Build(ctx, o)
		if fails := i == 0; fails != (err != nil) {
			t.Fatalf("build %d: %v", i, err)
		}
		if err != nil {
			for _, want := range []string{"before-failing", "exit code: 1", `build secret "tok" is hidden`} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the failure lacks %q:\n%v", want, err)
				}
			}
		}
		for _, leak := range leaks {
			if err != nil && strings.Contains(err.Error(), leak) {
				t.Errorf("build %d: the error holds the secret (%q):\n%v", i, leak, err)
			}
			for _, l := range e.lines {
				if strings.Contains(l, leak) {
					t.Errorf("build %d: a progress line holds the secret: %q", i, l)
				}
			}
		}
		if len(e.lines) == 0 {
			t.Fatalf("build %d reported no progress", i)
		}
	}
}

// TestRegistryCacheIsOneOCIImageManifest: the cache BuildKit pushes to
// <repo>:buildcache is one OCI image manifest (ECR refuses BuildKit's
// default, an index) with BuildKit's cache config, and with mode=max it
// holds the layers of every stage, not only the image's.
func TestRegistryCacheIsOneOCIImageManifest(t *testing.T) {
	e := newBench(t)
	dir := writeFiles(t, map[string]string{
		"Dockerfile": "FROM scratch AS builder\nCOPY a.txt /a.txt\nFROM scratch\nCOPY --from=builder /a.txt /b/a.txt\nCOPY b.txt /b.txt\nCMD [\"x\"]\n",
		"a.txt":      "built in the first stage\n",
		"b.txt":      "b\n",
	})
	o := e.options(dir, "v1")
	o.Cache, o.CacheExport = e.repo.URI+":"+ecr.CacheTag, true
	image, opt, _, err := solveOpts(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(image.CacheExports) != 0 || len(opt.Exports) != 0 || len(opt.CacheExports) != 1 || opt.CacheExports[0].Type != "registry" {
		t.Fatalf("the image's solve must export only the image, and the cache's only the cache: %+v, %+v", image, opt)
	}
	for k, v := range map[string]string{"ref": o.Cache, "mode": "max", "image-manifest": "true", "oci-mediatypes": "true"} {
		if got := opt.CacheExports[0].Attrs[k]; got != v {
			t.Errorf("the cache export has %s=%q, want %q", k, got, v)
		}
	}
	res, err := e.b.Build(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	auth := e.auth(t)
	cacheRef, _ := name.ParseReference(o.Cache)
	desc, err := remote.Get(cacheRef, auth)
	if err != nil {
		t.Fatal(err)
	}
	if desc.MediaType != types.OCIManifestSchema1 {
		t.Fatalf("the cache is a %s, not one OCI image manifest", desc.MediaType)
	}
	cache, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		t.Fatal(err)
	}
	if cache.Config.MediaType != "application/vnd.buildkit.cacheconfig.v0" {
		t.Fatalf("the cache manifest's config is a %s", cache.Config.MediaType)
	}
	img := e.image(t, res.Digest)
	m, _ := img.Manifest()
	inCache := map[v1.Hash]bool{}
	for _, l := range cache.Layers {
		inCache[l.Digest] = true
	}
	for _, l := range m.Layers {
		if !inCache[l.Digest] {
			t.Errorf("the image's layer %s is not in the cache", l.Digest)
		}
		delete(inCache, l.Digest)
	}
	if len(inCache) != 1 {
		t.Errorf("the cache holds %d layers beyond the image's; want 1, the first stage's (mode=max)", len(inCache))
	}
}

// TestTargetPicksTheStage builds a stage named by target, and the last
// stage without one.
func TestTargetPicksTheStage(t *testing.T) {
	e := newBench(t)
	dir := writeFiles(t, map[string]string{
		"Dockerfile": "FROM scratch AS first\nCOPY first.txt /stage.txt\nCMD [\"first\"]\n" +
			"FROM scratch AS second\nCOPY second.txt /stage.txt\nCMD [\"second\"]\n",
		"first.txt":  "from the first stage\n",
		"second.txt": "from the second stage\n",
	})
	for target, want := range map[string]string{"first": "first", "": "second"} {
		o := e.options(dir, "t-"+want)
		o.Target = target
		res, err := e.b.Build(ctx, o)
		if err != nil {
			t.Fatalf("target %q: %v", target, err)
		}
		img := e.image(t, res.Digest)
		cfg, _ := img.ConfigFile()
		rc := mutate.Extract(img)
		files := readTar(t, rc)
		rc.Close()
		if len(cfg.Config.Cmd) != 1 || cfg.Config.Cmd[0] != want || files["stage.txt"] != "from the "+want+" stage\n" {
			t.Errorf("target %q built CMD %v with /stage.txt %q; want the %s stage", target, cfg.Config.Cmd, files["stage.txt"], want)
		}
	}
}

// TestArm64ScratchImage builds for linux/arm64 on this machine (COPY only,
// so no emulation) and proves the image is an arm64 one.
func TestArm64ScratchImage(t *testing.T) {
	e := newBench(t)
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY bootstrap /bootstrap\nENTRYPOINT [\"/bootstrap\"]\n", "bootstrap": "#!/bin/sh\n"})
	o := e.options(dir, "arm64")
	o.Platform = "linux/arm64"
	res, err := e.b.Build(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	creds, _ := e.ecr.Login(ctx, e.repo.Host)
	ref := e.repo.URI + "@" + res.Digest
	if im, err := ecr.Prove(ctx, ref, creds, ecr.ProveOptions{Architecture: "arm64"}); err != nil || im.Architecture != "arm64" {
		t.Fatalf("proving the arm64 image for an arm64 function: %+v %v", im, err)
	}
	var bad *ecr.Incompatible
	if _, err := ecr.Prove(ctx, ref, creds, ecr.ProveOptions{Architecture: "amd64"}); !errors.As(err, &bad) || !strings.Contains(bad.Cause, "built for arm64") {
		t.Fatalf("proving the arm64 image for an x86_64 function: %v", err)
	}
}

// auth is the registry login for the bench's repository.
func (e *bench) auth(t *testing.T) remote.Option {
	creds, err := e.ecr.Login(ctx, e.repo.Host)
	if err != nil {
		t.Fatal(err)
	}
	return remote.WithAuth(authn.FromConfig(authn.AuthConfig{Username: creds.Username, Password: creds.Password}))
}

// image reads the pushed image at digest from the bench's repository.
func (e *bench) image(t *testing.T, digest string) v1.Image {
	ref, err := name.NewDigest(e.repo.URI + "@" + digest)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref, e.auth(t))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// readTar returns the regular files of a tar stream by path.
func readTar(t *testing.T, r io.Reader) map[string]string {
	files := map[string]string{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			data, _ := io.ReadAll(tr)
			files[strings.TrimPrefix(h.Name, "/")] = string(data)
		}
	}
}

// TestANewLayerIsUploadedOnce builds with the registry cache exported, as
// deployments do: the image's new 1 MiB layer (incompressible), which the
// cache holds too, reaches the registry once, not once for the image and
// once for the cache.
func TestANewLayerIsUploadedOnce(t *testing.T) {
	e := newBench(t)
	data := make([]byte, 1<<20)
	rand.Read(data)
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY data.bin /data.bin\nCMD [\"x\"]\n", "data.bin": string(data)})
	o := e.options(dir, "v1")
	o.Cache, o.CacheExport = e.repo.URI+":"+ecr.CacheTag, true
	before := e.s.Calls().RegistryBlobBytes
	if _, err := e.b.Build(ctx, o); err != nil {
		t.Fatal(err)
	}
	if uploaded := e.s.Calls().RegistryBlobBytes - before; uploaded < 1<<20 || uploaded > 1<<20+64<<10 {
		t.Fatalf("%d bytes uploaded for a 1 MiB layer and a few KiB of metadata", uploaded)
	}
	if _, err := remote.Get(mustRef(t, o.Cache), e.auth(t)); err != nil {
		t.Fatalf("the cache was not exported: %v %v", err, e.s.Calls().Calls)
	}
}

func mustRef(t *testing.T, ref string) name.Reference {
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
