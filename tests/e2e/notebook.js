// Jupyter notebooks in VS Code: every cell is tokenized on its own, with its own inlay hints, and
// the status bar shows the active cell's count and the notebook's total — each number from the
// CLI (`tokenprism count nb.ipynb --json` per cell, `tokenprism tokens` for the lines).
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");

const NAME = "notebook.ipynb";

module.exports = async function notebookChecks(h) {
  const { check, assert, page, cli, waitStatus, runCommand, closeWidgets, shot, file, fmt, lineStarts, startingIn, norm } = h;
  // Written now, not by workspace.sh: the Token usage checks before these see the workspace
  // without it (their view shows only so many rows).
  const nbPath = file(NAME);
  fs.copyFileSync(path.join(__dirname, "..", "..", "examples", NAME), nbPath);
  const notebook = JSON.parse(fs.readFileSync(nbPath, "utf8"));
  const sourceOf = (cell) => (Array.isArray(cell.source) ? cell.source.join("") : cell.source);
  /** The CLI's count of a notebook (this one, or `cells` written to a temporary .ipynb). */
  const counted = (cells, ...options) => {
    let target = nbPath;
    if (cells) {
      target = path.join(os.tmpdir(), `tokenprism-e2e-nb-${process.pid}.ipynb`);
      fs.writeFileSync(target, JSON.stringify({ ...notebook, cells }));
    }
    try {
      return JSON.parse(cli("count", "--json", "--model", "o200k_base", ...options, target)).files[0];
    } finally {
      if (cells) {
        fs.rmSync(target);
      }
    }
  };
  const cellRows = () => page.locator(".notebook-editor .monaco-list-row.code-cell-row, .notebook-editor .monaco-list-row.markdown-cell-row");
  /** The visible lines of cell `i`'s editor (code cells, or a Markdown cell in edit mode). */
  const cellLines = async (i) => (await cellRows().nth(i).locator(".view-lines .view-line").allTextContents()).map(norm);
  /** Waits until cell `i` shows `want` ([{text, n}]) as end-of-line hints. */
  const waitHints = async (i, want) => {
    let shown = [];
    for (let k = 0; k < 120; k++) {
      shown = await cellLines(i);
      if (want.every((w) => shown.some((s) => s.startsWith(w.text) && s.trimEnd().endsWith(`${w.n} token${w.n === 1 ? "" : "s"}`)))) {
        return `cell ${i + 1}: ${want.map((w) => w.n).join(", ")}`;
      }
      await page.waitForTimeout(250);
    }
    throw new Error(`cell ${i + 1} should show hints ${JSON.stringify(want.map((w) => w.n))}; it shows ${JSON.stringify(shown)}`);
  };
  /** Expected hints of cell `i`: tokens starting on each non-empty line, from `tokenprism tokens`. */
  const tokens = JSON.parse(cli("tokens", "--json", "--model", "o200k_base", nbPath));
  const expectedHints = (i) => {
    const text = sourceOf(notebook.cells[i]);
    const mine = tokens.filter((t) => t.cell === i);
    const starts = lineStarts(text);
    return text.split("\n").map((line, k) => ({ text: line, n: startingIn(mine, starts[k], starts[k + 1] ?? Infinity) })).filter((w) => w.text);
  };
  const whole = counted();
  const cellCount = (i) => whole.cells[i].tokens;

  await check("a notebook: the active cell's count and the notebook's total equal `tokenprism count nb.ipynb`", async () => {
    await closeWidgets();
    await page.locator(".explorer-folders-view .monaco-list-row", { hasText: NAME }).first().click();
    await cellRows().nth(3).waitFor({ timeout: 30000 });
    await cellRows().nth(1).locator(".view-lines").first().click(); // into the first code cell (cell 2)
    assert(whole.cells.length === notebook.cells.length, `the CLI counts ${whole.cells.length} cells`);
    return waitStatus(`cell ${fmt(cellCount(1))} · notebook ${fmt(whole.tokens)} tokens · o200k_base`, 90000);
  });

  await check("every notebook cell gets its own per-line inlay hints (code, and Korean Markdown)", async () => {
    const code = await waitHints(1, expectedHints(1));
    const last = await waitHints(3, expectedHints(3));
    await shot("notebook");
    // A Markdown cell shows its editor (and so its hints) in edit mode: from cell 2 in command
    // mode, down to cell 3 and Enter (its rendered text lies under the outputs' webview: no click).
    await page.keyboard.press("Escape");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Enter");
    const korean = await waitHints(2, expectedHints(2));
    await waitStatus(`cell ${fmt(cellCount(2))} · notebook ${fmt(whole.tokens)} tokens · o200k_base`, 20000);
    await page.keyboard.press("Escape");
    return `${code}; ${korean}; ${last}`;
  });

  const cells = notebook.cells.map((c) => ({ ...c, source: sourceOf(c) }));
  let edited = whole;
  await check("editing a cell updates its count and the notebook's total", async () => {
    const typed = "\nprint('노트북 셀 편집')";
    await cellRows().nth(1).locator(".view-lines").first().click();
    await page.keyboard.press("Control+End");
    await page.keyboard.type(typed, { delay: 10 });
    cells[1] = { ...cells[1], source: cells[1].source + typed };
    const after = counted(cells);
    edited = after;
    assert(after.tokens !== whole.tokens, "the typed text should change the total");
    return (await waitStatus(`cell ${fmt(after.cells[1].tokens)} · notebook ${fmt(after.tokens)} tokens · o200k_base`, 30000)) +
      ` (was ${whole.tokens})`;
  });

  await check("a selection inside a cell reads `selected / cell · notebook`", async () => {
    await page.keyboard.press("Control+Home"); // the cell's first line
    await page.keyboard.press("Shift+End");
    const text = sourceOf(notebook.cells[1]);
    const want = startingIn(tokens.filter((t) => t.cell === 1), 0, text.indexOf("\n"));
    return waitStatus(`${fmt(want)} / cell ${fmt(edited.cells[1].tokens)} · notebook ${fmt(edited.tokens)} tokens · o200k_base`, 20000);
  });

  await check("adding a cell adds its count to the notebook's total", async () => {
    await page.keyboard.press("Escape"); // command mode on cell 2
    await runCommand("Notebook: Insert Code Cell Below");
    await page.waitForTimeout(500);
    const typed = "answer = sum(range(10))";
    await page.keyboard.type(typed, { delay: 10 });
    cells.splice(2, 0, { cell_type: "code", metadata: {}, outputs: [], execution_count: null, source: typed });
    const after = counted(cells);
    assert(after.cells.length === 5, `the CLI counts ${after.cells.length} cells`);
    return waitStatus(`cell ${fmt(after.cells[2].tokens)} · notebook ${fmt(after.tokens)} tokens · o200k_base`, 30000);
  });

  await check("tokenprism.notebook.cells = code: the total counts code cells only, as `count --cells code`", async () => {
    const settingsPath = file(".vscode/settings.json");
    const saved = JSON.parse(fs.readFileSync(settingsPath, "utf8"));
    fs.writeFileSync(settingsPath, JSON.stringify({ ...saved, "tokenprism.notebook.cells": "code" }, null, 2));
    try {
      const after = counted(cells, "--cells", "code");
      const active = after.cells.find((c) => c.index === 2); // the added cell
      return await waitStatus(`cell ${fmt(active.tokens)} · notebook (code) ${fmt(after.tokens)} tokens · o200k_base`, 30000);
    } finally {
      fs.writeFileSync(settingsPath, JSON.stringify(saved, null, 2));
      await closeWidgets();
    }
  });
};
