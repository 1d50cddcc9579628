// The "TokenPrism: Token usage" view and the Explorer badges, against `tokenprism count --tree`
// run on the same workspace. A file written during the check must appear (file-system events).
"use strict";
const fs = require("fs");
const path = require("path");

/** The badge rule of docs/vscode.md, written out again here. */
function badge(n) {
  if (n < 1000) return "·";
  if (n < 10000) return `${Math.floor(n / 1000)}k`;
  if (n < 1e6) return "k+";
  if (n < 1e7) return `${Math.floor(n / 1e6)}M`;
  return "M+";
}

module.exports = async function tokenUsage({ check, assert, page, cli, WS, shot, fmt, log, closeWidgets, runCommand }) {
  const pane = page.locator(".pane", { has: page.locator(".pane-header", { hasText: "Token usage" }) }).first();
  const rows = pane.locator(".pane-body .monaco-list-row");
  /** [name, description] of the view's visible rows */
  const shownRows = () =>
    rows.evaluateAll((els) =>
      els.map((el) => [
        (el.querySelector(".label-name") || {}).textContent || "",
        ((el.querySelector(".label-description") || {}).textContent || "").replace(/\u00a0/g, " "),
      ]),
    );
  /** `tokenprism count --tree --json WS`, its tree narrowed to WS (the CLI's tree starts at "/"). */
  const expected = () => {
    const report = JSON.parse(cli("count", "--tree", "--json", "--model", "o200k_base", WS));
    let node = report.tree.children.find((c) => c.name === "/");
    for (const part of WS.split("/").filter(Boolean)) {
      node = node.children.find((c) => c.name === part);
    }
    return { ...report, tree: node };
  };
  /** What the top level of the view should read: the CLI tree's children, largest first as it sorts them. */
  const wantTop = (report) => report.tree.children.map((c) => [c.name, fmt(c.tokens)]);
  const waitRows = async (want, timeout) => {
    const deadline = Date.now() + timeout;
    let shown = [];
    while (Date.now() < deadline) {
      shown = (await shownRows()).map(([name, desc]) => [name, desc.split(" · ")[0]]);
      if (JSON.stringify(shown.filter(([n]) => !n.startsWith("Skipped"))) === JSON.stringify(want)) {
        return shown;
      }
      await page.waitForTimeout(300);
    }
    throw new Error(`the view shows ${JSON.stringify(shown)}; \`tokenprism count --tree\` says ${JSON.stringify(want)}`);
  };

  await check("Token usage view: the workspace's files and folders as `tokenprism count --tree`, largest first", async () => {
    await closeWidgets();
    await page.keyboard.press("Control+Shift+E");
    await pane.waitFor({ timeout: 30000 });
    const header = pane.locator(".pane-header").first();
    if ((await header.getAttribute("aria-expanded")) === "false") {
      await header.click();
    }
    const report = expected();
    await waitRows(wantTop(report), 90000);
    const description = norm(await pane.locator(".pane-header .description").first().textContent().catch(() => ""));
    assert(
      description.includes(`${fmt(report.total.tokens)} tokens · o200k_base`),
      `view description "${description}", CLI total ${fmt(report.total.tokens)}`,
    );
    return `${report.tree.children.length} entries, ${fmt(report.total.tokens)} tokens in ${report.total.files} files`;
  });

  const big = path.join(WS, "notes", "long.md");
  await check("a file written to the workspace appears in the view, its folder's subtotal and badge follow", async () => {
    fs.mkdirSync(path.dirname(big), { recursive: true });
    const para = fs.readFileSync(path.join(WS, "prompt.md"), "utf8");
    fs.writeFileSync(big, Array.from({ length: 40 }, (_, i) => `## Part ${i + 1}\n\n${para}\n`).join(""));
    const report = expected();
    const notes = report.tree.children.find((c) => c.name === "notes");
    assert(notes && notes.tokens >= 1000, `the CLI counts notes/ as ${notes && notes.tokens}: too small for a "k" badge`);
    await waitRows(wantTop(report), 60000); // the server's watcher saw it, the client asked again
    // Expand notes/ in the view: long.md with the CLI's count
    await rows.filter({ hasText: "notes" }).first().click();
    const row = rows.filter({ hasText: "long.md" }).first();
    await row.waitFor({ timeout: 15000 });
    const desc = norm(await row.locator(".label-description").textContent());
    assert(desc.startsWith(fmt(notes.tokens)), `long.md shows "${desc}", CLI ${fmt(notes.tokens)}`);
    // The badge in the Explorer's folder tree: expand notes/ there too
    const explorer = page.locator(".explorer-folders-view .monaco-list-row");
    const folder = explorer.filter({ hasText: "notes" }).first();
    await folder.waitFor({ timeout: 15000 });
    if ((await folder.getAttribute("aria-expanded")) === "false") {
      await folder.click();
    }
    const file = explorer.filter({ hasText: "long.md" }).first();
    await file.waitFor({ timeout: 15000 });
    const want = badge(notes.tokens);
    const ok = await page
      .waitForFunction(
        ([el, want]) =>
          [el, ...el.querySelectorAll("*")].some((e) => getComputedStyle(e, "::after").content === JSON.stringify(want)),
        [await file.elementHandle(), want],
        { timeout: 30000 },
      )
      .then(() => true, () => false);
    assert(ok, `no "${want}" badge on long.md in the Explorer`);
    // For the screenshot: give the view more room, dragging the sash above its header up
    const box = await pane.locator(".pane-header").first().boundingBox();
    if (box) {
      await page.mouse.move(box.x + box.width / 2, box.y - 1);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width / 2, box.y - 260, { steps: 8 });
      await page.mouse.up();
    }
    await page.mouse.move(5, 5);
    await page.waitForTimeout(500);
    await shot("token-usage");
    return `long.md: ${fmt(notes.tokens)} tokens, badge "${want}"`;
  });
  await check("Token usage: sort by name puts folders first, then files, as `count --tree --sort name`", async () => {
    await closeWidgets();
    const report = JSON.parse(cli("count", "--tree", "--json", "--sort", "name", "--model", "o200k_base", WS));
    let node = report.tree.children.find((c) => c.name === "/");
    for (const part of WS.split("/").filter(Boolean)) {
      node = node.children.find((c) => c.name === part);
    }
    await runCommand("TokenPrism: Token usage: sort by name");
    const want = node.children.map((c) => c.name);
    const deadline = Date.now() + 15000;
    let names = [];
    while (Date.now() < deadline) {
      // the top level only: rows whose indent is the least
      names = await rows.evaluateAll((els) => {
        const level = (el) => Number(el.getAttribute("aria-level") || 1);
        const top = Math.min(...els.map(level));
        return els.filter((el) => level(el) === top).map((el) => (el.querySelector(".label-name") || {}).textContent || "");
      });
      if (JSON.stringify(names.filter((n) => !n.startsWith("Skipped"))) === JSON.stringify(want)) {
        break;
      }
      await page.waitForTimeout(300);
    }
    await runCommand("TokenPrism: Token usage: largest first");
    assert(JSON.stringify(names) === JSON.stringify(want), `the view's order ${JSON.stringify(names)}, CLI ${JSON.stringify(want)}`);
    return names.join(", ");
  });
  fs.rmSync(path.dirname(big), { recursive: true, force: true });
  await closeWidgets();
  log("token usage checks done");
};

const norm = (s) => (s || "").replace(/\u00a0/g, " ");
