// Commands that flip a display setting where it is currently decided.
import * as vscode from "vscode";
import { effectiveTarget, INLAY_HINT_MODES, readSettings, SECTION } from "../common/settings";
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

export const togglesFeature: Feature = {
  name: "display toggles",
  register: (ctx) => [
    vscode.commands.registerCommand("tokenprism.cycleInlayHints", () => {
      const mode = nextInlayHintMode(readSettings(vscode.window.activeTextEditor?.document.uri).inlayHints.mode);
      return write(ctx, "inlayHints.mode", mode, `inlay hints: ${mode}`);
    }),
    vscode.commands.registerCommand("tokenprism.toggleColorize", () => {
      const on = !readSettings(vscode.window.activeTextEditor?.document.uri).colorize;
      return write(ctx, "colorize", on, `token colours ${on ? "on" : "off"}`);
    }),
  ],
};
