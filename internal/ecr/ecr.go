// Package ecr owns the image repository side of a deployment: it resolves a
// repository from a name or URI and creates it when missing, mints registry
// credentials per operation (never stored), finds images by tag, and proves
// that a pushed image is one Lambda will accept.
package ecr

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// CacheTag is the mutable tag that holds the BuildKit registry cache.
const CacheTag = "buildcache"

// API is the part of the ECR client this package calls.
type API interface {
	DescribeRepositories(context.Context, *ecr.DescribeRepositoriesInput, ...func(*ecr.Options)) (*ecr.DescribeRepositoriesOutput, error)
	CreateRepository(context.Context, *ecr.CreateRepositoryInput, ...func(*ecr.Options)) (*ecr.CreateRepositoryOutput, error)
	DescribeImages(context.Context, *ecr.DescribeImagesInput, ...func(*ecr.Options)) (*ecr.DescribeImagesOutput, error)
	GetAuthorizationToken(context.Context, *ecr.GetAuthorizationTokenInput, ...func(*ecr.Options)) (*ecr.GetAuthorizationTokenOutput, error)
	BatchDeleteImage(context.Context, *ecr.BatchDeleteImageInput, ...func(*ecr.Options)) (*ecr.BatchDeleteImageOutput, error)
}

// Repository is an ECR repository as the rest of the deployment needs it.
type Repository struct {
	Name string // e.g. orders-api
	URI  string // host/name, from ECR's repositoryUri
	Host string // the registry host, from repositoryUri
	// Created is true when Ensure created the repository.
	Created bool
	// CacheTagMutable says whether CacheTag can be overwritten, as the
	// registry cache needs; false in an IMMUTABLE repository without an
	// exclusion that covers it.
	CacheTagMutable bool

	mutability types.ImageTagMutability
	exclusions []types.ImageTagMutabilityExclusionFilter
}

var repoName = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)

// ParseName takes `repository` as a user writes it, a name (orders-api,
// team/orders-api) or a URI (HOST/team/orders-api, optionally with a tag or
// digest, which is dropped), and returns the repository name and the host the
// URI named ("" for a bare name).
func ParseName(s string) (name, host string, err error) {
	ref := strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") && strings.Contains(ref, "/") {
		ref = ref[:i] // a tag
	}
	first, rest, hasSlash := strings.Cut(ref, "/")
	if hasSlash && (strings.ContainsAny(first, ".:") || first == "localhost") {
		host, ref = first, rest
	}
	if len(ref) < 2 || len(ref) > 256 || !repoName.MatchString(ref) {
		return "", "", fmt.Errorf("repository %q is not an ECR repository name or URI: use lowercase letters, digits, and . _ - / "+
			"between them (2 to 256 characters), as in orders-api or REGISTRY_HOST/orders-api", s)
	}
	return ref, host, nil
}

// Client wraps the ECR API and mints registry credentials on demand.
type Client struct {
	api API

	mu     sync.Mutex
	creds  *Credentials
	minted []string // every secret form of every token minted, for Scrub
}

// New returns a Client over an ECR API client.
func New(api API) *Client { return &Client{api: api} }

// Ensure resolves repository (a name or URI) and creates it when it doesn't
// exist, with the AWS tags given: scan on push, IMMUTABLE image tags except
// the cache tag.
func (c *Client) Ensure(ctx context.Context, repository string, settings NewRepository) (Repository, error) {
	return c.resolve(ctx, repository, &settings)
}

// NewRepository is how Ensure creates a repository: every tag immutable but
// the cache tag and MutableTags, scan on push, and the AWS Tags.
type NewRepository struct {
	Tags        map[string]string
	MutableTags []string // at most 4 (with the cache tag, ECR's limit of 5 exclusion filters)
}

// Lookup resolves repository without creating it; a missing repository is
// an error wrapping *types.RepositoryNotFoundException.
func (c *Client) Lookup(ctx context.Context, repository string) (Repository, error) {
	return c.resolve(ctx, repository, nil)
}

func (c *Client) resolve(ctx context.Context, repository string, create *NewRepository) (Repository, error) {
	name, host, err := ParseName(repository)
	if err != nil {
		return Repository{}, err
	}
	repo, err := c.describe(ctx, name)
	var notFound *types.RepositoryNotFoundException
	if create != nil && errors.As(err, &notFound) {
		repo, err = c.create(ctx, name, *create)
	}
	if err != nil {
		return Repository{}, err
	}
	if host != "" && host != repo.Host {
		return Repository{}, fmt.Errorf("repository %q names registry %s, but the configured account and region's registry is %s: "+
			"use the bare name %q, or point the provider at the account and region that own %s", repository, host, repo.Host, name, host)
	}
	return repo, nil
}

