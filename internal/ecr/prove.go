package ecr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"
)

// MaxUncompressedSize is Lambda's limit on an image's unpacked layers.
const MaxUncompressedSize = 10 << 30

// Image is a pushed image, as the compatibility proof read it.
type Image struct {
	Ref              string // host/name@sha256:...
	Digest           string
	MediaType        string
	Architecture     string // amd64 or arm64
	Size             int64  // the manifest, config and compressed layers
	UncompressedSize int64  // the layers unpacked
}

// Incompatible is a reason Lambda would refuse an image, with the fix.
type Incompatible struct {
	Ref, Cause, Fix string
}

func (e *Incompatible) Error() string {
	return fmt.Sprintf("image %s is not one Lambda accepts: %s. Fix: %s", e.Ref, e.Cause, e.Fix)
}

// ProveOptions tune Prove.
type ProveOptions struct {
	// Architecture is the function's, in Go's spelling: amd64 or arm64.
	Architecture string
	// SizeCache is a directory that remembers the unpacked size of each
	// layer by digest ("" for none), so a layer is measured only once.
	SizeCache string
	// UnpackedSize is the image's unpacked size when an earlier proof
	// recorded it (SizeTag); 0 measures it.
	UnpackedSize int64
	// Baseline is an image whose unpacked size is recorded (the one the
	// function runs): only the layers the two do not share are measured.
	Baseline *Baseline
}

// Baseline is a proven image and its unpacked size.
type Baseline struct {
	Ref      string // host/name@sha256:...
	Unpacked int64
}

