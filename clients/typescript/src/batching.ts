/**
 * Splitting a list of already-serialized items into requests inside the endpoint's limits.
 * Pure functions: no I/O, tested on their own.
 *
 * A request body is `prefix + item0 + "," + item1 + ... + suffix`, so its size in bytes is
 * known exactly before it is built: envelope + the items' bytes + one comma between each two.
 */

import { InputLimitError } from "./errors.js";

export interface BatchLimits {
  /** Most items (rows or contacts) in one request. */
  maxItems: number;
  /** Most bytes of one request body (the serialized JSON, UTF-8). */
  maxBytes: number;
  /** Most weight (history calls) in one request; no limit when undefined. */
  maxWeight?: number;
}

/** Items `start .. end-1` of the input, `bytes` the exact body size of their request. */
export interface Batch {
  start: number;
  end: number;
  bytes: number;
  weight: number;
}

export interface SplitInput {
  /** UTF-8 byte length of each serialized item. */
  itemBytes: readonly number[];
  /** Weight of each item (history calls of a contact); 0 when omitted. */
  itemWeights?: readonly number[];
  /** Bytes of the body around the items (prefix + suffix). */
  envelopeBytes: number;
  /** Names item i in an error ("rows[3]", 'contacts[7] (contact_id "x")'). */
  describe: (index: number) => string;
}

/**
 * Greedy, order-keeping split: each request takes as many next items as fit in every limit.
 * Throws InputLimitError (before anything is sent) for an item that fits in no request.
 */
export function splitBatches(input: SplitInput, limits: BatchLimits): Batch[] {
  const { itemBytes, itemWeights, envelopeBytes, describe } = input;
  if (!(limits.maxItems >= 1)) throw new RangeError(`maxItems must be >= 1, got ${limits.maxItems}`);
  const room = limits.maxBytes - envelopeBytes;
  const batches: Batch[] = [];
  let current: Batch | undefined;
  for (let i = 0; i < itemBytes.length; i++) {
    const bytes = itemBytes[i]!;
    const weight = itemWeights?.[i] ?? 0;
    if (bytes > room) {
      throw new InputLimitError(`${describe(i)}: ${bytes} bytes of JSON exceed the ${room} ` +
        `bytes a request of at most ${limits.maxBytes} bytes has room for`, i);
    }
    if (limits.maxWeight !== undefined && weight > limits.maxWeight) {
      throw new InputLimitError(`${describe(i)}: ${weight} history calls exceed the ` +
        `${limits.maxWeight} calls allowed in one request`, i);
    }
    if (current !== undefined &&
      (current.end - current.start < limits.maxItems) &&
      current.bytes + 1 + bytes <= limits.maxBytes &&
      (limits.maxWeight === undefined || current.weight + weight <= limits.maxWeight)) {
      current.end = i + 1;
      current.bytes += 1 + bytes; // the comma before it
      current.weight += weight;
    } else {
      current = { start: i, end: i + 1, bytes: envelopeBytes + bytes, weight };
      batches.push(current);
    }
  }
  return batches;
}

/** `prefix + items[start..end) joined by "," + suffix`. */
export function buildBody(prefix: string, items: readonly string[], batch: Batch,
  suffix: string): string {
  return prefix + items.slice(batch.start, batch.end).join(",") + suffix;
}

export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, "utf8");
}