func (c *Client) describe(ctx context.Context, name string) (Repository, error) {
	out, err := c.api.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{name}})
	if err != nil {
		return Repository{}, err
	}
	if len(out.Repositories) != 1 {
		return Repository{}, fmt.Errorf("ECR DescribeRepositories returned %d repositories for %q", len(out.Repositories), name)
	}
	return repository(out.Repositories[0], false)
}

func (c *Client) create(ctx context.Context, name string, settings NewRepository) (Repository, error) {
	var awsTags []types.Tag
	for _, k := range slices.Sorted(maps.Keys(settings.Tags)) {
		awsTags = append(awsTags, types.Tag{Key: aws.String(k), Value: aws.String(settings.Tags[k])})
	}
	mutable := []types.ImageTagMutabilityExclusionFilter{{FilterType: types.ImageTagMutabilityExclusionFilterTypeWildcard, Filter: aws.String(CacheTag)}}
	for _, t := range settings.MutableTags {
		if len(mutable) < 5 && !matchesAny(mutable, t) {
			mutable = append(mutable, types.ImageTagMutabilityExclusionFilter{FilterType: types.ImageTagMutabilityExclusionFilterTypeWildcard, Filter: aws.String(t)})
		}
	}
	out, err := c.api.CreateRepository(ctx, &ecr.CreateRepositoryInput{
		Tags:                               awsTags,
		RepositoryName:                     aws.String(name),
		ImageScanningConfiguration:         &types.ImageScanningConfiguration{ScanOnPush: true},
		ImageTagMutability:                 types.ImageTagMutabilityImmutableWithExclusion,
		ImageTagMutabilityExclusionFilters: mutable,
	})
	var exists *types.RepositoryAlreadyExistsException
	if errors.As(err, &exists) { // created by someone else meanwhile
		return c.describe(ctx, name)
	}
	if err != nil {
		return Repository{}, fmt.Errorf("creating ECR repository %q: %w", name, err)
	}
	return repository(*out.Repository, true)
}

func repository(r types.Repository, created bool) (Repository, error) {
	uri := aws.ToString(r.RepositoryUri)
	host, name, ok := strings.Cut(uri, "/")
	if !ok || host == "" || name == "" {
		return Repository{}, fmt.Errorf("ECR returned repositoryUri %q, which is not HOST/NAME", uri)
	}
	repo := Repository{Name: name, URI: uri, Host: host, Created: created, mutability: r.ImageTagMutability, exclusions: r.ImageTagMutabilityExclusionFilters}
	repo.CacheTagMutable = repo.TagMutable(CacheTag)
	return repo, nil
}

// TagMutable says whether a tag may move to another image in the repository.
func (r Repository) TagMutable(tag string) bool {
	switch r.mutability {
	case types.ImageTagMutabilityImmutable:
		return false
	case types.ImageTagMutabilityImmutableWithExclusion:
		return matchesAny(r.exclusions, tag)
	case types.ImageTagMutabilityMutableWithExclusion:
		return !matchesAny(r.exclusions, tag)
	}
	return true
}

func matchesAny(filters []types.ImageTagMutabilityExclusionFilter, tag string) bool {
	for _, f := range filters {
		if ok, _ := path.Match(aws.ToString(f.Filter), tag); ok {
			return true
		}
	}
	return false
}

// FindTag returns the digest the tag points at in the repository, with
// the image's tags, or "" when no image has that tag.
func (c *Client) FindTag(ctx context.Context, repo Repository, tag string) (string, []string, error) {
	return c.image(ctx, repo, types.ImageIdentifier{ImageTag: aws.String(tag)}, ":"+tag)
}

// Tags returns the tags of the image at digest in the repository; none
// when there is no such image.
func (c *Client) Tags(ctx context.Context, repo Repository, digest string) ([]string, error) {
	_, tags, err := c.image(ctx, repo, types.ImageIdentifier{ImageDigest: aws.String(digest)}, "@"+digest)
	return tags, err
}

// image describes one image of the repository (ref names it in errors): its
// digest and tags, or "" when there is no such image.
func (c *Client) image(ctx context.Context, repo Repository, id types.ImageIdentifier, ref string) (string, []string, error) {
	out, err := c.api.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repo.Name), ImageIds: []types.ImageIdentifier{id}})
	if errors.As(err, new(*types.ImageNotFoundException)) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("looking up %s%s: %w", repo.Name, ref, err)
	}
	if len(out.ImageDetails) == 0 {
		return "", nil, nil
	}
	return aws.ToString(out.ImageDetails[0].ImageDigest), out.ImageDetails[0].ImageTags, nil
}