// Prove fetches the manifest at ref (by digest) and checks what Lambda
// checks: a single image manifest, not an index; gzip layers; the function's
// architecture; an entrypoint or command; and at most 10 GiB unpacked.
func Prove(ctx context.Context, ref string, creds Credentials, opts ProveOptions) (Image, error) {
	r, err := name.NewDigest(ref)
	if err != nil {
		return Image{}, fmt.Errorf("proving %s: not a reference by digest: %w", ref, err)
	}
	auth := authn.FromConfig(authn.AuthConfig{Username: creds.Username, Password: creds.Password})
	ropts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(auth)}
	desc, err := remote.Get(r, ropts...)
	if err != nil {
		return Image{}, fmt.Errorf("fetching the manifest of %s: %w", ref, err)
	}
	bad := func(cause, fix string) (Image, error) {
		return Image{}, &Incompatible{Ref: ref, Cause: cause, Fix: fix}
	}
	im := Image{Ref: ref, Digest: desc.Digest.String(), MediaType: string(desc.MediaType)}
	switch desc.MediaType {
	case types.DockerManifestSchema2, types.OCIManifestSchema1:
	case types.DockerManifestList, types.OCIImageIndex:
		return bad("it is an image index ("+string(desc.MediaType)+") of "+describeIndex(desc.Manifest)+
			"; Lambda accepts only a single image manifest and will not pick one from an index",
			"build exactly one platform with no provenance or SBOM attestations (buildx: --provenance=false --sbom=false, "+
				"or BUILDX_NO_DEFAULT_ATTESTATIONS=1), and push that manifest; images this provider builds are pushed that way")
	default:
		return bad("its manifest media type is "+string(desc.MediaType),
			"push a Docker v2 schema 2 or OCI image manifest")
	}
	img, err := desc.Image()
	if err != nil {
		return Image{}, fmt.Errorf("reading image %s: %w", ref, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return Image{}, fmt.Errorf("reading the manifest of %s: %w", ref, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return Image{}, fmt.Errorf("reading the image config of %s: %w", ref, err)
	}
	im.Architecture = cfg.Architecture
	im.Size = int64(len(desc.Manifest)) + m.Config.Size
	for i, l := range m.Layers {
		im.Size += l.Size
		switch l.MediaType {
		case types.DockerLayer, types.OCILayer:
		default:
			return bad(fmt.Sprintf("layer %d (%s) is %s, not gzip", i+1, l.Digest, l.MediaType),
				"export the image with gzip compression (BuildKit: compression=gzip,force-compression=true)")
		}
	}
	if cfg.OS != "linux" {
		return bad(fmt.Sprintf("its OS is %q", cfg.OS), "build for linux/"+opts.Architecture)
	}
	if opts.Architecture != "" && cfg.Architecture != opts.Architecture {
		return bad(fmt.Sprintf("it is built for %s but the function runs on %s, so every invocation would fail with exec format error",
			cfg.Architecture, LambdaArchitecture(opts.Architecture)),
			fmt.Sprintf("build for linux/%s (set platform, or leave it unset to follow the function's architecture), "+
				"or change the function's architecture to %s", opts.Architecture, LambdaArchitecture(cfg.Architecture)))
	}
	if len(cfg.Config.Entrypoint) == 0 && len(cfg.Config.Cmd) == 0 {
		return bad("it has neither ENTRYPOINT nor CMD, so Lambda has nothing to run",
			`end the Dockerfile with CMD ["module.handler"] on a Lambda base image, or an ENTRYPOINT that starts a runtime client`)
	}
	layers, err := img.Layers()
	if err != nil {
		return Image{}, fmt.Errorf("reading the layers of %s: %w", ref, err)
	}
	im.UncompressedSize = opts.UnpackedSize
	if im.UncompressedSize <= 0 && opts.Baseline != nil && opts.Baseline.Unpacked > 0 {
		im.UncompressedSize = fromBaseline(ctx, layers, *opts.Baseline, ropts, opts.SizeCache)
	}
	if im.UncompressedSize <= 0 {
		if im.UncompressedSize, err = unpackedSize(ctx, layers, opts.SizeCache); err != nil {
			return Image{}, fmt.Errorf("measuring the layers of %s: %w", ref, err)
		}
	}
	if im.UncompressedSize > MaxUncompressedSize {
		return bad(fmt.Sprintf("its layers unpack to %.1f GiB, above Lambda's 10 GiB limit", float64(im.UncompressedSize)/(1<<30)),
			"shrink the image: a slimmer base, a multi-stage build that copies only what runs, and no caches or tests in the final stage")
	}
	return im, nil
}

// SizeTagPrefix starts the tag that records a proven image's unpacked size.
const SizeTagPrefix = "sz-"

// SizeTag records the unpacked size Prove measured on the image itself:
// sz-<digest prefix>-<bytes>, unique to the image, so it never moves. A
// runner without the layers in its size cache (a fresh CI runner deploying
// an image already in ECR) reads it instead of downloading every layer;
// the size does not depend on the function, the other checks do and run.
func SizeTag(digest string, unpacked int64) string {
	return SizeTagPrefix + strings.TrimPrefix(digest, "sha256:")[:12] + "-" + strconv.FormatInt(unpacked, 10)
}

// RecordedSize reads the unpacked size a SizeTag among tags records for the
// image at digest; 0 when none does.
func RecordedSize(digest string, tags []string) int64 {
	prefix := SizeTagPrefix + strings.TrimPrefix(digest, "sha256:")[:12] + "-"
	for _, t := range tags {
		if rest, ok := strings.CutPrefix(t, prefix); ok {
			if n, err := strconv.ParseInt(rest, 10, 64); err == nil && n > 0 {
				return n
			}
		}
	}
	return 0
}

// LambdaArchitecture turns Go's architecture name into Lambda's.
func LambdaArchitecture(goarch string) string {
	if goarch == "amd64" {
		return "x86_64"
	}
	return goarch
}

func describeIndex(raw []byte) string {
	idx, err := v1.ParseIndexManifest(strings.NewReader(string(raw)))
	if err != nil {
		return "unreadable entries"
	}
	var parts []string
	for _, d := range idx.Manifests {
		p := "unknown platform"
		if d.Platform != nil {
			p = d.Platform.String()
		}
		if d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
			p += " (an attestation)"
		}
		parts = append(parts, p)
	}
	return fmt.Sprintf("%d entries: %s", len(parts), strings.Join(parts, ", "))
}

