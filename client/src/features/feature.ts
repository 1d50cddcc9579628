// What every feature gets, and the shape of its registration function.
import * as vscode from "vscode";
import type { ServerSession } from "../common/session";
import { NOTEBOOK_CELL_SCHEME } from "../common/notebooks";
import type { DocumentStatsStore } from "../common/stats";

export interface FeatureContext {
  extension: vscode.ExtensionContext;
  session: ServerSession;
  log: vscode.LogOutputChannel;
  stats: DocumentStatsStore;
}

export interface Feature {
  name: string;
  register(ctx: FeatureContext): vscode.Disposable[];
}

/** A one-line error for the user; the detail goes to the log. */
export function reportError(ctx: FeatureContext, what: string, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  ctx.log.error(`${what}: ${message}`);
  void vscode.window.showErrorMessage(`TokenPrism: ${what}: ${message.split("\n")[0]}`);
}

/** Runs `fn` at most once per `delayMs`, after the last call. */
export function debounce(fn: () => void, delayMs: number): { (): void; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const wrapped = () => {
    clearTimeout(timer);
    timer = setTimeout(fn, delayMs);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** Text from the server in a Markdown tooltip: its punctuation stays punctuation. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]<>|#]/g, (c) => `\\${c}`);
}

/** A token's text with whitespace made visible by the server's glyph table (its hover's: ␣ ↵ ⇥). */
export function visibleText(text: string, glyphs: Record<string, string> = {}): string {
  return Array.from(text, (c) => glyphs[c] ?? c).join("");
}

export function nonce(): string {
  return Array.from({ length: 32 }, () => Math.floor(Math.random() * 36).toString(36)).join("");
}

export function isTokenizable(document: vscode.TextDocument): boolean {
  const scheme = document.uri.scheme;
  return scheme === "file" || scheme === "untitled" || scheme === NOTEBOOK_CELL_SCHEME;
}

// VS Code and the client both count positions in UTF-16 code units, as LSP does by default.
export interface ProtocolRange {
  start: { line: number; character: number };
  end: { line: number; character: number };
}

export function toProtocolRange(range: vscode.Range): ProtocolRange {
  return {
    start: { line: range.start.line, character: range.start.character },
    end: { line: range.end.line, character: range.end.character },
  };
}

export function fromProtocolRange(range: ProtocolRange): vscode.Range {
  return new vscode.Range(range.start.line, range.start.character, range.end.line, range.end.character);
}
