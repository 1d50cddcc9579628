// The latest `tokenprism/documentStats` per document, as the server reports them.
import * as vscode from "vscode";
import { DocumentStats, Methods } from "../protocol";
import type { ServerSession } from "./session";

export class DocumentStatsStore implements vscode.Disposable {
  private readonly byUri = new Map<string, DocumentStats>();
  private readonly emitter = new vscode.EventEmitter<DocumentStats>();
  /** Fires after a new version of a document has been tokenized. */
  readonly onDidUpdate = this.emitter.event;
  private readonly subscriptions: vscode.Disposable[];

  constructor(session: ServerSession) {
    this.subscriptions = [
      session.onNotification<DocumentStats>(Methods.documentStats, (stats) => {
        if (stats && typeof stats.uri === "string" && typeof stats.tokens === "number") {
          this.byUri.set(stats.uri, stats);
          this.emitter.fire(stats);
        }
      }),
      vscode.workspace.onDidCloseTextDocument((doc) => this.byUri.delete(doc.uri.toString())),
      session.onDidChangeState((state) => state !== "running" && this.byUri.clear()),
    ];
  }

  get(uri: vscode.Uri): DocumentStats | undefined {
    return this.byUri.get(uri.toString());
  }

  dispose(): void {
    this.subscriptions.forEach((d) => d.dispose());
    this.emitter.dispose();
  }
}
