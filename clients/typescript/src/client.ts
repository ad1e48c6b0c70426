import {
  InvokeEndpointCommand,
  ModelError,
  SageMakerRuntimeClient,
  type InvokeEndpointCommandOutput,
  type SageMakerRuntimeClientConfig,
} from "@aws-sdk/client-sagemaker-runtime";

import { setMaxListeners } from "node:events";

import { type Batch, buildBody, splitBatches, utf8Bytes } from "./batching.js";
import {
  type BatchPosition,
  DeadlineExceededError,
  type ResponseMetadata,
  EndpointRequestError,
  EndpointResponseError,
  InputLimitError,
} from "./errors.js";
import {
  AttemptTimedOut,
  backoffDelayMs,
  classifyFailure,
  type FailureKind,
  httpStatusOf,
  isRetryable,
  Semaphore,
  sleep,
  untilAborted,
} from "./retry.js";
import type {
  ClientStats,
  CallOptions,
  Contact,
  Recommendation,
  RecommendOptions,
  SlotFeatures,
} from "./types.js";
import { readPredictions, readRecommendations, recommendationsEnvelope, wireContact, wireRow }
  from "./wire.js";

/** The endpoint's own limits (inference_code/request_parsing.py). */
export const ENDPOINT_LIMITS = {
  rowsPerRequest: 10_000,
  contactsPerRequest: 100,
  historyPerContact: 1_000,
  callsPerRequest: 30_000,
  /** A serverless endpoint refuses bodies over 4 MB. */
  bodyBytes: 4 * 1024 * 1024,
} as const;

export const DEFAULTS = {
  concurrency: 4,
  /** Fits a serverless cold start (10-15 s) plus the retries of the requests queued behind it. */
  deadlineMs: 60_000,
  attemptTimeoutMs: 30_000,
  /** 4 MB less 64 KiB: room for anything a proxy or a later field adds. */
  maxBodyBytes: ENDPOINT_LIMITS.bodyBytes - 64 * 1024,
  baseDelayMs: 100,
  maxDelayMs: 5_000,
} as const;

export interface CampaignClientOptions {
  /** The SageMaker endpoint's name. */
  endpointName: string;
  /** AWS region; default: the SDK's (AWS_REGION, set in Lambda). Ignored with `sagemakerClient`. */
  region?: string | undefined;
  /** Endpoint URL override, e.g. the local endpoint's "http://127.0.0.1:37733". */
  endpoint?: string | undefined;
  /** Credentials; default: the SDK's provider chain (the Lambda's role). */
  credentials?: SageMakerRuntimeClientConfig["credentials"] | undefined;
  /**
   * A client to send with instead of one made here. Build it with `maxAttempts: 1`, or the
   * SDK's retries run inside each of this client's attempts (and past its deadline).
   */
  sagemakerClient?: SageMakerRuntimeClient | undefined;
  /** Most requests in flight at once from this client, all calls together. Default 4. */
  concurrency?: number | undefined;
  /** Time allowed for a whole call, batches and retries included. Default 60,000. */
  deadlineMs?: number | undefined;
  /**
   * Time allowed for one request (one attempt) before it is aborted and retried, so a stalled
   * socket costs one attempt, not the whole deadline. Default 30,000: twice a normal serverless
   * cold start, which holds the first request while the model loads.
   */
  attemptTimeoutMs?: number | undefined;
  /** Default 10,000 (the endpoint's limit). */
  maxRowsPerRequest?: number | undefined;
  /** Default 100 (the endpoint's limit). */
  maxContactsPerRequest?: number | undefined;
  /** Default 1,000 (the endpoint's limit); a contact with more is refused before sending. */
  maxHistoryPerContact?: number | undefined;
  /** History calls of all contacts in one request. Default 30,000 (the endpoint's limit). */
  maxCallsPerRequest?: number | undefined;
  /** Bytes of one request body (serialized JSON). Default 4 MB less 64 KiB. */
  maxBodyBytes?: number | undefined;
  /** Backoff: the first retry waits up to this long (full jitter). Default 100. */
  baseDelayMs?: number | undefined;
  /** Backoff: no retry waits longer than this. Default 5,000. */
  maxDelayMs?: number | undefined;
  /** Random numbers in [0, 1) for the jitter; default Math.random. */
  random?: (() => number) | undefined;
}

