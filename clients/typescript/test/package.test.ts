/** The package as a campaign team gets it: `npm pack`, installed into a fresh project outside
 * this repository beside the AWS SDK that project brings itself (a peer dependency, here the
 * oldest version its range allows), type-checked
 * under `strict` + `exactOptionalPropertyTypes` as ES module and as CommonJS, then run against a
 * local endpoint through both entry points. */

import assert = require("node:assert/strict");
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";

import { type LocalEndpoint, PACKAGE_DIR, startEndpoint, testModel } from "./support.js";

const run = promisify(execFile);

interface PackageJson {
  name: string;
  version: string;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
}
const own = JSON.parse(readFileSync(join(PACKAGE_DIR, "package.json"), "utf8")) as PackageJson;
const SDK = "@aws-sdk/client-sagemaker-runtime";

/** What the tarball may hold: the build (ES module and CommonJS), its types and declaration
 * maps, the sources those maps point into, the LICENSE and README. */
const ALLOWED = [
  /^package\.json$/, /^LICENSE$/, /^README\.md$/,
  /^dist\/(esm|cjs)\/package\.json$/,
  /^dist\/(esm|cjs)\/[a-z]+\.(js|js\.map|d\.ts|d\.ts\.map)$/,
  /^src\/[a-z]+\.ts$/,
];

const CONSUMER_TSCONFIG = {
  compilerOptions: {
    target: "ES2022", lib: ["ES2022"], module: "NodeNext", moduleResolution: "NodeNext",
    types: ["node"], strict: true, exactOptionalPropertyTypes: true, outDir: "out",
    // The package's own declarations are checked too, not only what the consumer wrote.
    skipLibCheck: false,
  },
  include: ["src"],
};

/** The campaign Lambda's code, as its README shows it: options straight from the environment
 * (`string | undefined`), its own SDK client passed in, a refusal read by its status. */
const calls = (load: string, format: string) => `${load}
const options: CampaignClientOptions = {
  endpointName: process.env["CALLTIME_ENDPOINT_NAME"] ?? "",
  region: process.env["AWS_REGION"],
  endpoint: process.env["CALLTIME_ENDPOINT_URL"],
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
};
async function main(): Promise<void> {
  const client = new CampaignClient(options);
  const probabilities = await client.answerProbabilities([
    { dayOfWeek: 1, hourOfDay: 19, previousAnswerRate: 0.4 },
    { dayOfWeek: 0, hourOfDay: 9, previousAnswerRate: 0.4 },
  ]);
  const sdk = new SageMakerRuntimeClient({ region: process.env["AWS_REGION"] ?? "us-east-1",
    endpoint: process.env["CALLTIME_ENDPOINT_URL"] ?? "",
    credentials: { accessKeyId: "local", secretAccessKey: "local" }, maxAttempts: 1 });
  const viaOwnSdk = new CampaignClient({ endpointName: options.endpointName,
    sagemakerClient: sdk });
  const recommendations = await viaOwnSdk.recommend([{ contactId: "c-1", history: [] }],
    { topK: 2, abortSignal: AbortSignal.timeout(60_000) });
  let refused = "";
  try {
    await client.answerProbabilities([{ dayOfWeek: 1, hourOfDay: 25, previousAnswerRate: 0.4 }]);
  } catch (err) {
    if (err instanceof EndpointRequestError) {
      refused = \`\${err.status} \${err.$metadata.requestId !== undefined}\`;
    } else {
      throw err;
    }
  }
  client.destroy();
  sdk.destroy();
  console.log(JSON.stringify({ format: "${format}", probabilities,
    slots: recommendations[0]?.slots.length, refused, stats: client.stats }));
}
void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
`;

const ESM = calls(`import { CampaignClient, EndpointRequestError, type CampaignClientOptions }
  from "@calltime/campaign-client";
import { SageMakerRuntimeClient } from "${SDK}";`, "esm");
const CJS = calls(`import calltime = require("@calltime/campaign-client");
import sdkModule = require("${SDK}");
const { CampaignClient, EndpointRequestError } = calltime;
const { SageMakerRuntimeClient } = sdkModule;
type CampaignClientOptions = calltime.CampaignClientOptions;`, "cjs");

