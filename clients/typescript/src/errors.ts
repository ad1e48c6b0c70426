/** Errors the client throws; all extend `CampaignClientError`. */

import type { InvokeEndpointCommandOutput } from "@aws-sdk/client-sagemaker-runtime";

/** The AWS SDK's metadata of an answer: `requestId` is what AWS Support asks for. */
export type ResponseMetadata = InvokeEndpointCommandOutput["$metadata"];

export class CampaignClientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Where a request's items sit in the caller's input: items `firstIndex .. firstIndex+count-1`. */
export interface BatchPosition {
  /** Index (in the input array) of the request's first row or contact. */
  firstIndex: number;
  /** How many rows or contacts the request carried. */
  count: number;
}

/**
 * The endpoint refused a request for good (a 4xx: the model's ModelError with a 4xx original
 * status, ValidationError, ...). Never retried: sending it again gets the same answer.
 */
export class EndpointRequestError extends CampaignClientError {
  /**
   * The status the refusal means: for a ModelError the model container's own status
   * (OriginalStatusCode, e.g. 400), otherwise the HTTP status of the answer.
   */
  readonly status: number;
  /** HTTP status of the SageMaker Runtime answer (424 for ModelError). */
  readonly httpStatus: number | undefined;
  /** The service's error code: "ModelError", "ValidationError", ... */
  readonly code: string;
  /** The endpoint's own words: the container's JSON `message` when it sent one. */
  readonly endpointMessage: string;
  /** The container's `error` value (e.g. "ClientError"), when it sent one. */
  readonly errorCode: string | undefined;
  readonly endpointName: string;
  /** Which input items the refused request carried. */
  readonly batch: BatchPosition;
  /**
   * The input index of the item the message names, when it names one ("features[3] ..." or
   * "contacts[3] ..." index the REQUEST; this is `batch.firstIndex` + that index).
   */
  readonly inputIndex: number | undefined;
  /** The SDK's metadata of the refusal, as on the SDK's own errors (`$metadata.requestId`). */
  readonly $metadata: ResponseMetadata;

  constructor(fields: {
    status: number;
    httpStatus: number | undefined;
    code: string;
    endpointMessage: string;
    errorCode: string | undefined;
    endpointName: string;
    batch: BatchPosition;
    inputIndex: number | undefined;
    $metadata: ResponseMetadata;
    cause: unknown;
  }) {
    const last = fields.batch.firstIndex + fields.batch.count - 1;
    const where = ` [the request carried input items ${fields.batch.firstIndex}..${last}` +
      (fields.inputIndex === undefined ? "" : `; the item named is input item ${fields.inputIndex}`) +
      (fields.$metadata.requestId === undefined ? "]" : `; request id ${fields.$metadata.requestId}]`);
    super(`calltime endpoint "${fields.endpointName}" refused the request ` +
      `(${fields.code}, status ${fields.status}): ${fields.endpointMessage}${where}`,
      { cause: fields.cause });
    this.status = fields.status;
    this.httpStatus = fields.httpStatus;
    this.code = fields.code;
    this.endpointMessage = fields.endpointMessage;
    this.errorCode = fields.errorCode;
    this.endpointName = fields.endpointName;
    this.batch = fields.batch;
    this.inputIndex = fields.inputIndex;
    this.$metadata = fields.$metadata;
  }
}

/** The endpoint answered 200 with a body this client cannot use (not the documented shape). */
export class EndpointResponseError extends CampaignClientError {
  readonly batch: BatchPosition;
  /** The SDK's metadata of the answer (`$metadata.requestId`). */
  readonly $metadata: ResponseMetadata;

  constructor(message: string, batch: BatchPosition, $metadata: ResponseMetadata,
    options?: { cause?: unknown }) {
    super(message + ($metadata.requestId === undefined ? "" : ` (request id ${$metadata.requestId})`),
      options);
    this.batch = batch;
    this.$metadata = $metadata;
  }
}

/** An input item that cannot be sent in any request within the limits; nothing was sent. */
export class InputLimitError extends CampaignClientError {
  /** Index of the item in the input array. */
  readonly index: number;

  constructor(message: string, index: number) {
    super(message);
    this.index = index;
  }
}

/**
 * The call's deadline passed before every request was answered. Requests still in flight were
 * aborted; nothing after the deadline was waited for.
 */
export class DeadlineExceededError extends CampaignClientError {
  readonly deadlineMs: number;
  /** Time from the call's start until it gave up. */
  readonly elapsedMs: number;
  /** InvokeEndpoint requests this call sent (all batches, retries included). */
  readonly attempts: number;
  /** Requests that were still in flight at the deadline and were aborted. */
  readonly abortedInFlight: number;
  /** The last retryable error an answered request got, or (if none) why the last one failed. */
  readonly lastError: unknown;

  constructor(fields: {
    endpointName: string;
    deadlineMs: number;
    elapsedMs: number;
    attempts: number;
    abortedInFlight: number;
    batchesDone: number;
    batches: number;
    lastError: unknown;
  }) {
    const last = fields.lastError === undefined
      ? "no request was answered"
      : `last error: ${describeError(fields.lastError)}`;
    super(`calltime endpoint "${fields.endpointName}": deadline of ${fields.deadlineMs} ms ` +
      `exceeded after ${fields.attempts} attempt${fields.attempts === 1 ? "" : "s"} ` +
      `(${fields.batchesDone} of ${fields.batches} requests answered, ` +
      `${fields.abortedInFlight} aborted in flight at the deadline); ${last}`,
      { cause: fields.lastError });
    this.deadlineMs = fields.deadlineMs;
    this.elapsedMs = fields.elapsedMs;
    this.attempts = fields.attempts;
    this.abortedInFlight = fields.abortedInFlight;
    this.lastError = fields.lastError;
  }
}

/** "Name (HTTP 429): message" of an SDK or Node error, for messages. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const code = (err as { code?: unknown }).code;
    const tags = [
      status === undefined ? undefined : `HTTP ${status}`,
      typeof code === "string" && code !== err.name ? code : undefined,
    ].filter((t) => t !== undefined);
    return `${err.name}${tags.length ? ` (${tags.join(", ")})` : ""}: ${err.message}`;
  }
  return String(err);
}
