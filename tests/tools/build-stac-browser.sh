#!/usr/bin/env bash
# Builds STAC Browser once from the npm registry, with the lock file committed beside this script (4.0.x needs
# ol-stac pinned to 1.5.1), in hash history mode. The build is cached under $STAC_BRIDGE_HOME/stac-browser/<hash of
# package.json and package-lock.json>/dist; later runs print that directory at once. Prints the dist directory.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
SPEC="$HERE/stac-browser"
VERSION="$(node -p "require('$SPEC/package.json').version")"
HOME_DIR="${STAC_BRIDGE_HOME:-$HERE/../../.stac-bridge}"
KEY="$(cat "$SPEC/package.json" "$SPEC/package-lock.json" | sha256sum | cut -c1-12)"
DEST="$HOME_DIR/stac-browser/$KEY"
mkdir -p "$HOME_DIR/stac-browser"
exec 9>"$HOME_DIR/stac-browser/build.lock"
flock 9  # parallel runs wait for one build
if [ ! -f "$DEST/dist/index.html" ]; then
  WORK="$(mktemp -d "$HOME_DIR/stac-browser/build.XXXXXX")"
  trap 'rm -rf "$WORK"' EXIT
  (
    cd "$WORK"
    npm pack --silent "@radiantearth/stac-browser@$VERSION" >/dev/null
    tar xzf radiantearth-stac-browser-"$VERSION".tgz
    cp "$SPEC/package.json" "$SPEC/package-lock.json" package/
    cd package
    npm ci --no-audit --no-fund --loglevel=error >&2
    npx --no-install vue-cli-service build --historyMode=hash >&2
  )
  rm -rf "$DEST" && mkdir -p "$DEST"
  mv "$WORK/package/dist" "$DEST/dist"
fi
echo "$DEST/dist"
