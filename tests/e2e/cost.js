// Issue 14 in VS Code: the status bar's count, cost and context-window share for an API model,
// picked in the model picker. Independent references: `tokenprism count --json -m MODEL` for the
// count, genai-prices' own calc_price for the price and the window (one Python call).
"use strict";
const { execFileSync } = require("child_process");
const fs = require("fs");

const PROVIDERS = { "claude-sonnet-4-5": "anthropic", "gpt-5": "openai" };

module.exports = async function costChecks(t) {
  const { check, assert, page, cli, openFile, runCommand, closeWidgets, waitStatus, file, norm, python, shots, log } = t;
  const fmt = (n) => n.toLocaleString("en-US");
  const name = "cost-sample.md"; // no other file name inside it: the Explorer and tabs match by substring
  // A prompt of about 1,300 tokens, so the window share is a real figure, not "<0.1 %".
  fs.writeFileSync(file(name), fs.readFileSync(file("prompt.md"), "utf8").repeat(15));
  const settingsPath = file(".vscode/settings.json");
  const saved = fs.readFileSync(settingsPath, "utf8");

  /** The status bar text for `model`, from the CLI's count and genai-prices' price and window. */
  function expected(model) {
    const total = JSON.parse(cli("count", "--json", "-m", model, file(name))).total;
    assert(typeof total.count === "number", `tokenprism count --json gives no "count" for ${model}: ${JSON.stringify(total)}`);
    const price = JSON.parse(execFileSync(python, ["-c", [
      "import json, sys",
      "from genai_prices import Usage, calc_price",
      "from tokenprism.tokenization.costing import format_cost, format_window_share",
      "n, model, provider = int(sys.argv[1]), sys.argv[2], sys.argv[3]",
      "p = calc_price(Usage(input_tokens=n), model_ref=model, provider_id=provider)",
      "w = p.model.context_window",
      "print(json.dumps({'cost': format_cost(float(p.input_price)), 'share': format_window_share(n / w, w), 'usd': float(p.input_price)}))",
    ].join("\n"), String(total.count), model, PROVIDERS[model]], { encoding: "utf8", env: process.env }));
    const mark = total.exact === false ? "≈" : "";
    return { ...price, count: total.count, exact: total.exact, text: `${mark}${fmt(total.count)} tokens · ${price.cost} · ${price.share} · ${model}` };
  }

  try {
    await check("the model picker lists claude-sonnet-4-5 with its exactness and price; picking it sets the model", async () => {
      await openFile(name);
      await runCommand("TokenPrism: Select tokenizer");
      await page.locator(".quick-input-widget", { hasText: "TokenPrism: Select tokenizer" }).waitFor({ timeout: 30000 });
      await page.keyboard.type("claude-sonnet-4-5");
      // the row whose label is exactly the model (claude-sonnet-4-5-20250929 matches too)
      const row = page.locator(".quick-input-list .monaco-list-row").filter({ has: page.locator(".label-name", { hasText: /^claude-sonnet-4-5$/ }) }).first();
      if (!(await row.waitFor({ timeout: 30000 }).then(() => true, () => false))) {
        await closeWidgets();
        throw new Error("no claude-sonnet-4-5 row in the picker (does the server send apiModels?)");
      }
      const rowText = norm(await row.textContent());
      await row.click();
      const scope = page.locator(".quick-input-list .monaco-list-row", { hasText: "All files — this workspace" }).first();
      await scope.waitFor({ timeout: 30000 });
      await scope.click();
      assert(/estimate/.test(rowText) && rowText.includes("$3 / $15 per M"), `picker row: ${JSON.stringify(rowText)}`);
      let model;
      for (let i = 0; i < 40 && model !== "claude-sonnet-4-5"; i++) {
        await page.waitForTimeout(250);
        model = JSON.parse(fs.readFileSync(settingsPath, "utf8"))["tokenprism.model"];
      }
      assert(model === "claude-sonnet-4-5", `workspace settings hold model ${JSON.stringify(model)}`);
      return `picker row ${JSON.stringify(rowText.slice(0, 120))}`;
    });

    await check("claude-sonnet-4-5: the status bar shows ≈count, tokens × the catalog price, and the window share", async () => {
      const want = expected("claude-sonnet-4-5");
      assert(want.exact === false, "the CLI should call Claude's count an estimate");
      // set by the picker above; written here too, so this check stands on its own
      const settings = JSON.parse(fs.readFileSync(settingsPath, "utf8"));
      if (settings["tokenprism.model"] !== "claude-sonnet-4-5") {
        fs.writeFileSync(settingsPath, JSON.stringify({ ...settings, "tokenprism.model": "claude-sonnet-4-5" }, null, 2));
      }
      await openFile(name);
      const status = await waitStatus(want.text, 90000);
      return `${status}; genai-prices: $${want.usd} for ${want.count} input tokens`;
    });

    await check("its tooltip: input vs output price per million, the estimate's basis, the data's source, the API state", async () => {
      const item = page.locator(".statusbar-item", { hasText: "claude-sonnet-4-5" }).first();
      await item.hover();
      const tip = page.locator(".monaco-hover-content, .workbench-hover", { hasText: "Price per million" }).first();
      const shown = await tip.waitFor({ timeout: 15000 }).then(() => true, () => false);
      const text = shown ? norm(await tip.textContent()) : "";
      if (shown) {
        // the README's picture: the item, its tooltip and a little of the editor around them
        const a = await item.boundingBox();
        const b = await tip.boundingBox();
        const x = Math.max(0, Math.min(a.x, b.x) - 260);
        const y = Math.max(0, Math.min(a.y, b.y) - 40);
        const right = Math.min(1400, Math.max(a.x + a.width, b.x + b.width) + 20);
        await page.screenshot({ path: `${shots}/status-bar-cost.png`, clip: { x, y, width: right - x, height: Math.min(860, a.y + a.height) - y } });
      }
      await page.mouse.move(700, 400);
      for (const part of ["input $3 · output $15", "Estimate: o200k_base", "genai-prices", "API:"]) {
        assert(text.includes(part), `tooltip lacks ${JSON.stringify(part)}: ${JSON.stringify(text.slice(0, 400))}`);
      }
      return JSON.stringify(text.slice(0, 200));
    });

    await check("a budget in dollars (\"$0.001\") below the cost turns the item red", async () => {
      const settings = JSON.parse(fs.readFileSync(settingsPath, "utf8"));
      fs.writeFileSync(settingsPath, JSON.stringify({ ...settings, "tokenprism.budget": "$0.001" }, null, 2));
      try {
        const over = await page.waitForFunction(
          () => [...document.querySelectorAll(".statusbar-item")].some((el) => /claude-sonnet-4-5/.test(el.textContent || "") && el.classList.contains("error-kind")),
          null, { timeout: 20000 },
        ).then(() => true, () => false);
        assert(over, "the status bar item is not marked as over budget");
        return "over budget";
      } finally {
        fs.writeFileSync(settingsPath, JSON.stringify(settings, null, 2));
      }
    });

    await check("gpt-5 (settings.json): an exact count without ≈, its cost and window share", async () => {
      const want = expected("gpt-5");
      assert(want.exact === true && !want.text.includes("≈"), `the CLI should call gpt-5's count exact: ${want.text}`);
      const settings = JSON.parse(fs.readFileSync(settingsPath, "utf8"));
      fs.writeFileSync(settingsPath, JSON.stringify({ ...settings, "tokenprism.model": "gpt-5" }, null, 2));
      return waitStatus(want.text, 90000);
    });
  } finally {
    // back to the workspace's model for the checks that follow
    fs.writeFileSync(settingsPath, saved);
    const plain = JSON.parse(cli("count", "--json", "-m", "o200k_base", file(name))).total.tokens;
    await waitStatus(`${fmt(plain)} tokens · o200k_base`, 60000).catch((err) => log(`  (cost checks: ${err.message})`));
  }
};
