// Decides how to start the server: the `tokenprism.server.command` setting, else a Python that
// can import tokenprism (the Python extension's interpreter or python3, then our private venv).
import * as fs from "fs";
import * as vscode from "vscode";
import { privateVenvPython } from "./install";
import { hasServerPackage } from "./process";
import { activeInterpreter } from "./python";
import { readSettings } from "./settings";

export const SERVER_MODULE_ARGS = ["-m", "tokenprism", "serve"];
export const DEFAULT_PYTHON = process.platform === "win32" ? "python" : "python3";

export type Launch =
  | { kind: "command"; command: string; args: string[]; origin: string }
  | { kind: "missing"; python: string };

export async function planLaunch(context: vscode.ExtensionContext, resource?: vscode.Uri): Promise<Launch> {
  const configured = readSettings(resource).server.command;
  if (configured.length > 0) {
    return { kind: "command", command: configured[0], args: configured.slice(1), origin: "tokenprism.server.command" };
  }
  const fromExtension = await activeInterpreter(resource);
  const python = fromExtension ?? DEFAULT_PYTHON;
  if (await hasServerPackage(python)) {
    return { kind: "command", command: python, args: SERVER_MODULE_ARGS, origin: fromExtension ? "the Python extension's interpreter" : `${DEFAULT_PYTHON} on PATH` };
  }
  const privatePython = privateVenvPython(context);
  if (fs.existsSync(privatePython) && (await hasServerPackage(privatePython))) {
    return { kind: "command", command: privatePython, args: SERVER_MODULE_ARGS, origin: "TokenPrism's private environment" };
  }
  return { kind: "missing", python };
}
