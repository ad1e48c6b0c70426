/** What the client promises, against an endpoint that misbehaves on purpose: a small HTTP
 * server in this process speaking SageMaker Runtime's wire protocol (`POST
 * /endpoints/{name}/invocations`, errors as `x-amzn-ErrorType`), which keeps every body it was
 * sent and the most requests it held at once. No model, no Python. */

import assert = require("node:assert/strict");
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, test } from "node:test";

import { CampaignClient, DeadlineExceededError, DEFAULTS, EndpointRequestError,
  EndpointResponseError } from "../src/index.js";
import { LOCAL_CREDENTIALS } from "./support.js";

interface Script {
  /** The first this many requests are answered ThrottlingException. */
  throttle: number;
  /** Every request answered 503 ServiceUnavailable. */
  fail: boolean;
  /** Milliseconds each answer waits. */
  delayMs: number;
  /** A 200 body to send instead of the right one. */
  body?: string;
  /** The first this many requests are never answered (a stalled socket). */
  stall?: number;
  /** Every request refused as the model's 400 (ModelError, HTTP 424), with this request id. */
  refuseWithRequestId?: string;
}

const bodies: Array<Record<string, unknown>> = [];
let script: Script = { throttle: 0, fail: false, delayMs: 0 };
let inFlight = 0;
let most = 0;
let aborted = 0;
let server: Server;
let url = "";

// Each test's clients call an endpoint of its own name: a request an earlier test abandoned
// (aborted at its deadline) that arrives late is answered but not counted as this test's.
let endpointName = "e-0";

function answer(request: IncomingMessage, response: ServerResponse): void {
  let text = "";
  const current = request.url === `/endpoints/${endpointName}/invocations`;
  request.on("data", (chunk) => { text += chunk; });
  request.on("end", () => {
    if (!current) { // a straggler from an earlier test: answered at once, not counted
      response.writeHead(404, { "x-amzn-ErrorType": "ValidationError" });
      response.end("{}");
      return;
    }
    const body = JSON.parse(text) as Record<string, unknown>;
    bodies.push(body);
    let done = false;
    response.on("close", () => { if (!done) aborted++; });
    if (bodies.length <= (script.stall ?? 0)) return; // read, never answered
    if (script.refuseWithRequestId !== undefined) {
      done = true;
      response.writeHead(424, { "x-amzn-ErrorType": "ModelError",
        "x-amzn-RequestId": script.refuseWithRequestId, "Content-Type": "application/json" });
      response.end(JSON.stringify({ Message: "Received client error (400) from primary",
        OriginalStatusCode: 400, OriginalMessage: JSON.stringify({ error: "ClientError",
          message: "features[0] (hour_of_day): expected an integer 0..23, got 25" }) }));
      return;
    }
    inFlight++;
    most = Math.max(most, inFlight);
    const throttled = bodies.length <= script.throttle;
    setTimeout(() => {
      inFlight--;
      if (script.fail || throttled) {
        const code = script.fail ? "ServiceUnavailable" : "ThrottlingException";
        response.writeHead(script.fail ? 503 : 400, { "x-amzn-ErrorType": code,
          "Content-Type": "application/json" });
        response.end(JSON.stringify({ message: code }));
      } else {
        const rows = (body["features"] as unknown[] | undefined)?.length ?? 0;
        const contacts = (body["contacts"] as Array<{ contact_id: string }> | undefined) ?? [];
        response.writeHead(200, { "Content-Type": "application/json" });
        response.end(script.body ?? JSON.stringify(rows ? { predictions: Array(rows).fill(0.5) }
          : { recommendations: contacts.map((c) => ({ contact_id: c.contact_id, slots: [] })) }));
      }
      done = true;
    }, script.delayMs).unref(); // an answer still waiting keeps no test process alive
  });
}

const clients: CampaignClient[] = [];
function clientFor(options: Partial<ConstructorParameters<typeof CampaignClient>[0]> = {}) {
  const client = new CampaignClient({ endpointName, region: "us-east-1", endpoint: url,
    credentials: LOCAL_CREDENTIALS, baseDelayMs: 5, maxDelayMs: 20, ...options });
  clients.push(client);
  return client;
}

const row = { dayOfWeek: 1, hourOfDay: 19, previousAnswerRate: 0.4 } as const;
const contact = (i: number, calls = 1) => ({ contactId: `c-${i}`, history: Array.from(
  { length: calls }, () => ({ calledAt: "2026-06-01T10:00:00Z", answered: true })) });

