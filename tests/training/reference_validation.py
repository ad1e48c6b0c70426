"""The call-log contract's rules as pandas applied them before they were vectorized with Arrow
(training/call_validation.py): kept as the oracle the Arrow version is held to, row for row."""

from __future__ import annotations

import numpy as np
import pandas as pd

from inference_code.features import DEFAULT_TIMEZONE
from training.call_log import (
    _FILE,
    _ISO_WITH_OFFSET,
    _ROW,
    EARLIEST_CALL,
    FALSE_WORDS,
    FUTURE_TOLERANCE,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    TRUE_WORDS,
    InvalidCallLog,
    ValidationResult,
    known_timezones,
)


def validate(raw: pd.DataFrame, default_timezone: str = DEFAULT_TIMEZONE,
             name: str = "call log", now: pd.Timestamp | None = None) -> ValidationResult:
    """Split a raw log into valid rows and counted, kept rejects. `now` (default: the clock)
    bounds the latest plausible call time."""
    raw = raw.rename(columns=lambda c: str(c).strip().lower())
    # Logs read from several files carry where each row came from (see load_parts).
    source_file = raw.pop(_FILE) if _FILE in raw.columns else None
    given_rows = raw.pop(_ROW) if _ROW in raw.columns else None
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        found = ", ".join(repr(c) for c in raw.columns[:12]) or "none"
        raise InvalidCallLog(f"{name} is missing required column(s) "
                             f"{', '.join(repr(c) for c in missing)}; found columns: {found}")
    if len(raw) == 0:
        raise InvalidCallLog(f"{name} has a header but no rows")
    if default_timezone not in known_timezones():
        raise InvalidCallLog(f"default timezone {default_timezone!r} is not an IANA time zone")
    ignored = [c for c in raw.columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]

    def column(name_: str) -> pd.Series:
        if name_ in raw.columns:
            return raw[name_].astype(str).str.strip()
        return pd.Series("", index=raw.index)

    contact, stamp, answered_text = column("contact_id"), column("called_at"), column("answered")
    zone = column("timezone").where(lambda s: s != "", default_timezone)
    duration_text, campaign = column("duration_seconds"), column("campaign_id")

    reason = pd.Series("", index=raw.index, dtype=object)

    def reject(mask: pd.Series, why: str) -> None:
        reason[(reason == "") & mask] = why

    reject((contact == "") | (stamp == "") | (answered_text == ""), "missing_field")
    well_formed = stamp.str.match(_ISO_WITH_OFFSET)
    called_at = pd.to_datetime(stamp.where(well_formed), utc=True, format="ISO8601",
                               errors="coerce")
    reject(called_at.isna(), "unparseable_timestamp")
    latest = (now if now is not None else pd.Timestamp.now(tz="UTC")) + FUTURE_TOLERANCE
    reject((called_at < EARLIEST_CALL) | (called_at > latest), "implausible_timestamp")
    called_at = called_at.where(reason == "").astype("datetime64[ns, UTC]")
    reject(~zone.isin(known_timezones()), "unknown_timezone")
    lowered = answered_text.str.lower()
    is_true, is_false = lowered.isin(TRUE_WORDS), lowered.isin(FALSE_WORDS)
    reject(~(is_true | is_false), "bad_answered")
    duration = pd.to_numeric(duration_text.where(duration_text != ""), errors="coerce")
    reject((duration_text != "") & (duration.isna() | ~np.isfinite(duration.fillna(0))),
           "bad_duration")
    reject(duration < 0, "negative_duration")
    # The same contact called at the same instant twice is one call exported twice.
    candidate = reason == ""
    key = pd.DataFrame({"c": contact[candidate], "t": called_at[candidate]})
    dup_index = key.index[key.duplicated(keep="first").to_numpy()]
    reason.loc[dup_index] = "duplicate"

    source_row = (given_rows if given_rows is not None
                  else pd.Series(np.arange(2, len(raw) + 2), index=raw.index))  # header: row 1
    ok = reason == ""
    valid = pd.DataFrame({
        "contact_id": contact[ok],
        "called_at": called_at[ok],
        "answered": is_true[ok],
        "duration_seconds": duration[ok].astype(float),
        "campaign_id": campaign[ok],
        "timezone": zone[ok],
        "source_row": source_row[ok],
    }).reset_index(drop=True)
    rejects = raw.loc[~ok].copy()
    rejects.insert(0, "source_row", source_row[~ok])
    rejects.insert(1, "reject_reason", reason[~ok])
    if source_file is not None:
        rejects.insert(0, "source_file", source_file[~ok])
    return ValidationResult(valid=valid, rejects=rejects.reset_index(drop=True),
                            ignored_columns=ignored)
