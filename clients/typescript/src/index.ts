export { CampaignClient, DEFAULTS, ENDPOINT_LIMITS } from "./client";
export type { CampaignClientOptions } from "./client";
export {
  CampaignClientError,
  DeadlineExceededError,
  EndpointRequestError,
  EndpointResponseError,
  InputLimitError,
} from "./errors";
export type { BatchPosition } from "./errors";
export { splitBatches } from "./batching";
export type { Batch, BatchLimits, SplitInput } from "./batching";
export { backoffDelayMs, classifyFailure, isRetryable } from "./retry";
export type { FailureKind } from "./retry";
export { DAY_NAMES } from "./types";
export type {
  CallingWindow,
  CallOptions,
  CallRecord,
  ClientStats,
  Contact,
  DayName,
  DayOfWeek,
  Recommendation,
  RecommendOptions,
  Slot,
  SlotFeatures,
} from "./types";
export type {
  RecommendationsRequestBody,
  RecommendationsResponseBody,
  SeedRequestBody,
  SeedResponseBody,
  WireCall,
  WireContact,
} from "./wire";
