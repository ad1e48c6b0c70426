"""Features: leakage-free, identical in training and serving, and telling people apart."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from inference_code import features, request_parsing
from inference_code.inference import model_fn
from inference_code.ranking import DEFAULT_WINDOW, rank, window_mask
from inference_code.request_parsing import parse
from training import artifact, call_log, dataset


@pytest.fixture(scope="module")
def training_set(demo_log):
    return dataset.build(call_log.load(demo_log[0]).valid)


def test_serving_computes_the_same_features_as_training(demo_log, training_set) -> None:
    """No training/serving skew: each sampled training row is rebuilt the way the endpoint
    builds it, from a request as a caller sends it (the contact's earlier calls as ISO times in
    JSON, its time zone by name), through request parsing, serving's localization and the slot
    features, and matches the row training computed."""
    ts = training_set
    valid = call_log.load(demo_log[0]).valid.sort_values(["contact_id", "called_at"])
    by_contact = {c: rows for c, rows in valid.groupby("contact_id")}
    rng = np.random.default_rng(0)
    for i in rng.choice(len(ts.y), 150, replace=False).tolist():
        rows = by_contact[ts.contact_id[i]]
        at = pd.Timestamp(ts.epoch[i], unit="s", tz="UTC")
        earlier = rows[rows["called_at"] < at]
        body = json.dumps({"contacts": [{
            "contact_id": ts.contact_id[i], "timezone": rows["timezone"].iloc[0],
            "history": [{"called_at": t.isoformat(), "answered": bool(a)} for t, a in zip(
                earlier["called_at"], earlier["answered"], strict=True)]}],
            "as_of": at.isoformat()})
        request = parse(body, "application/json")
        (contact,) = request.contacts
        dow, hour, day = features.localize(request.as_of, contact.zone)
        counts = features.counts_from_history(contact.history, np.array([request.as_of]),
                                              np.array([day]))
        offset = features.utc_offset_hours(request.as_of, contact.zone)
        posterior = features.contact_posterior(contact.history, contact.zone, ts.params)
        model = ts.params.archetype_model
        curve = features.archetype_features(
            posterior[None, :], model.cells(contact.zone.key, np.array([dow]), np.array([hour])),
            model)
        served = features.assemble(np.array([dow]), np.array([hour]), np.array([offset]),
                                   counts, ts.params, curve)
        np.testing.assert_allclose(served[0], ts.X[i], rtol=1e-9, atol=1e-9, equal_nan=True,
                                   err_msg=f"row {i}")


def test_evaluation_featurizes_every_contact_s_slots_as_serving_does(training_set) -> None:
    """The evaluation scores the forest's ranking of 5,000 contacts in one batch
    (`evaluate.slot_features_as_of`); each contact's block equals `slot_features` from its
    history, as the endpoint would compute it."""
    from training import evaluate

    ts = training_set
    cut = evaluate.temporal_cut(ts.epoch, 0.2)
    allowed = window_mask(DEFAULT_WINDOW)
    codes = np.unique(ts.contact_code[ts.epoch >= cut])[::7]
    dow, hour, X = evaluate.slot_features_as_of(ts, codes, cut, allowed)
    histories = evaluate.contact_histories(ts, np.flatnonzero(ts.epoch < cut))
    blocks = X.reshape(len(codes), len(dow), -1)
    for block, code in zip(blocks, codes.tolist(), strict=True):
        first = int(np.searchsorted(ts.contact_code, code))
        contact = ts.contact_id[first]
        d, h, served = features.slot_features(histories.get(contact, []),
                                              ZoneInfo(ts.timezone[first]), cut, allowed,
                                              ts.params)
        assert (d == dow).all() and (h == hour).all()
        np.testing.assert_allclose(block, served, rtol=1e-9, atol=1e-9, equal_nan=True,
                                   err_msg=contact)


def test_features_use_only_earlier_calls(demo_log) -> None:
    valid = call_log.load(demo_log[0]).valid
    contact = valid["contact_id"].iloc[0]
    calls = valid[valid["contact_id"] == contact].sort_values("called_at")
    middle = calls.index[len(calls) // 2]
    flipped = valid.copy()
    flipped.loc[middle, "answered"] = not flipped.loc[middle, "answered"]
    params = features.FeatureParams(0.3)
    a, b = dataset.build(valid, params), dataset.build(flipped, params)
    t_flip = valid.loc[middle, "called_at"].timestamp()
    same_contact = a.contact_id == contact
    upto = same_contact & (a.epoch <= t_flip)
    after = same_contact & (a.epoch > t_flip)
    np.testing.assert_array_equal(a.X[upto], b.X[upto])  # its own row included
    assert not np.allclose(a.X[after], b.X[after], equal_nan=True)
    np.testing.assert_array_equal(a.X[~same_contact], b.X[~same_contact])


def test_time_features_are_in_the_contacts_local_time() -> None:
    frame = pd.DataFrame({
        "contact_id": ["ny", "tlv"], "timezone": ["America/New_York", "Asia/Jerusalem"],
        "called_at": pd.to_datetime(["2026-06-07T23:30:00Z", "2026-06-07T23:30:00Z"], utc=True),
        "answered": [True, False], "duration_seconds": [1.0, 0.0], "campaign_id": ["", ""],
        "source_row": [2, 3]})
    ts = dataset.build(frame, features.FeatureParams(0.3))
    local = dict(zip(ts.contact_id, zip(ts.dow, ts.hour, strict=True), strict=True))
    # Sunday 2026-06-07 23:30 UTC is Sunday 19:30 in New York and Monday 02:30 in Tel Aviv.
    assert local["ny"] == (0, 19)
    assert local["tlv"] == (1, 2)


def _history(hours_answered: list[int], hours_missed: list[int], zone: ZoneInfo):
    calls = []
    start = dt.datetime(2026, 5, 3, tzinfo=zone)  # a Sunday
    for week in range(4):
        for day in range(5):
            for hour, answered in [(h, True) for h in hours_answered] + [
                    (h, False) for h in hours_missed]:
                when = start + dt.timedelta(weeks=week, days=day, hours=hour)
                dow, h, d = features.localize(when.timestamp(), zone)
                calls.append(features.LocalCall(when.timestamp(), dow, h, d, answered))
    return sorted(calls, key=lambda c: c.epoch)


def test_model_tells_an_evening_person_from_a_morning_person(trained, tmp_path) -> None:
    model = model_fn(str(artifact.extract(trained.artifact, tmp_path / "m")))
    zone = ZoneInfo("Asia/Jerusalem")
    as_of = dt.datetime(2026, 6, 1, tzinfo=zone).timestamp()
    allowed = window_mask(DEFAULT_WINDOW)
    evening = rank(model.params, _history([19, 20], [9, 10, 11], zone), zone, as_of, allowed)
    morning = rank(model.params, _history([9, 10], [18, 19, 20], zone), zone, as_of, allowed)
    assert int(evening.hour[0]) >= 17
    assert int(morning.hour[0]) < 12


def test_seed_rows_get_documented_defaults() -> None:
    params = features.FeatureParams(0.25)
    X = features.seed_rows_to_matrix([[1, 19, 0.6], [2, 9, 0.1, 12]], params)
    names = features.FEATURE_NAMES
    assert X[0, names.index("rate_same_daypart")] == pytest.approx(0.6)
    assert X[0, names.index("calls_before")] == 0
    assert np.isnan(X[0, names.index("log_hours_since_last_call")])
    assert X[1, names.index("calls_before")] == 12  # a sent value is kept


def test_a_call_s_local_time_and_instant_agree_with_the_datetime_library() -> None:
    """Reading a request's calls takes shortcuts (the instant from the timestamp's own offset,
    the day of week from the local day number): they must agree with the library's long way,
    in zones with DST, half- and quarter-hour offsets, either side of the transitions."""
    rng = np.random.default_rng(3)
    epochs = np.concatenate([
        rng.uniform(dt.datetime(2000, 1, 1, tzinfo=dt.UTC).timestamp(),
                    dt.datetime(2100, 1, 1, tzinfo=dt.UTC).timestamp(), 3000),
        # every minute around 2026's spring-forward and fall-back nights, UTC
        *[dt.datetime(2026, m, d, tzinfo=dt.UTC).timestamp() + np.arange(-4 * 3600, 30 * 3600, 60)
          for m, d in ((3, 26), (3, 28), (10, 24), (11, 1))]])
    for name in ("Asia/Jerusalem", "Europe/London", "America/New_York", "Asia/Kathmandu",
                 "Australia/Lord_Howe", "Pacific/Chatham", "America/St_Johns", "Asia/Tehran"):
        zone = ZoneInfo(name)
        for epoch in epochs.tolist():
            local = dt.datetime.fromtimestamp(epoch, zone)
            assert features.localize(epoch, zone) == (
                (local.weekday() + 1) % 7, local.hour,
                (local.date() - dt.date(1970, 1, 1)).days), (name, epoch)
    for epoch in epochs[::50].tolist():
        for offset in ("Z", "+02:00", "-05:00", "+05:45", "-09:30", "+14:00"):
            tz = dt.UTC if offset == "Z" else dt.datetime.strptime(offset, "%z").tzinfo
            stamp = dt.datetime.fromtimestamp(epoch, tz).isoformat()
            parsed = dt.datetime.fromisoformat(stamp)
            assert request_parsing._epoch(stamp) == parsed.astimezone(dt.UTC).timestamp(), stamp
