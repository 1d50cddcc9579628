// Background token colours (tokenprism.colorize: "background") in the real editor: the decorations
// Monaco draws on a line, counted in the DOM, against the display segments of `tokenprism tokens
// --json` on the same text; after typing; after scrolling a long file; in a dark and a light theme.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");

const SAMPLE = [
  "# Token colours",
  "The quick brown fox jumps over the lazy dog, one token at a time.",
  "a 𠜎 b <|endoftext|> 😀 한국어 문장은 토큰이 더 많이 필요합니다.",
  'def greet(name: str) -> str: return f"Hello, {name}!"',
  "Rare characters are split across tokens: 𠜎𠜱𠝹 and ꙮ.",
  "",
].join("\n");

/** Display segments and split characters of a file, from the CLI's tokens: a token whose first
 * byte continues a UTF-8 character joins the previous token's segment, and that character is split. */
function reference(tokens) {
  const segments = [];
  const split = new Set();
  for (const t of tokens) {
    const lead = parseInt(t.bytes.slice(0, 2), 16);
    if (segments.length && (lead & 0xc0) === 0x80) {
      const last = segments[segments.length - 1];
      last.end = Math.max(last.end, t.end);
      last.special = last.special || t.special;
      split.add(t.start - 1);
    } else {
      segments.push({ start: t.start, end: t.end, special: t.special });
    }
  }
  return { segments, split };
}

/** What the line [a, b) (code points, without its line break) should show. */
function expectedOnLine(ref, a, b) {
  const segments = ref.segments.filter((s) => Math.max(s.start, a) < Math.min(s.end, b));
  return {
    segments: segments.length,
    special: segments.filter((s) => s.special).length,
    split: [...ref.split].filter((c) => c >= a && c < b).length,
  };
}

