/**
 * Against the repo's local endpoint (`calltime local endpoint`, the SageMaker Runtime wire
 * protocol over HTTP) through the real @aws-sdk/client-sagemaker-runtime: no mocks.
 *
 * Two endpoints, started at once in `before` (a few seconds each) and stopped in `after`:
 *   main       --cold-start-delay 0.2                               (format, batching, 4xx)
 *   throttled  --cold-start-delay 0.2 --max-concurrency 2 --latency 0.2
 * and a cold one (scaled to zero, ModelNotReady while it provisions) of its own for each
 * cold-start test, so that none depends on what another left behind.
 */

import assert = require("node:assert/strict");
import { after, before, describe, test } from "node:test";

import { InvokeEndpointCommand, SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime";

import {
  CampaignClient,
  type CampaignClientOptions,
  type Contact,
  DAY_NAMES,
  type DayOfWeek,
  DeadlineExceededError,
  EndpointRequestError,
  type SlotFeatures,
} from "../src/index.js";
import {
  cleanUp,
  delay,
  LOCAL_CREDENTIALS,
  type LocalEndpoint,
  prng,
  startEndpoint,
  testModel,
} from "./support.js";

function randomRows(count: number, seed: number): SlotFeatures[] {
  const random = prng(seed);
  return Array.from({ length: count }, () => ({
    dayOfWeek: Math.floor(random() * 7) as DayOfWeek,
    hourOfDay: Math.floor(random() * 24),
    previousAnswerRate: Math.round(random() * 1000) / 1000,
  }));
}

const ZONES = ["Asia/Jerusalem", "Europe/London", "America/New_York"];

function randomContacts(count: number, calls: (i: number) => number, seed: number): Contact[] {
  const random = prng(seed);
  const start = Date.UTC(2026, 3, 1);
  return Array.from({ length: count }, (_, i) => ({
    contactId: `c-${i}`,
    timezone: ZONES[i % ZONES.length]!,
    history: Array.from({ length: calls(i) }, () => ({
      calledAt: new Date(start + Math.floor(random() * 60 * 24) * 3_600_000),
      answered: random() < 0.4,
      durationSeconds: Math.floor(random() * 300),
    })),
  }));
}

function assertClose(actual: number[], expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) < 1e-9,
      `${what}[${i}]: ${actual[i]} != ${expected[i]}`);
  }
}

const ms = (since: number) => performance.now() - since;

