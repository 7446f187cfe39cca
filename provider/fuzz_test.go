package provider

import (
	"context"
	"encoding/json"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/blang/semver"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/integration"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
)

// value turns decoded JSON into a property value.
func value(v any) property.Value {
	switch v := v.(type) {
	case string:
		return property.New(v)
	case float64:
		return property.New(v)
	case bool:
		return property.New(v)
	case []any:
		arr := make([]property.Value, len(v))
		for i, e := range v {
			arr[i] = value(e)
		}
		return property.New(arr)
	case map[string]any:
		m := map[string]property.Value{}
		for k, e := range v {
			m[k] = value(e)
		}
		return property.New(m)
	}
	return property.New(property.Null)
}

// FuzzCheck feeds Check random inputs: it must not panic, and every
// failure must name the property it is about. The context and Dockerfile are
// kept to the small test backend (or a missing directory), so that a fuzzed
// path never makes Check hash a whole file system; hostile paths have their
// own table test.
func FuzzCheck(f *testing.F) {
	for _, seed := range []string{
		`{"function": "api", "repository": "api", "context": "testdata/backend"}`,
		`{"function": "api", "repository": "api", "context": "testdata/backend", "verify": {"event": "{", "expectStatus": 9000}}`,
		`{"functionFromStack": {"stackName": "", "outputKey": 3}, "repository": "A:b@c", "context": "../.."}`,
		`{"function": ["x"], "repository": {}, "context": "/", "keepVersions": -1, "platform": "windows/amd64"}`,
		`{"function": "api", "repository": "api", "context": "testdata/backend", "dockerfile": "/etc/passwd", "buildArgs": {"": "x"}}`,
		`{"function": "api", "repository": "api", "context": "testdata/backend", "functionSettings": {"role": "", "architectures": ["sparc"]}}`,
	} {
		f.Add([]byte(seed))
	}
	srv, err := integration.NewServer(context.Background(), Name, semver.MustParse(Version), integration.WithProvider(New()))
	if err != nil {
		f.Fatal(err)
	}
	f.Setenv("XDG_CACHE_HOME", f.TempDir())
	f.Fuzz(func(t *testing.T, data []byte) {
		var in map[string]any
		if json.Unmarshal(data, &in) != nil {
			return
		}
		if c, _ := in["context"].(string); c != "testdata/backend" && c != "testdata/nope" {
			in["context"] = "testdata/backend"
		}
		if d, ok := in["dockerfile"].(string); ok && (strings.HasPrefix(d, "/") || strings.Contains(d, "..")) {
			delete(in, "dockerfile")
		}
		m := map[string]property.Value{}
		for k, v := range in {
			m[k] = value(v)
		}
		resp, err := srv.Check(p.CheckRequest{Urn: urn, Inputs: property.NewMap(m)})
		given := slices.Collect(maps.Keys(in)) // an input the program gave, even one the resource does not have
		for i, k := range given {
			if k == "" {
				given[i] = `""`
			}
		}
		if err != nil && !namesProperty(err.Error(), given) {
			t.Fatalf("Check failed with an error that names no property: %v for %s", err, data)
		}
		for _, failure := range resp.Failures {
			if failure.Reason == "" || !namesProperty(failure.Property, given) {
				t.Fatalf("a failure that names no property: %+v for %s", failure, data)
			}
		}
	})
}

// inputNames are the names of the resource's inputs, nested ones included.
var inputNames = func() []string {
	var names []string
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return
		}
		for i := range t.NumField() {
			if name, _, _ := strings.Cut(t.Field(i).Tag.Get("pulumi"), ","); name != "" {
				names = append(names, name)
			}
			walk(t.Field(i).Type)
		}
	}
	walk(reflect.TypeOf(Args{}))
	return names
}()

// namesProperty says whether s names an input, of the resource's or of
// given: a property path such as verify.http.path or buildArgs[a], or a
// message quoting one.
func namesProperty(s string, given []string) bool {
	return slices.ContainsFunc(append(slices.Clone(inputNames), given...), func(name string) bool {
		return regexp.MustCompile(`(^|[^A-Za-z0-9])` + regexp.QuoteMeta(name) + `($|[^A-Za-z0-9])`).MatchString(s)
	})
}
