// TokenPrism: Compare tokenizers — a webview with a table and a bar chart of the same text under
// every model in `tokenprism.compareModels`, with its cost and window share for API models.
import * as vscode from "vscode";
import { readSettings } from "../common/settings";
import { CompareResult, CompareRow, Methods } from "../protocol";
import { escapeHtml, Feature, FeatureContext, isTokenizable, nonce, reportError, toProtocolRange } from "./feature";
import { formatCost, formatCount, formatWindowShare } from "../common/costFormat";

function fixed(n: number | undefined, digits = 2): string {
  return typeof n === "number" && Number.isFinite(n) ? n.toFixed(digits) : "–";
}

/** The number a row shows (the model's count: calibrated for an estimate), `≈` when estimated. */
function rowCount(r: CompareRow): { n: number; text: string } {
  const n = typeof r.count === "number" ? r.count : r.tokens;
  return { n, text: formatCount(n, r.exact !== false) };
}

export function compareHtml(title: string, rows: CompareRow[], scriptNonce: string): string {
  const ok = rows.filter((r) => r.ok);
  const max = Math.max(1, ...ok.map((r) => rowCount(r).n));
  const fewest = Math.min(...ok.map((r) => rowCount(r).n));
  const hasRendered = rows.some((r) => typeof r.renderedTokens === "number");
  // Cost and window columns when some model has a price or a window (tokenizers alone have none).
  const hasCost = ok.some((r) => typeof r.cost === "number");
  const hasWindow = ok.some((r) => !!r.contextWindow);
  const columns = 5 + Number(hasRendered) + Number(hasCost) + Number(hasWindow);
  const body = rows.map((r) => {
    if (!r.ok) {
      return `<tr class="error"><td class="model">${escapeHtml(r.model)}</td><td colspan="${columns}">${escapeHtml(r.error ?? "failed")}</td></tr>`;
    }
    const count = rowCount(r);
    const basis = r.exact === false && r.basis ? ` title="estimate: ${escapeHtml(r.basis)}"` : "";
    return `<tr${count.n === fewest ? ' class="best"' : ""}><td class="model">${escapeHtml(r.model)}</td>` +
      `<td class="num tokens"${basis}>${count.text}</td>` +
      (hasRendered ? `<td class="num"${r.renderedError ? ` title="${escapeHtml(r.renderedError)}"` : ""}>${typeof r.renderedTokens === "number" ? (r.renderedEstimate ? "≈" : "") + formatCount(r.renderedTokens) : "–"}</td>` : "") +
      (hasCost ? `<td class="num cost">${typeof r.cost === "number" ? formatCost(r.cost) : "–"}</td>` : "") +
      (hasWindow ? `<td class="num window">${escapeHtml(formatWindowShare(r.windowShare, r.contextWindow)) || "–"}</td>` : "") +
      `<td class="num">${fixed(r.charsPerToken)}</td><td class="num">${fixed(r.bytesPerToken)}</td>` +
      `<td class="num">${fixed(r.loadMs, 0)}</td><td class="num">${fixed(r.encodeMs, 1)}</td></tr>`;
  });
  const bars = ok.map((r) => {
    const count = rowCount(r);
    const width = ((100 * count.n) / max).toFixed(1);
    return `<div class="row${count.n === fewest ? " best" : ""}"><span class="label">${escapeHtml(r.model)}</span>` +
      `<span class="track"><span class="bar" style="width:${width}%"></span></span><span class="value">${count.text}</span></div>`;
  });
  const head = ["model", "tokens", ...(hasRendered ? ["as chat"] : []), ...(hasCost ? ["cost (input)"] : []), ...(hasWindow ? ["window"] : []),
    "chars/token", "bytes/token", "load ms", "encode ms"];
  return `<!DOCTYPE html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${scriptNonce}';">
<style>
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 3px 10px; border-bottom: 1px solid var(--vscode-panel-border); }
th { text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
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
<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr></thead>
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
    // unset: the server compares its own default list
    const models = readSettings(document).compareModels;
    this.panel.title = `Compare: ${name}`;
    const how = models ? `${models.length} tokenizers` : "the default tokenizers";
    this.panel.webview.html = `<p style="font-family: var(--vscode-font-family)">Tokenizing ${escapeHtml(name)} with ${how}…</p>`;
    try {
      const result = await this.ctx.session.request<CompareResult>(Methods.compare, {
        textDocument: { uri: document.uri.toString() },
        ...(range ? { range: toProtocolRange(range) } : {}),
        ...(models ? { models } : {}),
      });
      const what = range ? `the selection of ${name}` : name;
      const rows = result.results ?? [];
      this.panel.webview.html = compareHtml(`${what} under ${rows.length} tokenizers`, rows, nonce());
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
