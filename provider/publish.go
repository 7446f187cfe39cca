package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	p "github.com/pulumi/pulumi-go-provider"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/build"
	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/ecr"
)

// published is an image in ECR that Lambda is proven to accept.
type published struct {
	Repository ecr.Repository
	Image      ecr.Image
	Tag        string // the content tag, src-...
	Platform   string
	Built      bool // false when the content tag was already there
}

// platformFor turns the function's architecture (x86_64 or arm64) into the
// platform to build, and checks that an explicit platform agrees with it.
func platformFor(functionArch string, explicit *string) (string, error) {
	want := "linux/amd64"
	if functionArch == "arm64" {
		want = "linux/arm64"
	}
	if explicit != nil && *explicit != "" && *explicit != want {
		return "", fmt.Errorf("platform: %s disagrees with the function's architecture %s, and Lambda would fail every invocation with exec format error; "+
			"set platform to %s or remove it, or change the function's architectures", *explicit, functionArch, want)
	}
	return want, nil
}

// contentTag names the image of one source and set of build inputs, so an
// unchanged source is found in the repository and never rebuilt.
func contentTag(args Args, platform string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", platform, deref(args.Target), deref(args.Dockerfile))
	for _, k := range slices.Sorted(maps.Keys(args.BuildArgs)) {
		fmt.Fprintf(h, "%s=%s\x00", k, args.BuildArgs[k])
	}
	_, src, _ := strings.Cut(deref(args.SourceHash), ":")
	if len(src) > 16 {
		src = src[:16]
	}
	return "src-" + src + "-" + hex.EncodeToString(h.Sum(nil))[:8]
}

func deref[T any](v *T) T {
	var zero T
	if v == nil {
		return zero
	}
	return *v
}

