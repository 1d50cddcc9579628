#!/bin/bash
# Shared by run.sh and try-code-server.sh: prepares code-server's data dirs, a workspace with a
# Markdown prompt, a Python file, Korean text and a chat conversation, and user settings that run
# the project's own server. Sourced; expects REPO, DATA, VSIX; sets CS, WS.
set -euo pipefail
: "${REPO:?}" "${DATA:?}" "${VSIX:?}"
E2E_CACHE=${TOKENPRISM_E2E_CACHE:-$HOME/.cache/tokenprism-e2e}
"$REPO/tests/e2e/install-code-server.sh" "$E2E_CACHE" >"$DATA.install.log" 2>&1 || {
  cat "$DATA.install.log"; echo "FAIL: could not install code-server / playwright-core"; exit 1; }
CSROOT=$E2E_CACHE/code-server-4.100.3
export PLAYWRIGHT_ROOT=$E2E_CACHE/playwright-1.65.1
export TOKENPRISM_TESTDATA=${TOKENPRISM_TESTDATA:-$HOME/.cache/tokenprism-testdata}
export TOKENPRISM_GGUF_PATH=${TOKENPRISM_GGUF_PATH:-$TOKENPRISM_TESTDATA/llama.cpp-0.3.36/models}
export TRANSFORMERS_VERBOSITY=error
rm -rf "$DATA" && mkdir -p "$DATA"
# Keep XDG_CACHE_HOME: the converted-tokenizer cache is shared with the CLI that computes the expectations.
export XDG_CONFIG_HOME=$DATA/config XDG_DATA_HOME=$DATA/data
CS="$CSROOT/node_modules/.bin/code-server --user-data-dir $DATA/ud --extensions-dir $DATA/ext"

WS=$DATA/ws
mkdir -p "$WS/.vscode" "$DATA/ud/User"
cp "$REPO/examples/prompt.md" "$WS/prompt.md"
cat > "$WS/greet.py" <<'PY'
def hello(name: str) -> str:
    """Greet someone by name."""
    return f"Hello, {name}!"


if __name__ == "__main__":
    print(hello("TokenPrism"))
PY
cat > "$WS/korean.txt" <<'TXT'
토큰은 모델이 텍스트를 읽는 단위입니다.
같은 문장이라도 토크나이저마다 토큰 수가 다릅니다.
한국어는 영어보다 토큰이 더 많이 필요한 경우가 많습니다.
TXT
cat > "$WS/chat.json" <<'JSON'
[
  {"role": "system", "content": "You are a concise assistant."},
  {"role": "user", "content": "How many tokens is this conversation?"}
]
JSON
PY="$REPO/.venv/bin/python"
cat > "$DATA/ud/User/settings.json" <<SET
{
  "tokenprism.server.command": ["$PY", "-m", "tokenprism", "serve"],
  "tokenprism.gguf.searchPaths": ["$TOKENPRISM_GGUF_PATH"],
  "tokenprism.trace.server": "messages",
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "files.autoSave": "off",
  "security.workspace.trust.enabled": false,
  "extensions.ignoreRecommendations": true,
  "editor.inlayHints.enabled": "on",
  "editor.semanticHighlighting.enabled": true,
  "editor.hover.delay": 300,
  "window.commandCenter": false,
  "chat.commandCenter.enabled": false,
  "workbench.secondarySideBar.defaultVisibility": "hidden",
  "telemetry.telemetryLevel": "off"
}
SET
echo '{}' > "$WS/.vscode/settings.json"
$CS --install-extension "$VSIX" --force >"$DATA/install-extension.log" 2>&1 || {
  cat "$DATA/install-extension.log"; echo "FAIL: code-server could not install $VSIX"; exit 1; }
