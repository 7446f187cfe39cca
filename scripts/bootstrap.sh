#!/usr/bin/env bash
# bootstrap.sh installs and builds every tool the tests and the demo need, once.
#
# Binaries are cached outside the repository, one folder per tool and version
# (LAMBDACONTAINER_TOOLS, default ~/.cache/lambdacontainer/tools), so a second
# run only checks that they are there. It prints where each tool lives and, on
# its last line, the PATH to export. Safe to run any number of times.
#
#   scripts/bootstrap.sh          install and build what is missing, then report
#   scripts/bootstrap.sh --path   print only the tool directories, PATH-style
set -euo pipefail

PULUMI_VERSION=v3.277.0
PULUMI_YAML_VERSION=v1.32.0
BUILDKIT_VERSION=v0.34.2
TYPESCRIPT_VERSION=5.9.3
PULUMI_NODE_VERSION=3.276.0
APT_PACKAGES=(runc b3sum git time awscli debootstrap)
# Debian's packages in the Python base image: pip, and what the wheelhouse
# offers apps (fastapi with its dependencies, PyYAML).
PY_BASE_PACKAGES=python3,python3-pip,python3-fastapi,python3-yaml

TOOLS=${LAMBDACONTAINER_TOOLS:-$HOME/.cache/lambdacontainer/tools}
export GOFLAGS=-buildvcs=false
PULUMI_DIR=$TOOLS/pulumi-$PULUMI_VERSION
YAML_DIR=$TOOLS/pulumi-language-yaml-$PULUMI_YAML_VERSION
BUILDKIT_DIR=$TOOLS/buildkit-$BUILDKIT_VERSION
NODE_DIR=$TOOLS/node-typescript-$TYPESCRIPT_VERSION-pulumi-$PULUMI_NODE_VERSION
REPO=$(cd "$(dirname "$0")/.." && pwd)
# The Python base image's key covers its Debian packages and every file of
# localaws/baseimage (files/ included) but the tests.
PY_BASE_KEY=$( (echo "$PY_BASE_PACKAGES"
  find "$REPO"/localaws/baseimage -type f ! -name '*_test.go' ! -path '*/__pycache__/*' -print0 | LC_ALL=C sort -z | xargs -0 cat) |
  sha256sum | cut -c1-12)
PY_BASE_DIR=$TOOLS/lambda-python-base-bookworm-$PY_BASE_KEY
TOOL_PATH=$PULUMI_DIR:$BUILDKIT_DIR:$NODE_DIR/bin
if [ "${1:-}" = --path ]; then echo "$TOOL_PATH"; exit 0; fi
if [ "${1:-}" = --python-base ]; then echo "$PY_BASE_DIR"; exit 0; fi
mkdir -p "$TOOLS"
log() { printf 'bootstrap: %s\n' "$*" >&2; }

