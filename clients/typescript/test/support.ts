/**
 * Test support: the calltime command, a model artifact, and local endpoints started as child
 * processes (`calltime local endpoint`) that are always stopped when the tests end.
 *
 *   CALLTIME_BIN         the calltime command (default: ../../.venv/bin/calltime from the
 *                        package folder, i.e. the repo's virtualenv)
 *   CALLTIME_TEST_MODEL  a model.tar.gz to serve (default: one made for this run with
 *                        `calltime generate` + `calltime train` in a temporary folder)
 */

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

// The SDK warns once per process that its releases after January 2027 need Node >= 22; the
// tests run on the Node the Lambda runs, and the warning is noise in their output.
process.env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] = "true";

const run = promisify(execFile);

/** The package folder (this file is compiled to dist/test/support.js). */
export const PACKAGE_DIR = resolve(__dirname, "..", "..");

export const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };

export function calltimeBin(): string {
  const bin = process.env["CALLTIME_BIN"] || resolve(PACKAGE_DIR, "..", "..", ".venv", "bin",
    "calltime");
  if (!existsSync(bin)) {
    throw new Error(`calltime command not found at ${bin}: make the repo's virtualenv ` +
      "(/work/main/.venv) or set CALLTIME_BIN");
  }
  return bin;
}

const tempDirs: string[] = [];

let made: Promise<string> | undefined;

/** The model every test serves: CALLTIME_TEST_MODEL (`make test` passes pytest's, trained
 * once), else one trained here, once per run. */
export function testModel(): Promise<string> {
  made ??= trainedModel();
  return made;
}

/** CALLTIME_TEST_MODEL, or a model generated and trained for this run (about 5 s). */
async function trainedModel(): Promise<string> {
  const given = process.env["CALLTIME_TEST_MODEL"];
  if (given) {
    if (!existsSync(given)) throw new Error(`CALLTIME_TEST_MODEL=${given}: no such file`);
    return given;
  }
  const bin = calltimeBin();
  const dir = mkdtempSync(join(tmpdir(), "campaign-client-test-"));
  tempDirs.push(dir);
  await run(bin, ["generate", "--out", join(dir, "data"), "--contacts", "300", "--seed", "3"],
    { timeout: 120_000 });
  await run(bin, ["train", "--calls", join(dir, "data", "calls.csv"), "--out", join(dir, "model")],
    { timeout: 180_000 });
  const model = join(dir, "model", "model.tar.gz");
  if (!existsSync(model)) throw new Error(`calltime train made no ${model}`);
  return model;
}

export interface LocalEndpoint {
  url: string;
  endpointName: string;
  region: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

/**
 * `calltime local endpoint --model MODEL --port 0 ...args`, resolved with its URL once it
 * prints its JSON line.
 */
export function startEndpoint(model: string, args: string[] = [],
  timeoutMs = 90_000): Promise<LocalEndpoint> {
  const child = spawn(calltimeBin(), ["local", "endpoint", "--model", model, "--port", "0",
    ...args], { stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  child.on("exit", () => running.delete(child));
  let stdout = "";
  let stderr = "";
  return new Promise<LocalEndpoint>((resolveStart, rejectStart) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      void stopProcess(child);
      rejectStart(new Error(`calltime local endpoint ${args.join(" ")}: ${why}\n` +
        `stderr: ${stderr.slice(-2000)}`));
    };
    const timer = setTimeout(() => fail(`not ready in ${timeoutMs} ms`), timeoutMs);
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      const newline = stdout.indexOf("\n");
      if (newline < 0) return;
      clearTimeout(timer);
      try {
        const ready = JSON.parse(stdout.slice(0, newline)) as {
          url: string; endpoints: string[]; region: string;
        };
        resolveStart({
          url: ready.url,
          endpointName: ready.endpoints[0]!,
          region: ready.region,
          process: child,
          stop: () => stopProcess(child),
        });
      } catch (err) {
        fail(`unreadable first line ${JSON.stringify(stdout.slice(0, newline))}: ${String(err)}`);
      }
    });
    child.on("error", (err) => fail(String(err)));
    child.on("exit", (code, signal) => {
      if (!stdout.includes("\n")) fail(`exited (${code ?? signal}) before it was ready`);
    });
  });
}

/** SIGTERM (the endpoint stops its model servers as it unwinds), SIGKILL after 10 s. */
export function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(kill);
      done();
    });
    child.kill("SIGTERM");
  });
}

/** Stops every endpoint this process started and removes the temporary model folders. */
export async function cleanUp(): Promise<void> {
  await Promise.all([...running].map(stopProcess));
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

// Whatever way the test process ends, no endpoint outlives it: an exit (a failed hook, an
// uncaught error) sends SIGTERM synchronously; SIGINT/SIGTERM stop them and exit.
process.on("exit", () => {
  for (const child of running) child.kill("SIGTERM");
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void cleanUp().finally(() => process.exit(130));
  });
}

export const delay = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** A small deterministic PRNG (mulberry32) for test inputs. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
