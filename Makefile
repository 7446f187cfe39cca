# The README's commands: `make demo` (the main job) and `make test`.
SHELL := /bin/bash
TOOLS_PATH = $(shell scripts/bootstrap.sh --path)
WITH_TOOLS = PATH="$(TOOLS_PATH):$$PATH" LAMBDACONTAINER_PYTHON_BASE="$(shell scripts/bootstrap.sh --python-base)/layout"

.PHONY: demo test tools build schema sdks vet bench-hash

demo:
	scripts/demo.sh

# Bootstraps the tools (seconds when cached), then runs every test layer.
test: tools
	go vet ./...
	$(WITH_TOOLS) go test -count=1 ./...

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

# Source hashing against b3sum in the same run; writes docs/benchmarks.md.
bench-hash: tools
	go test -run '^$$' -bench BenchmarkHash ./internal/source/
	go run ./internal/source/hashbench
