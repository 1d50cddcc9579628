#!/bin/bash
# TokenPrism in code-server on localhost, for a person to try in a browser (Ctrl-C stops it).
# Usage: tests/e2e/try-code-server.sh path/to/tokenprism.vsix   (make try-code-server)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
VSIX=$(realpath "${1:?usage: try-code-server.sh VSIX}")
PORT=${PORT:-8080}
DATA=${TOKENPRISM_TRY_DATA:-${TOKENPRISM_E2E_CACHE:-$HOME/.cache/tokenprism-e2e}/try}
source "$REPO/tests/e2e/workspace.sh"
# The README's example prompt too.
cp "$REPO/examples/"* "$WS/" 2>/dev/null || true

setsid $CS --auth none --bind-addr 127.0.0.1:$PORT --disable-telemetry --disable-update-check \
  --disable-workspace-trust --disable-getting-started-override "$WS" >"$DATA/code-server.log" 2>&1 &
CSPID=$!
trap 'kill -- -$CSPID 2>/dev/null || true; wait $CSPID 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 1 120); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.5; done
echo "TokenPrism in code-server: open http://127.0.0.1:$PORT/?folder=$WS"
echo "(log: $DATA/code-server.log; Ctrl-C stops it)"
wait $CSPID
