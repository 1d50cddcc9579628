// The latest `tokenprism/documentStats` per document and `tokenprism/notebookStats` per notebook,
// as the server reports them; for a document the server does not tokenize, its reason.
import * as vscode from "vscode";
import { DocumentStats, Methods, NotebookStats, SkippedStats } from "../protocol";
import type { ServerSession } from "./session";

export class DocumentStatsStore implements vscode.Disposable {
  private readonly byUri = new Map<string, DocumentStats>();
  private readonly skippedByUri = new Map<string, SkippedStats>();
  private readonly notebooks = new Map<string, NotebookStats>();
  private readonly emitter = new vscode.EventEmitter<DocumentStats | SkippedStats>();
  private readonly notebookEmitter = new vscode.EventEmitter<NotebookStats>();
  /** Fires after a new version of a document has been tokenized, or left untokenized. */
  readonly onDidUpdate = this.emitter.event;
  /** Fires after a notebook's total changed (a cell tokenized, cells added, removed, moved). */
  readonly onDidUpdateNotebook = this.notebookEmitter.event;
  private readonly subscriptions: vscode.Disposable[];

  constructor(session: ServerSession) {
    this.subscriptions = [
      session.onNotification<DocumentStats | SkippedStats>(Methods.documentStats, (stats) => {
        if (!stats || typeof stats.uri !== "string") {
          return;
        }
        if ("skipped" in stats && typeof stats.skipped === "string") {
          this.byUri.delete(stats.uri);
          this.skippedByUri.set(stats.uri, stats);
          this.emitter.fire(stats);
        } else if ("tokens" in stats && typeof stats.tokens === "number") {
          this.skippedByUri.delete(stats.uri);
          this.byUri.set(stats.uri, stats);
          this.emitter.fire(stats);
        }
      }),
      session.onNotification<NotebookStats>(Methods.notebookStats, (stats) => {
        if (stats && typeof stats.uri === "string" && typeof stats.tokens === "number") {
          this.notebooks.set(stats.uri, stats);
          this.notebookEmitter.fire(stats);
        }
      }),
      vscode.workspace.onDidCloseTextDocument((doc) => {
        this.byUri.delete(doc.uri.toString());
        this.skippedByUri.delete(doc.uri.toString());
      }),
      vscode.workspace.onDidCloseNotebookDocument((nb) => this.notebooks.delete(nb.uri.toString())),
      session.onDidChangeState((state) => {
        if (state !== "running") {
          this.byUri.clear();
          this.skippedByUri.clear();
          this.notebooks.clear();
        }
      }),
    ];
  }

  get(uri: vscode.Uri): DocumentStats | undefined {
    return this.byUri.get(uri.toString());
  }

  /** Why the server does not tokenize this document (binary, too large, the tokenizer failed). */
  skipped(uri: vscode.Uri): string | undefined {
    return this.skippedByUri.get(uri.toString())?.skipped;
  }

  notebook(uri: vscode.Uri): NotebookStats | undefined {
    return this.notebooks.get(uri.toString());
  }

  dispose(): void {
    this.subscriptions.forEach((d) => d.dispose());
    this.emitter.dispose();
    this.notebookEmitter.dispose();
  }
}
