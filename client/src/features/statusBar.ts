// The status bar item: the document's count, cost and window share for its model (the server's
// documentStats); with a selection, `selected / total` (all cursors summed by the server).
// Clicking it opens the model picker. The layout is in statusBarLayout.ts.
import * as vscode from "vscode";
import { readSettings } from "../common/settings";
import { CountResult, DocumentStats, Methods } from "../protocol";
import { debounce, Feature, FeatureContext, isTokenizable, toProtocolRange } from "./feature";
import { SelectionCount, statusBarText, statusBarTooltip } from "./statusBarLayout";

const SELECTION_DEBOUNCE_MS = 150;
// No count this long after opening: ask the server why (it answers custom requests with the reason).
const PROBE_DELAY_MS = 3000;

class TokenStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem("tokenprism.count", vscode.StatusBarAlignment.Right, 100);
  private selection: { uri: string; version: number; count: SelectionCount } | undefined;
  private inFlight = false;
  private rerun = false;
  private readonly scheduleSelectionCount = debounce(() => void this.countSelection(), SELECTION_DEBOUNCE_MS);
  /** Why a document has no count (binary, too large, model failed), as the server says. */
  private readonly problems = new Map<string, string>();
  private readonly scheduleProbe = debounce(() => void this.probe(), PROBE_DELAY_MS);
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly ctx: FeatureContext) {
    this.item.name = "TokenPrism token count";
    this.item.command = "tokenprism.selectModel";
    this.subscriptions = [
      this.item,
      ctx.stats.onDidUpdate((stats) => this.onStats(stats)),
      ctx.session.onDidChangeState(() => this.render()),
      vscode.window.onDidChangeActiveTextEditor(() => this.onSelectionChanged()),
      vscode.window.onDidChangeTextEditorSelection((e) => e.textEditor === vscode.window.activeTextEditor && this.onSelectionChanged()),
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration("tokenprism") && this.render()),
      vscode.workspace.onDidCloseTextDocument((doc) => this.problems.delete(doc.uri.toString())),
    ];
    this.render();
  }

  private async probe(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor || !isTokenizable(editor.document) || this.ctx.stats.get(editor.document.uri) || this.ctx.session.state !== "running") {
      return;
    }
    const uri = editor.document.uri.toString();
    try {
      await this.ctx.session.request<CountResult>(Methods.count, { textDocument: { uri }, ranges: [] });
    } catch (err) {
      this.problems.set(uri, (err instanceof Error ? err.message : String(err)).split("\n")[0]);
      this.render();
    }
  }

  private onStats(stats: DocumentStats): void {
    this.problems.delete(stats.uri);
    const editor = vscode.window.activeTextEditor;
    if (editor && editor.document.uri.toString() === stats.uri) {
      if (hasSelection(editor)) {
        this.scheduleSelectionCount(); // the text under the selection may have changed
      }
      this.render();
    }
  }

  private onSelectionChanged(): void {
    const editor = vscode.window.activeTextEditor;
    if (editor && hasSelection(editor)) {
      this.scheduleSelectionCount();
    } else {
      this.scheduleSelectionCount.cancel();
      this.selection = undefined;
    }
    this.render();
  }

  /** One count request in flight at a time; a change meanwhile triggers one more afterwards. */
  private async countSelection(): Promise<void> {
    if (this.inFlight) {
      this.rerun = true;
      return;
    }
    const editor = vscode.window.activeTextEditor;
    if (!editor || !hasSelection(editor) || !isTokenizable(editor.document)) {
      return;
    }
    this.inFlight = true;
    try {
      const document = editor.document;
      const ranges = editor.selections.filter((s) => !s.isEmpty).map((s) => toProtocolRange(s));
      const result = await this.ctx.session.request<CountResult>(Methods.count, {
        textDocument: { uri: document.uri.toString() },
        ranges,
      });
      if (vscode.window.activeTextEditor === editor && hasSelection(editor)) {
        const count = { count: result.total, exact: result.exact !== false, cost: result.totalCost };
        this.selection = { uri: document.uri.toString(), version: result.version, count };
        this.render();
      }
    } catch (err) {
      this.ctx.log.warn(`counting the selection: ${err instanceof Error ? err.message : err}`);
    } finally {
      this.inFlight = false;
      if (this.rerun) {
        this.rerun = false;
        this.scheduleSelectionCount();
      }
    }
  }

  private render(): void {
    const editor = vscode.window.activeTextEditor;
    const state = this.ctx.session.state;
    if (state === "missing" || state === "failed") {
      this.item.text = "$(warning) TokenPrism";
      this.item.tooltip = `TokenPrism: ${this.ctx.session.lastError || "the server is not running"}. Click to show the log.`;
      this.item.command = "tokenprism.showLog";
      this.item.backgroundColor = new vscode.ThemeColor("statusBarItem.warningBackground");
      this.item.show();
      return;
    }
    this.item.command = "tokenprism.selectModel";
    if (!editor || !isTokenizable(editor.document)) {
      this.item.hide();
      return;
    }
    const stats = this.ctx.stats.get(editor.document.uri);
    const problem = this.problems.get(editor.document.uri.toString());
    if (!stats && problem) {
      this.item.text = "$(circle-slash) not tokenized";
      this.item.tooltip = `TokenPrism: ${problem}`;
      this.item.backgroundColor = undefined;
      this.item.show();
      return;
    }
    if (!stats) {
      if (state === "running") {
        this.scheduleProbe();
      }
      this.item.text = "$(loading~spin) tokens";
      this.item.tooltip = state === "starting" ? "TokenPrism: starting the server…" : "TokenPrism: tokenizing…";
      this.item.backgroundColor = undefined;
      this.item.show();
      return;
    }
    const input = {
      stats,
      show: readSettings(editor.document).statusBar.show,
      selection: this.selection && this.selection.uri === stats.uri && hasSelection(editor) ? this.selection.count : undefined,
      stale: stats.version !== editor.document.version,
    };
    this.item.text = `$(symbol-text) ${statusBarText(input)}`;
    // The budget rule is the server's: it says whether the document is over.
    this.item.backgroundColor = stats.budget?.over ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
    this.item.tooltip = new vscode.MarkdownString(statusBarTooltip(input));
    this.item.show();
  }

  dispose(): void {
    this.scheduleSelectionCount.cancel();
    this.scheduleProbe.cancel();
    this.subscriptions.forEach((d) => d.dispose());
  }
}

function hasSelection(editor: vscode.TextEditor): boolean {
  return editor.selections.some((s) => !s.isEmpty);
}

export const statusBarFeature: Feature = {
  name: "status bar",
  register: (ctx) => [new TokenStatusBar(ctx)],
};