/** Why a call's AbortController fired, besides the caller's own signal. */
class DeadlineReached extends Error {}
class SiblingFailed extends Error {}

interface CallContext {
  controller: AbortController;
  started: number;
  deadlineAt: number;
  deadlineMs: number;
  attempts: number;
  abortedInFlight: number;
  batchesDone: number;
  lastError: unknown;
}

const now = () => performance.now();

/**
 * Answer probabilities and call-time recommendations from the calltime endpoint, batched into
 * requests inside the endpoint's limits, sent a few at a time, retried with backoff within one
 * deadline per call. Make one per Lambda container (outside the handler) and reuse it.
 */
export class CampaignClient {
  readonly endpointName: string;
  readonly sagemaker: SageMakerRuntimeClient;
  private readonly ownsSageMaker: boolean;
  private readonly concurrency: number;
  private readonly deadlineMs: number;
  private readonly attemptTimeoutMs: number;
  private readonly maxRowsPerRequest: number;
  private readonly maxContactsPerRequest: number;
  private readonly maxHistoryPerContact: number;
  private readonly maxCallsPerRequest: number;
  private readonly maxBodyBytes: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly random: () => number;
  private readonly permits: Semaphore;
  private counters: ClientStats = emptyStats();

  constructor(options: CampaignClientOptions) {
    if (!options.endpointName) throw new TypeError("CampaignClient: endpointName is required");
    this.endpointName = options.endpointName;
    this.concurrency = positiveInteger("concurrency", options.concurrency ?? DEFAULTS.concurrency);
    this.deadlineMs = deadline(options.deadlineMs ?? DEFAULTS.deadlineMs);
    this.attemptTimeoutMs = deadline(options.attemptTimeoutMs ?? DEFAULTS.attemptTimeoutMs,
      "attemptTimeoutMs");
    this.maxRowsPerRequest = positiveInteger("maxRowsPerRequest",
      options.maxRowsPerRequest ?? ENDPOINT_LIMITS.rowsPerRequest);
    this.maxContactsPerRequest = positiveInteger("maxContactsPerRequest",
      options.maxContactsPerRequest ?? ENDPOINT_LIMITS.contactsPerRequest);
    this.maxHistoryPerContact = positiveInteger("maxHistoryPerContact",
      options.maxHistoryPerContact ?? ENDPOINT_LIMITS.historyPerContact);
    this.maxCallsPerRequest = positiveInteger("maxCallsPerRequest",
      options.maxCallsPerRequest ?? ENDPOINT_LIMITS.callsPerRequest);
    this.maxBodyBytes = positiveInteger("maxBodyBytes",
      options.maxBodyBytes ?? DEFAULTS.maxBodyBytes);
    this.baseDelayMs = positive("baseDelayMs", options.baseDelayMs ?? DEFAULTS.baseDelayMs);
    this.maxDelayMs = positive("maxDelayMs", options.maxDelayMs ?? DEFAULTS.maxDelayMs);
    this.random = options.random ?? Math.random;
    this.permits = new Semaphore(this.concurrency);
    this.ownsSageMaker = options.sagemakerClient === undefined;
    this.sagemaker = options.sagemakerClient ?? new SageMakerRuntimeClient({
      ...(options.region !== undefined ? { region: options.region } : {}),
      ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
      ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
      // One attempt per send(): retries are this client's alone, with jittered backoff inside the
      // call's one deadline. The SDK's own retries (3 attempts by default) would multiply ours
      // and wait past the deadline.
      maxAttempts: 1,
    });
  }

  /** A copy of the counters (see ClientStats). */
  get stats(): ClientStats {
    return { ...this.counters };
  }

  resetStats(): void {
    this.counters = emptyStats();
  }

