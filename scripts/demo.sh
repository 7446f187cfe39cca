#!/usr/bin/env bash
# demo.sh is the README's main command: a real deployment of the FastAPI
# example, on this machine. It bootstraps the tools, starts localaws (the
# repository's local AWS) and a buildkitd on free loopback ports, runs
# `pulumi up` on examples/python-fastapi, changes one file, shows that
# `pulumi preview --diff` names it, and deploys again. Everything it started
# stops when it ends, Ctrl-C included.
#
# AWS's Lambda base images cannot be pulled here, so the example builds on
# the stand-in Python base the bootstrap makes (BASE_IMAGE, set through the
# program's baseImage config); the example's files are as a user writes them.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
scripts/bootstrap.sh >/dev/null
export PATH="$(scripts/bootstrap.sh --path):$PATH"
base_layout="$(scripts/bootstrap.sh --python-base)/layout"

work=$(mktemp -d -t lambdacontainer-demo.XXXXXX) # in TMPDIR, /tmp by default
pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted; stopping what it started"; exit 130' INT TERM
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

echo "demo: working in $work (pid $$)"
say "building the provider and the lambdacontainer CLI"
go build -o "$work/bin/" ./cmd/pulumi-resource-lambdacontainer ./cmd/lambdacontainer

say "starting localaws and buildkitd on free loopback ports"
"$work/bin/lambdacontainer" localaws --addr 127.0.0.1:0 --registry-addr 127.0.0.1:0 --dir "$work/localaws" \
  --update-delay 500ms --import "$base_layout=lambda/python:3.11" >"$work/localaws.out" 2>"$work/localaws.log" &
pids+=($!)
for _ in $(seq 100); do grep -q '^export AWS_ENDPOINT_URL' "$work/localaws.out" 2>/dev/null && break; sleep 0.1; done
grep -q '^export AWS_ENDPOINT_URL' "$work/localaws.out" || { cat "$work/localaws.log" >&2; echo "demo: localaws did not start" >&2; exit 1; }
cat "$work/localaws.out"
echo "localaws pid ${pids[0]}"
eval "$(grep '^export AWS_ENDPOINT_URL' "$work/localaws.out")"
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
base=$(sed -n 's/^imported .* as //p' "$work/localaws.out")

port=
for _ in $(seq 50); do # a free loopback port: nothing answers on it
  p=$((20000 + RANDOM % 40000))
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { port=$p; break; }
done
[ -n "$port" ] || { echo "demo: found no free loopback port for buildkitd" >&2; exit 1; }
export BUILDKIT_HOST="tcp://127.0.0.1:$port"
buildkitd --root "$work/buildkit" --addr "$BUILDKIT_HOST" >"$work/buildkitd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do buildctl debug workers >/dev/null 2>&1 && break; sleep 0.1; done
buildctl debug workers >/dev/null || { cat "$work/buildkitd.log" >&2; echo "demo: buildkitd did not start" >&2; exit 1; }
echo "buildkitd at $BUILDKIT_HOST, pid ${pids[1]}"

mkdir -p "$work/orders" "$work/state"
cp -r examples/python-fastapi/Pulumi.yaml examples/python-fastapi/backend "$work/orders/"
printf 'plugins:\n  providers:\n    - name: lambdacontainer\n      path: %s\n' "$work/bin" >>"$work/orders/Pulumi.yaml"
export PULUMI_BACKEND_URL="file://$work/state" PULUMI_HOME="$work/pulumi-home" PULUMI_CONFIG_PASSPHRASE=demo \
  PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true XDG_CACHE_HOME="$work/cache"
cd "$work/orders"
pulumi stack init demo --non-interactive >/dev/null
pulumi config set functionRole arn:aws:iam::123456789012:role/orders-api
pulumi config set baseImage "$base"

say "pulumi up: analyze, build, push, create the function, verify version 1, create the alias"
pulumi up --yes --non-interactive
say "the verification of version 1"
pulumi stack output verification --json

say "changing one file: backend/app/routers/health.py"
sed -i 's/"status": "ok"/"status": "ok", "demo": "changed"/' backend/app/routers/health.py
say "pulumi preview --diff names it"
pulumi preview --diff --non-interactive
say "pulumi up: only the code layer is rebuilt and pushed; version 2 is verified, then the alias moves"
pulumi up --yes --non-interactive
say "the outputs"
pulumi stack output --json

cd "$repo"
say "demo: done; stopping localaws and buildkitd"
