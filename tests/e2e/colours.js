// Background token colours (tokenprism.colorize: "background") in the real editor: the decorations
// Monaco draws on a line, counted in the DOM, against the display segments of `tokenprism tokens
// --json` on the same text; after typing; after scrolling a long file; in a light and a dark theme.
// (The sample avoids CJK and emoji: the test machine's Chromium has no fonts for them, and the
// screenshots go into the README. 𝚃𝚘𝚔𝚎𝚗: each letter is split over three tokens in o200k_base.)
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");

const CROP = { width: 760, height: 150 }; // the first lines of the editor, for the README

const SAMPLE = [
  "# Token colours",
  "The quick brown fox jumps over the lazy dog, one token at a time.",
  "a 𝚃𝚘𝚔𝚎𝚗 b <|endoftext|> Привет, мир! Καλημέρα κόσμε.",
  'def greet(name: str) -> str: return f"Hello, {name}!"',
  "Rare characters are split across tokens: 𝚊𝚋𝚌 ⨌ ꙮ and ∰.",
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

/** What the line [a, b) (code points, without its line break) should show: one run of a colour
 * per display segment (neighbours always differ), and one outlined run per run of split characters. */
function expectedOnLine(ref, a, b) {
  const segments = ref.segments.filter((s) => Math.max(s.start, a) < Math.min(s.end, b));
  return {
    segments: segments.length,
    special: segments.filter((s) => s.special).length,
    split: [...ref.split].filter((c) => c >= a && c < b && !ref.split.has(c - 1)).length,
  };
}

module.exports = async function colours({ check, assert, page, cli, openFile, runCommand, file, log, shotsDir }) {
  /** A screenshot of the editor's first lines (with the line numbers). */
  const shot = async (name) => {
    const box = await page.locator(".editor-group-container.active .editor-instance").first().boundingBox();
    const clip = { x: Math.max(0, box.x), y: box.y, width: Math.min(CROP.width, box.width), height: CROP.height };
    await page.screenshot({ path: path.join(shotsDir, `vscode-${name}.png`), clip });
  };
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
      // the line's text, then its inlay hint (`22 tokens`)
      const line = [...group.querySelectorAll(".view-lines .view-line")].find((el) => (el.textContent || "").replace(/\u00a0/g, " ").startsWith(want));
      if (!line) {
        return null;
      }
      const top = line.style.top;
      const overlay = [...group.querySelectorAll(".view-overlays > div")].find((el) => el.style.top === top);
      const decorations = overlay ? [...overlay.querySelectorAll("div[class*='ced-']")] : [];
      const boxes = decorations.map((el) => {
        const style = getComputedStyle(el);
        const left = parseFloat(el.style.left) || 0;
        return { left, right: left + (parseFloat(el.style.width) || 0), background: style.backgroundColor, dashed: style.borderTopStyle === "dashed" };
      });
      boxes.sort((x, y) => x.left - y.left);
      // Touching boxes of one kind are one run, whether or not Monaco merged them itself
      const runs = (list, same) => {
        const out = [];
        for (const box of list) {
          const prev = out[out.length - 1];
          if (prev && same(prev, box) && Math.abs(box.left - prev.right) < 1) {
            prev.right = Math.max(prev.right, box.right);
          } else {
            out.push({ ...box });
          }
        }
        return out;
      };
      const filled = boxes.filter((b) => b.background && b.background !== "rgba(0, 0, 0, 0)" && b.background !== "transparent");
      return {
        backgrounds: runs(filled, (p, b) => p.background === b.background).map((b) => b.background),
        outlined: runs(boxes.filter((b) => b.dashed), () => true).length,
      };
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
    return `${got.backgrounds.length} bands (${want.special} special) and ${got.outlined} outlined split characters on line 3, as the CLI's segments`;
  });

  await check("background colours are drawn where the editor scrolls to", async () => {
    const lines = Array.from({ length: 400 }, (_, i) => `Line ${i + 1}: the tokens of a long file, 𝚊 number ${i * 7}.`);
    const text = lines.join("\n") + "\n";
    fs.writeFileSync(file("colours-long.txt"), text);
    await openFile("colours-long.txt");
    await page.keyboard.press("Control+End");
    const last = lines.length - 1;
    const got = await waitLine(lines[last], expectedOnLine(expectedFor(text), ...lineBounds(text, last)));
    return `line ${last + 1}: ${got.backgrounds.length} bands after Ctrl+End`;
  });

  await check("background colours in a light and a dark theme", async () => {
    const settingsPath = file(".vscode/settings.json");
    const saved = JSON.parse(fs.readFileSync(settingsPath, "utf8"));
    await openFile("colours.md");
    const shown = [];
    try {
      for (const [theme, selector, name] of [
        ["Default Light Modern", ".monaco-workbench.vs:not(.vs-dark)", "background-colours"],
        ["Default Dark Modern", ".monaco-workbench.vs-dark", "background-colours-dark"],
      ]) {
        fs.writeFileSync(settingsPath, JSON.stringify({ ...saved, "workbench.colorTheme": theme }, null, 2));
        const applied = await page
          .waitForFunction((sel) => document.querySelector(sel) !== null, selector, { timeout: 20000 })
          .then(() => true, () => false);
        assert(applied, `${theme} did not apply`);
        const got = await waitLine(checked, want);
        await page.mouse.move(5, 5);
        await page.waitForTimeout(500);
        await shot(name);
        shown.push(`${theme}: ${[...new Set(got.backgrounds)].join(", ")}`);
      }
      return shown.join("; ");
    } finally {
      fs.writeFileSync(settingsPath, JSON.stringify(saved, null, 2));
    }
  });

  await check("background colours follow typing", async () => {
    const line = SAMPLE.split("\n")[1];
    const added = " Typed: 𝚣!"; // short: a wrapped line would be two view lines
    await page.locator(".editor-instance .view-line", { hasText: "quick brown fox" }).first().click();
    await page.keyboard.press("End");
    await page.keyboard.type(added, { delay: 10 });
    const edited = SAMPLE.replace(line, line + added);
    const after = expectedOnLine(expectedFor(edited), ...lineBounds(edited, 1));
    const got = await waitLine(line + added, after);
    return `${got.backgrounds.length} bands and ${got.outlined} outlined after typing (the CLI: ${after.segments}, ${after.split})`;
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
