"""calltime's campaign client: answer probabilities and best-slot recommendations from the
calltime SageMaker endpoint, batched inside its limits and retried through cold starts and
throttling within one deadline.

    from calltime_client import CampaignClient, SlotFeatures
    client = CampaignClient("calltime-prod-optimal-call-time", region="il-central-1")
    client.answer_probabilities([SlotFeatures(day_of_week=1, hour_of_day=19,
                                              previous_answer_rate=0.4)])
"""

from calltime_client.batching import Limits
from calltime_client.client import CampaignClient, ClientStats
from calltime_client.errors import CampaignClientError, DeadlineExceeded, EndpointRequestError
from calltime_client.retry import Backoff
from calltime_client.types import (
    DAYS,
    Call,
    CallingWindow,
    Contact,
    Recommendation,
    Slot,
    SlotFeatures,
)

__all__ = ["DAYS", "Backoff", "Call", "CallingWindow", "CampaignClient", "CampaignClientError",
           "ClientStats", "Contact", "DeadlineExceeded", "EndpointRequestError", "Limits",
           "Recommendation", "Slot", "SlotFeatures"]
