package provider

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

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

	first, err := publish(ctx, cfg, registry, b.publishArgs(), "x86_64", "")
	if err != nil || !first.Built || !strings.HasPrefix(first.Tag, "src-") || first.Image.Architecture != "amd64" {
		t.Fatalf("the first publish: %+v %v", first, err)
	}

	fresh := testenv.Buildkitd(t) // a new runner: nothing cached in buildkitd, nor in its user cache
	os.Setenv("BUILDKIT_HOST", fresh)
	cfg.BuildkitHost = &fresh
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	before := b.calls()
	again, err := publish(ctx, cfg, registry, b.publishArgs(), "x86_64", first.Image.Ref)
	if err != nil || again.Built || again.Image.Digest != first.Image.Digest || again.Image.UncompressedSize != first.Image.UncompressedSize {
		t.Fatalf("an unchanged source was rebuilt: %+v %v", again, err)
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
	changed, err := publish(ctx, cfg, registry, b.publishArgs(), "x86_64", first.Image.Ref)
	if err != nil || !changed.Built || changed.Image.Digest == first.Image.Digest {
		t.Fatalf("a one-file change: %+v %v", changed, err)
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

func mustDigest(t *testing.T, ref string) name.Digest {
	d, err := name.NewDigest(ref)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
