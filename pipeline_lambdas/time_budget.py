"""How long an invocation may still wait: every wait in a step ends before Lambda would kill
the function (a killed function reports nothing and emits no metric), with a margin to report."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

MARGIN_SECONDS = 15.0  # to report, emit metrics and return after the last wait


@dataclass(frozen=True)
class Budget:
    deadline: float  # a time.monotonic() value; math.inf for no limit

    @classmethod
    def unlimited(cls) -> Budget:
        return cls(math.inf)

    @classmethod
    def of(cls, context: Any, margin_seconds: float = MARGIN_SECONDS) -> Budget:
        """What the Lambda context says is left, less the margin (unlimited without one)."""
        if context is None or not hasattr(context, "get_remaining_time_in_millis"):
            return cls.unlimited()
        left = context.get_remaining_time_in_millis() / 1000 - margin_seconds
        return cls(time.monotonic() + max(0.0, left))

    def left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def cap(self, seconds: float) -> float:
        """`seconds`, or less if the invocation has less left."""
        return min(seconds, self.left())
