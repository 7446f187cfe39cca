package ecr

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ggcrtypes "github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/lambdacontainer/pulumi-lambdacontainer/localaws"
)

var ctx = context.Background()

func TestParseName(t *testing.T) {
	for in, want := range map[string][2]string{
		"orders-api":                     {"orders-api", ""},
		"team/orders-api":                {"team/orders-api", ""},
		"registry.example:443/ab":        {"ab", "registry.example:443"},
		"127.0.0.1:5000/team/api:latest": {"team/api", "127.0.0.1:5000"},
		"localhost/api@sha256:abc":       {"api", "localhost"},
		"https://127.0.0.1:5000/api":     {"api", "127.0.0.1:5000"},
	} {
		name, host, err := ParseName(in)
		if err != nil || name != want[0] || host != want[1] {
			t.Errorf("ParseName(%q) = %q, %q, %v; want %q, %q", in, name, host, err, want[0], want[1])
		}
	}
	for _, bad := range []string{"", "a", "Orders", "orders_", "-x", "a//b", "127.0.0.1:5000/", strings.Repeat("a", 257)} {
		if _, _, err := ParseName(bad); err == nil || !strings.Contains(err.Error(), "REGISTRY_HOST/orders-api") {
			t.Errorf("ParseName(%q) = %v; want an error with an example", bad, err)
		}
	}
}

// bench is a localaws and an ECR client on it.
type bench struct {
	s   *localaws.Server
	api *awsecr.Client
	c   *Client
}