module.exports = async function colours({ check, assert, page, cli, openFile, runCommand, shot, file, log }) {
  const expectedFor = (text) => {
    const tmp = path.join(os.tmpdir(), `tokenprism-e2e-colours-${process.pid}.md`);
    fs.writeFileSync(tmp, text);
    try {
      return reference(JSON.parse(cli("tokens", "--json", "--model", "o200k_base", tmp)));
    } finally {
      fs.rmSync(tmp);
    }
  };
  /** Code-point offsets [start, content end) of line `i`. */
  const lineBounds = (text, i) => {
    const lines = text.split("\n");
    const start = lines.slice(0, i).reduce((n, l) => n + Array.from(l).length + 1, 0);
    return [start, start + Array.from(lines[i]).length];
  };

  /** The decorations Monaco draws on the line showing `text`: their background colours (in
   * order, left to right) and how many are outlined (dashed border). */
  const drawn = (text) =>
    page.evaluate((want) => {
      const group = document.querySelector(".editor-group-container.active") || document;
      const line = [...group.querySelectorAll(".view-lines .view-line")].find((el) => (el.textContent || "").replace(/\u00a0/g, " ") === want);
      if (!line) {
        return null;
      }
      const top = line.style.top;
      const overlay = [...group.querySelectorAll(".view-overlays > div")].find((el) => el.style.top === top);
      const decorations = overlay ? [...overlay.querySelectorAll("div[class*='ced-']")] : [];
      const boxes = decorations.map((el) => {
        const style = getComputedStyle(el);
        return { left: parseFloat(el.style.left) || 0, background: style.backgroundColor, dashed: style.borderTopStyle === "dashed" };
      });
      boxes.sort((x, y) => x.left - y.left);
      const filled = boxes.filter((b) => b.background && b.background !== "rgba(0, 0, 0, 0)" && b.background !== "transparent");
      return { backgrounds: filled.map((b) => b.background), outlined: boxes.filter((b) => b.dashed).length };
    }, text);

  /** Waits until the line shows `want` ({segments, special, split}) and checks the colours alternate. */
  const waitLine = async (text, want, timeout = 30000) => {
    let got = null;
    const deadline = Date.now() + timeout;
    const matches = (g) => g && g.backgrounds.length === want.segments && g.outlined === want.split;
    while (Date.now() < deadline && !matches(got)) {
      await page.waitForTimeout(250);
      got = await drawn(text);
    }
    assert(matches(got), `line ${JSON.stringify(text.slice(0, 40))}: drawn ${JSON.stringify(got)}; the CLI has ${want.segments} segments, ${want.split} split characters`);
    const colours = new Set(got.backgrounds);
    assert(got.backgrounds.every((c, i) => i === 0 || c !== got.backgrounds[i - 1]), `neighbouring tokens share a colour: ${got.backgrounds.join(" ")}`);
    assert(colours.size === (want.special ? 3 : Math.min(2, want.segments)), `expected ${want.special ? 3 : 2} colours, got ${[...colours].join(", ")}`);
    return got;
  };

  fs.writeFileSync(file("colours.md"), SAMPLE);
  const ref = expectedFor(SAMPLE);
  const checked = SAMPLE.split("\n")[2];
  const want = expectedOnLine(ref, ...lineBounds(SAMPLE, 2));

  await check("Cycle token colours to background: bands, special tokens and split characters are drawn", async () => {
    await openFile("colours.md");
    await runCommand("TokenPrism: Cycle token colours"); // off -> foreground
    await page.waitForTimeout(500);
    await runCommand("TokenPrism: Cycle token colours"); // foreground -> background
    const got = await waitLine(checked, want);
    await page.mouse.move(5, 5);
    await shot("background-colours");
    return `${got.backgrounds.length} bands (${want.special} special) and ${got.outlined} outlined split characters on line 3, as the CLI's segments`;
  });

  await check("background colours follow typing", async () => {
    const line = SAMPLE.split("\n")[1];
    const added = " Typing moves the bands: 𠜎!";
    await page.locator(".editor-instance .view-line", { hasText: "quick brown fox" }).first().click();
    await page.keyboard.press("End");
    await page.keyboard.type(added, { delay: 10 });
    const edited = SAMPLE.replace(line, line + added);
    const after = expectedOnLine(expectedFor(edited), ...lineBounds(edited, 1));
    const got = await waitLine(line + added, after);
    return `${got.backgrounds.length} bands and ${got.outlined} outlined after typing (the CLI: ${after.segments}, ${after.split})`;
  });

  await check("background colours are drawn where the editor scrolls to", async () => {
    const lines = Array.from({ length: 400 }, (_, i) => `Line ${i + 1}: the tokens of a long file, 𠜎 number ${i * 7}.`);
    const text = lines.join("\n") + "\n";
    fs.writeFileSync(file("colours-long.txt"), text);
    await openFile("colours-long.txt");
    await page.keyboard.press("Control+End");
    const last = lines.length - 1;
    const got = await waitLine(lines[last], expectedOnLine(expectedFor(text), ...lineBounds(text, last)));
    return `line ${last + 1}: ${got.backgrounds.length} bands after Ctrl+End`;
  });

  await check("background colours in a light theme", async () => {
    const settingsPath = file(".vscode/settings.json");
    const saved = JSON.parse(fs.readFileSync(settingsPath, "utf8"));
    await openFile("colours.md");
    fs.writeFileSync(settingsPath, JSON.stringify({ ...saved, "workbench.colorTheme": "Default Light Modern" }, null, 2));
    try {
      const light = await page
        .waitForFunction(() => document.querySelector(".monaco-workbench.vs:not(.vs-dark)") !== null, null, { timeout: 20000 })
        .then(() => true, () => false);
      assert(light, "the light theme did not apply");
      const got = await waitLine(checked, want);
      await page.waitForTimeout(300);
      await shot("background-colours-light");
      return `${got.backgrounds.length} bands: ${[...new Set(got.backgrounds)].join(", ")}`;
    } finally {
      fs.writeFileSync(settingsPath, JSON.stringify(saved, null, 2));
    }
  });

  await check("Cycle token colours once more: off, the decorations are gone", async () => {
    await runCommand("TokenPrism: Cycle token colours"); // background -> off
    let got = await drawn(checked);
    for (let i = 0; i < 60 && got && got.backgrounds.length; i++) {
      await page.waitForTimeout(250);
      got = await drawn(checked);
    }
    assert(got && got.backgrounds.length === 0 && got.outlined === 0, `still drawn: ${JSON.stringify(got)}`);
    log("  colours off again");
    return "no decorations";
  });
};
