// TokenPrism for VS Code: a thin client. The language server does all the tokenizing; this starts
// it, forwards settings, and registers the features — each on its own, so one failing never takes
// the others down.
import * as vscode from "vscode";
import { onDidChangeInterpreter } from "./common/python";
import { ServerSession } from "./common/session";
import { readSettings } from "./common/settings";
import { DocumentStatsStore } from "./common/stats";
import { apiKeysFeature } from "./features/apiKeys";
import { compareFeature } from "./features/compare";
import { Feature, FeatureContext } from "./features/feature";
import { modelPickerFeature } from "./features/modelPicker";
import { renderedPromptFeature } from "./features/renderedPrompt";
import { statusBarFeature } from "./features/statusBar";
import { togglesFeature } from "./features/toggles";
import { tokenBandsFeature } from "./features/tokenBands";
import { tokenTableFeature } from "./features/tokenTable";
import { tokenUsageFeature } from "./features/tokenUsage";

const FEATURES: Feature[] = [statusBarFeature, modelPickerFeature, togglesFeature, tokenBandsFeature, tokenTableFeature, renderedPromptFeature, compareFeature, apiKeysFeature, tokenUsageFeature];

let session: ServerSession | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel("TokenPrism", { log: true });
  session = new ServerSession(context, log);
  const stats = new DocumentStatsStore(session);
  context.subscriptions.push(log, session, stats);
  const ctx: FeatureContext = { extension: context, session, log, stats };

  for (const feature of FEATURES) {
    try {
      context.subscriptions.push(...feature.register(ctx));
    } catch (err) {
      log.error(`feature "${feature.name}" failed to register: ${err instanceof Error ? err.stack : err}`);
    }
  }

  const s = session;
  context.subscriptions.push(
    vscode.commands.registerCommand("tokenprism.restartServer", () => s.restart()),
    vscode.commands.registerCommand("tokenprism.installServer", () => s.install()),
    vscode.commands.registerCommand("tokenprism.showLog", () => log.show()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      // Other settings reach the running server as didChangeConfiguration; the launch command needs a restart.
      if (e.affectsConfiguration("tokenprism.server.command")) {
        void s.restart();
      }
    }),
    // Trust unlocks the workspace's restricted settings (model, server command…): start over with them.
    vscode.workspace.onDidGrantWorkspaceTrust(() => void s.restart()),
  );
  // Picking another interpreter in the Python extension restarts the server with it.
  void onDidChangeInterpreter(() => {
    if (readSettings().server.command.length === 0) {
      void s.restart();
    }
  }).then((watch) => watch && context.subscriptions.push(watch));
  await s.restart();
}

export async function deactivate(): Promise<void> {
  await session?.dispose();
}
