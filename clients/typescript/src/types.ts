/**
 * Public request and answer types of the calltime endpoint, in TypeScript's spelling
 * (camelCase). `wire.ts` turns them into the endpoint's JSON (snake_case) and back.
 */

/**
 * Day of the week as JavaScript's `Date.prototype.getDay()` numbers it:
 * 0 = Sunday, 1 = Monday, 2 = Tuesday, 3 = Wednesday, 4 = Thursday, 5 = Friday, 6 = Saturday.
 *
 * It is the day in the CONTACT's local time zone, not the server's or UTC: for a contact in
 * Asia/Jerusalem, a call at 2026-06-07T22:30:00Z is Monday 01:30 local, so `dayOfWeek` 1 and
 * `hourOfDay` 1.
 */
export type DayOfWeek = 0 | 1 | 2 | 3 | 4 | 5 | 6;

/** Day names the endpoint uses in calling windows and recommended slots, Sunday first
 * (`DAY_NAMES[d]` is the name of `DayOfWeek` d). */
export const DAY_NAMES = [
  "sunday",
  "monday",
  "tuesday",
  "wednesday",
  "thursday",
  "friday",
  "saturday",
] as const;

export type DayName = (typeof DAY_NAMES)[number];

/** One row of the seed format: a candidate call slot to score. */
export interface SlotFeatures {
  /** 0 = Sunday .. 6 = Saturday (as `Date.getDay()`), in the contact's local time. */
  dayOfWeek: DayOfWeek;
  /** Hour of the day 0..23 in the contact's local time. */
  hourOfDay: number;
  /** The contact's share of answered calls so far, 0..1. */
  previousAnswerRate: number;
}

/** One past call of a contact. */
export interface CallRecord {
  /** When the call was placed: a Date or an ISO-8601 string WITH a UTC offset ("...Z"). */
  calledAt: Date | string;
  answered: boolean;
  durationSeconds?: number | undefined;
}

/** A contact to recommend call times for. */
export interface Contact {
  contactId: string;
  /** IANA time zone name, e.g. "Asia/Jerusalem" (the endpoint's default when omitted). */
  timezone?: string | undefined;
  /** Past calls, any order; may be empty. At most 1,000 per contact. */
  history: CallRecord[];
}

/**
 * Allowed calling hours per day in the contact's local time: `[start, end)` hours, so
 * `monday: [9, 21]` allows 09:00-20:59. Days not listed are not allowed.
 */
export type CallingWindow = Partial<Record<DayName, readonly [number, number]>>;

/** One recommended call slot. */
export interface Slot {
  day: DayName;
  /** 0..23, the contact's local time. */
  hour: number;
  /** Estimated probability (0..1) that a call in this slot is answered. */
  answerProbability: number;
}

export interface Recommendation {
  contactId: string;
  /** Best first; `topK` of them (fewer when the window allows fewer). */
  slots: Slot[];
}

/** Options of one call of the client. */
export interface CallOptions {
  /** Overrides the client's `deadlineMs` for this call. */
  deadlineMs?: number | undefined;
  /**
   * Aborts the call (in-flight requests included); the call rejects with the signal's reason.
   * The AWS SDK's name for it (`client.send(command, { abortSignal })`).
   */
  abortSignal?: AbortSignal | undefined;
}

export interface RecommendOptions extends CallOptions {
  /** Default: the endpoint's window. */
  callingWindow?: CallingWindow | undefined;
  /** 1..168; default 3 (the endpoint's default). */
  topK?: number | undefined;
  /**
   * The instant slots are scored at (history after it is ignored). Default: the time of the
   * `recommend()` call, sent with every batch so all batches rank at the same instant.
   */
  asOf?: Date | string | undefined;
}

/** Counters since the client was made (or `resetStats()`); `client.stats` returns a copy. */
export interface ClientStats {
  /** InvokeEndpoint requests sent (first attempts and retries). */
  requests: number;
  /** Requests answered 200. */
  succeeded: number;
  /** Requests sent again after a retryable failure. */
  retries: number;
  /** ThrottlingException answers (more requests in flight than the endpoint's MaxConcurrency). */
  throttled: number;
  /** ModelNotReadyException answers (a serverless cold start in progress). */
  notReady: number;
  /** 5xx answers: ServiceUnavailable, InternalFailure, ... */
  serverErrors: number;
  /** Connection failures: ECONNRESET, ECONNREFUSED, socket hang up. */
  connectionErrors: number;
  /** Attempts that got no answer within `attemptTimeoutMs` (a stalled socket), then retried. */
  attemptTimeouts: number;
  /** Requests refused for good (4xx: ModelError from the model, ValidationError, ...). */
  clientErrors: number;
  /** Requests cut off in flight because their call's deadline passed. */
  abortedAtDeadline: number;
  /** Calls that ended in DeadlineExceededError. */
  deadlinesExceeded: number;
}
