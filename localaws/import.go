package localaws

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Import pushes the first image of the OCI layout at dir into the registry
// as repo:tag, creating the repository when missing, exactly as a client
// would (through ECR and the registry). It preloads base images for offline
// builds, and returns the reference pushed (HOST/repo:tag).
func (s *Server) Import(ctx context.Context, dir, repoTag string) (string, error) {
	repo, tag, ok := strings.Cut(repoTag, ":")
	if !ok || repo == "" || tag == "" {
		return "", fmt.Errorf("import %s: want REPOSITORY:TAG, not %q", dir, repoTag)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return "", fmt.Errorf("import: %s is not an OCI layout: %w", dir, err)
	}
	m, err := idx.IndexManifest()
	if err != nil || len(m.Manifests) == 0 {
		return "", fmt.Errorf("import: the OCI layout at %s holds no image (%v)", dir, err)
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		return "", err
	}
	c := ecr.NewFromConfig(aws.Config{Region: s.Region(), BaseEndpoint: aws.String(s.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	if _, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: &repo}); err != nil &&
		!strings.Contains(err.Error(), (&ecrtypes.RepositoryAlreadyExistsException{}).ErrorCode()) {
		return "", err
	}
	tok, err := c.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return "", err
	}
	auth := authn.FromConfig(authn.AuthConfig{Auth: aws.ToString(tok.AuthorizationData[0].AuthorizationToken)}) // base64 AWS:<password>
	ref, err := name.NewTag(s.RegistryHost()+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx), remote.WithAuth(auth)); err != nil {
		return "", fmt.Errorf("import %s as %s: %w", dir, ref, err)
	}
	return ref.String(), nil
}
