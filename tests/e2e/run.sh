#!/bin/bash
# The VS Code end-to-end test: code-server with the built .vsix, driven by Chromium.
# Usage: tests/e2e/run.sh path/to/tokenprism.vsix   (make test-e2e builds it and calls this)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
VSIX=$(realpath "${1:?usage: run.sh VSIX}")
OUT=$REPO/tests/e2e/out
DATA=${TOKENPRISM_E2E_DATA:-/tmp/tokenprism-e2e-$$}
# a free port unless one is given: two runs on one machine must not share a code-server (a second
# one on a taken port would fail to bind while its health check reached the first)
PORT=${PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
mkdir -p "$OUT" && rm -f "$OUT"/fail-*.png
source "$REPO/tests/e2e/workspace.sh"

setsid $CS --auth none --bind-addr 127.0.0.1:$PORT --disable-telemetry --disable-update-check \
  --disable-workspace-trust --disable-getting-started-override "$WS" >"$OUT/code-server.log" 2>&1 &
CSPID=$!
cleanup() {
  # code-server, the extension host and the language server share one process group.
  kill -- -"$CSPID" 2>/dev/null || true
  wait "$CSPID" 2>/dev/null || true
  [ -n "${KEEP_E2E_DATA:-}" ] || rm -rf "$DATA" "$DATA.install.log"
}
trap cleanup EXIT
for _ in $(seq 1 120); do
  kill -0 "$CSPID" 2>/dev/null || break  # ours ended (a port taken after all): do not talk to another
  curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break
  sleep 0.5
done
{ kill -0 "$CSPID" 2>/dev/null && curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz"; } ||
  { cat "$OUT/code-server.log"; echo "FAIL: code-server did not start"; exit 1; }

set +e
CODE_SERVER_PID=$CSPID node "$REPO/tests/e2e/e2e.js" --port "$PORT" --workspace "$WS" --out "$OUT" --shots "$REPO/docs/images" \
  --tokenprism "$REPO/.venv/bin/tokenprism" --data "$DATA"
status=$?
set -e
# The extension's own log (server stderr and LSP trace) helps when a check fails.
find "$DATA/ud/logs" -name '*TokenPrism*' -exec cp {} "$OUT/tokenprism-output.log" \; 2>/dev/null || true
exit $status