// Credentials log in to a registry. They live in memory only: never in
// state, logs or files.
type Credentials struct {
	Host     string // from proxyEndpoint
	Username string
	Password string
	Expires  time.Time
}

// String hides the password from any log line that prints Credentials.
func (c Credentials) String() string { return fmt.Sprintf("{%s %s ****}", c.Host, c.Username) }

// refreshBefore is how long before expiry a cached token is replaced.
const refreshBefore = 5 * time.Minute

// Login returns credentials for host, minting a token through
// GetAuthorizationToken when there is none or the last is about to expire.
func (c *Client) Login(ctx context.Context, host string) (Credentials, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.creds != nil && c.creds.Host == host && time.Until(c.creds.Expires) > refreshBefore {
		return *c.creds, nil
	}
	out, err := c.api.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return Credentials{}, fmt.Errorf("getting an ECR authorization token: %w", err)
	}
	if len(out.AuthorizationData) == 0 {
		return Credentials{}, errors.New("ECR GetAuthorizationToken returned no authorization data")
	}
	d := out.AuthorizationData[0]
	creds, err := decodeToken(aws.ToString(d.AuthorizationToken))
	if err != nil {
		return Credentials{}, err
	}
	creds.Host = endpointHost(aws.ToString(d.ProxyEndpoint))
	creds.Expires = aws.ToTime(d.ExpiresAt)
	if creds.Host != host {
		return Credentials{}, fmt.Errorf("ECR's registry is %s, not %s: the repository and the provider's account or region disagree", creds.Host, host)
	}
	c.creds = &creds
	c.minted = append(c.minted, creds.Password, aws.ToString(d.AuthorizationToken),
		base64.StdEncoding.EncodeToString([]byte(creds.Username+":"+creds.Password)))
	return creds, nil
}

// Scrub replaces every registry credential this client minted with ****,
// so that an error or a log line that quotes one never shows it.
func (c *Client) Scrub(s string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, secret := range c.minted {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "****")
		}
	}
	return s
}

// Invalidate drops the cached token, so the next Login mints a new one (after
// the registry refused the old one).
func (c *Client) Invalidate() {
	c.mu.Lock()
	c.creds = nil
	c.mu.Unlock()
}

// decodeToken splits an authorizationToken, base64 of "AWS:<password>".
func decodeToken(token string) (Credentials, error) {
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return Credentials{}, errors.New("ECR returned an authorization token that is not base64")
	}
	user, password, ok := strings.Cut(string(raw), ":")
	if !ok || user == "" || password == "" {
		return Credentials{}, errors.New("ECR returned an authorization token that is not USER:PASSWORD")
	}
	return Credentials{Username: user, Password: password}, nil
}

func endpointHost(endpoint string) string {
	if u, err := url.Parse(endpoint); err == nil && u.Host != "" {
		return u.Host
	}
	return endpoint
}

// RefTagPrefix starts every reference tag: an image is kept while any
// function's reference tag is on it.
const RefTagPrefix = "fn-"

// RefTag is the tag that marks an image as used by a function (given by its
// unqualified ARN): fn-<function hash>-<digest prefix>. It is unique, so it
// never moves, even in an IMMUTABLE repository.
func RefTag(functionArn, digest string) string {
	return refPrefix(functionArn) + strings.TrimPrefix(digest, "sha256:")[:12]
}

func refPrefix(functionArn string) string {
	h := sha256.Sum256([]byte(functionArn))
	return RefTagPrefix + hex.EncodeToString(h[:6]) + "-"
}

// Reference tags the image at digest as used by the function, before the
// function is pointed at it.
func (c *Client) Reference(ctx context.Context, repo Repository, functionArn, digest string) error {
	return c.Tag(ctx, repo, digest, []string{RefTag(functionArn, digest)})
}

// Tag adds tags to the image at digest, through the registry (as `crane
// tag` does). A tag that already names it is fine: an immutable repository
// refuses to put it again.
func (c *Client) Tag(ctx context.Context, repo Repository, digest string, tags []string) error {
	creds, err := c.Login(ctx, repo.Host)
	if err != nil {
		return err
	}
	ref, err := name.NewDigest(repo.URI + "@" + digest)
	if err != nil {
		return err
	}
	auth := authn.FromConfig(authn.AuthConfig{Username: creds.Username, Password: creds.Password})
	desc, err := remote.Get(ref, remote.WithContext(ctx), remote.WithAuth(auth))
	if err != nil {
		return fmt.Errorf("reading %s to tag it: %w", ref, err)
	}
	for _, t := range tags {
		if err := remote.Put(ref.Context().Tag(t), desc, remote.WithContext(ctx), remote.WithAuth(auth)); err != nil &&
			!strings.Contains(err.Error(), "ImageTagAlreadyExists") && !strings.Contains(err.Error(), "already exists") {
			return fmt.Errorf("tagging %s as %s: %w", ref, t, err)
		}
	}
	return nil
}