  /** Closes the SDK client's connections if this client made it. */
  destroy(): void {
    if (this.ownsSageMaker) this.sagemaker.destroy();
  }

  /**
   * The answer probability (0..1) of each row, in input order (the seed format, batched by
   * `maxRowsPerRequest` and `maxBodyBytes`).
   */
  async answerProbabilities(rows: readonly SlotFeatures[],
    options: CallOptions = {}): Promise<number[]> {
    const items = rows.map((row) => JSON.stringify(wireRow(row)));
    const prefix = '{"features":[';
    const suffix = "]}";
    const batches = splitBatches({
      itemBytes: items.map(utf8Bytes),
      envelopeBytes: utf8Bytes(prefix) + utf8Bytes(suffix),
      describe: (i) => `rows[${i}]`,
    }, { maxItems: this.maxRowsPerRequest, maxBytes: this.maxBodyBytes });
    return this.run(batches, (batch) => buildBody(prefix, items, batch, suffix),
      (body, batch) => readPredictions(body, batch.end - batch.start), options);
  }

  /**
   * Recommended call slots for each contact, one Recommendation per contact in input order.
   * A contact with more than `maxHistoryPerContact` history calls, or too large for any one
   * request, is refused before anything is sent (InputLimitError naming it).
   */
  async recommend(contacts: readonly Contact[],
    options: RecommendOptions = {}): Promise<Recommendation[]> {
    const describe = (i: number) =>
      `contacts[${i}] (contact_id ${JSON.stringify(contacts[i]?.contactId)})`;
    const weights = contacts.map((contact, i) => {
      const calls = contact.history?.length ?? 0;
      if (calls > this.maxHistoryPerContact) {
        throw new InputLimitError(`${describe(i)}: ${calls} history calls exceed ` +
          `${this.maxHistoryPerContact}`, i);
      }
      return calls;
    });
    const items = contacts.map((contact) => JSON.stringify(wireContact(contact)));
    // One as_of for every batch: the endpoint's default is "now" per request.
    const envelope = JSON.stringify(recommendationsEnvelope({
      callingWindow: options.callingWindow,
      topK: options.topK,
      asOf: options.asOf ?? new Date(),
    }));
    const prefix = '{"contacts":[';
    const suffix = "]," + envelope.slice(1); // envelope always has as_of: never "{}"
    const batches = splitBatches({
      itemBytes: items.map(utf8Bytes),
      itemWeights: weights,
      envelopeBytes: utf8Bytes(prefix) + utf8Bytes(suffix),
      describe,
    }, {
      maxItems: this.maxContactsPerRequest,
      maxBytes: this.maxBodyBytes,
      maxWeight: this.maxCallsPerRequest,
    });
    return this.run(batches, (batch) => buildBody(prefix, items, batch, suffix),
      (body, batch) => readRecommendations(body,
        contacts.slice(batch.start, batch.end).map((c) => c.contactId)), options);
  }

