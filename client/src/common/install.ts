// Installs the language server into a private virtual environment in the extension's global
// storage: from the wheel bundled in the .vsix when there is one, else from PyPI.
import * as fs from "fs";
import * as path from "path";
import * as vscode from "vscode";
import { run } from "./process";

const PACKAGE = "tokenprism";

export function privateVenvPython(context: vscode.ExtensionContext): string {
  const venv = path.join(context.globalStorageUri.fsPath, "venv");
  return process.platform === "win32" ? path.join(venv, "Scripts", "python.exe") : path.join(venv, "bin", "python");
}

function bundledWheel(context: vscode.ExtensionContext): string | undefined {
  const dir = context.asAbsolutePath("client/wheels");
  try {
    const wheel = fs.readdirSync(dir).find((name) => name.startsWith(`${PACKAGE}-`) && name.endsWith(".whl"));
    return wheel ? path.join(dir, wheel) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Creates the private venv with `basePython` and pip-installs the server into it, with a progress
 * notification. Returns the venv's python, or undefined when it failed or was cancelled.
 */
export async function installServer(
  context: vscode.ExtensionContext,
  basePython: string,
  log: vscode.LogOutputChannel,
): Promise<string | undefined> {
  const venvDir = path.join(context.globalStorageUri.fsPath, "venv");
  const python = privateVenvPython(context);
  const wheel = bundledWheel(context);
  const requirement = wheel ?? PACKAGE;
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: "TokenPrism: installing the language server", cancellable: true },
    async (progress, cancel) => {
      const step = async (message: string, command: string, args: string[]): Promise<boolean> => {
        progress.report({ message });
        log.info(`$ ${command} ${args.join(" ")}`);
        const result = await run(command, args, {
          cancel,
          onLine: (line) => {
            log.info(line);
            if (line.trim()) {
              progress.report({ message: `${message} ${line.trim().slice(0, 80)}` });
            }
          },
        });
        if (result.code !== 0 && !cancel.isCancellationRequested) {
          const last = result.output.trim().split(/\r?\n/).pop() ?? "";
          void vscode.window.showErrorMessage(`TokenPrism: ${message} failed: ${last}`, "Show log").then((choice) => {
            if (choice) {
              log.show();
            }
          });
        }
        return result.code === 0;
      };
      fs.mkdirSync(context.globalStorageUri.fsPath, { recursive: true });
      if (!fs.existsSync(python) && !(await step("creating a virtual environment…", basePython, ["-m", "venv", venvDir]))) {
        return undefined;
      }
      const source = wheel ? "the bundled wheel" : "PyPI";
      if (!(await step(`installing ${PACKAGE} from ${source}…`, python, ["-m", "pip", "install", "--upgrade", "--disable-pip-version-check", requirement]))) {
        return undefined;
      }
      return cancel.isCancellationRequested ? undefined : python;
    },
  );
}
