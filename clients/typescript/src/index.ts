/**
 * The calltime campaign client: answer probabilities and call-time recommendations from the
 * calltime SageMaker Serverless endpoint, batched inside its limits and retried within one
 * deadline per call. Everything exported here is the package's public API.
 */
export { CampaignClient, DEFAULTS, ENDPOINT_LIMITS } from "./client.js";
export type { CampaignClientOptions } from "./client.js";
export {
  CampaignClientError,
  DeadlineExceededError,
  EndpointRequestError,
  EndpointResponseError,
  InputLimitError,
} from "./errors.js";
export type { BatchPosition } from "./errors.js";
export { DAY_NAMES } from "./types.js";
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
} from "./types.js";
