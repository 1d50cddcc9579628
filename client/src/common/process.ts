// Small helpers for running the Python side outside the language client.
import { spawn } from "child_process";

export interface RunResult {
  code: number | null;
  output: string;
}

/** Runs a program to completion, streaming each output line to `onLine`; never rejects. */
export function run(
  command: string,
  args: string[],
  options: { onLine?: (line: string) => void; timeoutMs?: number; cancel?: { onCancellationRequested(cb: () => void): unknown } } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    let output = "";
    let pending = "";
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PYTHONUNBUFFERED: "1" } });
    const timer = options.timeoutMs ? setTimeout(() => child.kill(), options.timeoutMs) : undefined;
    options.cancel?.onCancellationRequested(() => child.kill());
    const onData = (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      output += text;
      pending += text;
      const lines = pending.split(/\r?\n/);
      pending = lines.pop() ?? "";
      lines.forEach((line) => options.onLine?.(line));
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", (err) => {
      clearTimeout(timer);
      resolve({ code: null, output: output + String(err.message) });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (pending) {
        options.onLine?.(pending);
      }
      resolve({ code, output });
    });
  });
}

/** True when `python` runs and can import the tokenprism package. */
export async function hasServerPackage(python: string): Promise<boolean> {
  const result = await run(python, ["-c", "import tokenprism.cli"], { timeoutMs: 30000 });
  return result.code === 0;
}