describe("the packed package in a project of its own", () => {
  let work = "";
  let tarball = "";
  let files: string[] = [];
  let endpoint: LocalEndpoint;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "campaign-lambda-"));
    // The build is the one `npm test` just made (prepack would build it again).
    const { stdout } = await run("npm", ["pack", "--json", "--ignore-scripts",
      "--pack-destination", work], { cwd: PACKAGE_DIR });
    const packed = (JSON.parse(stdout) as Array<{ filename: string;
      files: Array<{ path: string }> }>)[0]!;
    tarball = join(work, packed.filename);
    files = packed.files.map((f) => f.path);
    endpoint = await startEndpoint(await testModel());
  });
  after(async () => {
    await endpoint?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test("the tarball holds the build, its types and maps, LICENSE, and nothing else", () => {
    const stray = files.filter((f) => !ALLOWED.some((pattern) => pattern.test(f)));
    assert.deepEqual(stray, [], `not part of the package: ${stray.join(", ")}`);
    for (const needed of ["LICENSE", "README.md", "dist/esm/index.js", "dist/esm/index.d.ts",
      "dist/esm/index.d.ts.map", "dist/cjs/index.js", "dist/cjs/index.d.ts",
      "dist/cjs/index.d.ts.map", "dist/esm/package.json", "dist/cjs/package.json"]) {
      assert.ok(files.includes(needed), `${needed} missing from ${files.join(", ")}`);
    }
    assert.ok(!files.some((f) => /test/.test(f)), "compiled tests are not shipped");
    assert.match(readFileSync(join(PACKAGE_DIR, "LICENSE"), "utf8"), /Apache License\s+Version 2\.0/);
    assert.deepEqual(Object.keys(own.peerDependencies), [SDK]);
    assert.match(own.peerDependencies[SDK]!, /^\^3\./);
  });

  test("installs beside the consumer's own SDK (one copy), type-checks strictly as ESM and " +
    "CommonJS, and calls the endpoint through both", { timeout: 300_000 }, async () => {
    const project = join(work, "campaign-lambda");
    mkdirSync(join(project, "src"), { recursive: true });
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "campaign-lambda",
      private: true, type: "module" }, null, 2));
    writeFileSync(join(project, "tsconfig.json"), JSON.stringify(CONSUMER_TSCONFIG, null, 2));
    writeFileSync(join(project, "src", "lambda.ts"), ESM);
    writeFileSync(join(project, "src", "lambda-cjs.cts"), CJS);
    // The OLDEST SDK the peer range allows (the rest of the suite runs on the lock's newest):
    // the classes the client tells failures apart by must exist there too.
    const oldest = own.peerDependencies[SDK]!.replace(/^\^/, "");
    await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", tarball,
      `${SDK}@${oldest}`, `@types/node@${own.devDependencies["@types/node"]}`],
      { cwd: project, timeout: 240_000 });
    const installed = JSON.parse(readFileSync(join(project, "node_modules", ...SDK.split("/"),
      "package.json"), "utf8")) as { version: string };
    assert.equal(installed.version, oldest);
    assert.ok(!existsSync(join(project, "node_modules", "@calltime", "campaign-client",
      "node_modules")), "the package brought a dependency of its own (a second SDK)");

    const tsc = resolve(PACKAGE_DIR, "node_modules", "typescript", "bin", "tsc");
    await run(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: project })
      .catch((err: { stdout?: string }) => {
        assert.fail(`the consumer does not type-check:\n${err.stdout ?? String(err)}`);
      });

    const env = { ...process.env, CALLTIME_ENDPOINT_NAME: endpoint.endpointName,
      CALLTIME_ENDPOINT_URL: endpoint.url, AWS_REGION: endpoint.region };
    for (const [script, format] of [["lambda.js", "esm"], ["lambda-cjs.cjs", "cjs"]] as const) {
      const { stdout } = await run(process.execPath, [join(project, "out", script)],
        { cwd: project, env, timeout: 120_000 });
      const said = JSON.parse(stdout.trim().split("\n").at(-1)!) as {
        format: string; probabilities: number[]; slots: number; refused: string;
        stats: { requests: number; succeeded: number; clientErrors: number };
      };
      assert.equal(said.format, format);
      assert.equal(said.probabilities.length, 2);
      assert.ok(said.probabilities.every((p) => p >= 0 && p <= 1), stdout);
      assert.equal(said.slots, 2);
      assert.equal(said.refused, "400 true"); // the model's 400, with the SDK's request id
      assert.equal(said.stats.clientErrors, 1);
      assert.equal(said.stats.requests, said.stats.succeeded + said.stats.clientErrors);
    }
  });
});