describe("against the local endpoint", { timeout: 300_000 }, () => {
  let main: LocalEndpoint;
  let throttled: LocalEndpoint;
  const clients: CampaignClient[] = [];

  const clientFor = (endpoint: LocalEndpoint, options: Partial<CampaignClientOptions> = {}) => {
    const client = new CampaignClient({
      endpointName: endpoint.endpointName,
      region: endpoint.region,
      endpoint: endpoint.url,
      credentials: LOCAL_CREDENTIALS,
      ...options,
    });
    clients.push(client);
    return client;
  };

  before(async () => {
    const model = await testModel();
    [main, throttled] = await Promise.all([
      startEndpoint(model, ["--cold-start-delay", "0.2"]),
      startEndpoint(model, ["--cold-start-delay", "0.2", "--max-concurrency", "2",
        "--latency", "0.2"]),
    ]);
  }, { timeout: 240_000 });

  after(async () => {
    for (const client of clients) client.destroy();
    await cleanUp();
  });

  describe("the seed's caller, as written", () => {
    test("one flat row -> exactly one probability, HTTP 200", async () => {
      const dayOfWeek = 1; // Monday (Date.getDay())
      const hourOfDay = 19;
      const previousAnswerRate = 0.4;
      const client = new SageMakerRuntimeClient({ region: "il-central-1", endpoint: main.url,
        credentials: LOCAL_CREDENTIALS });
      const result = await client.send(new InvokeEndpointCommand({
        EndpointName: main.endpointName,
        ContentType: "application/json",
        Body: JSON.stringify({ features: [dayOfWeek, hourOfDay, previousAnswerRate] }),
      }));
      const predictions = JSON.parse(new TextDecoder().decode(result.Body)).predictions;
      client.destroy();

      assert.equal(result.$metadata.httpStatusCode, 200);
      assert.equal(predictions.length, 1);
      assert.ok(predictions[0] > 0 && predictions[0] < 1, `prediction ${predictions[0]}`);

      // The client answers the same for the same row (it sends the list-of-rows form).
      const campaign = clientFor(main);
      assert.deepEqual(await campaign.answerProbabilities([{ dayOfWeek, hourOfDay,
        previousAnswerRate }]), predictions);
    });
  });

  describe("client errors (4xx) are thrown, never retried", () => {
    test("hourOfDay 25 -> EndpointRequestError 400 naming features[...] (hour_of_day)",
      async () => {
        const client = clientFor(main);
        await assert.rejects(client.answerProbabilities([
          { dayOfWeek: 2, hourOfDay: 25, previousAnswerRate: 0.5 },
        ]), (err: unknown) => {
          assert.ok(err instanceof EndpointRequestError, String(err));
          assert.equal(err.status, 400);
          assert.equal(err.httpStatus, 424);
          assert.equal(err.code, "ModelError");
          assert.equal(err.errorCode, "ClientError");
          assert.match(err.endpointMessage, /^features\[0\]\S* \(hour_of_day\): .*25/);
          assert.match(err.message, /features\[0\]\S* \(hour_of_day\)/);
          return true;
        });
        const stats = client.stats;
        assert.equal(stats.requests, 1);
        assert.equal(stats.retries, 0);
        assert.equal(stats.clientErrors, 1);
      });

    test("in a batched call: the first refusal stops the call, its input index named",
      async () => {
        const client = clientFor(main, { concurrency: 1, maxRowsPerRequest: 10 });
        const rows = randomRows(30, 1);
        rows[15] = { dayOfWeek: 3, hourOfDay: 25, previousAnswerRate: 0.1 };
        await assert.rejects(client.answerProbabilities(rows), (err: unknown) => {
          assert.ok(err instanceof EndpointRequestError, String(err));
          assert.deepEqual(err.batch, { firstIndex: 10, count: 10 });
          assert.equal(err.inputIndex, 15);
          return true;
        });
        // Rows 0-9 answered, rows 10-19 refused, rows 20-29 never sent.
        assert.equal(client.stats.requests, 2);
        assert.equal(client.stats.retries, 0);
      });

    test("unknown endpoint name -> ValidationError, not retried", async () => {
      const client = clientFor(main, { endpointName: "no-such-endpoint" });
      await assert.rejects(client.answerProbabilities(randomRows(3, 2)), (err: unknown) => {
        assert.ok(err instanceof EndpointRequestError, String(err));
        assert.equal(err.code, "ValidationError");
        assert.equal(err.status, 400);
        assert.match(err.endpointMessage, /no-such-endpoint/);
        return true;
      });
      assert.equal(client.stats.requests, 1);
      assert.equal(client.stats.retries, 0);
    });
  });

  describe("batching", () => {
    test("25,000 rows -> 3 requests, predictions in input order", async () => {
      const rows = randomRows(25_000, 3);
      const client = clientFor(main);
      const predictions = await client.answerProbabilities(rows);
      assert.equal(client.stats.requests, 3);
      assert.equal(predictions.length, 25_000);
      assert.ok(predictions.every((p) => p > 0 && p < 1));

      // The same rows reversed: the reversed predictions.
      const reversed = await client.answerProbabilities([...rows].reverse());
      assertClose(reversed.reverse(), predictions, "reversed");
      // And a few rows alone, from each of the three requests.
      for (const i of [0, 9_999, 10_000, 17_321, 24_999]) {
        assertClose(await client.answerProbabilities([rows[i]!]), [predictions[i]!], `row ${i}`);
      }
      assert.equal(client.stats.retries, 0);
    });

    test("250 contacts -> 3 requests, recommendations in input order", async () => {
      const contacts = randomContacts(250, (i) => i % 7, 4);
      const client = clientFor(main);
      const window = { monday: [9, 21], tuesday: [9, 21], wednesday: [9, 12] } as const;
      const recs = await client.recommend(contacts, { callingWindow: window, topK: 4,
        asOf: "2026-06-08T06:00:00Z" });
      assert.equal(client.stats.requests, 3);
      assert.deepEqual(recs.map((r) => r.contactId), contacts.map((c) => c.contactId));
      for (const rec of recs) {
        assert.equal(rec.slots.length, 4);
        for (const slot of rec.slots) {
          assert.ok(["monday", "tuesday", "wednesday"].includes(slot.day), slot.day);
          assert.ok(DAY_NAMES.includes(slot.day));
          const [start, end] = window[slot.day as keyof typeof window];
          assert.ok(slot.hour >= start && slot.hour < end, `${slot.day} ${slot.hour}`);
          assert.ok(slot.answerProbability > 0 && slot.answerProbability < 1);
        }
      }
      // A contact alone gets the recommendation it got in its batch (same as_of).
      const alone = await client.recommend([contacts[201]!], { callingWindow: window, topK: 4,
        asOf: "2026-06-08T06:00:00Z" });
      assert.deepEqual(alone, [recs[201]]);
    });

    test("a small maxBodyBytes splits into more requests, every body under it", async () => {
      // A pre-built SDK client (maxAttempts 1, as the client's doc asks) with a middleware that
      // records the size of every body actually sent.
      const sizes: number[] = [];
      const sagemaker = new SageMakerRuntimeClient({ region: main.region, endpoint: main.url,
        credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
      sagemaker.middlewareStack.add((next) => async (args) => {
        const body = (args.request as { body?: unknown }).body;
        sizes.push(typeof body === "string" ? Buffer.byteLength(body)
          : (body as Uint8Array).byteLength);
        return next(args);
      }, { step: "finalizeRequest", name: "recordBodySizes" });

      const contacts = randomContacts(60, () => 20, 5); // ~1.7 KB of JSON each
      const maxBodyBytes = 16_000;
      const client = clientFor(main, { sagemakerClient: sagemaker, maxBodyBytes });
      const recs = await client.recommend(contacts, { asOf: "2026-06-08T06:00:00Z" });
      assert.deepEqual(recs.map((r) => r.contactId), contacts.map((c) => c.contactId));
      assert.ok(sizes.length >= 6, `${sizes.length} requests`); // 1 by contact count alone
      assert.equal(client.stats.requests, sizes.length);
      assert.ok(sizes.every((s) => s <= maxBodyBytes), `sizes ${sizes.join(", ")}`);
      assert.ok(Math.max(...sizes) > maxBodyBytes * 0.8, "requests are filled up");

      sizes.length = 0;
      const rows = randomRows(3_000, 6);
      const rowBytes = rows.reduce((sum, r) => sum +
        JSON.stringify([r.dayOfWeek, r.hourOfDay, r.previousAnswerRate]).length + 1, 0);
      const rowsClient = clientFor(main, { sagemakerClient: sagemaker, maxBodyBytes: 8_000 });
      const predictions = await rowsClient.answerProbabilities(rows);
      assert.equal(predictions.length, 3_000);
      assert.ok(sizes.length >= Math.ceil(rowBytes / 8_000) && sizes.length > 1,
        `${sizes.length} requests for ${rowBytes} bytes of rows`);
      assert.ok(sizes.every((s) => s <= 8_000), `sizes ${sizes.join(", ")}`);
      assertClose(predictions, await clientFor(main).answerProbabilities(rows), "split by bytes");
      sagemaker.destroy();
    });
  });

  describe("throttling beyond the endpoint's MaxConcurrency (2)", () => {
    const rows = randomRows(1_600, 7);

    test("concurrency 8: throttled requests are retried until all succeed", async () => {
      await clientFor(throttled).answerProbabilities(rows.slice(0, 1)); // pays the cold start
      const client = clientFor(throttled, { concurrency: 8, maxRowsPerRequest: 100,
        baseDelayMs: 50, maxDelayMs: 1_000 });
      const predictions = await client.answerProbabilities(rows); // 16 requests
      const stats = client.stats;
      assert.ok(stats.throttled > 0, JSON.stringify(stats));
      assert.ok(stats.retries > 0, JSON.stringify(stats));
      assert.equal(stats.retries, stats.throttled);
      assert.equal(stats.succeeded, 16);
      assert.equal(stats.requests, 16 + stats.retries);
      assertClose(predictions, await clientFor(main).answerProbabilities(rows), "throttled");
    });

    test("concurrency 2: never throttled", async () => {
      const client = clientFor(throttled, { concurrency: 2, maxRowsPerRequest: 200 });
      assert.equal((await client.answerProbabilities(rows)).length, 1_600); // 8 requests
      assert.equal(client.stats.requests, 8);
      assert.equal(client.stats.throttled, 0);
    });
  });

  describe("serverless cold start (ModelNotReady while it provisions)", () => {
    const rows = randomRows(400, 8);
    // A new endpoint starts scaled to zero: its first request starts the cold start.
    const coldEndpoint = async (seconds: number) => startEndpoint(await testModel(),
      ["--cold-start-delay", String(seconds), "--not-ready-while-cold"]);

    test("calls during a cold start get ModelNotReady, retry, and all succeed", async () => {
      const cold = await coldEndpoint(3);
      const client = clientFor(cold, { concurrency: 4, maxRowsPerRequest: 100,
        baseDelayMs: 50, maxDelayMs: 500 });
      const started = performance.now();
      const first = client.answerProbabilities(rows.slice(0, 1)); // starts the cold start
      await delay(300);
      const second = client.answerProbabilities(rows); // 4 requests while it provisions
      const [one, all] = await Promise.all([first, second]);
      assert.equal(one.length, 1);
      assert.equal(all.length, 400);
      assert.ok(ms(started) >= 3_000, `elapsed ${ms(started)} ms`); // at least the cold start
      const stats = client.stats;
      assert.ok(stats.notReady > 0, JSON.stringify(stats));
      assert.ok(stats.retries > 0, JSON.stringify(stats));
      assert.equal(stats.deadlinesExceeded, 0);
      assert.equal(stats.succeeded, 5);
    });

    test("a deadline shorter than the cold start: DeadlineExceededError at the deadline",
      async () => {
        // A cold start of 60 s: far longer than the 1 s deadline, however loaded the machine.
        const cold = await coldEndpoint(60);
        const deadlineMs = 1_000;
        const client = clientFor(cold, { deadlineMs, concurrency: 2, maxRowsPerRequest: 100,
          baseDelayMs: 50, maxDelayMs: 200 });
        let started = performance.now();
        // Two batches: one starts the cold start and waits on it (aborted in flight at the
        // deadline), the other is answered ModelNotReady and retried until the deadline.
        await assert.rejects(client.answerProbabilities(rows.slice(0, 200)), (err: unknown) => {
          assert.ok(err instanceof DeadlineExceededError, String(err));
          assert.equal(err.deadlineMs, deadlineMs);
          assert.ok(err.abortedInFlight >= 1, err.message);
          assert.ok(err.attempts >= 2, err.message);
          assert.match(err.message, /deadline of 1000 ms exceeded after \d+ attempts/);
          assert.ok(client.stats.notReady > 0, JSON.stringify(client.stats));
          assert.equal((err.lastError as Error).name, "ModelNotReadyException");
          assert.match(err.message, /last error: ModelNotReadyException \(HTTP 429\)/);
          return true;
        });
        // Thrown at the deadline, not after the cold start (60 s) it was waiting on.
        assert.ok(ms(started) >= deadlineMs - 10 && ms(started) < 30_000, `${ms(started)} ms`);

        // The cold start the aborted request began is still provisioning: every attempt is
        // ModelNotReady, and the error names it.
        client.resetStats();
        started = performance.now();
        await assert.rejects(client.answerProbabilities(rows.slice(0, 200)), (err: unknown) => {
          assert.ok(err instanceof DeadlineExceededError, String(err));
          assert.equal((err.lastError as Error).name, "ModelNotReadyException");
          assert.match(err.message, /deadline of 1000 ms exceeded after \d+ attempts .*; last error: ModelNotReadyException \(HTTP 429\): Model is not ready/);
          assert.ok(err.attempts >= 2);
          return true;
        });
        assert.ok(ms(started) >= deadlineMs - 10 && ms(started) < 30_000, `${ms(started)} ms`);
        const stats = client.stats;
        assert.ok(stats.notReady >= 2, JSON.stringify(stats));
        assert.equal(stats.succeeded, 0);
        assert.equal(stats.deadlinesExceeded, 1);
      });
  });
});
