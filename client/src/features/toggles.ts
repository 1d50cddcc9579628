// Commands that flip a display setting where it is currently decided.
import * as vscode from "vscode";
import { COLOR_MODES, ColorMode, effectiveTarget, INLAY_HINT_MODES, readSettings, SECTION } from "../common/settings";
import { Feature, FeatureContext, reportError } from "./feature";

async function write(ctx: FeatureContext, key: string, value: unknown, message: string): Promise<void> {
  const resource = vscode.window.activeTextEditor?.document.uri;
  try {
    await vscode.workspace.getConfiguration(SECTION, resource).update(key, value, effectiveTarget(key, resource));
    vscode.window.setStatusBarMessage(`TokenPrism: ${message}`, 2500);
  } catch (err) {
    reportError(ctx, `could not change ${SECTION}.${key}`, err);
  }
}

export function nextInlayHintMode(current: string): string {
  const i = INLAY_HINT_MODES.indexOf(current as (typeof INLAY_HINT_MODES)[number]);
  return INLAY_HINT_MODES[(i + 1) % INLAY_HINT_MODES.length];
}

export function nextColorMode(current: ColorMode): ColorMode {
  return COLOR_MODES[(COLOR_MODES.indexOf(current) + 1) % COLOR_MODES.length];
}

/** Toggling colours off and on again brings back the mode last used (at first: foreground). */
const LAST_COLOR_MODE = "tokenprism.lastColorMode";

export const togglesFeature: Feature = {
  name: "display toggles",
  register: (ctx) => [
    vscode.commands.registerCommand("tokenprism.cycleInlayHints", () => {
      const mode = nextInlayHintMode(readSettings(vscode.window.activeTextEditor?.document.uri).inlayHints.mode);
      return write(ctx, "inlayHints.mode", mode, `inlay hints: ${mode}`);
    }),
    vscode.commands.registerCommand("tokenprism.toggleColorize", async () => {
      const current = readSettings(vscode.window.activeTextEditor?.document.uri).colorize;
      if (current !== "off") {
        await ctx.extension.globalState.update(LAST_COLOR_MODE, current);
        return write(ctx, "colorize", "off", "token colours off");
      }
      const mode = ctx.extension.globalState.get<ColorMode>(LAST_COLOR_MODE) === "background" ? "background" : "foreground";
      return write(ctx, "colorize", mode, `token colours: ${mode}`);
    }),
    vscode.commands.registerCommand("tokenprism.cycleColorize", () => {
      const mode = nextColorMode(readSettings(vscode.window.activeTextEditor?.document.uri).colorize);
      return write(ctx, "colorize", mode, `token colours: ${mode}`);
    }),
  ],
};
