// The tokens of the selection: copy their ids, or show them as a table.
import * as vscode from "vscode";
import { Methods, TokenInfo, TokensResult } from "../protocol";
import { escapeHtml, Feature, FeatureContext, isTokenizable, reportError, toProtocolRange, visibleText } from "./feature";

const MAX_TABLE_ROWS = 5000;

interface SelectionTokens {
  model: string;
  tokens: TokenInfo[];
}

/**
 * The tokens under every non-empty selection (in order); without a selection, those of
 * `fallback` (undefined: the whole document).
 */
async function selectionTokens(ctx: FeatureContext, editor: vscode.TextEditor, fallback?: vscode.Range): Promise<SelectionTokens> {
  const uri = editor.document.uri.toString();
  const selections = editor.selections.filter((s) => !s.isEmpty).sort((a, b) => a.start.compareTo(b.start));
  const ranges: (vscode.Range | undefined)[] = selections.length ? selections : [fallback];
  let model = "";
  const tokens: TokenInfo[] = [];
  for (const range of ranges) {
    const result = await ctx.session.request<TokensResult>(Methods.tokens, {
      textDocument: { uri },
      ...(range ? { range: toProtocolRange(range) } : {}),
    });
    model = result.model;
    tokens.push(...result.tokens);
  }
  return { model, tokens };
}

function activeTokenizableEditor(): vscode.TextEditor | undefined {
  const editor = vscode.window.activeTextEditor;
  if (!editor || !isTokenizable(editor.document)) {
    void vscode.window.showInformationMessage("TokenPrism: open a file first.");
    return undefined;
  }
  return editor;
}

async function copyTokenIds(ctx: FeatureContext): Promise<void> {
  const editor = activeTokenizableEditor();
  if (!editor) {
    return;
  }
  try {
    const { model, tokens } = await selectionTokens(ctx, editor);
    await vscode.env.clipboard.writeText(JSON.stringify(tokens.map((t) => t.id)));
    vscode.window.setStatusBarMessage(`TokenPrism: copied ${tokens.length} token ids (${model})`, 3000);
  } catch (err) {
    reportError(ctx, "could not copy the token ids", err);
  }
}

/** `f0 a0`: the server's hex (`"f0a0"`) in byte pairs; `—` when the server sent none. */
export function spacedHex(hex: string | undefined): string {
  return hex ? (hex.match(/../g) ?? []).join(" ") : "—";
}

/**
 * A token's text from its own bytes: UTF-8, each byte that is no whole character (the part of a
 * character split across tokens) written `\xf0`, as the server's hover writes it.
 */
export function tokenText(hex: string | undefined): string {
  const bytes = Uint8Array.from((hex ?? "").match(/../g) ?? [], (b) => parseInt(b, 16));
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let out = "";
  for (let i = 0; i < bytes.length; ) {
    const lead = bytes[i];
    const size = lead < 0x80 ? 1 : lead >= 0xc2 && lead < 0xe0 ? 2 : lead >= 0xe0 && lead < 0xf0 ? 3 : lead >= 0xf0 && lead < 0xf5 ? 4 : 0;
    if (size > 0 && i + size <= bytes.length) {
      try {
        out += decoder.decode(bytes.subarray(i, i + size));
        i += size;
        continue;
      } catch {
        // not a character after all: its first byte is written out below
      }
    }
    out += `\\x${lead.toString(16).padStart(2, "0")}`;
    i += 1;
  }
  return out;
}

/** The table of tokens: id, the token's own text and bytes (the server's), where it starts. */
export function tokensTableHtml(title: string, tokens: TokenInfo[], glyphs: Record<string, string> = {}): string {
  const rows = tokens.slice(0, MAX_TABLE_ROWS).map((t, i) => {
    const start = t.range.start;
    return `<tr${t.special ? ' class="special"' : ""}><td>${i + 1}</td><td>${t.id}</td><td class="text">${escapeHtml(visibleText(tokenText(t.bytes), glyphs))}</td>` +
      `<td class="bytes">${spacedHex(t.bytes)}</td><td>${start.line + 1}:${start.character + 1}</td></tr>`;
  });
  const more = tokens.length > MAX_TABLE_ROWS ? `<p>Showing the first ${MAX_TABLE_ROWS} of ${tokens.length} tokens.</p>` : "";
  return `<!DOCTYPE html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline';">
<style>
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); }
table { border-collapse: collapse; }
th, td { padding: 2px 10px; border-bottom: 1px solid var(--vscode-panel-border); text-align: right; }
td.text, td.bytes { text-align: left; font-family: var(--vscode-editor-font-family); white-space: pre; }
td.bytes { color: var(--vscode-descriptionForeground); }
tr.special td.text { color: var(--vscode-editorWarning-foreground); font-weight: bold; }
</style></head><body>
<h3>${escapeHtml(title)}</h3>
<table><thead><tr><th>#</th><th>id</th><th>text</th><th>bytes</th><th>line:col</th></tr></thead>
<tbody>${rows.join("\n")}</tbody></table>${more}
</body></html>`;
}

async function showTokens(ctx: FeatureContext): Promise<void> {
  const editor = activeTokenizableEditor();
  if (!editor) {
    return;
  }
  try {
    // Without a selection: what is on screen, so a huge document never ships every token.
    const visible = editor.visibleRanges.length
      ? new vscode.Range(editor.visibleRanges[0].start, editor.visibleRanges[editor.visibleRanges.length - 1].end)
      : undefined;
    const { model, tokens } = await selectionTokens(ctx, editor, visible);
    const name = editor.document.uri.path.split("/").pop() ?? "document";
    const panel = vscode.window.createWebviewPanel("tokenprism.tokens", `Tokens: ${name}`, vscode.ViewColumn.Beside, {
      enableScripts: false,
    });
    const scope = editor.selections.some((s) => !s.isEmpty) ? "selection" : "visible lines";
    const title = `${tokens.length} tokens of the ${scope} of ${name} · ${model}`;
    panel.webview.html = tokensTableHtml(title, tokens, ctx.session.facts?.visibleWhitespace);
  } catch (err) {
    reportError(ctx, "could not list the tokens", err);
  }
}

export const tokenTableFeature: Feature = {
  name: "token table",
  register: (ctx) => [
    vscode.commands.registerCommand("tokenprism.copyTokenIds", () => copyTokenIds(ctx)),
    vscode.commands.registerCommand("tokenprism.showTokens", () => showTokens(ctx)),
  ],
};
