/**
 * The endpoint's JSON (snake_case) and its conversion from and to the public types.
 *
 *   seed:            {"features": [[day_of_week, hour_of_day, previous_answer_rate], ...]}
 *                    -> {"predictions": [p, ...]}
 *   recommendations: {"contacts": [{"contact_id", "timezone"?, "history": [...]}],
 *                     "calling_window"?, "top_k"?, "as_of"?}
 *                    -> {"recommendations": [{"contact_id", "slots": [{"day", "hour",
 *                        "answer_probability"}]}]}
 */

import type { CallingWindow, Contact, DayName, Recommendation, SlotFeatures } from "./types.js";

export interface WireCall {
  called_at: string;
  answered: boolean;
  duration_seconds?: number;
}

export interface WireContact {
  contact_id: string;
  timezone?: string;
  history: WireCall[];
}

/** Body of a seed request. */
export interface SeedRequestBody {
  features: Array<[number, number, number]>;
}

export interface SeedResponseBody {
  predictions: number[];
}

/** Body of a recommendations request. */
export interface RecommendationsRequestBody {
  contacts: WireContact[];
  calling_window?: CallingWindow;
  top_k?: number;
  as_of?: string;
}

export interface RecommendationsResponseBody {
  recommendations: Array<{
    contact_id: string;
    slots: Array<{ day: DayName; hour: number; answer_probability: number }>;
  }>;
}

export function wireRow(row: SlotFeatures): [number, number, number] {
  return [row.dayOfWeek, row.hourOfDay, row.previousAnswerRate];
}

function timestamp(value: Date | string): string {
  return value instanceof Date ? value.toISOString() : value;
}

export function wireContact(contact: Contact): WireContact {
  const out: WireContact = {
    contact_id: contact.contactId,
    history: (contact.history ?? []).map((call) => {
      const wire: WireCall = { called_at: timestamp(call.calledAt), answered: call.answered };
      if (call.durationSeconds !== undefined) wire.duration_seconds = call.durationSeconds;
      return wire;
    }),
  };
  if (contact.timezone !== undefined) out.timezone = contact.timezone;
  return out;
}

/** The request members besides `contacts`, as sent with every batch. */
export function recommendationsEnvelope(options: {
  callingWindow?: CallingWindow | undefined;
  topK?: number | undefined;
  asOf: Date | string;
}): Omit<RecommendationsRequestBody, "contacts"> {
  const out: Omit<RecommendationsRequestBody, "contacts"> = {};
  if (options.callingWindow !== undefined) out.calling_window = options.callingWindow;
  if (options.topK !== undefined) out.top_k = options.topK;
  out.as_of = timestamp(options.asOf);
  return out;
}

/** The predictions of a seed answer, or a string saying what is wrong with it. */
export function readPredictions(body: unknown, expected: number): number[] | string {
  const predictions = (body as Partial<SeedResponseBody> | null)?.predictions;
  if (!Array.isArray(predictions)) return "no \"predictions\" list in the answer";
  if (predictions.length !== expected) {
    return `${predictions.length} predictions for ${expected} rows`;
  }
  if (!predictions.every((p) => typeof p === "number")) return "a prediction is not a number";
  return predictions as number[];
}

/** The recommendations of an answer, in the order of `contactIds`, or what is wrong with it. */
export function readRecommendations(body: unknown,
  contactIds: readonly string[]): Recommendation[] | string {
  const recs = (body as Partial<RecommendationsResponseBody> | null)?.recommendations;
  if (!Array.isArray(recs)) return "no \"recommendations\" list in the answer";
  if (recs.length !== contactIds.length) {
    return `${recs.length} recommendations for ${contactIds.length} contacts`;
  }
  const out: Recommendation[] = [];
  for (let i = 0; i < recs.length; i++) {
    const rec = recs[i];
    if (rec?.contact_id !== contactIds[i]) {
      return `recommendations[${i}] is for contact_id ${JSON.stringify(rec?.contact_id)}, ` +
        `expected ${JSON.stringify(contactIds[i])}`;
    }
    if (!Array.isArray(rec.slots)) return `recommendations[${i}] has no "slots" list`;
    out.push({
      contactId: rec.contact_id,
      slots: rec.slots.map((s) => ({
        day: s.day,
        hour: s.hour,
        answerProbability: s.answer_probability,
      })),
    });
  }
  return out;
}
