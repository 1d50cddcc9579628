// Notebooks as the client sees them: a cell editor's text document belongs to a notebook, whose
// total the server sends as tokenprism/notebookStats.
import * as vscode from "vscode";

/** The scheme of a notebook cell's text document. */
export const NOTEBOOK_CELL_SCHEME = "vscode-notebook-cell";

/** The notebook a cell's document belongs to, with the cell's index; undefined for other documents. */
export function notebookOf(document: vscode.TextDocument): { notebook: vscode.NotebookDocument; cell: number } | undefined {
  if (document.uri.scheme !== NOTEBOOK_CELL_SCHEME) {
    return undefined;
  }
  for (const notebook of vscode.workspace.notebookDocuments) {
    const cell = notebook.getCells().findIndex((c) => c.document === document);
    if (cell >= 0) {
      return { notebook, cell };
    }
  }
  return undefined;
}
