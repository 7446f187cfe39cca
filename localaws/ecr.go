package localaws

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

const ecrTarget = "AmazonEC2ContainerRegistry_V20150921"

// tokenLifetime is how long a registry token lives, as ECR's do.
const tokenLifetime = 12 * time.Hour

var ecrRepoName = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)

// ecrService is ECR's API and the record of what was pushed to the registry.
type ecrService struct {
	mu       sync.Mutex
	account  string
	region   string
	host     string // the registry's host:port
	state    ecrState
	store    store
	registry http.Handler // the OCI registry behind ECR's semantics
	faults   *faults
	log      func(string, ...any)
}

type ecrState struct {
	Repositories map[string]*ecrRepo  `json:"repositories"`
	Tokens       map[string]time.Time `json:"tokens"` // password -> expiry
}

type ecrRepo struct {
	Name          string            `json:"name"`
	CreatedAt     time.Time         `json:"createdAt"`
	Mutability    string            `json:"mutability"`
	Exclusions    []tagFilter       `json:"exclusions,omitempty"`
	ScanOnPush    bool              `json:"scanOnPush"`
	Lifecycle     string            `json:"lifecycle,omitempty"`
	LifecycleTime time.Time         `json:"lifecycleTime,omitempty"`
	Tags          []resourceTag     `json:"tags,omitempty"`
	Images        map[string]*image `json:"images"` // by digest
}

type tagFilter struct {
	FilterType string `json:"filterType"`
	Filter     string `json:"filter"`
}

type resourceTag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// image is a manifest pushed to a repository, with its tags.
type image struct {
	Digest    string    `json:"digest"`
	MediaType string    `json:"mediaType"`
	Manifest  []byte    `json:"manifest"`
	Tags      []string  `json:"tags"`
	Size      int64     `json:"size"`
	PushedAt  time.Time `json:"pushedAt"`
}

func newECR(opts Options, host string, f *faults) (*ecrService, error) {
	e := &ecrService{account: opts.Account, region: opts.Region, host: host, faults: f, store: newStore(opts.Dir, "ecr"), log: opts.Log.Printf}
	e.state = ecrState{Repositories: map[string]*ecrRepo{}, Tokens: map[string]time.Time{}}
	if err := e.store.load(&e.state); err != nil {
		return nil, err
	}
	blobs := path.Join(opts.Dir, "registry", "blobs")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return nil, err
	}
	e.registry = registry.New(registry.WithBlobHandler(newBlobStore(blobs)), registry.Logger(quietLogger()))
	if err := e.replay(); err != nil {
		return nil, fmt.Errorf("restoring the registry's manifests: %w", err)
	}
	return e, nil
}

// blobStore keeps the registry's blobs on disk, as go-containerregistry's
// disk handler does, but answers Stat (every HEAD and GET of a blob, and
// each blob a pushed manifest names) from the file's size. The disk handler
// hashes the whole blob again on each Stat, which cost more CPU than all
// the rest of localaws in a deployment; a blob needs no second check, since
// the registry verifies it against its digest as it is uploaded and the
// disk handler renames it into place only once it is whole.
type blobStore struct {
	diskBlobs
	dir string
}

type diskBlobs interface {
	registry.BlobHandler
	registry.BlobPutHandler
	registry.BlobDeleteHandler
}

func newBlobStore(dir string) blobStore {
	return blobStore{registry.NewDiskBlobHandler(dir).(diskBlobs), dir}
}

