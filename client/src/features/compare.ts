// TokenPrism: Compare tokenizers — a webview with a table and a bar chart of the same text under
// every model in `tokenprism.compareModels`.
import * as vscode from "vscode";
import { readSettings } from "../common/settings";
import { CompareResult, CompareRow, Methods } from "../protocol";
import { escapeHtml, Feature, FeatureContext, isTokenizable, nonce, reportError, toProtocolRange } from "./feature";
import { formatCount } from "./statusBar";

function fixed(n: number | undefined, digits = 2): string {
  return typeof n === "number" && Number.isFinite(n) ? n.toFixed(digits) : "–";
}

export function compareHtml(title: string, rows: CompareRow[], scriptNonce: string): string {
  const max = Math.max(1, ...rows.filter((r) => r.ok).map((r) => r.tokens));
  const fewest = Math.min(...rows.filter((r) => r.ok).map((r) => r.tokens));
  const hasRendered = rows.some((r) => typeof r.renderedTokens === "number");
  const body = rows.map((r) => {
    if (!r.ok) {
      return `<tr class="error"><td class="model">${escapeHtml(r.model)}</td><td colspan="${hasRendered ? 6 : 5}">${escapeHtml(r.error ?? "failed")}</td></tr>`;
    }
    return `<tr${r.tokens === fewest ? ' class="best"' : ""}><td class="model">${escapeHtml(r.model)}</td>` +
      `<td class="num tokens">${formatCount(r.tokens)}</td>` +
      (hasRendered ? `<td class="num"${r.renderedError ? ` title="${escapeHtml(r.renderedError)}"` : ""}>${typeof r.renderedTokens === "number" ? (r.renderedEstimate ? "≈" : "") + formatCount(r.renderedTokens) : "–"}</td>` : "") +
      `<td class="num">${fixed(r.charsPerToken)}</td><td class="num">${fixed(r.bytesPerToken)}</td>` +
      `<td class="num">${fixed(r.loadMs, 0)}</td><td class="num">${fixed(r.encodeMs, 1)}</td></tr>`;
  });
  const bars = rows.filter((r) => r.ok).map((r) => {
    const width = ((100 * r.tokens) / max).toFixed(1);
    return `<div class="row${r.tokens === fewest ? " best" : ""}"><span class="label">${escapeHtml(r.model)}</span>` +
      `<span class="track"><span class="bar" style="width:${width}%"></span></span><span class="value">${formatCount(r.tokens)}</span></div>`;
  });
  return `<!DOCTYPE html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${scriptNonce}';">
<style>
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 3px 10px; border-bottom: 1px solid var(--vscode-panel-border); }
th { text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.chart { margin-top: 16px; max-width: 720px; }
.chart .row { display: flex; align-items: center; gap: 8px; margin: 4px 0; }
.chart .label { width: 160px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.chart .track { flex: 1; }
.chart .bar { display: block; height: 14px; background: var(--vscode-charts-blue); }
.chart .best .bar { background: var(--vscode-charts-green); }
.chart .value { width: 70px; text-align: right; font-variant-numeric: tabular-nums; }
tr.error td { color: var(--vscode-errorForeground); }
button { margin-top: 10px; color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: none; padding: 4px 12px; }
</style></head><body>
<h3>${escapeHtml(title)}</h3>
<table><thead><tr><th>model</th><th>tokens</th>${hasRendered ? "<th>as chat</th>" : ""}<th>chars/token</th><th>bytes/token</th><th>load ms</th><th>encode ms</th></tr></thead>
<tbody>${body.join("\n")}</tbody></table>
<div class="chart" aria-label="tokens per model">${bars.join("\n")}</div>
<button id="refresh">Refresh</button>
<script nonce="${scriptNonce}">
const vscode = acquireVsCodeApi();
document.getElementById("refresh").addEventListener("click", () => vscode.postMessage({ type: "refresh" }));
</script>
</body></html>`;
}

class ComparePanel {
  private static current: ComparePanel | undefined;
  private readonly panel: vscode.WebviewPanel;
  private source: { document: vscode.TextDocument; range?: vscode.Range };

  static show(ctx: FeatureContext, document: vscode.TextDocument, range: vscode.Range | undefined): void {
    if (ComparePanel.current) {
      ComparePanel.current.source = { document, range };
      ComparePanel.current.panel.reveal(vscode.ViewColumn.Beside, true);
    } else {
      ComparePanel.current = new ComparePanel(ctx, { document, range });
    }
    void ComparePanel.current.refresh();
  }

  private constructor(private readonly ctx: FeatureContext, source: { document: vscode.TextDocument; range?: vscode.Range }) {
    this.source = source;
    this.panel = vscode.window.createWebviewPanel("tokenprism.compare", "Compare tokenizers", { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
      enableScripts: true,
    });
    this.panel.onDidDispose(() => (ComparePanel.current = undefined));
    this.panel.webview.onDidReceiveMessage((msg) => msg?.type === "refresh" && void this.refresh());
  }

  private async refresh(): Promise<void> {
    const { document, range } = this.source;
    const name = document.uri.path.split("/").pop() ?? "document";
    const models = readSettings(document).compareModels;
    this.panel.title = `Compare: ${name}`;
    this.panel.webview.html = `<p style="font-family: var(--vscode-font-family)">Tokenizing ${escapeHtml(name)} with ${models.length} tokenizers…</p>`;
    try {
      const result = await this.ctx.session.request<CompareResult>(Methods.compare, {
        textDocument: { uri: document.uri.toString() },
        ...(range ? { range: toProtocolRange(range) } : {}),
        models,
      });
      const what = range ? `the selection of ${name}` : name;
      this.panel.webview.html = compareHtml(`${what} under ${models.length} tokenizers`, result.results ?? [], nonce());
    } catch (err) {
      reportError(this.ctx, "could not compare tokenizers", err);
      this.panel.webview.html = `<p>Comparison failed: ${escapeHtml(err instanceof Error ? err.message : String(err))}</p>`;
    }
  }
}

export const compareFeature: Feature = {
  name: "compare view",
  register: (ctx) => [
    vscode.commands.registerCommand("tokenprism.compareTokenizers", () => {
      const editor = vscode.window.activeTextEditor;
      if (!editor || !isTokenizable(editor.document)) {
        void vscode.window.showInformationMessage("TokenPrism: open a file to compare tokenizers on.");
        return;
      }
      ComparePanel.show(ctx, editor.document, editor.selection.isEmpty ? undefined : editor.selection);
    }),
  ],
};
