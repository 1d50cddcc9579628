// TokenPrism: Set API key… / Clear API keys — opt-in exact Claude and Gemini counts from the
// providers' count-tokens endpoints. Keys live in VS Code's SecretStorage (never settings.json) and
// reach the server in memory only: with tokenprism/setApiKeys when set, and again whenever a
// server starts. The notification is sent with tracing paused so no key lands in the output channel.
import * as vscode from "vscode";
import { ApiKeyStatus, Methods } from "../protocol";
import { Feature, FeatureContext, reportError } from "./feature";

export interface ApiProvider {
  id: "anthropic" | "gemini";
  label: string;
  models: string;
  env: string[];
}

export const API_PROVIDERS: ApiProvider[] = [
  { id: "anthropic", label: "Anthropic", models: "Claude", env: ["ANTHROPIC_API_KEY"] },
  { id: "gemini", label: "Google Gemini API", models: "Gemini", env: ["GEMINI_API_KEY", "GOOGLE_API_KEY"] },
];

export function secretName(provider: string): string {
  return `tokenprism.apiKey.${provider}`;
}

/** The keys stored in SecretStorage, by provider (only those set). */
export async function storedKeys(secrets: Pick<vscode.SecretStorage, "get">): Promise<Record<string, string>> {
  const keys: Record<string, string> = {};
  for (const p of API_PROVIDERS) {
    const key = await secrets.get(secretName(p.id));
    if (key) {
      keys[p.id] = key;
    }
  }
  return keys;
}

/** The input box's check: a message, or undefined when the text can be a key. */
export function checkKey(value: string): string | undefined {
  const key = value.trim();
  if (!key) {
    return "Paste the key (or press Escape)";
  }
  return /\s/.test(key) ? "An API key has no spaces" : undefined;
}

/** One line on where a provider's key comes from, for the pick list. */
export function keySource(stored: boolean, status: ApiKeyStatus | undefined, p: ApiProvider): string {
  if (stored) {
    return "key stored in VS Code";
  }
  if (status?.[p.id] === "environment") {
    return `key from ${p.env.join(" / ")} in the server's environment`;
  }
  return "no key: estimates only";
}

async function sendKeys(ctx: FeatureContext, keys: Record<string, string | null>): Promise<void> {
  await ctx.session.notify(Methods.setApiKeys, keys, { secret: true });
}

async function serverStatus(ctx: FeatureContext): Promise<ApiKeyStatus | undefined> {
  try {
    return await ctx.session.request<ApiKeyStatus>(Methods.apiKeyStatus, {});
  } catch {
    return undefined; // an older server, or none running: the pick list just says less
  }
}

async function setApiKey(ctx: FeatureContext): Promise<void> {
  const secrets = ctx.extension.secrets;
  const stored = await storedKeys(secrets);
  const status = ctx.session.state === "running" ? await serverStatus(ctx) : undefined;
  const pick = await vscode.window.showQuickPick(
    API_PROVIDERS.map((p) => ({ label: p.label, description: `exact ${p.models} counts`, detail: keySource(!!stored[p.id], status, p), provider: p })),
    { title: "TokenPrism: exact counts from a provider's count-tokens endpoint", placeHolder: "Which provider's API key?" },
  );
  if (!pick) {
    return;
  }
  const p = pick.provider;
  const value = await vscode.window.showInputBox({
    title: `TokenPrism: ${p.label} API key`,
    prompt: `Kept in VS Code's secret storage. With it, the text of documents counted for ${p.models} models is sent to ${p.label} to count it (docs/api-counts.md).`,
    password: true,
    ignoreFocusOut: true,
    validateInput: checkKey,
  });
  if (value === undefined) {
    return;
  }
  await secrets.store(secretName(p.id), value.trim());
  try {
    await sendKeys(ctx, { [p.id]: value.trim() });
    vscode.window.setStatusBarMessage(`TokenPrism: ${p.label} key saved; ${p.models} counts come from the API`, 4000);
  } catch (err) {
    // Stored: the next server start gets it.
    ctx.log.warn(`the ${p.label} key is stored; it reaches the server when it runs (${err instanceof Error ? err.message : err})`);
  }
}

async function clearApiKeys(ctx: FeatureContext): Promise<void> {
  for (const p of API_PROVIDERS) {
    await ctx.extension.secrets.delete(secretName(p.id));
  }
  let status: ApiKeyStatus | undefined;
  if (ctx.session.state === "running") {
    try {
      await sendKeys(ctx, Object.fromEntries(API_PROVIDERS.map((p) => [p.id, null])));
      status = await serverStatus(ctx);
    } catch (err) {
      reportError(ctx, "could not tell the server to forget the keys", err);
      return;
    }
  }
  const fromEnv = API_PROVIDERS.filter((p) => status?.[p.id] === "environment");
  void vscode.window.showInformationMessage(
    fromEnv.length
      ? `TokenPrism: API keys removed from VS Code. The server still has ${fromEnv.map((p) => p.env.join("/")).join(" and ")} from its environment.`
      : "TokenPrism: API keys removed; Claude and Gemini counts are estimates again.",
  );
}

async function resendChanged(ctx: FeatureContext, name: string): Promise<void> {
  const p = API_PROVIDERS.find((q) => secretName(q.id) === name);
  if (!p || ctx.session.state !== "running") {
    return;
  }
  const key = await ctx.extension.secrets.get(name);
  await sendKeys(ctx, { [p.id]: key || null }).catch((err) => ctx.log.warn(`sending the ${p.label} key: ${err instanceof Error ? err.message : err}`));
}

export const apiKeysFeature: Feature = {
  name: "API keys",
  register: (ctx) => {
    const resend = async () => {
      const keys = await storedKeys(ctx.extension.secrets);
      if (Object.keys(keys).length > 0 && ctx.session.state === "running") {
        await sendKeys(ctx, keys).catch((err) => ctx.log.warn(`sending the stored API keys: ${err instanceof Error ? err.message : err}`));
      }
    };
    return [
      vscode.commands.registerCommand("tokenprism.setApiKey", () => setApiKey(ctx)),
      vscode.commands.registerCommand("tokenprism.clearApiKeys", () => clearApiKeys(ctx)),
      // Every server that starts gets the stored keys (it keeps them in memory only).
      ctx.session.onDidChangeState((state) => state === "running" && void resend()),
      // Another window set or removed one (this window's own changes come here too: sending twice is harmless).
      ctx.extension.secrets.onDidChange((e) => void resendChanged(ctx, e.key)),
    ];
  },
};
