// The status bar item: the document's count, cost and window share for its model (the server's
// documentStats); with a selection, `selected / total` (all cursors summed by the server). In a
// notebook: the active cell's count and the notebook's total (`cell 42 · notebook 1,234 tokens`).
// Clicking it opens the model picker. The layout is in statusBarLayout.ts.
import * as vscode from "vscode";
import { notebookOf } from "../common/notebooks";
import { readSettings } from "../common/settings";
import { CountResult, DocumentStats, Methods, NotebookStats, SkippedStats } from "../protocol";
import { debounce, Feature, FeatureContext, isTokenizable, toProtocolRange } from "./feature";
import { formatCount } from "../common/costFormat";
import { SelectionCount, shownCount, statusBarText, statusBarTooltip } from "./statusBarLayout";

const SELECTION_DEBOUNCE_MS = 150;

class TokenStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem("tokenprism.count", vscode.StatusBarAlignment.Right, 100);
  private selection: { uri: string; version: number; count: SelectionCount } | undefined;
  private inFlight = false;
  private rerun = false;
  private readonly scheduleSelectionCount = debounce(() => void this.countSelection(), SELECTION_DEBOUNCE_MS);
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly ctx: FeatureContext) {
    this.item.name = "TokenPrism token count";
    this.item.command = "tokenprism.selectModel";
    this.subscriptions = [
      this.item,
      ctx.stats.onDidUpdate((stats) => this.onStats(stats)),
      ctx.stats.onDidUpdateNotebook((stats) => this.activeNotebook()?.uri.toString() === stats.uri && this.render()),
      vscode.window.onDidChangeActiveNotebookEditor(() => this.render()),
      ctx.session.onDidChangeState(() => this.render()),
      vscode.window.onDidChangeActiveTextEditor(() => this.onSelectionChanged()),
      vscode.window.onDidChangeTextEditorSelection((e) => e.textEditor === vscode.window.activeTextEditor && this.onSelectionChanged()),
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration("tokenprism") && this.render()),
    ];
    this.render();
  }

  /** The notebook of the active cell editor, or the active notebook editor's. */
  private activeNotebook(): vscode.NotebookDocument | undefined {
    const editor = vscode.window.activeTextEditor;
    return editor ? notebookOf(editor.document)?.notebook : vscode.window.activeNotebookEditor?.notebook;
  }

  private onStats(stats: DocumentStats | SkippedStats): void {
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
    const notebook = this.activeNotebook();
    const notebookStats = notebook ? this.ctx.stats.notebook(notebook.uri) : undefined;
    if (!editor && notebookStats) {  // a notebook without a cell in edit mode: its total only
      this.item.text = `$(notebook) ${notebookLabel(notebookStats)} tokens · ${notebookStats.model}`;
      this.item.tooltip = notebookTooltip(notebookStats, undefined);
      this.item.backgroundColor = undefined;
      this.item.show();
      return;
    }
    if (!editor || !isTokenizable(editor.document)) {
      this.item.hide();
      return;
    }
    const stats = this.ctx.stats.get(editor.document.uri);
    const skipped = this.ctx.stats.skipped(editor.document.uri);  // the server says why, in documentStats
    if (!stats && skipped) {
      this.item.text = "$(circle-slash) not tokenized";
      this.item.tooltip = `TokenPrism: ${skipped}`;
      this.item.backgroundColor = undefined;
      this.item.show();
      return;
    }
    if (!stats) {
      this.item.text = "$(loading~spin) tokens";
      this.item.tooltip = state === "starting" ? "TokenPrism: starting the server…" : "TokenPrism: tokenizing…";
      this.item.backgroundColor = undefined;
      this.item.show();
      return;
    }
    const settings = readSettings(editor.document);
    const input = {
      stats,
      show: settings.statusBar.show,
      selection: this.selection && this.selection.uri === stats.uri && hasSelection(editor) ? this.selection.count : undefined,
      stale: stats.version !== editor.document.version,
    };
    const overBackground = new vscode.ThemeColor("statusBarItem.errorBackground");
    if (notebook) {  // a cell: its count, then the notebook's total (which a budget in tokens applies to)
      const cell = notebookOf(editor.document)?.cell;
      const { count, exact } = shownCount(stats);
      const prefix = input.selection ? `${formatCount(input.selection.count, input.selection.exact)} / ` : "";
      const whole = notebookStats ? ` · notebook ${notebookLabel(notebookStats)}` : "";
      this.item.text = `$(notebook) ${prefix}cell ${input.stale ? "~" : ""}${formatCount(count, exact)}${whole} tokens · ${stats.model}`;
      // a budget in tokens judges the notebook's total, another kind the cell: the server's verdicts
      const over = notebookStats?.budget ? notebookStats.budget.over : stats.budget?.over === true;
      this.item.backgroundColor = over ? overBackground : undefined;
      this.item.tooltip = notebookStats
        ? notebookTooltip(notebookStats, { stats, cell, selected: input.selection?.count })
        : new vscode.MarkdownString(statusBarTooltip(input));
      this.item.show();
      return;
    }
    this.item.text = `$(symbol-text) ${statusBarText(input)}`;
    // The budget rule is the server's: it says whether the document is over.
    this.item.backgroundColor = stats.budget?.over ? overBackground : undefined;
    this.item.tooltip = new vscode.MarkdownString(statusBarTooltip(input));
    this.item.show();
  }

  dispose(): void {
    this.scheduleSelectionCount.cancel();
    this.subscriptions.forEach((d) => d.dispose());
  }
}

