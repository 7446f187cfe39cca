// Package sdkgen writes schema.json from the provider and generates the Go,
// Node.js and Python SDKs from it, offline, through Pulumi's codegen packages
// (no language host is needed).
package sdkgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/blang/semver"
	p "github.com/pulumi/pulumi-go-provider"
	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	nodejsgen "github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	pythongen "github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"

	"github.com/lambdacontainer/pulumi-lambdacontainer/provider"
)

const generator = "lambdacontainer-sdkgen"

// Languages are the SDKs generated, each into sdk/<language>.
var Languages = []string{"go", "nodejs", "python"}

// Schema returns schema.json as the provider describes itself.
func Schema(ctx context.Context) ([]byte, error) {
	spec, err := p.GetSchema(ctx, provider.Name, provider.Version, provider.New())
	if err != nil {
		return nil, fmt.Errorf("reading the provider's schema: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(spec); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// SDK returns the files of one language's SDK, by path relative to sdk/<language>.
func SDK(schemaJSON []byte, language string) (map[string][]byte, error) {
	var spec schema.PackageSpec
	if err := json.Unmarshal(schemaJSON, &spec); err != nil {
		return nil, fmt.Errorf("schema.json: %w", err)
	}
	// Binding mutates the package, so each language binds its own.
	pkg, diags, err := schema.BindSpec(spec, noLoader{}, schema.ValidationOptions{})
	if err != nil {
		return nil, err
	}
	if diags.HasErrors() {
		return nil, fmt.Errorf("schema.json is invalid: %s", diags.Error())
	}
	switch language {
	case "go":
		files, err := gogen.GeneratePackage(generator, pkg, nil)
		if err != nil {
			return nil, err
		}
		files["go.mod"] = []byte(goMod)
		return files, nil
	case "nodejs":
		return nodejsgen.GeneratePackage(generator, pkg, nil, nil, false, noLoader{})
	case "python":
		return pythongen.GeneratePackage(generator, pkg, nil, noLoader{})
	}
	return nil, fmt.Errorf("unknown SDK language %q", language)
}

// goMod makes sdk/go a module of its own; `make sdks` tidies it into go.sum.
const goMod = `module github.com/lambdacontainer/pulumi-lambdacontainer/sdk/go

go 1.25

require github.com/pulumi/pulumi/sdk/v3 v3.277.0
`

// Generated reports whether the file at rel in sdk/<language> is written by
// the generator; go.mod's requirements and go.sum belong to `go mod tidy`.
func Generated(rel string) bool { return rel != "go.mod" && rel != "go.sum" }

// Write replaces sdk/<language> under root with freshly generated files.
// go.mod is written only when missing, so that tidied requirements survive.
func Write(root string, schemaJSON []byte, language string) error {
	files, err := SDK(schemaJSON, language)
	if err != nil {
		return err
	}
	dir := filepath.Join(root, "sdk", language)
	old, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err == nil && language == "go" {
		files["go.mod"] = old
	}
	sum, _ := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if sum != nil && language == "go" {
		files["go.sum"] = sum
	}
	for rel, data := range files {
		path := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Stale lists what differs between the generated files and those under root:
// schema.json and every generated SDK file, missing, extra or changed.
func Stale(ctx context.Context, root string) ([]string, error) {
	var stale []string
	want, err := Schema(ctx)
	if err != nil {
		return nil, err
	}
	if have, err := os.ReadFile(filepath.Join(root, "schema.json")); err != nil || !bytes.Equal(have, want) {
		stale = append(stale, "schema.json")
	}
	for _, lang := range Languages {
		files, err := SDK(want, lang)
		if err != nil {
			return nil, err
		}
		dir := filepath.Join(root, "sdk", lang)
		for rel, data := range files {
			if !Generated(rel) {
				continue
			}
			have, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
			if err != nil || !bytes.Equal(have, data) {
				stale = append(stale, filepath.Join("sdk", lang, rel))
			}
		}
		err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dir, path)
			if _, ok := files[filepath.ToSlash(rel)]; !ok && Generated(rel) && !ignored(rel) {
				stale = append(stale, filepath.Join("sdk", lang, rel)+" (not generated)")
			}
			return nil
		})
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		if errors.Is(err, os.ErrNotExist) {
			stale = append(stale, filepath.Join("sdk", lang)+" (missing)")
		}
	}
	return stale, nil
}

// ignored are build outputs that may sit in an SDK folder (and are kept out of git).
func ignored(rel string) bool {
	return strings.Contains(rel, "node_modules") || strings.Contains(rel, "__pycache__") || strings.HasPrefix(rel, "bin"+string(filepath.Separator))
}

// noLoader refuses every package reference: the schema references none, and
// Pulumi's codegen panics on a nil loader.
type noLoader struct{}

var errNoRefs = errors.New("the lambdacontainer schema references no other package")

func (noLoader) LoadPackage(string, *semver.Version) (*schema.Package, error) { return nil, errNoRefs }
func (noLoader) LoadPackageV2(context.Context, *schema.PackageDescriptor) (*schema.Package, error) {
	return nil, errNoRefs
}
func (noLoader) LoadPackageReference(string, *semver.Version) (schema.PackageReference, error) {
	return nil, errNoRefs
}
func (noLoader) LoadPackageReferenceV2(context.Context, *schema.PackageDescriptor) (schema.PackageReference, error) {
	return nil, errNoRefs
}
