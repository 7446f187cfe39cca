package localaws

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"time"
)

// maxManifest is the largest manifest the registry accepts, as ECR's limit.
const maxManifest = 4 << 20

func quietLogger() *log.Logger { return log.New(io.Discard, "", 0) }

// registryError answers in the distribution API's error format.
func registryError(w http.ResponseWriter, status int, code, format string, a ...any) {
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="localaws ECR"`)
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": fmt.Sprintf(format, a...)}}})
}

// registryPath splits /v2/<name>/<kind>/<ref> (kind: manifests, blobs, tags).
func registryPath(p string) (name, kind, ref string) {
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok || rest == "" {
		return "", "", ""
	}
	for _, k := range []string{"/manifests/", "/blobs/uploads", "/blobs/", "/tags/"} {
		if i := strings.LastIndex(rest, k); i > 0 {
			return rest[:i], strings.Trim(strings.SplitN(k[1:], "/", 2)[0], "/"), strings.TrimPrefix(rest[i+len(k):], "/")
		}
	}
	return "", "", ""
}

// registryHandler puts ECR's semantics in front of the OCI registry: basic
// auth as user AWS with a live token, repositories that must exist, tag
// immutability, and a record of every manifest push for DescribeImages.
func (e *ecrService) registryHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, kind, ref := registryPath(r.URL.Path)
		op := r.Method + "-" + strings.TrimSuffix(kind, "s")
		if kind == "" {
			op = r.Method + "-ping"
		}
		latency, ferr := e.faults.match("registry", op)
		time.Sleep(latency)
		if ferr != nil {
			registryError(w, ferr.Status, ferr.Type, "%s", ferr.Message)
			return
		}
		user, password, ok := r.BasicAuth()
		switch {
		case !ok:
			registryError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required: log in as AWS with the password from GetAuthorizationToken")
			return
		case user != "AWS" || !e.validToken(password):
			e.faults.count("registry:refused-token") // for tests: a 401 was served
			registryError(w, http.StatusUnauthorized, "DENIED", "Your authorization token has expired. Reauthenticate and try again.")
			return
		}
		if name == "" {
			e.registry.ServeHTTP(w, r)
			return
		}
		e.mu.Lock()
		repo := e.state.Repositories[name]
		e.mu.Unlock()
		if repo == nil {
			registryError(w, http.StatusNotFound, "NAME_UNKNOWN", "The repository with name '%s' does not exist in the registry with id '%s'", name, e.account)
			return
		}
		switch {
		case kind == "manifests" && r.Method == http.MethodPut:
			e.putManifest(w, r, name, ref)
		case kind == "manifests" && r.Method == http.MethodDelete:
			e.mu.Lock()
			defer e.mu.Unlock()
			im := repo.find(refID(ref))
			if im == nil {
				registryError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest %s not found", ref)
				return
			}
			e.deleteImage(repo, im.Digest)
			e.save()
			w.WriteHeader(http.StatusAccepted)
		default:
			if kind == "blobs" && (r.Method == http.MethodPatch || r.Method == http.MethodPut) {
				r.Body = &countingBody{r.Body, e.faults}
			}
			e.registry.ServeHTTP(w, r)
		}
	})
}

// countingBody adds the blob bytes an upload carries to the Calls record.
type countingBody struct {
	io.ReadCloser
	f *faults
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.f.received(int64(n))
	return n, err
}

func refID(ref string) imageID {
	if strings.HasPrefix(ref, "sha256:") {
		return imageID{ImageDigest: ref}
	}
	return imageID{ImageTag: ref}
}

func (e *ecrService) putManifest(w http.ResponseWriter, r *http.Request, name, ref string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxManifest+1))
	e.faults.record("registry", "PUT-manifest", body)
	if err != nil || len(body) > maxManifest {
		registryError(w, http.StatusBadRequest, "MANIFEST_INVALID", "the manifest is unreadable or larger than %d bytes", maxManifest)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, header, merr := e.storeManifest(e.state.Repositories[name], ref, body, r.Header.Get("Content-Type"))
	if merr != nil {
		registryError(w, merr.status, merr.code, "%s", merr.msg)
		return
	}
	for k, v := range header {
		w.Header()[k] = v
	}
	w.WriteHeader(http.StatusCreated)
}

// manifestDigest is a manifest's digest, sha256:<hex>.
func manifestDigest(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// manifestError is a manifest the registry refused: its status, and the
// distribution API's error code and message.
type manifestError struct {
	status    int
	code, msg string
}

// storeManifest puts a manifest into the registry under ref (a tag, or its
// digest) and records the push, enforcing tag immutability. mediaType
// defaults to the manifest's own. The caller holds e.mu. It returns the
// digest and the registry's response headers.
func (e *ecrService) storeManifest(repo *ecrRepo, ref string, body []byte, mediaType string) (string, http.Header, *manifestError) {
	digest := manifestDigest(body)
	if strings.HasPrefix(ref, "sha256:") && ref != digest {
		return "", nil, &manifestError{http.StatusBadRequest, "DIGEST_INVALID", fmt.Sprintf("the manifest's digest is %s, not %s", digest, ref)}
	}
	var m struct {
		MediaType string
		Config    struct {
			MediaType string
			Digest    string
			Size      int64
		}
		Layers []struct {
			Digest string
			Size   int64
		}
		Manifests []struct{ Digest string }
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return "", nil, &manifestError{http.StatusBadRequest, "MANIFEST_INVALID", fmt.Sprintf("the manifest is not JSON: %v", err)}
	}
	isTag := !strings.HasPrefix(ref, "sha256:")
	if isTag {
		if holder := repo.find(imageID{ImageTag: ref}); holder != nil && holder.Digest != digest && repo.tagImmutable(ref) {
			return "", nil, &manifestError{http.StatusBadRequest, "TAG_INVALID", fmt.Sprintf("The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the repository is immutable.", ref, repo.Name)}
		}
	}
	// As a registry must, refuse a manifest whose blobs or child manifests were never pushed.
	refs := map[string]string{m.Config.Digest: "blobs"}
	for _, l := range m.Layers {
		refs[l.Digest] = "blobs"
	}
	for _, c := range m.Manifests {
		refs[c.Digest] = "manifests"
	}
	for d, kind := range refs {
		if d == "" {
			continue
		}
		rec := httptest.NewRecorder()
		e.registry.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/v2/"+repo.Name+"/"+kind+"/"+d, nil))
		if rec.Code != http.StatusOK {
			return "", nil, &manifestError{http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN", fmt.Sprintf("the manifest references %s, which the repository does not have", d)}
		}
	}
	if mediaType == "" {
		mediaType = m.MediaType
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPut, "/v2/"+repo.Name+"/manifests/"+ref, bytes.NewReader(body))
	req.Header.Set("Content-Type", mediaType)
	e.registry.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		var out struct {
			Errors []struct{ Code, Message string }
		}
		json.Unmarshal(rec.Body.Bytes(), &out)
		merr := &manifestError{rec.Code, "MANIFEST_INVALID", rec.Body.String()}
		if len(out.Errors) > 0 {
			merr.code, merr.msg = out.Errors[0].Code, out.Errors[0].Message
		}
		return "", nil, merr
	}
	im := repo.Images[digest]
	if im == nil {
		size := m.Config.Size
		for _, l := range m.Layers {
			size += l.Size
		}
		if size == 0 {
			size = int64(len(body))
		}
		im = &image{Digest: digest, MediaType: mediaType, Manifest: body, Size: size, PushedAt: time.Now().UTC()}
		repo.Images[digest] = im
	}
	if isTag && !slices.Contains(im.Tags, ref) {
		if holder := repo.find(imageID{ImageTag: ref}); holder != nil { // the tag moves here
			holder.Tags = slices.DeleteFunc(holder.Tags, func(t string) bool { return t == ref })
		}
		im.Tags = append(im.Tags, ref)
	}
	if err := e.save(); err != nil {
		e.log("saving ECR state: %v", err)
	}
	return digest, rec.Header(), nil
}

// registryDelete removes a manifest reference from the OCI registry.
func (e *ecrService) registryDelete(name, ref string) {
	req := httptest.NewRequest(http.MethodDelete, "/v2/"+name+"/manifests/"+ref, nil)
	e.registry.ServeHTTP(httptest.NewRecorder(), req)
}

// replay puts every recorded manifest back into the registry after a
// restart (blobs are on disk already): images before the indexes that
// refer to them, then the tags.
func (e *ecrService) replay() error {
	for pass := range 2 {
		for name, repo := range e.state.Repositories {
			for _, im := range repo.Images {
				if isIndex(im.MediaType) != (pass == 1) {
					continue
				}
				for _, ref := range append([]string{im.Digest}, im.Tags...) {
					req := httptest.NewRequest(http.MethodPut, "/v2/"+name+"/manifests/"+ref, bytes.NewReader(im.Manifest))
					req.Header.Set("Content-Type", im.MediaType)
					rec := httptest.NewRecorder()
					e.registry.ServeHTTP(rec, req)
					if rec.Code != http.StatusCreated {
						return fmt.Errorf("%s@%s: %s", name, ref, rec.Body.String())
					}
				}
			}
		}
	}
	return nil
}

func isIndex(mediaType string) bool {
	return mediaType == "application/vnd.oci.image.index.v1+json" || mediaType == "application/vnd.docker.distribution.manifest.list.v2+json"
}

// artifactMediaType is the config media type of an image manifest.
func artifactMediaType(im *image) string {
	var m struct{ Config struct{ MediaType string } }
	json.Unmarshal(im.Manifest, &m)
	return m.Config.MediaType
}

// imageArch reads an image's architecture from its config blob; "" when
// it cannot tell.
func (e *ecrService) imageArch(repo string, im *image) string {
	var m struct{ Config struct{ Digest string } }
	if json.Unmarshal(im.Manifest, &m) != nil || m.Config.Digest == "" {
		return ""
	}
	rec := httptest.NewRecorder()
	e.registry.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v2/"+repo+"/blobs/"+m.Config.Digest, nil))
	var cfg struct{ Architecture string }
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &cfg) != nil {
		return ""
	}
	return cfg.Architecture
}