function hasSelection(editor: vscode.TextEditor): boolean {
  return editor.selections.some((s) => !s.isEmpty);
}

/** `1,234`, `(code) 800`, `~1,234` while a cell's newest text is still being tokenized. */
function notebookLabel(stats: NotebookStats): string {
  const which = stats.cells !== "all" ? `(${stats.cells}) ` : "";
  return `${which}${stats.pending > 0 ? "~" : ""}${formatCount(stats.tokens)}`;
}

function notebookTooltip(
  stats: NotebookStats,
  cell: { stats: DocumentStats; cell: number | undefined; selected: number | undefined } | undefined,
): vscode.MarkdownString {
  const cells = (n: number) => `${formatCount(n)} cell${n === 1 ? "" : "s"}`;
  const lines = [
    `**TokenPrism** · \`${stats.model}\``,
    "",
    `Notebook: ${formatCount(stats.tokens)} tokens in ${cells(stats.cellCount)}` + (stats.cells !== "all" ? ` (${stats.cells} cells only)` : ""),
    "",
    `Code: ${formatCount(stats.code.tokens)} tokens in ${cells(stats.code.cells)} · Markdown: ${formatCount(stats.markdown.tokens)} tokens in ${cells(stats.markdown.cells)}`,
  ];
  if (cell) {
    const where = cell.cell !== undefined ? `Cell ${cell.cell + 1}` : "This cell";
    lines.push("", `${where}: ${formatCount(cell.stats.tokens)} tokens · ${formatCount(cell.stats.characters)} characters`);
    if (cell.selected !== undefined) {
      lines.push("", `Selection: ${formatCount(cell.selected)} tokens`);
    }
    const budget = stats.budget;
    if (budget) {
      const percent = Math.round((100 * stats.tokens) / budget.limit);
      const verdict = budget.over ? ` — **over budget by ${formatCount(budget.overBy)}**` : "";
      lines.push("", `Budget: ${formatCount(stats.tokens)} / ${formatCount(budget.limit)} (${percent}%)${verdict}`);
    }
  }
  lines.push("", "Each cell is tokenized on its own. Click to choose another tokenizer.");
  return new vscode.MarkdownString(lines.join("\n"));
}

export const statusBarFeature: Feature = {
  name: "status bar",
  register: (ctx) => [new TokenStatusBar(ctx)],
};
