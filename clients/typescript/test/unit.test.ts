/** Pure tests: the batch splitter, the backoff, the retry classification, refusals before
 * sending. No endpoint, no network. */

import assert = require("node:assert/strict");
import { createServer } from "node:net";
import { describe, test } from "node:test";

import { CampaignClient, DeadlineExceededError, InputLimitError } from "../src/index.js";
import { splitBatches } from "../src/batching.js";
import { backoffDelayMs, classifyFailure, isRetryable } from "../src/retry.js";
import {
  InternalDependencyException,
  InternalFailure,
  ModelError,
  ModelNotReadyException,
  SageMakerRuntimeServiceException,
  ServiceUnavailable,
  ValidationError,
} from "@aws-sdk/client-sagemaker-runtime";
import { buildBody, utf8Bytes } from "../src/batching.js";
import { LOCAL_CREDENTIALS } from "./support.js";

describe("splitBatches", () => {
  const describeRow = (i: number) => `rows[${i}]`;

  test("keeps input order and splits by item count", () => {
    const batches = splitBatches({ itemBytes: Array(25).fill(5), envelopeBytes: 10,
      describe: describeRow }, { maxItems: 10, maxBytes: 1_000_000 });
    assert.deepEqual(batches.map((b) => [b.start, b.end]), [[0, 10], [10, 20], [20, 25]]);
  });

  test("body bytes are exact: envelope + items + commas, and never over the limit", () => {
    const items = ["[1,2,0.5]", "[0,23,1]", "[6,0,0.25]", '"é"', "[1,1,1]"];
    const prefix = '{"features":[';
    const suffix = "]}";
    for (const maxBytes of [30, 35, 40, 60, 1000]) {
      const batches = splitBatches({ itemBytes: items.map(utf8Bytes),
        envelopeBytes: utf8Bytes(prefix + suffix), describe: describeRow },
      { maxItems: 100, maxBytes });
      assert.deepEqual(batches.flatMap((b) => items.slice(b.start, b.end)), items);
      for (const b of batches) {
        const body = buildBody(prefix, items, b, suffix);
        assert.equal(utf8Bytes(body), b.bytes, `batch ${b.start}..${b.end} at ${maxBytes}`);
        assert.ok(b.bytes <= maxBytes);
      }
    }
  });

  test("splits by weight (history calls per request)", () => {
    const batches = splitBatches({ itemBytes: [1, 1, 1, 1], itemWeights: [600, 500, 10, 990],
      envelopeBytes: 2, describe: describeRow }, { maxItems: 100, maxBytes: 1000, maxWeight: 1000 });
    assert.deepEqual(batches.map((b) => [b.start, b.end, b.weight]),
      [[0, 1, 600], [1, 3, 510], [3, 4, 990]]);
  });

  test("an item that fits in no request is refused, named", () => {
    assert.throws(() => splitBatches({ itemBytes: [5, 50, 5], envelopeBytes: 10,
      describe: (i) => `contacts[${i}] (contact_id "x${i}")` }, { maxItems: 10, maxBytes: 40 }),
    (err: unknown) => err instanceof InputLimitError && err.index === 1 &&
        /contacts\[1\] \(contact_id "x1"\): 50 bytes/.test(err.message));
  });

  test("no items, no batches", () => {
    assert.deepEqual(splitBatches({ itemBytes: [], envelopeBytes: 10, describe: describeRow },
      { maxItems: 10, maxBytes: 100 }), []);
  });
});

describe("backoff and retry classification", () => {
  test("full jitter: uniform below min(max, base * 2^(retry-1))", () => {
    assert.equal(backoffDelayMs(1, 100, 5000, () => 0.999999), 99);
    assert.equal(backoffDelayMs(3, 100, 5000, () => 0.5), 200);
    assert.equal(backoffDelayMs(20, 100, 5000, () => 0.5), 2500);
    // The cap: however many retries, never more than maxDelayMs (random just below 1).
    assert.equal(backoffDelayMs(1000, 100, 5000, () => 0.999999), 4999);
  });

  // The SDK's own exception classes, as it throws them (an unmodeled code, such as
  // ThrottlingException, arrives as the service's base exception named after it).
  const metadata = (httpStatusCode: number) => ({ $metadata: { httpStatusCode }, message: "x" });
  const unmodeled = (name: string, httpStatusCode: number) => new SageMakerRuntimeServiceException(
    { name, $fault: httpStatusCode >= 500 ? "server" : "client", ...metadata(httpStatusCode) });
  const named = (name: string, extra: Record<string, unknown> = {}) =>
    Object.assign(new Error(name), { name }, extra);

  test("which failures are retried", () => {
    const cases: Array<[Error, string]> = [
      [unmodeled("ThrottlingException", 400), "throttled"],
      // The SDK's own marks, whatever the name: $retryable.throttling, $fault "server".
      [Object.assign(unmodeled("SlowDownPlease", 400), { $retryable: { throttling: true } }),
        "throttled"],
      [new SageMakerRuntimeServiceException({ name: "Odd", $fault: "server", $metadata: {} }),
        "server"],
      [new ModelNotReadyException(metadata(429)), "notReady"],
      [new ServiceUnavailable(metadata(503)), "server"],
      [new InternalFailure(metadata(500)), "server"],
      [new InternalDependencyException(metadata(530)), "server"],
      [unmodeled("SomethingNew", 502), "server"],
      [named("Error", { code: "ECONNRESET" }), "connection"],
      [named("Error", { code: "ECONNREFUSED" }), "connection"],
      [Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }), "connection"],
      [named("TimeoutError"), "connection"],
      [new ModelError({ ...metadata(424), OriginalStatusCode: 400 }), "client"],
      // The container answered: the same body gets the same answer, its 5xx too.
      [new ModelError({ ...metadata(424), OriginalStatusCode: 500 }), "client"],
      [new ValidationError(metadata(400)), "client"],
      [new TypeError("a bug"), "other"],
    ];
    for (const [err, kind] of cases) {
      assert.equal(classifyFailure(err), kind, err.name);
    }
    assert.ok(["throttled", "notReady", "server", "connection"].every((k) =>
      isRetryable(k as never)));
    assert.ok(!isRetryable("client") && !isRetryable("other"));
  });
});