func (b blobStore) Stat(_ context.Context, _ string, h v1.Hash) (int64, error) {
	fi, err := os.Stat(filepath.Join(b.dir, h.Algorithm, h.Hex))
	if errors.Is(err, os.ErrNotExist) {
		return 0, registry.ErrNotFound
	}
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

func (e *ecrService) save() error { return e.store.save(&e.state) }

func (e *ecrService) repoArn(name string) string {
	return fmt.Sprintf("arn:aws:ecr:%s:%s:repository/%s", e.region, e.account, name)
}

func (e *ecrService) repoOut(r *ecrRepo) map[string]any {
	return map[string]any{
		"repositoryArn": e.repoArn(r.Name), "registryId": e.account, "repositoryName": r.Name,
		"repositoryUri": e.host + "/" + r.Name, "createdAt": epoch(r.CreatedAt),
		"imageTagMutability": r.Mutability, "imageTagMutabilityExclusionFilters": r.Exclusions,
		"imageScanningConfiguration": map[string]bool{"scanOnPush": r.ScanOnPush},
		"encryptionConfiguration":    map[string]string{"encryptionType": "AES256"},
	}
}

// repo finds a repository; the caller holds e.mu.
func (e *ecrService) listTags(arn string) (any, error) {
	name, ok := strings.CutPrefix(arn, e.repoArn(""))
	if !ok {
		return nil, badRequest("InvalidParameterException", "Invalid parameter at 'resourceArn' failed to satisfy constraint: '%s' is not a repository ARN of this registry", arn)
	}
	r, err := e.repo(name)
	if err != nil {
		return nil, err
	}
	tags := r.Tags
	if tags == nil {
		tags = []resourceTag{}
	}
	return map[string]any{"tags": tags}, nil
}

func (e *ecrService) repo(name string) (*ecrRepo, error) {
	if r, ok := e.state.Repositories[name]; ok {
		return r, nil
	}
	return nil, badRequest("RepositoryNotFoundException", "The repository with name '%s' does not exist in the registry with id '%s'", name, e.account)
}

type imageID struct {
	ImageDigest string `json:"imageDigest,omitempty"`
	ImageTag    string `json:"imageTag,omitempty"`
}

func (e *ecrService) serve(w http.ResponseWriter, r *http.Request, op string) {
	body, err := readBody(r)
	if err != nil {
		writeJSON11(w, nil, err)
		return
	}
	var in struct {
		RepositoryName     string                      `json:"repositoryName"`
		RepositoryNames    []string                    `json:"repositoryNames"`
		Force              bool                        `json:"force"`
		ImageIDs           []imageID                   `json:"imageIds"`
		Filter             *struct{ TagStatus string } `json:"filter"`
		MaxResults         int                         `json:"maxResults"`
		NextToken          string                      `json:"nextToken"`
		ImageTagMutability string                      `json:"imageTagMutability"`
		Exclusions         []tagFilter                 `json:"imageTagMutabilityExclusionFilters"`
		ScanningConfig     *struct {
			ScanOnPush bool `json:"scanOnPush"`
		} `json:"imageScanningConfiguration"`
		LifecyclePolicyText string        `json:"lifecyclePolicyText"`
		Tags                []resourceTag `json:"tags"`
		AcceptedMediaTypes  []string      `json:"acceptedMediaTypes"`
		ResourceArn         string        `json:"resourceArn"`
		// PutImage
		ImageManifest          string `json:"imageManifest"`
		ImageManifestMediaType string `json:"imageManifestMediaType"`
		ImageTag               string `json:"imageTag"`
		ImageDigest            string `json:"imageDigest"`
	}
	if err := decodeJSON(body, &in); err != nil {
		writeJSON11(w, nil, err)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var out any
	switch op {
	case "GetAuthorizationToken":
		out, err = e.getAuthorizationToken()
	case "CreateRepository":
		out, err = e.createRepository(in.RepositoryName, in.ImageTagMutability, in.Exclusions, in.ScanningConfig != nil && in.ScanningConfig.ScanOnPush, in.Tags)
	case "DescribeRepositories":
		out, err = e.describeRepositories(in.RepositoryNames, in.MaxResults, in.NextToken)
	case "DeleteRepository":
		out, err = e.deleteRepository(in.RepositoryName, in.Force)
	case "DescribeImages":
		status := ""
		if in.Filter != nil {
			status = in.Filter.TagStatus
		}
		out, err = e.describeImages(in.RepositoryName, in.ImageIDs, status, in.MaxResults, in.NextToken)
	case "ListImages":
		status := ""
		if in.Filter != nil {
			status = in.Filter.TagStatus
		}
		out, err = e.listImages(in.RepositoryName, status, in.MaxResults, in.NextToken)
	case "BatchGetImage":
		out, err = e.batchGetImage(in.RepositoryName, in.ImageIDs)
	case "BatchDeleteImage":
		out, err = e.batchDeleteImage(in.RepositoryName, in.ImageIDs)
	case "PutImage":
		out, err = e.putImage(in.RepositoryName, in.ImageManifest, in.ImageManifestMediaType, in.ImageTag, in.ImageDigest)
	case "PutImageTagMutability":
		out, err = e.putImageTagMutability(in.RepositoryName, in.ImageTagMutability, in.Exclusions)
	case "PutLifecyclePolicy", "GetLifecyclePolicy", "DeleteLifecyclePolicy":
		out, err = e.lifecyclePolicy(op, in.RepositoryName, in.LifecyclePolicyText)
	case "PutImageScanningConfiguration":
		out, err = e.putScanning(in.RepositoryName, in.ScanningConfig != nil && in.ScanningConfig.ScanOnPush)
	case "ListTagsForResource":
		out, err = e.listTags(in.ResourceArn)
	default:
		err = badRequest("UnknownOperationException", "localaws does not implement ECR's %s", op)
	}
	writeJSON11(w, out, err)
}

func (e *ecrService) getAuthorizationToken() (any, error) {
	b := make([]byte, 32)
	rand.Read(b)
	password := base64.RawURLEncoding.EncodeToString(b)
	expires := time.Now().Add(tokenLifetime)
	now := time.Now()
	for p, exp := range e.state.Tokens { // forget expired tokens
		if now.After(exp) {
			delete(e.state.Tokens, p)
		}
	}
	e.state.Tokens[password] = expires
	if err := e.save(); err != nil {
		return nil, err
	}
	return map[string]any{"authorizationData": []map[string]any{{
		"authorizationToken": base64.StdEncoding.EncodeToString([]byte("AWS:" + password)),
		"expiresAt":          epoch(expires),
		"proxyEndpoint":      "http://" + e.host,
	}}}, nil
}

func (e *ecrService) expireTokens() {
	e.mu.Lock()
	defer e.mu.Unlock()
	clear(e.state.Tokens)
	e.save()
}

// validToken reports whether a registry password is a live token.
func (e *ecrService) validToken(password string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	exp, ok := e.state.Tokens[password]
	return ok && time.Now().Before(exp)
}

func validMutability(m string) bool {
	return slices.Contains([]string{"MUTABLE", "IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION"}, m)
}

func (e *ecrService) createRepository(name, mutability string, exclusions []tagFilter, scan bool, tags []resourceTag) (any, error) {
	if len(name) < 2 || len(name) > 256 || !ecrRepoName.MatchString(name) {
		return nil, badRequest("InvalidParameterException", "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*''")
	}
	if mutability == "" {
		mutability = "MUTABLE"
	}
	if !validMutability(mutability) {
		return nil, badRequest("InvalidParameterException", "Invalid parameter at 'imageTagMutability': %q", mutability)
	}
	if _, ok := e.state.Repositories[name]; ok {
		return nil, badRequest("RepositoryAlreadyExistsException", "The repository with name '%s' already exists in the registry with id '%s'", name, e.account)
	}
	if len(tags) > 0 { // tagging on create needs its own permission, as on AWS
		if err := e.faults.authorize("ecr", "TagResource"); err != nil {
			return nil, err
		}
	}
	r := &ecrRepo{Name: name, CreatedAt: time.Now().UTC(), Mutability: mutability, Exclusions: exclusions, ScanOnPush: scan, Tags: tags, Images: map[string]*image{}}
	e.state.Repositories[name] = r
	return map[string]any{"repository": e.repoOut(r)}, e.save()
}

// page cuts a sorted list at nextToken (an offset) to maxResults.
func page[T any](items []T, maxResults int, nextToken string, limit int) ([]T, string, error) {
	start := 0
	if nextToken != "" {
		n, err := strconv.Atoi(nextToken)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", badRequest("InvalidParameterException", "invalid nextToken")
		}
		start = n
	}
	if maxResults <= 0 {
		maxResults = limit
	}
	end := min(start+maxResults, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[start:end], next, nil
}

func (e *ecrService) describeRepositories(names []string, maxResults int, nextToken string) (any, error) {
	var repos []map[string]any
	if len(names) > 0 {
		for _, n := range names {
			r, err := e.repo(n)
			if err != nil {
				return nil, err
			}
			repos = append(repos, e.repoOut(r))
		}
	} else {
		all := make([]string, 0, len(e.state.Repositories))
		for n := range e.state.Repositories {
			all = append(all, n)
		}
		sort.Strings(all)
		for _, n := range all {
			repos = append(repos, e.repoOut(e.state.Repositories[n]))
		}
	}
	repos, next, err := page(repos, maxResults, nextToken, 100)
	if err != nil {
		return nil, err
	}
	return map[string]any{"repositories": repos, "nextToken": omitEmpty(next)}, nil
}

func omitEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (e *ecrService) deleteRepository(name string, force bool) (any, error) {
	r, err := e.repo(name)
	if err != nil {
		return nil, err
	}
	if len(r.Images) > 0 && !force {
		return nil, badRequest("RepositoryNotEmptyException", "The repository with name '%s' in registry with id '%s' cannot be deleted because it still contains images", name, e.account)
	}
	for d := range r.Images {
		e.deleteImage(r, d)
	}
	delete(e.state.Repositories, name)
	return map[string]any{"repository": e.repoOut(r)}, e.save()
}

// sortedImages lists a repository's images, newest push first.
func sortedImages(r *ecrRepo) []*image {
	imgs := make([]*image, 0, len(r.Images))
	for _, im := range r.Images {
		imgs = append(imgs, im)
	}
	sort.Slice(imgs, func(i, j int) bool {
		if !imgs[i].PushedAt.Equal(imgs[j].PushedAt) {
			return imgs[i].PushedAt.After(imgs[j].PushedAt)
		}
		return imgs[i].Digest < imgs[j].Digest
	})
	return imgs
}

// find resolves an image id within a repository.
func (r *ecrRepo) find(id imageID) *image {
	if id.ImageDigest != "" {
		im := r.Images[id.ImageDigest]
		if im != nil && id.ImageTag != "" && !slices.Contains(im.Tags, id.ImageTag) {
			return nil
		}
		return im
	}
	for _, im := range r.Images {
		if slices.Contains(im.Tags, id.ImageTag) {
			return im
		}
	}
	return nil
}

func tagStatusOK(status string, im *image) (bool, error) {
	switch status {
	case "", "ANY":
		return true, nil
	case "TAGGED":
		return len(im.Tags) > 0, nil
	case "UNTAGGED":
		return len(im.Tags) == 0, nil
	}
	return false, badRequest("InvalidParameterException", "Invalid parameter at 'filter.tagStatus': %q", status)
}

func (e *ecrService) imageDetail(r *ecrRepo, im *image) map[string]any {
	d := map[string]any{
		"registryId": e.account, "repositoryName": r.Name, "imageDigest": im.Digest,
		"imageSizeInBytes": im.Size, "imagePushedAt": epoch(im.PushedAt), "imageManifestMediaType": im.MediaType,
	}
	if len(im.Tags) > 0 {
		d["imageTags"] = im.Tags
	}
	if art := artifactMediaType(im); art != "" {
		d["artifactMediaType"] = art
	}
	return d
}

func (e *ecrService) describeImages(name string, ids []imageID, status string, maxResults int, nextToken string) (any, error) {
	r, err := e.repo(name)
	if err != nil {
		return nil, err
	}
	var details []map[string]any
	if len(ids) > 0 {
		for _, id := range ids {
			im := r.find(id)
			if im == nil {
				return nil, badRequest("ImageNotFoundException", "The image with imageId {imageDigest:'%s', imageTag:'%s'} does not exist within the repository with name '%s' in the registry with id '%s'",
					id.ImageDigest, id.ImageTag, name, e.account)
			}
			details = append(details, e.imageDetail(r, im))
		}
		return map[string]any{"imageDetails": details}, nil
	}
	for _, im := range sortedImages(r) {
		ok, err := tagStatusOK(status, im)
		if err != nil {
			return nil, err
		}
		if ok {
			details = append(details, e.imageDetail(r, im))
		}
	}
	details, next, err := page(details, maxResults, nextToken, 100)
	if err != nil {
		return nil, err
	}
	return map[string]any{"imageDetails": details, "nextToken": omitEmpty(next)}, nil
}

func (e *ecrService) listImages(name, status string, maxResults int, nextToken string) (any, error) {
	r, err := e.repo(name)
	if err != nil {
		return nil, err
	}
	var ids []imageID
	for _, im := range sortedImages(r) {
		ok, err := tagStatusOK(status, im)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if len(im.Tags) == 0 {
			ids = append(ids, imageID{ImageDigest: im.Digest})
		}
		for _, t := range im.Tags {
			ids = append(ids, imageID{ImageDigest: im.Digest, ImageTag: t})
		}
	}
	ids, next, err := page(ids, maxResults, nextToken, 100)
	if err != nil {
		return nil, err
	}
	return map[string]any{"imageIds": ids, "nextToken": omitEmpty(next)}, nil
}

func failure(id imageID, code, reason string) map[string]any {
	return map[string]any{"imageId": id, "failureCode": code, "failureReason": reason}
}

func (e *ecrService) batchGetImage(name string, ids []imageID) (any, error) {
	r, err := e.repo(name)
	if err != nil {
		return nil, err
	}
	images, failures := []map[string]any{}, []map[string]any{}
	for _, id := range ids {
		im := r.find(id)
		if im == nil {
			failures = append(failures, failure(id, "ImageNotFound", "Requested image not found"))
			continue
		}
		images = append(images, map[string]any{
			"registryId": e.account, "repositoryName": name, "imageId": imageID{ImageDigest: im.Digest, ImageTag: id.ImageTag},
			"imageManifest": string(im.Manifest), "imageManifestMediaType": im.MediaType,
		})
	}
	return map[string]any{"images": images, "failures": failures}, nil
}

func (e *ecrService) batchDeleteImage(name string, ids []imageID) (any, error) {
	r, err := e.repo(name)
	if err != nil {
		return nil, err
	}
	deleted, failures := []imageID{}, []map[string]any{}
	for _, id := range ids {
		im := r.find(id)
		if im == nil {
			failures = append(failures, failure(id, "ImageNotFound", "Requested image not found"))
			continue
		}
		if id.ImageDigest == "" && len(im.Tags) > 1 { // untag only
			im.Tags = slices.DeleteFunc(im.Tags, func(t string) bool { return t == id.ImageTag })
			e.registryDelete(name, id.ImageTag)
			deleted = append(deleted, imageID{ImageDigest: im.Digest, ImageTag: id.ImageTag})
			continue
		}
		for _, t := range im.Tags {
			deleted = append(deleted, imageID{ImageDigest: im.Digest, ImageTag: t})
		}
		if len(im.Tags) == 0 {
			deleted = append(deleted, imageID{ImageDigest: im.Digest})
		}
		e.deleteImage(r, im.Digest)
	}
	return map[string]any{"imageIds": deleted, "failures": failures}, e.save()
}

// deleteImage removes an image and its tags from the record and the registry.
func (e *ecrService) deleteImage(r *ecrRepo, digest string) {
	im := r.Images[digest]
	if im == nil {
		return
	}
	for _, t := range im.Tags {
		e.registryDelete(r.Name, t)
	}
	e.registryDelete(r.Name, digest)
	delete(r.Images, digest)
}

// putImage stores a manifest whose blobs the repository has, under a tag:
// how ECR tags an image without pushing it again.
func (e *ecrService) putImage(name, manifest, mediaType, tag, digest string) (any, error) {
	r, err := e.repo(name)
	if err != nil {
		return nil, err
	}
	if manifest == "" {
		return nil, badRequest("InvalidParameterException", "Invalid parameter at 'imageManifest' failed to satisfy constraint: 'Member must not be null'")
	}
	got := manifestDigest([]byte(manifest))
	if digest != "" && digest != got {
		return nil, badRequest("InvalidParameterException", "Invalid parameter at 'imageDigest': the manifest's digest is %s", got)
	}
	ref := tag
	if ref == "" {
		ref = got
	}
	if holder := r.find(refID(ref)); holder != nil && holder.Digest == got && (tag == "" || slices.Contains(holder.Tags, tag)) {
		return nil, badRequest("ImageAlreadyExistsException", "Image with digest '%s' and tag '%s' already exists in the repository with name '%s' in registry with id '%s'", got, tag, name, e.account)
	}
	if _, _, merr := e.storeManifest(r, ref, []byte(manifest), mediaType); merr != nil { // the registry's errors, as ECR's API words them
		switch merr.code {
		case "TAG_INVALID":
			return nil, badRequest("ImageTagAlreadyExistsException", "The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the tag is immutable.", tag, name)
		case "MANIFEST_BLOB_UNKNOWN", "BLOB_UNKNOWN":
			return nil, badRequest("LayersNotFoundException", "The image manifest references layers the repository does not have: %s", merr.msg)
		}
		return nil, badRequest("InvalidParameterException", "Invalid parameter at 'imageManifest': %s", merr.msg)
	}
	im := r.Images[got]
	return map[string]any{"image": map[string]any{"registryId": e.account, "repositoryName": name,
		"imageId": imageID{ImageDigest: got, ImageTag: tag}, "imageManifest": manifest, "imageManifestMediaType": im.MediaType}}, nil
}

func (e *ecrService) putImageTagMutability(name, mutability string, exclusions []tagFilter) (any, error) {
	r, err := e.repo(name)
	if err != nil {
		return nil, err
	}
	if !validMutability(mutability) {
		return nil, badRequest("InvalidParameterException", "Invalid parameter at 'imageTagMutability': %q", mutability)
	}
	for _, f := range exclusions {
		if f.FilterType != "WILDCARD" || f.Filter == "" {
			return nil, badRequest("InvalidParameterException", "an exclusion filter needs filterType WILDCARD and a filter")
		}
	}
	r.Mutability, r.Exclusions = mutability, exclusions
	return map[string]any{"registryId": e.account, "repositoryName": name, "imageTagMutability": mutability,
		"imageTagMutabilityExclusionFilters": exclusions}, e.save()
}

// tagImmutable reports whether a tag may not move in a repository.
func (r *ecrRepo) tagImmutable(tag string) bool {
	excluded := slices.ContainsFunc(r.Exclusions, func(f tagFilter) bool { ok, _ := path.Match(f.Filter, tag); return ok })
	switch r.Mutability {
	case "IMMUTABLE":
		return true
	case "IMMUTABLE_WITH_EXCLUSION":
		return !excluded
	case "MUTABLE_WITH_EXCLUSION":
		return excluded
	}
	return false
}

func (e *ecrService) lifecyclePolicy(op, name, text string) (any, error) {
	r, err := e.repo(name)
	if err != nil {
		return nil, err
	}
	switch op {
	case "PutLifecyclePolicy":
		var doc struct {
			Rules []json.RawMessage `json:"rules"`
		}
		if err := json.Unmarshal([]byte(text), &doc); err != nil || len(doc.Rules) == 0 {
			return nil, badRequest("InvalidParameterException", "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: a JSON document with a non-empty \"rules\" list is required'")
		}
		r.Lifecycle, r.LifecycleTime = text, time.Now().UTC()
	case "GetLifecyclePolicy", "DeleteLifecyclePolicy":
		if r.Lifecycle == "" {
			return nil, badRequest("LifecyclePolicyNotFoundException", "Lifecycle policy does not exist for the repository with name '%s' in the registry with id '%s'", name, e.account)
		}
		text = r.Lifecycle
		if op == "DeleteLifecyclePolicy" {
			r.Lifecycle = ""
		}
	}
	return map[string]any{"registryId": e.account, "repositoryName": name, "lifecyclePolicyText": text,
		"lastEvaluatedAt": epoch(r.LifecycleTime)}, e.save()
}

func (e *ecrService) putScanning(name string, scan bool) (any, error) {
	r, err := e.repo(name)
	if err != nil {
		return nil, err
	}
	r.ScanOnPush = scan
	return map[string]any{"registryId": e.account, "repositoryName": name,
		"imageScanningConfiguration": map[string]bool{"scanOnPush": scan}}, e.save()
}
