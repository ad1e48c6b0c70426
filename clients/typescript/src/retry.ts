/** Which failures are retried, how long to wait, and the small async tools the client uses. */

import {
  InternalDependencyException,
  InternalFailure,
  ModelError,
  ModelNotReadyException,
  ServiceUnavailable,
  ValidationError,
} from "@aws-sdk/client-sagemaker-runtime";

export type FailureKind =
  | "throttled" //    ThrottlingException: more in flight than the endpoint's MaxConcurrency
  | "notReady" //     ModelNotReadyException: a serverless cold start is in progress
  | "server" //       5xx: ServiceUnavailable, InternalFailure, InternalDependencyException, ...
  | "connection" //   ECONNRESET, ECONNREFUSED, socket hang up: no answer at all
  | "timeout" //      no answer within the attempt timeout (a stalled socket)
  | "client" //       4xx: ModelError, ValidationError, ... (never retried)
  | "other"; //       anything else (a bug, a body the SDK could not parse): not retried

// ThrottlingException is not a modeled error of SageMaker Runtime, so the SDK gives it no class
// of its own: it is a SageMakerRuntimeServiceException named by the answer's error type, which the
// SDK's own retry strategy recognizes by that name too (Smithy's THROTTLING_ERROR_CODES).
const THROTTLING_CODES = new Set(["ThrottlingException", "Throttling", "ThrottledException",
  "TooManyRequestsException", "RequestLimitExceeded"]);
// What Node's sockets say when there was no answer at all (Smithy's NODEJS_TIMEOUT_ERROR_CODES
// and their kin).
const CONNECTION_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "ECONNABORTED", "EPIPE",
  "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENETDOWN", "EAI_AGAIN", "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT"]);

export function httpStatusOf(err: unknown): number | undefined {
  const status = (err as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata
    ?.httpStatusCode;
  return typeof status === "number" ? status : undefined;
}

/**
 * What a failed InvokeEndpoint means, by the SDK's error classes first, then what every SDK
 * error carries (`$retryable`, `$fault`, the HTTP status), then Node's socket codes.
 */
export function classifyFailure(err: unknown): FailureKind {
  if (!(err instanceof Error)) return "other";
  if (err instanceof ModelNotReadyException) return "notReady";
  // ModelError is HTTP 424 whatever the container said: the container answered; its 4xx is the
  // caller's to fix and its 5xx a model failure that the same body meets again.
  if (err instanceof ModelError || err instanceof ValidationError) return "client";
  if (err instanceof ServiceUnavailable || err instanceof InternalFailure ||
    err instanceof InternalDependencyException) {
    return "server";
  }
  const sdk = err as Error & { $retryable?: { throttling?: boolean }; $fault?: unknown };
  if (sdk.$retryable?.throttling === true || THROTTLING_CODES.has(err.name)) return "throttled";
  const status = httpStatusOf(err);
  if (status === 429) return "throttled";
  if ((status !== undefined && status >= 500) || (status === undefined && sdk.$fault === "server")) {
    return "server";
  }
  if (sdk.$retryable !== undefined) return "server";
  if ((status !== undefined && status >= 400) || sdk.$fault === "client") return "client";
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && CONNECTION_CODES.has(code)) return "connection";
  if (err instanceof AttemptTimedOut) return "timeout";
  if (err.name === "TimeoutError" ||
    err.name === "RequestTimeout" || /socket hang up/i.test(err.message)) {
    return "connection";
  }
  return "other";
}

/** An attempt that got no answer within `attemptTimeoutMs` (a stalled socket): retried. */
export class AttemptTimedOut extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within the attempt timeout of ${timeoutMs} ms`);
    this.name = "AttemptTimedOut";
  }
}

export function isRetryable(kind: FailureKind): boolean {
  return kind === "throttled" || kind === "notReady" || kind === "server" ||
    kind === "connection" || kind === "timeout";
}

/**
 * "Full jitter" exponential backoff: a uniform random wait in [0, min(maxDelayMs,
 * baseDelayMs * 2^(retry-1))), `retry` counting from 1.
 */
export function backoffDelayMs(retry: number, baseDelayMs: number, maxDelayMs: number,
  random: () => number): number {
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(retry - 1, 30));
  return Math.floor(random() * ceiling);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * The promise's outcome, or the signal's reason as soon as it aborts (whatever the promise
 * does after that is ignored): nothing is ever awaited past an abort.
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      promise.catch(() => undefined);
      reject(signal.reason);
      return;
    }
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

/** A counting semaphore whose waits can be aborted. */
export class Semaphore {
  private available: number;
  private readonly waiters: Array<{ grant: () => void }> = [];

  constructor(permits: number) {
    this.available = permits;
  }

  /** Resolves with a release function once a permit is free. */
  acquire(signal: AbortSignal): Promise<() => void> {
    const release = once(() => this.release());
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.available > 0) {
      this.available--;
      return Promise.resolve(release);
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: () => {
          signal.removeEventListener("abort", onAbort);
          resolve(release);
        },
      };
      const onAbort = () => {
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next) next.grant(); // the permit passes straight to the next waiter
    else this.available++;
  }
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (!done) {
      done = true;
      fn();
    }
  };
}
