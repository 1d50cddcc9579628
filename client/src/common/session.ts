// Owns the language client: starts it, restarts it, and lets features talk to whichever client is
// current without caring about restarts.
import * as vscode from "vscode";
import { LanguageClient, LanguageClientOptions, ProgressType, ServerOptions, State, Trace } from "vscode-languageclient/node";
import { installServer } from "./install";
import { DEFAULT_PYTHON, Launch, planLaunch, SERVER_MODULE_ARGS } from "./launch";
import { configurationResult, readSettings, SECTION } from "./settings";
import { NOTEBOOK_CELL_SCHEME } from "./notebooks";
import type { ServerFacts } from "../protocol";

export type SessionState = "stopped" | "starting" | "running" | "missing" | "failed";

export class NotRunningError extends Error {
  constructor() {
    super("the TokenPrism server is not running (see TokenPrism: Show server log)");
  }
}

export class ServerSession implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private startup: Promise<void> | undefined;
  private readonly notificationHandlers = new Map<string, (params: any) => void>();
  private readonly stateEmitter = new vscode.EventEmitter<SessionState>();
  readonly onDidChangeState = this.stateEmitter.event;
  private _state: SessionState = "stopped";
  private _lastError = "";
  private partialIds = 0;

  constructor(
    private readonly context: vscode.ExtensionContext,
    readonly log: vscode.LogOutputChannel,
  ) {}

  get state(): SessionState {
    return this._state;
  }
  get lastError(): string {
    return this._lastError;
  }
  /** The server's facts from its initialize result (defaults, whitespace glyphs); undefined before
   *  it runs or from a server that sends none. */
  get facts(): ServerFacts | undefined {
    const experimental = this.client?.initializeResult?.capabilities?.experimental as { tokenprism?: ServerFacts } | undefined;
    return experimental?.tokenprism;
  }

  /** Registers a handler for a server notification; survives restarts. */
  onNotification<P>(method: string, handler: (params: P) => void): vscode.Disposable {
    this.notificationHandlers.set(method, handler);
    this.client?.onNotification(method, handler);
    return new vscode.Disposable(() => this.notificationHandlers.delete(method));
  }

  async request<R>(method: string, params?: unknown, token?: vscode.CancellationToken): Promise<R> {
    if (this.startup) {
      await this.startup;
    }
    const client = this.client;
    if (!client || client.state !== State.Running) {
      throw new NotRunningError();
    }
    // Never pass an undefined token: vscode-jsonrpc would send [params, undefined] by position.
    return token ? client.sendRequest<R>(method, params, token) : client.sendRequest<R>(method, params);
  }

  /** A request whose partial results ($/progress on a `partialResultToken` it adds) go to `onPartial`
   *  as they arrive, before the final result. */
  async requestWithPartials<R, P>(
    method: string,
    params: object,
    onPartial: (partial: P) => void,
    token?: vscode.CancellationToken,
  ): Promise<R> {
    if (this.startup) {
      await this.startup;
    }
    const client = this.client;
    if (!client || client.state !== State.Running) {
      throw new NotRunningError();
    }
    const partialResultToken = `tokenprism-partial-${++this.partialIds}`;
    const listening = client.onProgress(new ProgressType<P>(), partialResultToken, onPartial);
    try {
      const full = { ...params, partialResultToken };
      return await (token ? client.sendRequest<R>(method, full, token) : client.sendRequest<R>(method, full));
    } finally {
      listening.dispose();
    }
  }

  /** Sends a notification to the running server. `secret`: its params (API keys) must not reach the
   *  trace in the output channel, so a verbose trace is switched off while it is sent. */
  async notify(method: string, params: unknown, options: { secret?: boolean } = {}): Promise<void> {
    if (this.startup) {
      await this.startup;
    }
    const client = this.client;
    if (!client || client.state !== State.Running) {
      throw new NotRunningError();
    }
    const trace = Trace.fromString(vscode.workspace.getConfiguration(SECTION).get<string>("trace.server", "off"));
    if (!options.secret || trace === Trace.Off) {
      await client.sendNotification(method, params);
      return;
    }
    await client.setTrace(Trace.Off);
    try {
      await client.sendNotification(method, params);
    } finally {
      await client.setTrace(trace);
    }
  }

  /** Stops any running server and starts a new one. */
  restart(): Promise<void> {
    const previous = this.startup ?? Promise.resolve();
    const next: Promise<void> = previous
      .then(() => this.doRestart())
      .finally(() => {
        if (this.startup === next) {
          this.startup = undefined;
        }
      });
    this.startup = next;
    return next;
  }

  private setState(state: SessionState, error = ""): void {
    this._state = state;
    this._lastError = error;
    this.stateEmitter.fire(state);
  }

  private async doRestart(): Promise<void> {
    await this.stopClient();
    this.setState("starting");
    const resource = vscode.window.activeTextEditor?.document.uri;
    let launch: Launch;
    try {
      launch = await planLaunch(this.context, resource);
    } catch (err) {
      this.fail(`could not decide how to start the server: ${err}`);
      return;
    }
    if (launch.kind === "missing") {
      this.setState("missing", `${launch.python} cannot import tokenprism`);
      void this.offerInstall(launch.python);
      return;
    }
    this.log.info(`starting server (${launch.origin}): ${[launch.command, ...launch.args].join(" ")}`);
    const client = this.createClient(launch.command, launch.args);
    this.client = client;
    for (const [method, handler] of this.notificationHandlers) {
      client.onNotification(method, handler);
    }
    client.onDidChangeState((e) => {
      if (this.client !== client) {
        return;
      }
      // After a crash the client restarts the server a few times, then gives up: say so
      // instead of silently showing stale counts, and recover if a restart succeeds.
      if (e.newState === State.Stopped && this._state === "running") {
        this.setState("failed", "the server stopped; run TokenPrism: Restart server");
      } else if (e.newState === State.Running && this._state === "failed") {
        this.setState("running");
      }
    });
    try {
      await client.start();
      this.setState("running");
    } catch (err) {
      this.fail(`the server did not start: ${err instanceof Error ? err.message : err}`);
    }
  }

  private createClient(command: string, args: string[]): LanguageClient {
    // No `transport`: the client would append --stdio; `tokenprism serve` talks stdio by default.
    const serverOptions: ServerOptions = {
      command,
      args,
      options: { env: { ...process.env, TRANSFORMERS_VERBOSITY: process.env.TRANSFORMERS_VERBOSITY ?? "error" } },
    };
    const clientOptions: LanguageClientOptions = {
      // Notebook cells: their text reaches the server through notebookDocument/* sync (the server
      // asks for every notebook); this selector gives them hints, hovers and colours.
      documentSelector: [{ scheme: "file" }, { scheme: "untitled" }, { scheme: NOTEBOOK_CELL_SCHEME }],
      initializationOptions: readSettings(vscode.window.activeTextEditor?.document.uri),
      synchronize: { configurationSection: SECTION },
      middleware: {
        workspace: {
          // The server's settings are the client's reading of them (workspace trust applied),
          // the same object as initializationOptions, whatever the editor would answer.
          configuration: async (params, token, next) => {
            const result = await next(params, token);
            if (!Array.isArray(result)) {
              return result;
            }
            return configurationResult(params.items, result, (uri) => readSettings(uri ? vscode.Uri.parse(uri) : undefined));
          },
        },
      },
      outputChannel: this.log,
      traceOutputChannel: this.log,
      // The server reports its own failures as log messages; never steal focus for them.
      revealOutputChannelOn: 4 /* RevealOutputChannelOn.Never */,
    };
    return new LanguageClient("tokenprism", "TokenPrism", serverOptions, clientOptions);
  }

  private fail(message: string): void {
    this.log.error(message);
    this.setState("failed", message);
    void vscode.window.showErrorMessage(`TokenPrism: ${message}`, "Show log", "Open settings").then((choice) => {
      if (choice === "Show log") {
        this.log.show();
      } else if (choice === "Open settings") {
        void vscode.commands.executeCommand("workbench.action.openSettings", "tokenprism.server.command");
      }
    });
  }

  private async offerInstall(python: string): Promise<void> {
    this.log.warn(`${python} cannot import tokenprism; the server is not installed`);
    const choice = await vscode.window.showWarningMessage(
      `TokenPrism: the language server is not installed for ${python}. Install it into a private environment, or set tokenprism.server.command?`,
      "Install",
      "Open settings",
    );
    if (choice === "Install") {
      await this.install(python);
    } else if (choice === "Open settings") {
      await vscode.commands.executeCommand("workbench.action.openSettings", "tokenprism.server.command");
    }
  }

  /** Installs the server into the private venv, then starts it. */
  async install(basePython = DEFAULT_PYTHON): Promise<void> {
    const python = await installServer(this.context, basePython, this.log);
    if (python) {
      this.log.info(`installed; the server runs as ${[python, ...SERVER_MODULE_ARGS].join(" ")}`);
      await this.restart();
    }
  }

  private async stopClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      try {
        await client.stop(5000);
      } catch (err) {
        this.log.warn(`stopping the server: ${err}`);
      }
      this.setState("stopped");
    }
  }

  async dispose(): Promise<void> {
    await this.stopClient();
    this.stateEmitter.dispose();
  }
}
