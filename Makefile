# The README's commands: `make demo` (the main job) and `make test`.
SHELL := /bin/bash
TOOLS_PATH = $(shell scripts/bootstrap.sh --path)
WITH_TOOLS = PATH="$(TOOLS_PATH):$$PATH" LAMBDACONTAINER_PYTHON_BASE="$(shell scripts/bootstrap.sh --python-base)/layout"

.PHONY: demo test tools build schema sdks vet bench bench-hash fuzz

demo:
	scripts/demo.sh

# Bootstraps the tools (seconds when cached), vets every module (the nested
# ones too), then runs every test layer, the concurrency tests again under
# the race detector (localaws whole, and the provider's concurrent
# deployments with its unit tests), and the fuzzers briefly.
test: tools
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^sdk/')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt -w these files: $$unformatted"; exit 1; fi
	$(MAKE) vet
	$(WITH_TOOLS) go test -count=1 -timeout 45m ./...
	$(WITH_TOOLS) go test -race -count=1 -timeout 30m ./localaws/
	$(WITH_TOOLS) go test -race -count=1 -timeout 30m -run 'Concurrent|Check|Config|Schema|Diff' ./provider/
	$(MAKE) fuzz

# Each fuzzer for FUZZTIME; their regressions stay in testdata/fuzz.
FUZZTIME ?= 5s
fuzz:
	go test -run '^$$' -fuzz '^FuzzCheck$$' -fuzztime $(FUZZTIME) ./provider/
	go test -run '^$$' -fuzz '^FuzzAPIRequests$$' -fuzztime $(FUZZTIME) ./localaws/
	go test -run '^$$' -fuzz '^FuzzIgnoreWalk$$' -fuzztime $(FUZZTIME) ./internal/source/
	go test -run '^$$' -fuzz '^FuzzRequirements$$' -fuzztime $(FUZZTIME) ./internal/analyze/
	go test -run '^$$' -fuzz '^FuzzDockerfile$$' -fuzztime $(FUZZTIME) ./internal/analyze/
	go test -run '^$$' -fuzz '^FuzzPythonImports$$' -fuzztime $(FUZZTIME) ./internal/analyze/

tools:
	scripts/bootstrap.sh

build:
	go build -o bin/ ./cmd/pulumi-resource-lambdacontainer

# schema.json comes from the provider; the SDKs come from schema.json.
schema:
	go run ./internal/sdkgen/gensdk schema

sdks:
	go run ./internal/sdkgen/gensdk sdks
	cd sdk/go && go mod tidy

vet:
	go vet ./...
	cd sdk/go && go vet ./...
	cd examples/python-fastapi/go && go vet ./...
	cd tests/gosdk && go vet ./...

# The deploy loop against the raw tools, source hashing against b3sum, and
# the preflight analysis against reading its files, each in the same run;
# each writes its table into docs/benchmarks.md.
bench: bench-hash
	go run ./internal/analyze/analyzebench
	$(WITH_TOOLS) go run ./tests/bench -runs 5

# Source hashing against b3sum in the same run; writes docs/benchmarks.md.
bench-hash: tools
	go test -run '^$$' -bench BenchmarkHash ./internal/source/
	go run ./internal/source/hashbench
