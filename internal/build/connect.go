// Package build turns a build context into a pushed image with BuildKit: it
// connects to a buildkitd (unix, tcp with mTLS, docker-container), solves the
// Dockerfile for exactly one platform with no attestations, streams progress,
// and exports a gzip, reproducible image straight to the registry, handing
// registry credentials and build secrets over the session only.
package build

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/buildkit/client"
	_ "github.com/moby/buildkit/client/connhelper/dockercontainer" // docker-container://
)

// Host says which buildkitd to use.
type Host struct {
	// Address is unix://PATH, tcp://HOST:PORT or docker-container://NAME.
	// Empty means BUILDKIT_HOST, then the usual local sockets.
	Address string
	// TLSDir holds the CA and client certificate for tcp:// with mTLS, named
	// ca.pem, cert.pem, key.pem or ca.crt, tls.crt, tls.key (as buildctl's
	// --tlsdir).
	TLSDir string
}

// Builder is a connected buildkitd.
type Builder struct {
	Address string
	c       *client.Client
}

// localSockets are where buildkitd listens by default, rootful then rootless.
func localSockets() []string {
	socks := []string{"/run/buildkit/buildkitd.sock"}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		socks = append(socks, filepath.Join(d, "buildkit", "buildkitd.sock"))
	}
	return append(socks, fmt.Sprintf("/run/user/%d/buildkit/buildkitd.sock", os.Getuid()))
}

// howToStart is the guidance every connection error ends with.
const howToStart = "start one with `buildkitd --addr unix:///run/buildkit/buildkitd.sock` (as root; `rootlesskit buildkitd` otherwise), " +
	"or point the provider at a running one with the config `lambdacontainer:buildkitHost` or the BUILDKIT_HOST variable " +
	"(unix://PATH, tcp://HOST:PORT with `lambdacontainer:buildkitTlsDir` for mTLS, or docker-container://NAME)"

// Connect finds the buildkitd, dials it and checks that it answers.
func Connect(ctx context.Context, h Host) (*Builder, error) {
	addr := h.Address
	if addr == "" {
		addr = os.Getenv("BUILDKIT_HOST")
	}
	if addr == "" {
		for _, s := range localSockets() {
			if _, err := os.Stat(s); err == nil {
				addr = "unix://" + s
				break
			}
		}
		if addr == "" {
			return nil, fmt.Errorf("no BuildKit daemon: no buildkitHost is configured, BUILDKIT_HOST is unset, and none of %s exists; %s",
				strings.Join(localSockets(), ", "), howToStart)
		}
	}
	u, err := url.Parse(addr)
	if err != nil || u.Scheme == "" {
		return nil, fmt.Errorf("buildkitHost %q is not a URL; %s", addr, howToStart)
	}
	var opts []client.ClientOpt
	switch u.Scheme {
	case "unix", "docker-container":
		if h.TLSDir != "" {
			return nil, fmt.Errorf("buildkitTlsDir is set but buildkitHost %q is not tcp://: TLS applies to tcp:// only", addr)
		}
	case "tcp":
		if h.TLSDir != "" {
			tls, err := tlsOptions(h.TLSDir, u.Hostname())
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
		return nil, fmt.Errorf("connecting to BuildKit at %s: %w; %s", addr, err, howToStart)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if _, err := c.ListWorkers(pingCtx); err != nil {
		c.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("BuildKit at %s does not answer: %v; %s", addr, shortGRPC(err), howToStart)
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
