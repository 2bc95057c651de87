#!/usr/bin/env bash
# Builds the collab-server and collab-protocol of a commit (default HEAD) into a separate folder, so the
# server benchmarks can measure a fixed revision while the working tree changes:
#   bash bench/snapshot.sh [commit] [dir]  then  BENCH_COLLAB_ROOT=<dir> npm run bench -- fanout
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
COMMIT="${1:-HEAD}"
DIR="${2:-/tmp/bench-snapshot}"
rm -rf "$DIR"
mkdir -p "$DIR/node_modules/@theia-collab"
git -C "$ROOT" archive "$COMMIT" collab-server collab-protocol tsconfig.json | tar -x -C "$DIR"
for entry in "$ROOT"/node_modules/* "$ROOT"/node_modules/.bin; do
    name="$(basename "$entry")"
    [ "$name" = "@theia-collab" ] || ln -s "$entry" "$DIR/node_modules/$name"
done
ln -s ../../collab-protocol "$DIR/node_modules/@theia-collab/protocol"
ln -s ../../collab-server "$DIR/node_modules/@theia-collab/server"
for pkg in collab-server collab-protocol; do
    [ -d "$ROOT/$pkg/node_modules" ] && ln -s "$ROOT/$pkg/node_modules" "$DIR/$pkg/node_modules"
done
(cd "$DIR" && "$ROOT/node_modules/.bin/tsc" -b collab-server)
echo "$DIR: collab-server of $(git -C "$ROOT" rev-parse --short "$COMMIT")"
