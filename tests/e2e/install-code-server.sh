#!/bin/bash
# Installs what the VS Code end-to-end test needs, once, into a cache directory:
#   code-server 4.100.3 (VS Code 1.100.3, the last release for Node 20) from npm,
#   playwright-core (drives Debian's Chromium), and the apt packages both need.
# Usage: install-code-server.sh [CACHE_DIR]   (default ~/.cache/tokenprism-e2e)
set -euo pipefail
CACHE=${1:-${TOKENPRISM_E2E_CACHE:-$HOME/.cache/tokenprism-e2e}}
CS_VERSION=4.100.3
PW_VERSION=1.65.1

need_apt=()
# fonts-nanum: Korean glyphs, so the screenshots of Korean text show letters, not boxes.
for pkg in build-essential libkrb5-dev libxkbfile-dev libsecret-1-dev ripgrep chromium curl fonts-nanum; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing apt packages: ${need_apt[*]}"
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need_apt[@]}"
fi

CSROOT=$CACHE/code-server-$CS_VERSION
if [ ! -x "$CSROOT/node_modules/.bin/code-server" ]; then
  mkdir -p "$CSROOT"
  # @vscode/ripgrep's postinstall downloads rg from GitHub (unreachable here): seed its cache with Debian's rg.
  export TMPDIR=$CSROOT/tmp
  RGCACHE=$TMPDIR/vscode-ripgrep-cache-1.15.11
  mkdir -p "$RGCACHE"
  RGTAR=$RGCACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz
  if [ ! -f "$RGTAR" ]; then
    T=$(mktemp -d); cp "$(command -v rg)" "$T/rg"; tar czf "$RGTAR" -C "$T" rg; rm -rf "$T"
  fi
  cd "$CSROOT"
  [ -f package.json ] || npm init -y >/dev/null
  # Native modules (argon2, node-pty) build with node-gyp, which would download Node's headers
  # from nodejs.org (unreachable here); point it at the headers Debian/NodeSource installed.
  if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then export npm_config_nodedir=/usr; fi
  # As root, code-server's postinstall insists on unsafe-perm; node-pty's runs `npx node-gyp`, which asks.
  npm_config_unsafe_perm=true npm_config_yes=true npm install --no-audit --no-fund \
    "code-server@$CS_VERSION" --foreground-scripts
fi
XDG_CONFIG_HOME="$CSROOT/.config" "$CSROOT/node_modules/.bin/code-server" --version | head -1

PWROOT=$CACHE/playwright-$PW_VERSION
if [ ! -f "$PWROOT/node_modules/playwright-core/package.json" ]; then
  mkdir -p "$PWROOT" && cd "$PWROOT"
  [ -f package.json ] || npm init -y >/dev/null
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund "playwright-core@$PW_VERSION"
fi
echo "e2e tools ready in $CACHE"