describe("refused before sending", () => {
  // Nothing listens here: a request sent would fail with ECONNREFUSED and show in stats.
  const client = () => new CampaignClient({ endpointName: "calltime-local", region: "il-central-1",
    endpoint: "http://127.0.0.1:9", credentials: LOCAL_CREDENTIALS });

  test("a contact with more than 1,000 history calls is named, nothing sent", async () => {
    const c = client();
    const contacts = Array.from({ length: 10 }, (_, i) => ({
      contactId: i === 7 ? "x" : `c-${i}`,
      history: Array.from({ length: i === 7 ? 1200 : 2 }, () => ({
        calledAt: "2026-06-07T16:05:00Z", answered: false })),
    }));
    await assert.rejects(c.recommend(contacts), (err: unknown) => {
      assert.ok(err instanceof InputLimitError);
      assert.equal(err.message, 'contacts[7] (contact_id "x"): 1200 history calls exceed 1000');
      assert.equal(err.index, 7);
      return true;
    });
    assert.equal(c.stats.requests, 0);
    c.destroy();
  });

  test("empty input: empty answer, no request", async () => {
    const c = client();
    assert.deepEqual(await c.answerProbabilities([]), []);
    assert.deepEqual(await c.recommend([]), []);
    assert.equal(c.stats.requests, 0);
    c.destroy();
  });

  test("bad options are refused at construction", () => {
    assert.throws(() => new CampaignClient({ endpointName: "e", concurrency: 0 }), RangeError);
    for (const deadlineMs of [-1, 0, Infinity, NaN, 86_400_001, 1e12]) {
      assert.throws(() => new CampaignClient({ endpointName: "e", deadlineMs }),
        /deadlineMs must be/, String(deadlineMs));
    }
    new CampaignClient({ endpointName: "e", deadlineMs: 86_400_000 }).destroy(); // a day
    for (const attemptTimeoutMs of [-1, 0, Infinity, NaN, 86_400_001]) {
      assert.throws(() => new CampaignClient({ endpointName: "e", attemptTimeoutMs }),
        /attemptTimeoutMs must be/, String(attemptTimeoutMs));
    }
    assert.throws(() => new CampaignClient({ endpointName: "" }), TypeError);
  });

  test("a call's own deadline is checked as the client's is, before anything is sent",
    { timeout: 10_000 }, async () => {
      const c = client();
      for (const deadlineMs of [0, Infinity, NaN, 86_400_001]) {
        await assert.rejects(c.answerProbabilities([{ dayOfWeek: 1, hourOfDay: 9,
          previousAnswerRate: 0.5 }], { deadlineMs }), /deadlineMs must be/, String(deadlineMs));
      }
      assert.equal(c.stats.requests, 0);
      c.destroy();
    });
});

describe("connection errors", () => {
  test("are retried with backoff until the deadline, which names the last one", async () => {
    // A server that resets every connection it accepts (no free port taken and given back,
    // which another process could take in between).
    const server = createServer((socket) => socket.resetAndDestroy());
    const port = await new Promise<number>((done) => {
      server.listen(0, "127.0.0.1", () => done((server.address() as { port: number }).port));
    });
    const c = new CampaignClient({ endpointName: "calltime-local", region: "il-central-1",
      endpoint: `http://127.0.0.1:${port}`, credentials: LOCAL_CREDENTIALS, deadlineMs: 500,
      baseDelayMs: 20, maxDelayMs: 100 });
    try {
      await assert.rejects(c.answerProbabilities([{ dayOfWeek: 1, hourOfDay: 9,
        previousAnswerRate: 0.5 }]), (err: unknown) => {
        assert.ok(err instanceof DeadlineExceededError, String(err));
        assert.equal(err.deadlineMs, 500);
        assert.ok(err.attempts >= 2, `attempts ${err.attempts}`);
        assert.equal((err.lastError as { code?: string }).code, "ECONNRESET");
        assert.match(err.message, /deadline of 500 ms exceeded after \d+ attempts.*ECONNRESET/);
        return true;
      });
      const stats = c.stats;
      assert.ok(stats.connectionErrors >= 2 && stats.retries >= 1, JSON.stringify(stats));
      // every attempt a connection error, but one the deadline may have cut in flight
      assert.equal(stats.connectionErrors + stats.abortedAtDeadline, stats.requests);
      assert.equal(stats.deadlinesExceeded, 1);
    } finally {
      c.destroy();
      server.close();
    }
  });
});