// publish is the build-and-push step: it makes sure the image for this
// source is in ECR (building and pushing it unless the content tag is there)
// and proves that Lambda will accept it, before any function is touched.
// previous is the image of the last deployment ("" if none); what it and the
// cache already hold is not counted as uploaded.
func publish(ctx context.Context, cfg *Config, registry *ecr.Client, args Args, functionArch, previous string) (published, error) {
	log := p.GetLogger(ctx)
	platform, err := platformFor(functionArch, args.Platform)
	if err != nil {
		return published{}, err
	}
	goarch := strings.TrimPrefix(platform, "linux/")
	log.InfoStatus("push: resolving the ECR repository " + args.Repository)
	repo, err := registry.Ensure(ctx, args.Repository, ecr.NewRepository{Tags: args.Tags, MutableTags: args.ImageTags})
	if err != nil {
		return published{}, fmt.Errorf("repository: %w", err)
	}
	if repo.Created {
		log.Infof("created ECR repository %s (scan on push, immutable tags except %s)", repo.URI, ecr.CacheTag)
	}
	out := published{Repository: repo, Tag: contentTag(args, platform), Platform: platform}
	creds, err := registry.Login(ctx, repo.Host)
	if err != nil {
		return published{}, err
	}
	prove := ecr.ProveOptions{Architecture: goarch, SizeCache: layerSizeCache()}
	if digest, tags, err := registry.FindTag(ctx, repo, out.Tag); err != nil {
		return published{}, err
	} else if digest != "" {
		found := prove
		found.UnpackedSize = ecr.RecordedSize(digest, tags)
		out.Image, err = ecr.Prove(ctx, repo.URI+"@"+digest, creds, found)
		var refusal *ecr.Incompatible
		switch {
		case errors.As(err, &refusal):
			// Left by an older provider or pushed by hand: its immutable
			// content tag would block every rebuild, so it goes.
			log.Warningf("%s:%s is already in ECR (%s), but Lambda would refuse it: %s; deleting it and building again",
				repo.URI, out.Tag, digest, refusal.Cause)
			if err := dropRefused(ctx, registry, repo, digest, tags, out.Tag); err != nil {
				return published{}, err
			}
		case err != nil:
			return published{}, inStep("prove", err)
		default:
			log.Infof("source unchanged: %s:%s is already in ECR (%s); skipping the build", repo.URI, out.Tag, digest)
			if found.UnpackedSize == 0 {
				recordSize(ctx, registry, repo, out.Image)
			}
			return out, checkImageTags(ctx, registry, repo, args.ImageTags, digest)
		}
	}

	b, err := build.Connect(ctx, build.Host{Address: deref(cfg.BuildkitHost), TLSDir: deref(cfg.BuildkitTLS)})
	if err != nil {
		return published{}, inStep("build", err)
	}
	defer b.Close()
	cacheRef := repo.URI + ":" + ecr.CacheTag
	known := map[string]int64{}
	for _, ref := range []string{cacheRef, previous} {
		if ref == "" {
			continue
		}
		blobs, err := ecr.Blobs(ctx, ref, creds)
		if err != nil {
			return published{}, err
		}
		maps.Copy(known, blobs)
	}
	useCache := args.Cache == nil || *args.Cache
	if useCache && !repo.CacheTagMutable {
		log.Warningf("repository %s makes the %q tag immutable, so the build cache is read but not refreshed; "+
			"set its tag mutability to IMMUTABLE_WITH_EXCLUSION with a %q exclusion filter to keep the cache fresh", repo.Name, ecr.CacheTag, ecr.CacheTag)
	}
	contextDir, err := filepath.Abs(args.Context)
	if err != nil {
		return published{}, fmt.Errorf("context: %w", err)
	}
	opts := build.Options{
		Context:     contextDir,
		Dockerfile:  dockerfilePath(args),
		Target:      deref(args.Target),
		BuildArgs:   args.BuildArgs,
		Secrets:     map[string][]byte{},
		Platform:    platform,
		Push:        []string{repo.URI + ":" + out.Tag},
		CacheExport: useCache && repo.CacheTagMutable,
		Login: func(ctx context.Context, host string) (string, string, error) {
			if host != repo.Host {
				return "", "", nil // a base image's registry: anonymous
			}
			c, err := registry.Login(ctx, host)
			return c.Username, c.Password, err
		},
		Progress: func(line string) { log.InfoStatus("build: " + clean(registry, line)) },
	}
	if useCache {
		opts.Cache = cacheRef
	}
	for k, v := range args.Secrets {
		opts.Secrets[k] = []byte(v)
	}
	res, err := buildRetrying(ctx, b, opts, registry)
	if err != nil {
		return published{}, err
	}
	if creds, err = registry.Login(ctx, repo.Host); err != nil {
		return published{}, err
	}
	prove.Baseline = baseline(ctx, registry, repo, previous)
	if out.Image, err = ecr.Prove(ctx, repo.URI+"@"+res.Digest, creds, prove); err != nil {
		// Lambda would refuse this image whatever happens: delete it, so that it is neither kept nor found by its content tag.
		if derr := registry.Delete(ctx, repo, res.Digest); derr != nil {
			log.Warningf("could not delete the refused image %s@%s: %v", repo.URI, res.Digest, derr)
		}
		return published{}, inStep("prove", err)
	}
	out.Built = true
	recordSize(ctx, registry, repo, out.Image)
	if err := checkImageTags(ctx, registry, repo, args.ImageTags, res.Digest); err != nil {
		return published{}, err
	}
	var uploaded [2]int64 // the image's new blobs, then the cache's
	for i, ref := range []string{out.Image.Ref, cacheRef} {
		blobs, err := ecr.Blobs(ctx, ref, creds)
		if err != nil {
			return published{}, err
		}
		for d, n := range blobs {
			if _, ok := known[d]; !ok {
				known[d] = n
				uploaded[i] += n
			}
		}
	}
	cache := ""
	if uploaded[1] > 0 {
		cache = fmt.Sprintf(", and %s of build cache", humanBytes(uploaded[1]))
	}
	log.Infof("built %s in %.1fs: %d of %d steps cached; pushed %s of the %s image%s",
		out.Image.Ref, res.Duration.Seconds(), res.Cached, res.Steps, humanBytes(uploaded[0]), humanBytes(out.Image.Size), cache)
	return out, nil
}

// dropRefused deletes an image Lambda refuses that sits under the content
// tag, so that the tag can name a new build. An image a function still
// references (its image of record) only loses the content tag.
func dropRefused(ctx context.Context, registry *ecr.Client, repo ecr.Repository, digest string, tags []string, contentTag string) error {
	var err error
	if slices.ContainsFunc(tags, func(t string) bool { return strings.HasPrefix(t, ecr.RefTagPrefix) }) {
		err = registry.Untag(ctx, repo, contentTag)
	} else {
		err = registry.Delete(ctx, repo, digest)
	}
	if err != nil {
		return fmt.Errorf("removing the refused image %s@%s from under its content tag %s: %w", repo.URI, digest, contentTag, err)
	}
	return nil
}

