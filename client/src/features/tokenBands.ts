// Background token colours (`tokenprism.colorize: "background"`): pastel bands like the OpenAI
// tokenizer page, special tokens a third colour, characters split across tokens outlined. The
// server's `tokenprism/tokenRanges` decides every range and its kind for the lines on screen (and a
// margin around them); this only draws them as decorations. Old decorations stay (VS Code moves
// them with the text) until the answer for the document's current version replaces them: no flicker.
import * as vscode from "vscode";
import { readSettings } from "../common/settings";
import { Methods, TokenRangeKind, TokenRangesResult } from "../protocol";
import { Feature, FeatureContext, isTokenizable } from "./feature";

const SCROLL_DEBOUNCE_MS = 60;
const STATS_DEBOUNCE_MS = 30;

/** Lines `[first, last]`, inclusive. */
export type LineSpan = [number, number];

/** The spans to ask for: each visible span widened by `margin` lines (a short scroll then needs
 *  no request), clamped to the document, overlapping ones merged. */
export function spansToRequest(visible: readonly LineSpan[], margin: number, lineCount: number): LineSpan[] {
  const widened = visible
    .map(([a, b]): LineSpan => [Math.max(0, a - margin), Math.min(lineCount - 1, b + margin)])
    .sort((x, y) => x[0] - y[0]);
  const merged: LineSpan[] = [];
  for (const span of widened) {
    const last = merged[merged.length - 1];
    if (last && span[0] <= last[1] + 1) {
      last[1] = Math.max(last[1], span[1]);
    } else {
      merged.push([span[0], span[1]]);
    }
  }
  return merged;
}

/** Whether every visible span lies inside one of the painted spans. */
export function covers(painted: readonly LineSpan[], visible: readonly LineSpan[]): boolean {
  return visible.every(([a, b]) => painted.some(([p, q]) => p <= a && b <= q));
}

export type Bucket = "band0" | "band1" | "special" | "split";
export const BUCKETS: readonly Bucket[] = ["band0", "band1", "special", "split"];

/** The server's ranges sorted into the decoration types that draw them: its band or special colour,
 *  and the split-character outline on top. */
export function bucketRanges(ranges: readonly (readonly number[])[]): Record<Bucket, [number, number, number][]> {
  const out: Record<Bucket, [number, number, number][]> = { band0: [], band1: [], special: [], split: [] };
  for (const [line, start, end, kind] of ranges) {
    const piece: [number, number, number] = [line, start, end];
    const base = kind & 3;
    out[base === TokenRangeKind.special ? "special" : base === TokenRangeKind.band1 ? "band1" : "band0"].push(piece);
    if (kind & TokenRangeKind.splitCharacter) {
      out.split.push(piece);
    }
  }
  return out;
}

function decorationTypes(): Record<Bucket, vscode.TextEditorDecorationType> {
  // Theme colours contributed in package.json (light, dark and high-contrast values; users can
  // override them in workbench.colorCustomizations). ClosedClosed: text typed at a token's edge is
  // not painted as part of it before the server has tokenized it.
  const behaviour = vscode.DecorationRangeBehavior.ClosedClosed;
  const background = (id: string) =>
    vscode.window.createTextEditorDecorationType({ backgroundColor: new vscode.ThemeColor(id), rangeBehavior: behaviour });
  return {
    band0: background("tokenprism.band0Background"),
    band1: background("tokenprism.band1Background"),
    special: background("tokenprism.specialTokenBackground"),
    split: vscode.window.createTextEditorDecorationType({
      border: "1px dashed",
      borderColor: new vscode.ThemeColor("tokenprism.splitCharacterBorder"),
      rangeBehavior: behaviour,
    }),
  };
}

function lineSpans(ranges: readonly vscode.Range[]): LineSpan[] {
  return ranges.map((r) => [r.start.line, r.end.line]);
}

interface Painted {
  version: number;
  spans: LineSpan[];
}

