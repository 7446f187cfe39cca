// Package build turns a build context into a pushed image with BuildKit: it
// connects to a buildkitd (unix, tcp with mTLS, docker-container), solves the
// Dockerfile for exactly one platform with no attestations, streams progress,
// and exports a gzip, reproducible image straight to the registry, handing
// registry credentials and build secrets over the session only.
package build

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/moby/buildkit/client"
	_ "github.com/moby/buildkit/client/connhelper/dockercontainer" // docker-container://
)

// Host says which buildkitd to use.
type Host struct {
	// Address is unix://PATH, tcp://HOST:PORT or docker-container://NAME.
	// Empty means BUILDKIT_HOST, then the usual local sockets, each that
	// exists tried in turn.
	Address string
	// TLSDir holds the CA and client certificate for tcp:// with mTLS, named
	// ca.pem, cert.pem, key.pem or ca.crt, tls.crt, tls.key (as buildctl's
	// --tlsdir). Empty means BUILDKIT_TLS_DIR, for a tcp:// address.
	TLSDir string
}

// Builder is a connected buildkitd.
type Builder struct {
	Address string
	c       *client.Client
}

// rootfulSocket is where a buildkitd run as root listens by default.
var rootfulSocket = "/run/buildkit/buildkitd.sock"

// localSockets are where buildkitd listens by default, rootful then rootless.
func localSockets() []string {
	socks := []string{rootfulSocket}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		socks = append(socks, filepath.Join(d, "buildkit", "buildkitd.sock"))
	}
	return slices.Compact(append(socks, fmt.Sprintf("/run/user/%d/buildkit/buildkitd.sock", os.Getuid())))
}

// howToStart is the guidance every connection error ends with.
const howToStart = "start one with `buildkitd --addr unix:///run/buildkit/buildkitd.sock` (as root; `rootlesskit buildkitd` otherwise), " +
	"or point the provider at a running one with the config `lambdacontainer:buildkitHost` or the BUILDKIT_HOST variable " +
	"(unix://PATH, tcp://HOST:PORT with `lambdacontainer:buildkitTlsDir` for mTLS, or docker-container://NAME)"

// Connect finds the buildkitd, dials it and checks that it answers: the
// configured address, else BUILDKIT_HOST, else the first local socket whose
// daemon answers (a stale rootful socket does not hide a rootless daemon).
func Connect(ctx context.Context, h Host) (*Builder, error) {
	addr, tlsDir := h.Address, h.TLSDir
	if addr == "" {
		addr = os.Getenv("BUILDKIT_HOST")
	}
	if tlsDir == "" && strings.HasPrefix(addr, "tcp://") {
		tlsDir = os.Getenv("BUILDKIT_TLS_DIR")
	}
	if addr != "" {
		b, err := dial(ctx, addr, tlsDir)
		if errors.As(err, new(*unanswered)) {
			return nil, fmt.Errorf("%w; %s", err, howToStart)
		}
		return b, err
	}
	var tried []string
	for _, s := range localSockets() {
		if _, err := os.Stat(s); err != nil {
			continue
		}
		b, err := dial(ctx, "unix://"+s, "")
		if err == nil || ctx.Err() != nil {
			return b, err
		}
		tried = append(tried, err.Error())
	}
	if len(tried) == 0 {
		return nil, fmt.Errorf("no BuildKit daemon: no buildkitHost is configured, BUILDKIT_HOST is unset, and none of %s exists; %s",
			strings.Join(localSockets(), ", "), howToStart)
	}
	return nil, fmt.Errorf("no BuildKit daemon answers: no buildkitHost is configured, BUILDKIT_HOST is unset, and %s; %s",
		strings.Join(tried, "; "), howToStart)
}

// unanswered is a buildkitd that could not be reached at an address.
type unanswered struct{ addr, cause string }

func (e *unanswered) Error() string {
	return fmt.Sprintf("BuildKit at %s does not answer: %s", e.addr, e.cause)
}

// dial connects to the buildkitd at addr and checks that it answers.
func dial(ctx context.Context, addr, tlsDir string) (*Builder, error) {
	u, err := url.Parse(addr)
	if err != nil || u.Scheme == "" {
		return nil, fmt.Errorf("buildkitHost %q is not a URL; %s", addr, howToStart)
	}
	var opts []client.ClientOpt
	switch u.Scheme {
	case "unix", "docker-container":
		if tlsDir != "" {
			return nil, fmt.Errorf("buildkitTlsDir is set but buildkitHost %q is not tcp://: TLS applies to tcp:// only", addr)
		}
	case "tcp":
		if tlsDir != "" {
			tls, err := tlsOptions(tlsDir, u.Hostname())
			if err != nil {
				return nil, err
			}
			opts = append(opts, tls...)
		}
	default:
		return nil, fmt.Errorf("buildkitHost %q: scheme %s is not supported; use unix://, tcp:// or docker-container://", addr, u.Scheme)
	}
	c, err := client.New(ctx, addr, opts...)
	if err != nil {
		return nil, &unanswered{addr, err.Error()}
	}
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if _, err := c.ListWorkers(pingCtx); err != nil {
		c.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &unanswered{addr, shortGRPC(err)}
	}
	return &Builder{Address: addr, c: c}, nil
}

// Close hangs up.
func (b *Builder) Close() error { return b.c.Close() }

// tlsOptions reads the CA and client certificate from dir.
func tlsOptions(dir, serverName string) ([]client.ClientOpt, error) {
	for _, names := range [][3]string{{"ca.pem", "cert.pem", "key.pem"}, {"ca.crt", "tls.crt", "tls.key"}} {
		ca, cert, key := filepath.Join(dir, names[0]), filepath.Join(dir, names[1]), filepath.Join(dir, names[2])
		if _, err := os.Stat(ca); err != nil {
			continue
		}
		opts := []client.ClientOpt{client.WithServerConfig(serverName, ca)}
		if _, err := os.Stat(cert); err == nil {
			opts = append(opts, client.WithCredentials(cert, key))
		}
		return opts, nil
	}
	return nil, fmt.Errorf("buildkitTlsDir %s holds no CA certificate: put ca.pem, cert.pem and key.pem (or ca.crt, tls.crt and tls.key) there", dir)
}

// shortGRPC trims gRPC's wrapping of a dial error to its cause.
func shortGRPC(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, "desc = "); i >= 0 {
		s = s[i+len("desc = "):]
	}
	return s
}