// Delete deletes the image at digest with its tags; a missing one is fine.
func (c *Client) Delete(ctx context.Context, repo Repository, digest string) error {
	return c.batchDelete(ctx, repo, []types.ImageIdentifier{{ImageDigest: aws.String(digest)}})
}

// Untag removes tags from the images they name; an image left with no tag
// is deleted (as ECR does), and a tag already gone is fine.
func (c *Client) Untag(ctx context.Context, repo Repository, tags ...string) error {
	var ids []types.ImageIdentifier
	for _, t := range tags {
		ids = append(ids, types.ImageIdentifier{ImageTag: aws.String(t)})
	}
	return c.batchDelete(ctx, repo, ids)
}

// Listed is an image in a repository, with its tags.
type Listed struct {
	Digest string
	Tags   []string
}

// Images lists the repository's images.
func (c *Client) Images(ctx context.Context, repo Repository) ([]Listed, error) {
	var out []Listed
	pager := ecr.NewDescribeImagesPaginator(c.api, &ecr.DescribeImagesInput{RepositoryName: &repo.Name})
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing the images of %s: %w", repo.Name, err)
		}
		for _, d := range page.ImageDetails {
			out = append(out, Listed{Digest: aws.ToString(d.ImageDigest), Tags: d.ImageTags})
		}
	}
	return out, nil
}

// Referenced returns the digests that carry the function's reference tag.
func Referenced(images []Listed, functionArn string) map[string]bool {
	prefix := refPrefix(functionArn)
	out := map[string]bool{}
	for _, im := range images {
		for _, t := range im.Tags {
			if strings.HasPrefix(t, prefix) {
				out[im.Digest] = true
			}
		}
	}
	return out
}

// Release removes the function's reference tags from the images it no
// longer uses (inUse holds the digests it still does), then deletes each of
// those images that no function's reference tag holds any more. It returns
// the digests it deleted.
func (c *Client) Release(ctx context.Context, repo Repository, images []Listed, functionArn string, inUse map[string]bool) ([]string, error) {
	prefix := refPrefix(functionArn)
	var untag []types.ImageIdentifier
	var orphans []types.ImageIdentifier
	for _, im := range images {
		if inUse[im.Digest] {
			continue
		}
		ours, others := 0, 0
		for _, t := range im.Tags {
			switch {
			case strings.HasPrefix(t, prefix):
				ours++
				untag = append(untag, types.ImageIdentifier{ImageTag: aws.String(t)})
			case strings.HasPrefix(t, RefTagPrefix):
				others++
			}
		}
		if ours > 0 && others == 0 {
			orphans = append(orphans, types.ImageIdentifier{ImageDigest: aws.String(im.Digest)})
		}
	}
	if err := c.batchDelete(ctx, repo, untag); err != nil {
		return nil, err
	}
	if err := c.batchDelete(ctx, repo, orphans); err != nil {
		return nil, err
	}
	var deleted []string
	for _, id := range orphans {
		deleted = append(deleted, aws.ToString(id.ImageDigest))
	}
	return deleted, nil
}

// batchDelete deletes images or tags, 100 at a time; one already gone is fine.
func (c *Client) batchDelete(ctx context.Context, repo Repository, ids []types.ImageIdentifier) error {
	for chunk := range slices.Chunk(ids, 100) {
		out, err := c.api.BatchDeleteImage(ctx, &ecr.BatchDeleteImageInput{RepositoryName: &repo.Name, ImageIds: chunk})
		if err != nil {
			return fmt.Errorf("deleting images of %s: %w", repo.Name, err)
		}
		for _, f := range out.Failures {
			if f.FailureCode != types.ImageFailureCodeImageNotFound && f.FailureCode != types.ImageFailureCodeImageTagDoesNotMatchDigest {
				return fmt.Errorf("deleting %s%s from %s: %s: %s", aws.ToString(f.ImageId.ImageTag), aws.ToString(f.ImageId.ImageDigest),
					repo.Name, f.FailureCode, aws.ToString(f.FailureReason))
			}
		}
	}
	return nil
}
