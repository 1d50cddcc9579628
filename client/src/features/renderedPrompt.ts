// TokenPrism: Show rendered prompt — a read-only virtual document (`tokenprism-rendered:`) with the
// chat template applied to the current document, re-rendered whenever the source is re-tokenized.
import * as vscode from "vscode";
import { Methods, RenderChatResult } from "../protocol";
import { formatCost, formatCount } from "../common/costFormat";
import { debounce, escapeMarkdown, Feature, FeatureContext, isTokenizable } from "./feature";

export const RENDERED_SCHEME = "tokenprism-rendered";
const RETRY_DELAY_MS = 300;
const MAX_RETRIES = 20;

/** The virtual document for `source`; `at` picks a conversation in JSONL or an array of conversations. */
export function renderedUri(source: vscode.Uri, at?: vscode.Position): vscode.Uri {
  const name = source.path.split("/").pop() || "untitled";
  const conversation = at && at.line > 0 ? ` @${at.line + 1}` : "";
  return vscode.Uri.from({
    scheme: RENDERED_SCHEME,
    path: `/${name}${conversation} (rendered)`,
    query: source.toString(),
    fragment: at ? `${at.line}:${at.character}` : "",
  });
}

function positionOf(uri: vscode.Uri): { line: number; character: number } | undefined {
  const m = /^(\d+):(\d+)$/.exec(uri.fragment);
  return m ? { line: Number(m[1]), character: Number(m[2]) } : undefined;
}

class RenderedPromptProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changes = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changes.event;
  private readonly results = new Map<string, RenderChatResult>();
  private readonly pending = new Map<string, () => void>();
  private readonly retries = new Map<string, number>();
  private readonly item = vscode.window.createStatusBarItem("tokenprism.rendered", vscode.StatusBarAlignment.Right, 99);
  private readonly specialDecoration = vscode.window.createTextEditorDecorationType({
    color: new vscode.ThemeColor("editorWarning.foreground"),
    fontWeight: "bold",
  });
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly ctx: FeatureContext) {
    this.item.name = "TokenPrism rendered prompt";
    this.subscriptions = [
      this.item,
      this.specialDecoration,
      // The content arrives before VS Code lists the document as open: refresh once it is.
      vscode.window.onDidChangeVisibleTextEditors(() => {
        this.decorate();
        this.renderStatus();
      }),
      vscode.workspace.onDidCloseTextDocument((doc) => {
        if (doc.uri.scheme === RENDERED_SCHEME) {
          this.results.delete(doc.uri.toString());
          this.renderStatus();
        }
      }),
      ctx.stats.onDidUpdate((stats) => this.refreshFor(stats.uri)),
      vscode.window.onDidChangeActiveTextEditor(() => this.renderStatus()),
    ];
  }

  private openRendered(): vscode.Uri[] {
    return vscode.workspace.textDocuments.map((d) => d.uri).filter((u) => u.scheme === RENDERED_SCHEME);
  }

  private refreshFor(sourceUri: string): void {
    for (const uri of this.openRendered()) {
      if (uri.query === sourceUri) {
        const key = uri.toString();
        if (!this.pending.has(key)) {
          this.pending.set(key, debounce(() => this.changes.fire(uri), 250));
        }
        this.pending.get(key)!();
      }
    }
  }

  async provideTextDocumentContent(uri: vscode.Uri, token: vscode.CancellationToken): Promise<string> {
    try {
      const position = positionOf(uri);
      const result = await this.ctx.session.request<RenderChatResult>(
        Methods.renderChat,
        { textDocument: { uri: uri.query }, ...(position ? { position } : {}) },
        token,
      );
      this.results.set(uri.toString(), result);
      this.retryIfBehind(uri, result);
      this.renderStatus();
      setTimeout(() => this.decorate(), 50); // after VS Code has put the new text in the editor
      if (!result.rendered && result.error) {
        return `TokenPrism could not render this document as a chat prompt: ${result.error}\n`;
      }
      return result.rendered;
    } catch (err) {
      this.results.delete(uri.toString());
      this.renderStatus();
      const message = err instanceof Error ? err.message : String(err);
      return `TokenPrism could not render this document as a chat prompt: ${message.split("\n")[0]}\n`;
    }
  }

  /**
   * The server renders chat documents in the background after tokenizing them, so an answer can
   * be for an older version than the editor's; ask again shortly until it catches up.
   */
  private retryIfBehind(uri: vscode.Uri, result: RenderChatResult): void {
    const source = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.query);
    const key = uri.toString();
    const tries = this.retries.get(key) ?? 0;
    if (source && typeof result.version === "number" && result.version < source.version && tries < MAX_RETRIES) {
      this.retries.set(key, tries + 1);
      setTimeout(() => this.changes.fire(uri), RETRY_DELAY_MS);
    } else {
      this.retries.delete(key);
    }
  }

  /** Special tokens of the template (<|im_start|>, <|eot_id|>…) stand out in the rendered text. */
  private decorate(): void {
    for (const editor of vscode.window.visibleTextEditors) {
      const result = this.results.get(editor.document.uri.toString());
      if (editor.document.uri.scheme !== RENDERED_SCHEME || !result) {
        continue;
      }
      const doc = editor.document;
      const ranges = (result.specialRanges ?? [])
        .filter(([a, b]) => b <= doc.getText().length && a < b)
        .map(([a, b]) => new vscode.Range(doc.positionAt(a), doc.positionAt(b)));
      editor.setDecorations(this.specialDecoration, ranges);
    }
  }

  private renderStatus(): void {
    // Shown while the rendered document or its source is the active editor.
    const active = vscode.window.activeTextEditor?.document.uri.toString();
    const open = new Set(this.openRendered().map((u) => u.toString()));
    const result = [...this.results].find(([key]) => open.has(key) && (key === active || vscode.Uri.parse(key).query === active))?.[1];
    if (!result) {
      this.item.hide();
      return;
    }
    this.item.text = `$(comment-discussion) ${renderedStatusText(result)}`;
    this.item.tooltip = new vscode.MarkdownString(renderedTooltip(result), true);
    this.item.show();
  }

  dispose(): void {
    this.subscriptions.forEach((d) => d.dispose());
    this.changes.dispose();
  }
}