// fromBaseline is the unpacked size of an image with layers, from a
// baseline's: the baseline's size, less the layers only it has, plus the
// layers only the image has, so that only those are measured. 0 when the
// baseline can't be read (the caller measures every layer then).
func fromBaseline(ctx context.Context, layers []v1.Layer, base Baseline, ropts []remote.Option, cache string) int64 {
	r, err := name.NewDigest(base.Ref)
	if err != nil {
		return 0
	}
	img, err := remote.Image(r, ropts...)
	if err != nil {
		return 0
	}
	baseLayers, err := img.Layers()
	if err != nil {
		return 0
	}
	digests := func(ls []v1.Layer) map[v1.Hash]v1.Layer {
		out := map[v1.Hash]v1.Layer{}
		for _, l := range ls {
			if d, err := l.Digest(); err == nil {
				out[d] = l
			}
		}
		return out
	}
	mine, theirs := digests(layers), digests(baseLayers)
	if len(mine) != len(layers) || len(theirs) != len(baseLayers) {
		return 0 // a layer twice: the sums below would not hold
	}
	var added, removed []v1.Layer
	for d, l := range mine {
		if theirs[d] == nil {
			added = append(added, l)
		}
	}
	for d, l := range theirs {
		if mine[d] == nil {
			removed = append(removed, l)
		}
	}
	plus, err := unpackedSize(ctx, added, cache)
	if err != nil {
		return 0
	}
	minus, err := unpackedSize(ctx, removed, cache)
	if err != nil || base.Unpacked-minus+plus <= 0 {
		return 0
	}
	return base.Unpacked - minus + plus
}

// unpackedSize sums the layers' unpacked sizes, streaming each layer that
// the cache doesn't know through gzip. A layer that isn't valid gzip fails.
func unpackedSize(ctx context.Context, layers []v1.Layer, cache string) (int64, error) {
	sizes := make([]int64, len(layers))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, l := range layers {
		g.Go(func() error {
			d, err := l.Digest()
			if err != nil {
				return err
			}
			file := ""
			if cache != "" {
				file = filepath.Join(cache, d.Algorithm+"-"+d.Hex)
				if b, err := os.ReadFile(file); err == nil {
					if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
						sizes[i] = n
						return nil
					}
				}
			}
			rc, err := l.Uncompressed()
			if err != nil {
				return fmt.Errorf("layer %s: %w", d, err)
			}
			defer rc.Close()
			n, err := io.Copy(io.Discard, ctxReader{ctx, rc})
			if err != nil {
				return fmt.Errorf("layer %s does not unpack: %w", d, err)
			}
			sizes[i] = n
			if file != "" && os.MkdirAll(cache, 0o755) == nil {
				tmp := file + ".tmp" + strconv.Itoa(os.Getpid())
				if os.WriteFile(tmp, []byte(strconv.FormatInt(n, 10)), 0o644) == nil {
					os.Rename(tmp, file)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return 0, err
	}
	var total int64
	for _, n := range sizes {
		total += n
	}
	return total, nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Blobs lists the blobs (config and layers, by digest) of the image manifest
// at ref, a tag or a digest, with their sizes; none when ref doesn't exist.
// Comparing Blobs before and after a push tells what the push uploaded.
func Blobs(ctx context.Context, ref string, creds Credentials) (map[string]int64, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	auth := authn.FromConfig(authn.AuthConfig{Username: creds.Username, Password: creds.Password})
	desc, err := remote.Get(r, remote.WithContext(ctx), remote.WithAuth(auth))
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return map[string]int64{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fetching the manifest of %s: %w", ref, err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil || desc.MediaType.IsIndex() {
		return map[string]int64{}, nil // not an image manifest: nothing to compare
	}
	blobs := map[string]int64{m.Config.Digest.String(): m.Config.Size}
	for _, l := range m.Layers {
		blobs[l.Digest.String()] = l.Size
	}
	return blobs, nil
}
