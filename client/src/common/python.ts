// The interpreter the user chose in the Python extension (ms-python.python), when it is installed.
import * as vscode from "vscode";

interface EnvironmentPath {
  id: string;
  path: string;
}
interface ResolvedEnvironment {
  executable: { uri: vscode.Uri | undefined };
}
interface EnvironmentsApi {
  getActiveEnvironmentPath(resource?: vscode.Uri): EnvironmentPath;
  resolveEnvironment(env: EnvironmentPath | string): Promise<ResolvedEnvironment | undefined>;
  onDidChangeActiveEnvironmentPath: vscode.Event<unknown>;
}
interface PythonExtensionApi {
  ready?: Promise<void>;
  environments?: EnvironmentsApi; // current API
  environment?: EnvironmentsApi; // older releases
}

async function environmentsApi(): Promise<EnvironmentsApi | undefined> {
  const extension = vscode.extensions.getExtension<PythonExtensionApi>("ms-python.python");
  if (!extension) {
    return undefined;
  }
  const api = extension.isActive ? extension.exports : await extension.activate();
  await api?.ready;
  return api?.environments ?? api?.environment;
}

/** The active interpreter's executable, or undefined when the Python extension is absent or has none. */
export async function activeInterpreter(resource?: vscode.Uri): Promise<string | undefined> {
  try {
    const envs = await environmentsApi();
    if (!envs) {
      return undefined;
    }
    const resolved = await envs.resolveEnvironment(envs.getActiveEnvironmentPath(resource));
    return resolved?.executable.uri?.fsPath;
  } catch {
    return undefined; // a broken Python extension must not keep TokenPrism from starting
  }
}

/** Fires when the user picks another interpreter in the Python extension. */
export async function onDidChangeInterpreter(listener: () => void): Promise<vscode.Disposable | undefined> {
  try {
    return (await environmentsApi())?.onDidChangeActiveEnvironmentPath(() => listener());
  } catch {
    return undefined;
  }
}
