"""A clock for code that waits: tests assert how long it waited by the clock it reads, not by
the wall clock (which a loaded machine stretches)."""

from __future__ import annotations

import time
from types import ModuleType

import pytest


class FakeClock:
    """`time.monotonic` and `time.sleep` for the modules it is installed in: sleeping advances
    the clock at once and is recorded. Everything else in `time` is the real module's."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now, self.started, self.slept = start, start, []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    @property
    def elapsed(self) -> float:
        return self.now - self.started

    def __getattr__(self, name: str):
        return getattr(time, name)

    def install(self, monkeypatch: pytest.MonkeyPatch, *modules: ModuleType) -> FakeClock:
        for module in modules:
            monkeypatch.setattr(module, "time", self)
        return self