describe("against a scripted endpoint", () => {
  before(async () => {
    server = createServer(answer);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const client of clients) client.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    endpointName = `e-${Number(endpointName.slice(2)) + 1}`;
    bodies.length = 0;
    script = { throttle: 0, fail: false, delayMs: 0 };
    most = 0;
    aborted = 0;
  });

  test("one as_of goes with every batch and every retry when none is given", async () => {
    script.throttle = 1; // the first request is throttled and sent again
    const client = clientFor({ maxContactsPerRequest: 100 });
    await client.recommend(Array.from({ length: 150 }, (_, i) => contact(i)));
    assert.equal(bodies.length, 3); // two batches, one sent twice
    assert.equal(client.stats.retries, 1);
    assert.equal(new Set(bodies.map((b) => b["as_of"])).size, 1);
  });

  test("each request holds at most maxCallsPerRequest history calls", async () => {
    const client = clientFor({ maxCallsPerRequest: 150 });
    const contacts = Array.from({ length: 250 }, (_, i) => contact(i, i % 4));
    const recs = await client.recommend(contacts, { asOf: "2026-06-10T00:00:00Z" });
    assert.deepEqual(recs.map((r) => r.contactId), contacts.map((c) => c.contactId));
    const calls = bodies.map((b) => (b["contacts"] as Array<{ history: unknown[] }>)
      .reduce((sum, c) => sum + c.history.length, 0));
    assert.ok(Math.max(...calls) <= 150, `calls per request: ${calls.join(", ")}`);
    const sent = contacts.reduce((sum, c) => sum + c.history.length, 0);
    assert.ok(sent > 2 * 150); // more than two requests' worth: the limit splits them
    assert.equal(calls.reduce((a, b) => a + b, 0), sent); // every call sent, once
    assert.ok(bodies.every((b) => (b["contacts"] as unknown[]).length <= 100));
  });

  test("the defaults are the README's: concurrency 4, 60 s, 100 contacts, 30,000 calls",
    async () => {
      assert.equal(DEFAULTS.deadlineMs, 60_000);
      const client = new CampaignClient({ endpointName, region: "us-east-1", endpoint: url,
        credentials: LOCAL_CREDENTIALS });
      clients.push(client);
      await client.recommend(Array.from({ length: 250 }, (_, i) => contact(i, 0)));
      assert.deepEqual(bodies.map((b) => (b["contacts"] as unknown[]).length).sort(),
        [100, 100, 50].sort());
      bodies.length = 0;
      await client.recommend(Array.from({ length: 31 }, (_, i) => contact(i, 1_000)));
      const calls = bodies.map((b) => (b["contacts"] as Array<{ history: unknown[] }>)
        .reduce((sum, c) => sum + c.history.length, 0));
      assert.deepEqual(calls.sort((a, b) => a - b), [1_000, 30_000]);
      bodies.length = 0;
      script.delayMs = 300;
      const rows = new CampaignClient({ endpointName, region: "us-east-1", endpoint: url,
        credentials: LOCAL_CREDENTIALS, maxRowsPerRequest: 1 });
      clients.push(rows);
      await rows.answerProbabilities(Array.from({ length: 12 }, () => row)); // 12 requests
      assert.equal(bodies.length, 12);
      assert.equal(most, 4);
    });

  test("the SDK's own retries are off: every attempt is one request", async () => {
    script.fail = true;
    const client = clientFor({ deadlineMs: 500 });
    await assert.rejects(client.answerProbabilities([row]), DeadlineExceededError);
    assert.ok(client.stats.requests > 1);
    // not 3 SDK attempts for each (the last one may be aborted before its body arrived)
    assert.ok(bodies.length <= client.stats.requests, `${bodies.length} bodies`);
    assert.ok(bodies.length >= client.stats.requests - 1, `${bodies.length} bodies`);
  });

  test("one concurrency limit is shared by every call of a client", async () => {
    script.delayMs = 100;
    const client = clientFor({ concurrency: 2 });
    await Promise.all(Array.from({ length: 6 }, () => client.answerProbabilities([row])));
    assert.equal(bodies.length, 6);
    assert.ok(most <= 2, `${most} requests at once`); // a per-call limit would let 6 in
  });

  test("the caller's signal aborts the call, its request in flight too", async () => {
    script.delayMs = 60_000; // an answer that would come long after any bound below
    const client = clientFor();
    const controller = new AbortController();
    const started = performance.now();
    const call = client.answerProbabilities([row], { abortSignal: controller.signal });
    while (bodies.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort(new Error("the campaign stopped")); // its request is in flight
    await assert.rejects(call, /the campaign stopped/);
    assert.ok(performance.now() - started < 30_000); // not when the answer would have come
    while (aborted === 0 && performance.now() - started < 30_000) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(aborted, 1); // the connection was closed, not left waiting
  });

  test("a 200 whose body is not the documented shape is an EndpointResponseError", async () => {
    script.body = JSON.stringify({ predictions: [] }); // no probability for the row sent
    await assert.rejects(clientFor().answerProbabilities([row]), (err: unknown) => {
      assert.ok(err instanceof EndpointResponseError, String(err));
      assert.equal(err.batch.firstIndex, 0);
      return true;
    });
    script.body = "not json";
    await assert.rejects(clientFor().answerProbabilities([row]), EndpointResponseError);
  });

  test("a stalled socket costs one attempt: aborted at attemptTimeoutMs and sent again",
    async () => {
      script.stall = 1; // the first request is read and never answered
      const client = clientFor({ attemptTimeoutMs: 300, deadlineMs: 20_000 });
      const started = performance.now();
      assert.deepEqual(await client.answerProbabilities([row]), [0.5]);
      // answered by the second attempt, long before the deadline would have ended the call
      assert.ok(performance.now() - started < 10_000);
      assert.equal(bodies.length, 2);
      const stats = client.stats;
      assert.equal(stats.requests, 2);
      assert.equal(stats.attemptTimeouts, 1);
      assert.equal(stats.retries, 1);
      assert.equal(stats.succeeded, 1);
      while (aborted === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(aborted, 1); // the stalled request's connection was closed
    });

  test("a refusal keeps the SDK's $metadata (requestId) and the model's own status",
    async () => {
      script.refuseWithRequestId = "4f1c-req";
      const client = clientFor();
      await assert.rejects(client.answerProbabilities([row, row]), (err: unknown) => {
        assert.ok(err instanceof EndpointRequestError, String(err));
        assert.equal(err.$metadata.requestId, "4f1c-req");
        assert.equal(err.$metadata.httpStatusCode, 424);
        assert.equal(err.status, 400);
        assert.equal(err.code, "ModelError");
        assert.equal(err.inputIndex, 0);
        assert.match(err.message, /request id 4f1c-req/);
        return true;
      });
      assert.equal(client.stats.requests, 1); // a refusal is never retried
      assert.equal(client.stats.clientErrors, 1);
    });
});