/** `≈100 prompt tokens · $0.0003 · claude-sonnet-4-5`: the count to show, and its cost when priced. */
export function renderedStatusText(result: RenderChatResult): string {
  const exact = result.exact ?? !result.estimate;
  const parts = [`${formatCount(result.count ?? result.tokens, exact)} prompt tokens`];
  if (typeof result.cost === "number") {
    parts.push(formatCost(result.cost));
  }
  return [...parts, result.model].join(" · ");
}

/** Per role: tokens (and cost for a priced model), then what the count rests on. */
export function renderedTooltip(result: RenderChatResult): string {
  const exact = result.exact ?? !result.estimate;
  const priced = result.messages.some((m) => typeof m.cost === "number");
  const rows = result.messages.map((m) =>
    `| ${m.role} | ${formatCount(m.count ?? m.tokens, exact)} |${priced ? ` ${typeof m.cost === "number" ? formatCost(m.cost) : "–"} |` : ""}`);
  const notes = [
    !exact ? `An estimate: ${result.basis ? escapeMarkdown(result.basis) : "no chat template is known for this model."}` : "",
    result.templateSource ? `Template: ${result.templateSource}` : "",
    typeof result.replyTokens === "number" ? `The reply header adds ${formatCount(result.replyTokens)} tokens.` : "",
    result.error ? `$(warning) ${result.error}` : "",
  ].filter(Boolean);
  return [
    `**Rendered prompt** · \`${result.model}\``, "",
    priced ? "| role | tokens | cost |" : "| role | tokens |",
    priced ? "|---|---:|---:|" : "|---|---:|",
    ...rows, "", ...notes,
  ].join("\n");
}

export const renderedPromptFeature: Feature = {
  name: "rendered prompt",
  register(ctx) {
    const provider = new RenderedPromptProvider(ctx);
    return [
      provider,
      vscode.workspace.registerTextDocumentContentProvider(RENDERED_SCHEME, provider),
      vscode.commands.registerCommand("tokenprism.showRenderedPrompt", async () => {
        const editor = vscode.window.activeTextEditor;
        if (!editor || !isTokenizable(editor.document)) {
          void vscode.window.showInformationMessage("TokenPrism: open a chat document (Markdown, JSON or YAML messages) first.");
          return;
        }
        const doc = await vscode.workspace.openTextDocument(renderedUri(editor.document.uri, editor.selection.active));
        await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: false, preserveFocus: true });
      }),
    ];
  },
};
