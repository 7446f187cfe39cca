#!/usr/bin/env bash
# demo.sh is the README's main command. Today it runs the part of the pipeline
# this version has: it bootstraps the tools, builds the provider, and runs a
# real `pulumi preview` of examples/hello with a local file backend, showing
# the deployment to create, then the clear error a bad input gets.
#
# The full demo (localaws and buildkitd on free loopback ports, `pulumi up` of
# the FastAPI example, a one-file change shown by `pulumi preview --diff`, and
# the redeploy) arrives with the end-to-end issue.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh >/dev/null
export PATH="$(scripts/bootstrap.sh --path):$PATH"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/bin/" ./cmd/pulumi-resource-lambdacontainer
cp -r examples/hello "$work/hello"
printf 'plugins:\n  providers:\n    - name: lambdacontainer\n      path: %s\n' "$work/bin" >>"$work/hello/Pulumi.yaml"
mkdir -p "$work/state"
export PULUMI_BACKEND_URL="file://$work/state" PULUMI_HOME="$work/pulumi-home" \
  PULUMI_CONFIG_PASSPHRASE=demo PULUMI_SKIP_UPDATE_CHECK=true \
  PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
cd "$work/hello"
pulumi stack init demo --non-interactive >/dev/null

echo "== pulumi preview of examples/hello"
pulumi preview --non-interactive --diff

echo
echo "== the same program with keepVersions: 0 (a bad input fails the preview, naming the field and the fix)"
sed -i 's/      alias: live/      alias: live\n      keepVersions: 0/' Pulumi.yaml
if pulumi preview --non-interactive; then
  echo "demo: the bad input was accepted" >&2
  exit 1
fi
echo
echo "demo: done. Deploying (build, push, roll, verify) arrives with the pipeline issues; see README.md."