// baseline is the image the function runs, when it is in the same
// repository with its unpacked size recorded: the proof of a new image then
// measures only the layers the two don't share. nil otherwise.
func baseline(ctx context.Context, registry *ecr.Client, repo ecr.Repository, previous string) *ecr.Baseline {
	at, digest, ok := strings.Cut(previous, "@")
	if !ok || at != repo.URI {
		return nil
	}
	tags, err := registry.Tags(ctx, repo, digest)
	if n := ecr.RecordedSize(digest, tags); err == nil && n > 0 {
		return &ecr.Baseline{Ref: previous, Unpacked: n}
	}
	return nil
}

// recordSize tags a proven image with its unpacked size (ecr.SizeTag), so
// that no other runner has to download its layers to prove it again. It
// only saves work: a failure is logged and ignored.
func recordSize(ctx context.Context, registry *ecr.Client, repo ecr.Repository, img ecr.Image) {
	if err := registry.Tag(ctx, repo, img.Digest, []string{ecr.SizeTag(img.Digest, img.UncompressedSize)}); err != nil {
		p.GetLogger(ctx).Debugf("recording the unpacked size of %s: %v", img.Ref, clean(registry, err.Error()))
	}
}

// checkImageTags refuses imageTags that an immutable repository has on
// another image, before the function is touched: they could never move here.
func checkImageTags(ctx context.Context, registry *ecr.Client, repo ecr.Repository, tags []string, digest string) error {
	for _, t := range tags {
		if repo.TagMutable(t) {
			continue
		}
		holder, _, err := registry.FindTag(ctx, repo, t)
		if err != nil {
			return err
		}
		if holder != "" && holder != digest {
			return fmt.Errorf("imageTags: %q already names %s in %s, whose tags are immutable, so it cannot move to the new image; "+
				"fix: use a tag that is new for every deployment (such as the commit SHA), or make %q mutable with an exclusion filter on the repository", t, holder, repo.Name, t)
		}
	}
	return nil
}

// buildAttempts bounds how often a build is run when the registry fails it.
const buildAttempts = 4

// buildRetrying builds, and builds again (BuildKit's cache makes it cheap)
// when the registry refused the token mid-build (revoked, or a clock skew:
// a new one is minted) or answered with throttling or a 5xx that BuildKit
// does not retry itself, with a growing pause between attempts.
func buildRetrying(ctx context.Context, b *build.Builder, opts build.Options, registry *ecr.Client) (build.Result, error) {
	log := p.GetLogger(ctx)
	for attempt := 1; ; attempt++ {
		res, err := b.Build(ctx, opts)
		if err == nil || ctx.Err() != nil || attempt == buildAttempts {
			return res, err
		}
		switch {
		case refused(err):
			log.Warningf("the registry refused the ECR token mid-build (%v); minting a new one and building again", firstLine(clean(registry, err.Error())))
			registry.Invalidate()
		case transient(err):
			log.Warningf("the registry failed the build (%v); building again (attempt %d of %d)", firstLine(clean(registry, err.Error())), attempt+1, buildAttempts)
		default:
			return res, err
		}
		select {
		case <-ctx.Done():
			return res, err
		case <-time.After(time.Duration(attempt) * time.Second):
		}
	}
}

// refusedToken matches a registry's refusal of a build's credentials as
// BuildKit reports it: the status from the image's push, or, from the cache
// export, the distribution API's error code with ECR's message.
var refusedToken = regexp.MustCompile(`(?i)401 unauthorized|failed to authorize|authentication required|(denied|unauthorized): your authorization token`)

// refused says whether a build failed because the registry refused its credentials.
func refused(err error) bool { return refusedToken.MatchString(err.Error()) }

// transientRegistry matches a registry's throttling and server errors as
// BuildKit reports them: the status, or the distribution API's error code.
var transientRegistry = regexp.MustCompile(`(?i)\b(429|500|502|503|504) (too many requests|internal server error|bad gateway|service unavailable|gateway timeout)|toomanyrequests|: unknown: `)

// transient says whether a build failed on the registry's throttling or a
// server error, which a new attempt may not meet.
func transient(err error) bool { return transientRegistry.MatchString(err.Error()) }

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// layerSizeCache is where the unpacked size of each proven layer is kept.
func layerSizeCache() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "lambdacontainer", "layer-sizes")
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