# A build that died (killed, or its machine rebooted) leaves DIR.tmp.PID (and
# DIR.tmp.PID.debootstrap.log) behind; remove those whose PID is gone.
for stale in "$TOOLS"/*.tmp.*; do
  [ -e "$stale" ] || continue
  pid=${stale##*.tmp.}; pid=${pid%%.*}
  if [[ $pid =~ ^[0-9]+$ ]] && [ ! -d "/proc/$pid" ]; then
    log "removing $stale, left by a build that died"
    rm -rf "$stale"
  fi
done

# apt packages: one `apt-get update` only when something is missing.
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# build_once DIR BIN... CMD: runs CMD (which must fill DIR) unless every BIN exists in DIR.
build_once() {
  local dir=$1; shift
  local bins=()
  while [ "$1" != "--" ]; do bins+=("$1"); shift; done
  shift
  local b ok=1
  for b in "${bins[@]}"; do [ -e "$dir/$b" ] || ok=0; done
  ((ok)) && return 0
  log "building ${bins[*]} into $dir (cold builds take minutes)"
  local tmp="$dir.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  "$@" "$tmp"
  rm -rf "$dir"; mv "$tmp" "$dir"
}

# The Pulumi CLI refuses `go install` (replace directives), so it is built from
# a throwaway module that requires pkg/v3 and carries the one replace it needs.
pulumi_cli() {
  local out=$1 mod; mod=$(mktemp -d)
  (
    cd "$mod"
    cat >go.mod <<MOD
module lambdacontainer.local/pulumi-cli

go 1.25

require github.com/pulumi/pulumi/pkg/v3 $PULUMI_VERSION

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
MOD
    printf 'package tools\n\nimport _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"\n' >tools.go
    go mod tidy
    go build -trimpath -o "$out/pulumi" \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  )
  rm -rf "$mod"
}

pulumi_yaml() {
  GOBIN=$1 go install -trimpath -ldflags "-s -w" \
    "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml@$PULUMI_YAML_VERSION"
}

# BuildKit's module has exclude directives, so `go install` is refused too:
# build inside the downloaded module directory instead.
buildkit() {
  local out=$1 src
  src=$(go mod download -json "github.com/moby/buildkit@$BUILDKIT_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  (cd "$src" && go build -trimpath -ldflags "-s -w" -o "$out/" ./cmd/buildkitd ./cmd/buildctl)
}

# TypeScript and @pulumi/pulumi, for compiling the generated Node.js SDK.
node_tools() {
  (cd "$1" && npm init -y >/dev/null &&
    npm install --no-audit --no-fund --silent "typescript@$TYPESCRIPT_VERSION" "@pulumi/pulumi@$PULUMI_NODE_VERSION" "@types/node@20" >/dev/null)
  mkdir -p "$1/bin" && ln -sf ../node_modules/.bin/tsc "$1/bin/tsc"
}


build_once "$PULUMI_DIR" pulumi -- pulumi_cli
build_once "$YAML_DIR" pulumi-language-yaml -- pulumi_yaml
build_once "$BUILDKIT_DIR" buildkitd buildctl -- buildkit
build_once "$NODE_DIR" bin/tsc -- node_tools

# The stand-in for the Lambda Python base image (which cannot be pulled here):
# debootstrap with PY_BASE_PACKAGES, plus localaws/baseimage's entrypoint,
# runtime client and a wheelhouse made of those packages for pip, packed as
# an OCI layout.
python_base() {
  local out=$1 rootfs mirror
  rootfs=$(mktemp -d)
  mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
  [ -n "$mirror" ] || mirror=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list)
  debootstrap --variant=minbase --include="$PY_BASE_PACKAGES" bookworm "$rootfs" "$mirror" >"$out.debootstrap.log" 2>&1 ||
    { cat "$out.debootstrap.log" >&2; rm -rf "$rootfs"; return 1; }
  rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/{doc,man,locale,info}
  (cd "$REPO" && go run ./localaws/baseimage --rootfs "$rootfs" --out "$out/layout")
  rm -rf "$rootfs" "$out.debootstrap.log"
}
build_once "$PY_BASE_DIR" layout/index.json -- python_base

# The CLI takes language hosts that sit beside it as bundled ones (found on
# PATH, it warns on every run), so the YAML host is linked in there.
ln -f "$YAML_DIR/pulumi-language-yaml" "$PULUMI_DIR/" 2>/dev/null ||
  cp -f "$YAML_DIR/pulumi-language-yaml" "$PULUMI_DIR/"

echo "runc                  $(command -v runc)"
echo "aws (Debian's awscli) $(dpkg -L awscli | grep -m1 '/bin/aws$') (PATH may hold another aws)"
echo "b3sum                 $(command -v b3sum)"
echo "pulumi                $PULUMI_DIR/pulumi"
echo "pulumi-language-yaml  $PULUMI_DIR/pulumi-language-yaml"
echo "buildkitd, buildctl   $BUILDKIT_DIR/"
echo "tsc, @pulumi/pulumi   $NODE_DIR/"
echo "python base image     $PY_BASE_DIR/layout (OCI layout)"
echo "export PATH=$TOOL_PATH:\$PATH"