func newBench(t *testing.T) *bench {
	s, err := localaws.Start(localaws.Options{Log: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	api := awsecr.NewFromConfig(aws.Config{Region: s.Region(), BaseEndpoint: aws.String(s.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	return &bench{s: s, api: api, c: New(api)}
}

func (b *bench) push(t *testing.T, ref string, img v1.Image) string {
	t.Helper()
	creds, err := b.c.Login(ctx, b.s.RegistryHost())
	if err != nil {
		t.Fatal(err)
	}
	r, _ := name.ParseReference(ref)
	if err := remote.Write(r, img, remote.WithAuth(authn.FromConfig(authn.AuthConfig{Username: creds.Username, Password: creds.Password}))); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return r.Context().String() + "@" + d.String()
}

func TestEnsureCreatesARepositoryForDeployments(t *testing.T) {
	b := newBench(t)
	repo, err := b.c.Ensure(ctx, "team/orders-api", NewRepository{Tags: map[string]string{"team": "orders"}, MutableTags: []string{"latest"}})
	if err != nil || !repo.Created || !repo.CacheTagMutable || repo.Name != "team/orders-api" || repo.Host != b.s.RegistryHost() ||
		repo.URI != b.s.RegistryHost()+"/team/orders-api" {
		t.Fatalf("Ensure: %+v %v", repo, err)
	}
	out, err := b.api.DescribeRepositories(ctx, &awsecr.DescribeRepositoriesInput{RepositoryNames: []string{"team/orders-api"}})
	if err != nil {
		t.Fatal(err)
	}
	r := out.Repositories[0]
	if !r.ImageScanningConfiguration.ScanOnPush || r.ImageTagMutability != types.ImageTagMutabilityImmutableWithExclusion ||
		len(r.ImageTagMutabilityExclusionFilters) != 2 || *r.ImageTagMutabilityExclusionFilters[0].Filter != CacheTag || *r.ImageTagMutabilityExclusionFilters[1].Filter != "latest" {
		t.Fatalf("created repository: %+v", r)
	}
	if !repo.TagMutable("latest") || !repo.TagMutable(CacheTag) || repo.TagMutable("src-0123") {
		t.Fatalf("which tags may move: latest %v, %s %v, src-0123 %v", repo.TagMutable("latest"), CacheTag, repo.TagMutable(CacheTag), repo.TagMutable("src-0123"))
	}
	tags, _ := b.api.ListTagsForResource(ctx, &awsecr.ListTagsForResourceInput{ResourceArn: r.RepositoryArn})
	if tags == nil || len(tags.Tags) != 1 || *tags.Tags[0].Key != "team" {
		t.Fatalf("repository tags: %+v", tags)
	}
	again, err := b.c.Ensure(ctx, repo.URI+":v1", NewRepository{})
	if err != nil || again.Created || again.URI != repo.URI {
		t.Fatalf("Ensure by URI: %+v %v", again, err)
	}
	if _, err := b.c.Ensure(ctx, "registry.example:443/team/orders-api", NewRepository{}); err == nil ||
		!strings.Contains(err.Error(), `use the bare name "team/orders-api"`) {
		t.Fatalf("a URI of another registry: %v", err)
	}
	b.api.CreateRepository(ctx, &awsecr.CreateRepositoryInput{RepositoryName: aws.String("locked"), ImageTagMutability: types.ImageTagMutabilityImmutable})
	if locked, err := b.c.Ensure(ctx, "locked", NewRepository{}); err != nil || locked.Created || locked.CacheTagMutable {
		t.Fatalf("an IMMUTABLE repository: %+v %v", locked, err)
	}
}

func TestLoginAndFindTag(t *testing.T) {
	b := newBench(t)
	repo, _ := b.c.Ensure(ctx, "api", NewRepository{})
	creds, err := b.c.Login(ctx, repo.Host)
	if err != nil || creds.Username != "AWS" || creds.Password == "" || strings.Contains(creds.String(), creds.Password) {
		t.Fatalf("Login: %v %v", creds, err)
	}
	if again, _ := b.c.Login(ctx, repo.Host); again != creds {
		t.Fatal("a live token was not reused")
	}
	if _, err := b.c.Login(ctx, "elsewhere.example:5000"); err == nil || !strings.Contains(err.Error(), "disagree") {
		t.Fatalf("Login to a foreign host: %v", err)
	}
	img, _ := random.Image(64, 1)
	ref := b.push(t, repo.URI+":src-1", img)
	if d, _, err := b.c.FindTag(ctx, repo, "src-1"); err != nil || repo.URI+"@"+d != ref {
		t.Fatalf("FindTag: %q %v", d, err)
	}
	if d, _, err := b.c.FindTag(ctx, repo, "src-2"); err != nil || d != "" {
		t.Fatalf("FindTag of a missing tag: %q %v", d, err)
	}
	b.c.Invalidate()
	fresh, err := b.c.Login(ctx, repo.Host)
	if err != nil || fresh.Password == creds.Password {
		t.Fatalf("Invalidate then Login did not mint a new token: %v", err)
	}
	leak := "denied: Basic " + base64.StdEncoding.EncodeToString([]byte("AWS:"+creds.Password)) + " and " + fresh.Password
	if got := b.c.Scrub(leak); strings.Contains(got, creds.Password) || strings.Contains(got, fresh.Password) || strings.Count(got, "****") != 2 {
		t.Fatalf("Scrub(%q) = %q", leak, got)
	}
}

// lambdaImage is a small image as Lambda wants it: one gzip layer,
// linux/amd64, with a command.
func lambdaImage(t *testing.T, arch string, cmd ...string) v1.Image {
	t.Helper()
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Config.Cmd = "linux", arch, cmd
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestProveAcceptsOnlyWhatLambdaAccepts(t *testing.T) {
	b := newBench(t)
	repo, _ := b.c.Ensure(ctx, "api", NewRepository{})
	creds, _ := b.c.Login(ctx, repo.Host)
	sizes := t.TempDir()
	opts := ProveOptions{Architecture: "amd64", SizeCache: sizes}

	good := b.push(t, repo.URI+":good", lambdaImage(t, "amd64", "app.handler"))
	im, err := Prove(ctx, good, creds, opts)
	if err != nil || im.Architecture != "amd64" || im.MediaType != string(ggcrtypes.DockerManifestSchema2) || im.UncompressedSize < 2*1024 || im.Size < 2*1024 {
		t.Fatalf("a good image: %+v %v", im, err)
	}
	if entries, _ := os.ReadDir(sizes); len(entries) != 2 {
		t.Fatalf("the size cache holds %d layers, want 2", len(entries))
	}

	// An index whose only other entry is an attestation, as buildx pushes by default.
	att := mutate.MediaType(empty.Image, ggcrtypes.OCIManifestSchema1)
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, ggcrtypes.OCIImageIndex),
		mutate.IndexAddendum{Add: lambdaImage(t, "amd64", "app.handler"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest"}}})
	r, _ := name.ParseReference(repo.URI + ":index")
	if err := remote.WriteIndex(r, idx, remote.WithAuth(authn.FromConfig(authn.AuthConfig{Username: creds.Username, Password: creds.Password}))); err != nil {
		t.Fatal(err)
	}
	d, _ := idx.Digest()
	arm := b.push(t, repo.URI+":arm", lambdaImage(t, "arm64", "app.handler"))
	bare := b.push(t, repo.URI+":bare", lambdaImage(t, "amd64"))
	plain, _ := mutate.AppendLayers(lambdaImage(t, "amd64", "app.handler"), mustLayer(t, ggcrtypes.OCIUncompressedLayer))
	uncompressed := b.push(t, repo.URI+":plain", plain)
	for ref, want := range map[string][]string{
		repo.URI + "@" + d.String(): {"image index", "linux/amd64, unknown/unknown (an attestation)", "--provenance=false --sbom=false"},
		arm:                         {"built for arm64 but the function runs on x86_64", "exec format error", "build for linux/amd64"},
		bare:                        {"neither ENTRYPOINT nor CMD", `CMD ["module.handler"]`},
		uncompressed:                {"not gzip", "compression=gzip"},
	} {
		_, err := Prove(ctx, ref, creds, opts)
		var inc *Incompatible
		if !errors.As(err, &inc) {
			t.Fatalf("Prove(%s) = %v, want Incompatible", ref, err)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Prove(%s): %q lacks %q", ref, err, w)
			}
		}
	}

	// Above 10 GiB unpacked: the size cache stands in for a layer that big.
	big := lambdaImage(t, "amd64", "app.handler")
	ref := b.push(t, repo.URI+":big", big)
	layers, _ := big.Layers()
	ld, _ := layers[0].Digest()
	os.WriteFile(filepath.Join(sizes, ld.Algorithm+"-"+ld.Hex), []byte("11811160064"), 0o644) // 11 GiB
	if _, err := Prove(ctx, ref, creds, opts); err == nil || !strings.Contains(err.Error(), "above Lambda's 10 GiB limit") {
		t.Fatalf("an image above 10 GiB: %v", err)
	}
}

func mustLayer(t *testing.T, mt ggcrtypes.MediaType) v1.Layer {
	t.Helper()
	l, err := random.Layer(512, mt)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestBlobs(t *testing.T) {
	b := newBench(t)
	repo, _ := b.c.Ensure(ctx, "api", NewRepository{})
	creds, _ := b.c.Login(ctx, repo.Host)
	img := lambdaImage(t, "amd64", "x")
	ref := b.push(t, repo.URI+":v1", img)
	blobs, err := Blobs(ctx, ref, creds)
	if err != nil || len(blobs) != 3 {
		t.Fatalf("Blobs: %v %v", blobs, err)
	}
	if none, err := Blobs(ctx, repo.URI+":"+CacheTag, creds); err != nil || len(none) != 0 {
		t.Fatalf("Blobs of a missing tag: %v %v", none, err)
	}
}

// TestProveFromABaseline proves an image from one whose unpacked size is
// recorded: only the layers the two do not share are measured, and a
// recorded size on the image itself is taken as it is.
func TestProveFromABaseline(t *testing.T) {
	b := newBench(t)
	repo, _ := b.c.Ensure(ctx, "api", NewRepository{})
	creds, _ := b.c.Login(ctx, repo.Host)
	base := lambdaImage(t, "amd64", "app.handler")
	layer, err := random.Layer(512, ggcrtypes.DockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	next, err := mutate.AppendLayers(base, layer)
	if err != nil {
		t.Fatal(err)
	}
	baseRef, nextRef := b.push(t, repo.URI+":base", base), b.push(t, repo.URI+":next", next)
	opts := ProveOptions{Architecture: "amd64"}
	measuredBase, err := Prove(ctx, baseRef, creds, opts)
	if err != nil {
		t.Fatal(err)
	}
	measuredNext, _ := Prove(ctx, nextRef, creds, opts)
	// A baseline recorded 1,000 bytes too big: the result is 1,000 too big, so
	// it came from the baseline and the one new layer, not from every layer.
	opts.Baseline = &Baseline{Ref: baseRef, Unpacked: measuredBase.UncompressedSize + 1000}
	if got, err := Prove(ctx, nextRef, creds, opts); err != nil || got.UncompressedSize != measuredNext.UncompressedSize+1000 {
		t.Fatalf("from the baseline: %d (%v), want %d", got.UncompressedSize, err, measuredNext.UncompressedSize+1000)
	}
	opts = ProveOptions{Architecture: "amd64", UnpackedSize: 11 << 30} // recorded, and above Lambda's limit
	if _, err := Prove(ctx, nextRef, creds, opts); err == nil || !strings.Contains(err.Error(), "above Lambda's 10 GiB limit") {
		t.Fatalf("a recorded size above the limit: %v", err)
	}
	tag := SizeTag(measuredNext.Digest, measuredNext.UncompressedSize)
	if got := RecordedSize(measuredNext.Digest, []string{"src-1", tag, SizeTag(measuredBase.Digest, 7)}); got != measuredNext.UncompressedSize {
		t.Fatalf("RecordedSize(%s) = %d", tag, got)
	}
}

// TestUntag removes one tag of an image that has others, and deletes an
// image whose last tag goes, as ECR does.
func TestUntag(t *testing.T) {
	b := newBench(t)
	repo, _ := b.c.Ensure(ctx, "api", NewRepository{})
	img, _ := random.Image(64, 1)
	ref := b.push(t, repo.URI+":src-1", img)
	digest := strings.TrimPrefix(ref, repo.URI+"@")
	if err := b.c.Tag(ctx, repo, digest, []string{"fn-keep"}); err != nil {
		t.Fatal(err)
	}
	if err := b.c.Untag(ctx, repo, "src-1", "src-gone"); err != nil {
		t.Fatal(err)
	}
	if d, tags, err := b.c.FindTag(ctx, repo, "fn-keep"); err != nil || d != digest || len(tags) != 1 {
		t.Fatalf("after removing one of two tags: %q %v %v", d, tags, err)
	}
	if err := b.c.Untag(ctx, repo, "fn-keep"); err != nil {
		t.Fatal(err)
	}
	if images, err := b.c.Images(ctx, repo); err != nil || len(images) != 0 {
		t.Fatalf("an image whose last tag went is still there: %v %v", images, err)
	}
}