class TokenBands implements vscode.Disposable {
  private readonly types = decorationTypes();
  /** What each editor shows: the document version and lines its decorations were made for. */
  private readonly painted = new WeakMap<vscode.TextEditor, Painted>();
  private readonly requests = new WeakMap<vscode.TextEditor, vscode.CancellationTokenSource>();
  private readonly timers = new Map<vscode.TextEditor, NodeJS.Timeout>();
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly ctx: FeatureContext) {
    this.subscriptions = [
      ...Object.values(this.types),
      vscode.window.onDidChangeVisibleTextEditors(() => this.refreshAll()),
      vscode.window.onDidChangeTextEditorVisibleRanges((e) => this.onScroll(e.textEditor)),
      // a new version (an edit, another model) has been tokenized: ask for its ranges
      ctx.stats.onDidUpdate((stats) => {
        for (const editor of vscode.window.visibleTextEditors) {
          if (editor.document.uri.toString() === stats.uri) {
            this.schedule(editor, STATS_DEBOUNCE_MS, true);
          }
        }
      }),
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration("tokenprism.colorize") && this.refreshAll()),
      ctx.session.onDidChangeState((state) => state === "running" && this.refreshAll()),
      new vscode.Disposable(() => this.timers.forEach((t) => clearTimeout(t))),
    ];
    this.refreshAll();
  }

  private wanted(editor: vscode.TextEditor): boolean {
    return isTokenizable(editor.document) && readSettings(editor.document.uri).colorize === "background";
  }

  private refreshAll(): void {
    for (const editor of vscode.window.visibleTextEditors) {
      if (this.wanted(editor)) {
        this.schedule(editor, 0, true);
      } else if (this.painted.has(editor)) {
        this.clear(editor);
      }
    }
  }

  private onScroll(editor: vscode.TextEditor): void {
    const painted = this.painted.get(editor);
    const inside = painted?.version === editor.document.version && covers(painted.spans, lineSpans(editor.visibleRanges));
    if (!inside && this.wanted(editor)) {
      this.schedule(editor, SCROLL_DEBOUNCE_MS, false);
    }
  }

  private schedule(editor: vscode.TextEditor, delay: number, force: boolean): void {
    clearTimeout(this.timers.get(editor));
    this.timers.set(
      editor,
      setTimeout(() => {
        this.timers.delete(editor);
        void this.paint(editor, force);
      }, delay),
    );
  }

  private clear(editor: vscode.TextEditor): void {
    this.requests.get(editor)?.cancel();
    for (const bucket of BUCKETS) {
      editor.setDecorations(this.types[bucket], []);
    }
    this.painted.delete(editor);
  }

  /** Asks for the visible lines (with a margin) and replaces the decorations in one go. */
  private async paint(editor: vscode.TextEditor, force: boolean): Promise<void> {
    const document = editor.document;
    if (document.isClosed || !this.wanted(editor) || this.ctx.session.state !== "running") {
      return;
    }
    const visible = lineSpans(editor.visibleRanges);
    const painted = this.painted.get(editor);
    if (!force && painted?.version === document.version && covers(painted.spans, visible)) {
      return;
    }
    const margin = Math.max(20, ...visible.map(([a, b]) => b - a + 1));
    const spans = spansToRequest(visible, margin, document.lineCount);
    this.requests.get(editor)?.cancel();
    const source = new vscode.CancellationTokenSource();
    this.requests.set(editor, source);
    const version = document.version;
    let results: TokenRangesResult[] | undefined;
    try {
      results = await Promise.all(
        spans.map(([first, last]) =>
          this.ctx.session.request<TokenRangesResult>(
            Methods.tokenRanges,
            { textDocument: { uri: document.uri.toString() }, range: { start: { line: first, character: 0 }, end: { line: last + 1, character: 0 } } },
            source.token,
          ),
        ),
      );
    } catch (err) {
      if (!source.token.isCancellationRequested) {
        this.ctx.log.debug(`token colours of ${document.uri.toString()}: ${err instanceof Error ? err.message : err}`);
      }
    }
    const superseded = source.token.isCancellationRequested;
    if (this.requests.get(editor) === source) {
      this.requests.delete(editor);
    }
    source.dispose();
    // An answer for another version than the text now in the editor would paint the wrong places;
    // the documentStats of the newer version asks again.
    if (!results || superseded || document.version !== version || results.some((r) => r.version !== version)) {
      return;
    }
    const buckets = bucketRanges(results.flatMap((r) => r.ranges));
    for (const bucket of BUCKETS) {
      editor.setDecorations(this.types[bucket], buckets[bucket].map(([line, a, b]) => new vscode.Range(line, a, line, b)));
    }
    // a truncated answer covers only the lines it reached: scrolling there asks again
    const reached = results.map((r, i): LineSpan => {
      const lastLine = r.ranges.length ? r.ranges[r.ranges.length - 1][0] : spans[i][1];
      return [spans[i][0], r.truncated ? lastLine - 1 : spans[i][1]];
    });
    this.painted.set(editor, { version, spans: reached });
  }

  dispose(): void {
    this.subscriptions.forEach((d) => d.dispose());
  }
}

export const tokenBandsFeature: Feature = {
  name: "background token colours",
  register: (ctx) => [new TokenBands(ctx)],
};