  /**
   * Sends every batch, at most `concurrency` in flight, and returns their results in batch
   * order. The first batch that fails for good aborts the others (in flight or waiting) and
   * its error is thrown; at the deadline every request still in flight is aborted and
   * DeadlineExceededError is thrown.
   */
  private async run<T>(batches: readonly Batch[], body: (batch: Batch) => string,
    parse: (json: unknown, batch: Batch) => T[] | string, options: CallOptions): Promise<T[]> {
    if (batches.length === 0) return [];
    const deadlineMs = deadline(options.deadlineMs ?? this.deadlineMs);
    const controller = new AbortController();
    // Each worker listens on the call's signal at most twice at once (its attempt's signal,
    // which the SDK's request and the wait for its answer listen on, and a backoff sleep or a
    // wait for a permit).
    setMaxListeners(4 * this.concurrency + 10, controller.signal);
    const started = now();
    const ctx: CallContext = {
      controller, started, deadlineAt: started + deadlineMs, deadlineMs,
      attempts: 0, abortedInFlight: 0, batchesDone: 0, lastError: undefined,
    };
    const timer = setTimeout(() => controller.abort(new DeadlineReached()), deadlineMs);
    const callerSignal = options.abortSignal;
    const onCallerAbort = () => controller.abort(callerSignal?.reason);
    if (callerSignal?.aborted) onCallerAbort();
    else callerSignal?.addEventListener("abort", onCallerAbort, { once: true });

    const results: T[][] = new Array<T[]>(batches.length);
    let next = 0;
    let failure: { error: unknown } | undefined;
    const worker = async () => {
      while (!controller.signal.aborted && next < batches.length) {
        const index = next++;
        const batch = batches[index]!;
        try {
          results[index] = await this.sendBatch(ctx, batch, body(batch), parse);
          ctx.batchesDone++;
        } catch (err) {
          if (!controller.signal.aborted) {
            failure = { error: err };
            controller.abort(new SiblingFailed());
          }
          return;
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(this.concurrency, batches.length) }, worker));
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener("abort", onCallerAbort);
    }
    if (failure !== undefined) throw failure.error;
    if (controller.signal.aborted) {
      if (controller.signal.reason instanceof DeadlineReached) {
        this.counters.deadlinesExceeded++;
        throw new DeadlineExceededError({
          endpointName: this.endpointName,
          deadlineMs,
          elapsedMs: Math.round(now() - started),
          attempts: ctx.attempts,
          abortedInFlight: ctx.abortedInFlight,
          batchesDone: ctx.batchesDone,
          batches: batches.length,
          lastError: ctx.lastError,
        });
      }
      throw controller.signal.reason; // the caller's own abort
    }
    return results.flat();
  }

  /** One batch: attempts until an answer, a failure for good, or the call's abort. */
  private async sendBatch<T>(ctx: CallContext, batch: Batch, body: string,
    parse: (json: unknown, batch: Batch) => T[] | string): Promise<T[]> {
    const signal = ctx.controller.signal;
    const position: BatchPosition = { firstIndex: batch.start, count: batch.end - batch.start };
    for (let retry = 1; ; retry++) {
      const release = await this.permits.acquire(signal);
      if (signal.aborted) { // aborted as the permit was granted
        release();
        throw signal.reason;
      }
      let output: InvokeEndpointCommandOutput | undefined;
      let failure: unknown;
      // Each attempt has its own signal: the call's abort (deadline, a sibling's failure, the
      // caller) ends it, and so does the attempt timeout, after which the request is retried.
      const attempt = new AbortController();
      const onCallAbort = () => attempt.abort(signal.reason);
      signal.addEventListener("abort", onCallAbort, { once: true });
      const timeoutMs = this.attemptTimeoutMs;
      const timer = setTimeout(() => attempt.abort(new AttemptTimedOut(timeoutMs)), timeoutMs);
      try {
        ctx.attempts++;
        this.counters.requests++;
        if (retry > 1) this.counters.retries++; // counted as it is sent, never before
        const sent = this.sagemaker.send(new InvokeEndpointCommand({
          EndpointName: this.endpointName,
          ContentType: "application/json",
          Accept: "application/json",
          Body: body,
        }), { abortSignal: attempt.signal });
        // The SDK honours abortSignal while the request is in flight; untilAborted also covers
        // the answer's body being read, so nothing is awaited past an abort.
        output = await untilAborted(sent, attempt.signal);
      } catch (err) {
        failure = err;
      } finally {
        clearTimeout(timer);
        signal.removeEventListener("abort", onCallAbort);
        release();
      }
      if (output !== undefined) {
        this.counters.succeeded++;
        return this.readAnswer(output, batch, position, parse);
      }
      if (signal.aborted) {
        if (signal.reason instanceof DeadlineReached) {
          ctx.abortedInFlight++;
          this.counters.abortedAtDeadline++;
        }
        throw signal.reason;
      }
      const kind = classifyFailure(failure);
      this.count(kind);
      if (!isRetryable(kind)) {
        throw kind === "client" ? this.requestError(failure, position) : failure;
      }
      ctx.lastError = failure;
      const remaining = ctx.deadlineAt - now();
      // Never sleep past the deadline: the wait is capped at what is left, and the deadline's
      // abort ends it (and the call) when it comes.
      await sleep(Math.min(backoffDelayMs(retry, this.baseDelayMs, this.maxDelayMs, this.random),
        Math.max(0, remaining)), signal);
      if (now() >= ctx.deadlineAt) {
        ctx.controller.abort(new DeadlineReached());
        throw signal.reason;
      }
    }
  }

  private readAnswer<T>(output: InvokeEndpointCommandOutput, batch: Batch,
    position: BatchPosition, parse: (json: unknown, batch: Batch) => T[] | string): T[] {
    const where = `calltime endpoint "${this.endpointName}" (the request of input items ` +
      `${batch.start}..${batch.end - 1})`;
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(output.Body));
    } catch (err) {
      throw new EndpointResponseError(`${where} answered a body that is not JSON`, position,
        output.$metadata, { cause: err });
    }
    const parsed = parse(json, batch);
    if (typeof parsed === "string") {
      throw new EndpointResponseError(`${where} answered an unexpected body: ${parsed}`, position,
        output.$metadata);
    }
    return parsed;
  }

  private count(kind: FailureKind): void {
    switch (kind) {
      case "throttled": this.counters.throttled++; break;
      case "notReady": this.counters.notReady++; break;
      case "server": this.counters.serverErrors++; break;
      case "connection": this.counters.connectionErrors++; break;
      case "timeout": this.counters.attemptTimeouts++; break;
      case "client": this.counters.clientErrors++; break;
      case "other": break;
    }
  }

  private requestError(err: unknown, batch: BatchPosition): EndpointRequestError {
    const e = err as Error & { OriginalStatusCode?: unknown; OriginalMessage?: unknown;
      $metadata?: ResponseMetadata };
    const httpStatus = httpStatusOf(err);
    let status = httpStatus ?? 400;
    if (err instanceof ModelError && typeof e.OriginalStatusCode === "number" &&
      e.OriginalStatusCode > 0) {
      status = e.OriginalStatusCode;
    }
    let endpointMessage = e.message;
    let errorCode: string | undefined;
    if (typeof e.OriginalMessage === "string" && e.OriginalMessage !== "") {
      endpointMessage = e.OriginalMessage;
      try {
        const original = JSON.parse(e.OriginalMessage) as { message?: unknown; error?: unknown };
        if (typeof original?.message === "string") endpointMessage = original.message;
        if (typeof original?.error === "string") errorCode = original.error;
      } catch {
        // not JSON: the container's text as it is
      }
    }
    const named = /^(?:features|contacts)\[(\d+)\]/.exec(endpointMessage);
    return new EndpointRequestError({
      status,
      httpStatus,
      code: e.name,
      endpointMessage,
      errorCode,
      endpointName: this.endpointName,
      batch,
      inputIndex: named ? batch.firstIndex + Number(named[1]) : undefined,
      $metadata: e.$metadata ?? {},
      cause: err,
    });
  }
}

function emptyStats(): ClientStats {
  return {
    requests: 0, succeeded: 0, retries: 0, throttled: 0, notReady: 0, serverErrors: 0,
    connectionErrors: 0, attemptTimeouts: 0, clientErrors: 0, abortedAtDeadline: 0,
    deadlinesExceeded: 0,
  };
}

function positive(name: string, value: number): number {
  if (!(typeof value === "number" && value > 0 && Number.isFinite(value))) {
    throw new RangeError(`CampaignClient: ${name} must be a positive number, got ${value}`);
  }
  return value;
}

const DAY_MS = 86_400_000;

/** A deadline is a finite number of milliseconds, more than 0 and at most a day (a timer of
 * more than 2^31 - 1 ms would fire at once). */
function deadline(value: number, name = "deadlineMs"): number {
  positive(name, value);
  if (value > DAY_MS) {
    throw new RangeError(`CampaignClient: ${name} must be at most a day (${DAY_MS} ms), got ${value}`);
  }
  return value;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`CampaignClient: ${name} must be an integer >= 1, got ${value}`);
  }
  return value;
}
