package pyindex

import (
	"slices"
	"testing"
)

func TestIsStdlib(t *testing.T) {
	for _, c := range []struct {
		module, version string
		want            bool
	}{
		{"os", "3.12", true},
		{"os.path", "3.12", true},
		{"__future__", "3.12", true},
		{"_thread", "3.11", true},
		{"xml.etree.ElementTree", "3.13", true},
		{"distutils", "3.11", true},
		{"distutils.core", "3.12", false},
		{"imp", "3.12", false},
		{"asyncore", "3.11", true},
		{"smtpd", "3.12", false},
		{"cgi", "3.12", true},
		{"cgi", "3.13", false},
		{"telnetlib", "3.13", false},
		{"lib2to3", "3.13", false},
		{"tomllib", "3.10", false},
		{"tomllib", "3.11", true},
		{"zoneinfo", "3.8", false},
		{"zoneinfo", "3.9", true},
		{"binhex", "3.10", true},
		{"binhex", "3.11", false},
		{"parser", "3.9", true},
		{"parser", "3.10", false},
		{"_pyrepl", "3.13", true},
		{"_pyrepl", "3.12", false},
		{"distutils", "4.0", false}, // unknown: like 3.12
		{"yaml", "3.12", false},
		{"requests", "3.11", false},
		{"cProfile", "3.12", true},
		{"cprofile", "3.12", false},
	} {
		if got := IsStdlib(c.module, c.version); got != c.want {
			t.Errorf("IsStdlib(%q, %q) = %v, want %v", c.module, c.version, got, c.want)
		}
	}
	if n := len(stdlibs()["3.11"]); n != 305 {
		t.Errorf("3.11 has %d modules, want the 305 of sys.stdlib_module_names", n)
	}
	for _, v := range Versions() {
		if len(stdlibs()[v]) < 280 {
			t.Errorf("%s: only %d modules", v, len(stdlibs()[v]))
		}
	}
}

func TestDistribution(t *testing.T) {
	for mod, want := range map[string]string{
		"yaml": "PyYAML", "PIL": "Pillow", "PIL.Image": "Pillow", "cv2": "opencv-python", "jwt": "PyJWT",
		"dotenv": "python-dotenv", "bs4": "beautifulsoup4", "sklearn": "scikit-learn", "dateutil": "python-dateutil",
		"dateutil.parser": "python-dateutil", "google.cloud.storage": "google-cloud-storage",
		"google.cloud.storage.blob": "google-cloud-storage", "google.protobuf": "protobuf",
		"google.protobuf.json_format": "protobuf", "attr": "attrs", "magic": "python-magic", "Crypto": "pycryptodome",
		"Crypto.Cipher": "pycryptodome", "OpenSSL": "pyOpenSSL", "psycopg2": "psycopg2-binary",
		"multipart": "python-multipart", "jose": "python-jose", "mangum": "mangum", "requests": "requests",
		"fastapi": "fastapi", "pydantic": "pydantic", "boto3": "boto3", "distutils": "setuptools",
		"pkg_resources": "setuptools", "mysql.connector": "mysql-connector-python",
	} {
		if got, ok := Distribution(mod); !ok || got != want {
			t.Errorf("Distribution(%q) = %q, %v; want %q", mod, got, ok, want)
		}
	}
	for _, mod := range []string{"google", "google.cloud", "azure", "my_private_lib", "", "mysql"} {
		if got, ok := Distribution(mod); ok {
			t.Errorf("Distribution(%q) = %q, want unknown", mod, got)
		}
	}
}

func TestProvides(t *testing.T) {
	for dist, want := range map[string][]string{
		"setuptools":             {"_distutils_hack", "distutils", "pkg_resources", "setuptools"},
		"PyYAML":                 {"_yaml", "yaml"},
		"pyyaml":                 {"_yaml", "yaml"},
		"protobuf":               {"google.protobuf"},
		"opencv-python-headless": {"cv2"},
		"pymongo":                {"bson", "gridfs", "pymongo"},
		"python_dateutil":        {"dateutil"},
		"google-auth":            {"google.auth", "google.oauth2"},
		"Python.Multipart":       {"multipart", "python_multipart"},
	} {
		if got := Provides(dist); !slices.Equal(got, want) {
			t.Errorf("Provides(%q) = %q, want %q", dist, got, want)
		}
	}
	if got := Provides("no-such-dist"); got != nil {
		t.Errorf("unknown dist provides %q", got)
	}
	// Every suggested distribution provides the name it is suggested for.
	for mod := range idx().dist {
		d, _ := Distribution(mod)
		if !slices.Contains(Provides(d), mod) {
			t.Errorf("Distribution(%q) = %q, which does not provide it", mod, d)
		}
	}
}

func TestRequires(t *testing.T) {
	closure := func(dist string) []string {
		seen := map[string]bool{}
		var walk func(string)
		walk = func(d string) {
			for _, r := range Requires(d) {
				if !seen[r] {
					seen[r] = true
					walk(r)
				}
			}
		}
		walk(dist)
		return slicesSorted(seen)
	}
	for dist, want := range map[string][]string{
		"FastAPI":           {"starlette", "pydantic", "pydantic-core", "typing-extensions", "anyio", "annotated-types", "idna", "sniffio"},
		"requests":          {"urllib3", "idna", "certifi", "charset-normalizer"},
		"boto3":             {"botocore", "jmespath", "s3transfer", "urllib3", "python-dateutil", "six"},
		"httpx":             {"httpcore", "anyio", "certifi", "idna", "h11"},
		"uvicorn":           {"click", "h11"},
		"mangum":            {"typing-extensions"},
		"SQLAlchemy":        {"greenlet", "typing-extensions"},
		"uvicorn[standard]": {"uvicorn", "click", "uvloop", "httptools", "pyyaml"},
		"fastapi[standard]": {"fastapi", "starlette", "uvicorn", "uvloop", "python-multipart", "httpx"},
	} {
		got := closure(dist)
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("%s does not require %s transitively: %q", dist, w, got)
			}
		}
	}
	if got := Requires("unknown-dist"); len(got) != 0 {
		t.Errorf("unknown dist requires %q", got)
	}
}

func slicesSorted(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"PyYAML": "pyyaml", "python_dateutil": "python-dateutil", "Foo.Bar--baz__qux": "foo-bar-baz-qux",
		"zope.interface": "zope-interface", "a": "a", "-a-": "a", "": "",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLambdaBaseProvides(t *testing.T) {
	for _, d := range LambdaBaseProvides {
		if Normalize(d) != d {
			t.Errorf("%q is not normalised", d)
		}
		if len(Provides(d)) == 0 {
			t.Errorf("pyindex does not know what %q provides", d)
		}
	}
}
