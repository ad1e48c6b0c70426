"""The training report: one self-contained HTML page (inline SVG, no plotting dependency)."""

from __future__ import annotations

import html
from typing import Any

from inference_code.features import DAY_NAMES, HOURS
from training import gate


def _color(rate: float | None, top: float) -> str:
    if rate is None:
        return "#eee"
    t = min(rate / top, 1.0) if top > 0 else 0.0
    return f"rgb({int(255 - 200 * t)},{int(255 - 90 * t)},{int(255 - 200 * t)})"


def heatmap_table(heatmap: list[list[float | None]]) -> str:
    top = max((v for row in heatmap for v in row if v is not None), default=1.0)
    head = "".join(f"<th>{h}</th>" for h in range(HOURS))
    rows = []
    for day, row in zip(DAY_NAMES, heatmap, strict=True):
        cells = "".join(
            f'<td style="background:{_color(v, top)}" title="{day} {h}:00: '
            f'{"no calls" if v is None else f"{v:.0%}"}">'
            f'{"" if v is None else round(v * 100)}</td>' for h, v in enumerate(row))
        rows.append(f"<tr><th>{day[:3]}</th>{cells}</tr>")
    return f'<table class="heat"><tr><th></th>{head}</tr>{"".join(rows)}</table>'


def calibration_svg(table: list[dict[str, Any]], size: int = 280) -> str:
    pad = 30
    scale = size - 2 * pad

    def xy(p: float, o: float) -> str:
        return f"{pad + p * scale:.1f},{size - pad - o * scale:.1f}"

    points = " ".join(xy(b["mean_predicted"], b["observed"]) for b in table)
    dots = "".join(f'<circle cx="{xy(b["mean_predicted"], b["observed"]).split(",")[0]}" '
                   f'cy="{xy(b["mean_predicted"], b["observed"]).split(",")[1]}" r="3">'
                   f'<title>{b["count"]} calls</title></circle>' for b in table)
    return (f'<svg width="{size}" height="{size}" role="img" aria-label="calibration curve">'
            f'<rect x="{pad}" y="{pad}" width="{scale}" height="{scale}" fill="none" '
            f'stroke="#999"/><line x1="{pad}" y1="{size - pad}" x2="{size - pad}" y2="{pad}" '
            f'stroke="#bbb" stroke-dasharray="4"/><polyline points="{points}" fill="none" '
            f'stroke="#1565c0" stroke-width="2"/>{dots}'
            f'<text x="{pad}" y="{size - pad + 14}" text-anchor="middle">0</text>'
            f'<text x="{size - pad}" y="{size - pad + 14}" text-anchor="middle">1</text>'
            f'<text x="{pad - 10}" y="{pad + 4}" text-anchor="middle">1</text>'
            f'<text x="{size / 2}" y="{size - 5}" text-anchor="middle">predicted</text>'
            f'<text x="10" y="{size / 2}" transform="rotate(-90 10 {size / 2})" '
            f'text-anchor="middle">observed</text></svg>')


def bars(values: dict[str, float], fmt: str = "{:.3f}", width: int = 360) -> str:
    if not values:
        return "<p>n/a</p>"
    top = max(abs(v) for v in values.values()) or 1.0
    rows = "".join(
        f'<tr><td>{html.escape(k)}</td><td><div class="bar" style="width:'
        f'{max(abs(v) / top * width, 1):.0f}px"></div></td><td>{fmt.format(v)}</td></tr>'
        for k, v in values.items())
    return f'<table class="bars">{rows}</table>'


def _reasons(by_reason: dict[str, int]) -> str:
    """': 12 duplicate, 3 unknown timezone' (the reasons that occurred, most first), or ''."""
    found = sorted(((n, r) for r, n in by_reason.items() if n), key=lambda t: (-t[0], t[1]))
    return (": " + ", ".join(f"{n} {html.escape(r.replace('_', ' '))}" for n, r in found)
            if found else "")


def _sample_note(data: dict) -> str:
    """Said when the model was trained on a whole-contact sample of a larger log (scale-out)."""
    sample = data.get("sample")
    if not sample:
        return ""
    return (f" Trained and tested on a whole-contact sample of {sample['rows']} of these rows "
            f"({sample['fraction']:.1%} of contacts): one function's memory; the feature "
            "parameters were fitted on every call.")


_STRATEGY_NAMES = {"model": "this model (served ranking)",
                   "forest_ranking": "forest ranking (former approach)",
                   "best_global_slot": "best global slot", "seed_random_forest": "seed RF"}


def capture_breakdown(rec: dict[str, Any]) -> str:
    """Capture by history depth and by behaviour group, against the best global slot: the
    model's difference with its noise (two standard errors), a loss beyond noise marked."""
    if "by_history_depth" not in rec:
        return ""
    strategies = list(rec["capture"])
    head = "".join(f"<th>{html.escape(_STRATEGY_NAMES.get(s, s))}</th>" for s in strategies)
    rows = []
    sections = [("calls in history", rec["by_history_depth"]),
                ("behaviour group", rec.get("by_group", {}))]
    for title, cells in sections:
        if not cells:
            continue
        rows.append(f'<tr><th colspan="{len(strategies) + 3}" class="sub">{title}</th></tr>')
        for label, cell in cells.items():
            if cell.get("contacts", 0) < 2:
                continue
            versus = cell["model_vs_best_global_slot"]
            loses = versus["difference"] < -versus["noise"]
            marks = ' class="loss" title="loses to the best global slot beyond noise"'
            values = "".join(f"<td>{cell['capture'][s]:.3f}</td>" for s in strategies)
            rows.append(f"<tr><td>{html.escape(label)}</td><td>{cell['contacts']}</td>{values}"
                        f"<td{marks if loses else ''}>{versus['difference']:+.3f} "
                        f"(&plusmn;{versus['noise']:.3f})</td></tr>")
    return (f'<h3>Capture by history depth and behaviour group</h3><table class="kpi">'
            f"<tr><th></th><th>contacts</th>{head}<th>model &minus; best global slot "
            f"(noise)</th></tr>{''.join(rows)}</table>")


def _seed_sample(seed: dict[str, Any]) -> str:
    if "fit_rows" not in seed:
        return ""
    return (f" (fit on {seed['fit_rows']:,} training calls, scored on {seed['test_rows']:,} "
            "held-out calls)")


def recommendation_summary(rec: dict[str, Any]) -> str:
    """A version's recommendation quality in a few words: capture against ground truth, else
    the replay estimate (the answer rate of held-out calls made at the recommended slot, against
    all in-window calls)."""
    if rec.get("capture", {}).get("model") is not None:
        return f"capture {rec['capture']['model']:.3f}"
    replay = rec.get("replay", {})
    model = replay.get("model") or {}
    if model.get("answer_rate") is None:
        return "-"
    return (f"replay {model['answer_rate']:.3f} vs {replay.get('in_window_answer_rate', 0):.3f}"
            f" in window ({model.get('calls', 0)} calls)")


HISTORY_LINK = "../history.html"  # beside the version folders: models/<name>/history.html


def against_live(metrics: dict[str, Any], version: str, tolerance: float) -> str:
    """The live model this version was gated against, side by side, and the gate's decision."""
    live = metrics.get("live_model_on_holdout")
    history = (f'<p><a href="{HISTORY_LINK}">Every version of this stack over time</a> (rows, '
               "rejects, AUC, recommendations, deploy outcome).</p>")
    result = gate.decide(metrics, tolerance)
    compared = _comparisons(metrics.get("recommendation", {}).get("comparisons", {}))
    if live is None:
        return ("<section><h2>Against the live model</h2><p>No live model was compared: the "
                "first deployment, or trained outside the pipeline.</p>" + compared +
                f'<p>Quality gate: <b class="decision">{result.decision}</b>: '
                f"{html.escape(result.reason)}.</p>" + history + "</section>")
    live_auc = "-" if live.get("roc_auc") is None else f"{live['roc_auc']:.4f}"
    basis = html.escape(live.get("basis") or live.get("reason") or "")
    new_rec = recommendation_summary(metrics.get("recommendation", {}))
    live_rec = live.get("recommendation_on_its_holdout", "-")
    return f"""<section><h2>Against the live model</h2><table class="kpi">
<tr><th></th><th>version</th><th>ROC AUC</th><th>recommendations</th></tr>
<tr><td>this model</td><td>{html.escape(version)}</td>
<td>{metrics['classification']['roc_auc']:.4f}</td><td>{html.escape(new_rec)}</td></tr>
<tr><td>live model</td><td>{html.escape(str(live.get('model_version')))}</td><td>{live_auc}</td>
<td>{html.escape(live_rec)} (on its own holdout)</td></tr></table>
<p>The live model's ROC AUC: {basis or 'not comparable'}.</p>
{compared}
<p>Quality gate (tolerance {tolerance}): <b class="decision">{result.decision}</b>:
{html.escape(result.reason)}. An operator's <code>force_deploy</code> deploys it anyway.</p>
{history}</section>"""


COMPARED = {"new_vs_live": ("this model", "the live model"),
            "served_vs_evaluated": ("the archetypes it serves (refit on every call)",
                                    "the ones evaluated")}


def _comparisons(compared: dict[str, Any]) -> str:
    """Recommendations side by side on this run's holdout: the answer rate of held-out calls
    at each one's top slot, the difference and its noise (what the gate decides on)."""
    rows = []
    for name, (first, second) in COMPARED.items():
        cell = compared.get(name)
        if cell is None:
            continue
        if not cell.get("measurable"):
            numbers = (f"<td colspan=3>too few held-out calls on the picks "
                       f"({'/'.join(map(str, cell.get('calls', [])))})</td>")
        else:
            rates = cell["answer_rates"]
            loss = ' class="loss"' if cell["difference"] + cell["noise"] < 0 else ""
            numbers = (f"<td>{rates[0]:.3f} vs {rates[1]:.3f}</td><td{loss}>"
                       f"{cell['difference']:+.3f} (noise {cell['noise']:.3f})</td>"
                       f"<td>{'/'.join(map(str, cell['calls']))}</td>")
        rows.append(f"<tr><td>{html.escape(first)} vs {html.escape(second)}</td>{numbers}"
                    f"<td>{html.escape(cell.get('basis', ''))}</td></tr>")
    if not rows:
        return ""
    return ('<table class="kpi"><tr><th>recommendations on this holdout</th><th>answer rate '
            "at the top slots</th><th>difference (2 SE)</th><th>calls</th><th>basis</th></tr>"
            + "".join(rows) + "</table>")


def render(metadata: dict[str, Any], calibration: list[dict[str, Any]],
           heatmap: list[list[float | None]],
           gate_tolerance: float = gate.DEFAULT_TOLERANCE) -> str:
    metrics = metadata["metrics"]
    rec = metrics["recommendation"]
    cls, seed = metrics["classification"], metrics["seed_random_forest"]
    if "true_rate" in rec:
        lift = bars(rec["true_rate"], "{:.1%}")
        capture = ", ".join(f"{k}: {v}" for k, v in rec["capture"].items())
        lift_note = (f"True answer rate (ground truth) at each strategy's top-1 in-window slot, "
                     f"{rec['contacts']} held-out contacts. Capture: {html.escape(capture)}.")
    else:
        replay = {k: v["answer_rate"] for k, v in rec["replay"].items()
                  if isinstance(v, dict) and v["answer_rate"] is not None}
        lift = bars(replay, "{:.1%}")
        lift_note = ("No ground truth: observed answer rate of held-out calls that fell within "
                     "an hour of each strategy's top-1 slot (noisy where few calls hit it).")
    data = metadata["data"]
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>calltime model {html.escape(metadata['model_version'])}</title><style>
body{{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#222}}
table.heat td{{width:1.6rem;height:1.4rem;text-align:center;font-size:.7rem}}
table.heat th{{font-size:.7rem;font-weight:normal}} .bar{{background:#1565c0;height:.8rem}}
table.bars td{{padding:.1rem .5rem;font-size:.85rem}} .kpi td,.kpi th{{padding:.2rem .8rem;
text-align:left}} section{{margin-bottom:2rem}} th.sub{{background:#f3f3f3}}
td.loss{{color:#b71c1c;font-weight:bold}}</style></head><body>
<h1>calltime model {html.escape(metadata['model_version'])}</h1>
<p>Created {html.escape(metadata['created_at'])} with scikit-learn
{html.escape(metadata['framework']['scikit-learn'])}. Rows: {data['rows_valid']} valid,
{data['rows_rejected']} rejected{_reasons(data['rejected_by_reason'])}.
Temporal split at {html.escape(metrics['split']['cut'])}: {metrics['split']['train_rows']} earlier
calls to train, {metrics['split']['test_rows']} later calls to test.{_sample_note(data)}</p>
<section><h2>Holdout quality</h2><table class="kpi"><tr><th></th><th>ROC AUC</th><th>log loss</th>
<th>Brier</th></tr><tr><td>this model</td><td>{cls['roc_auc']}</td><td>{cls['log_loss']}</td>
<td>{cls['brier']}</td></tr><tr><td>seed RandomForest{_seed_sample(seed)}</td>
<td>{seed['roc_auc']}</td><td>{seed['log_loss']}</td><td>{seed['brier']}</td></tr></table>
<p>Expected calibration error: {cls['ece']}</p></section>
{against_live(metrics, metadata['model_version'], gate_tolerance)}
<section><h2>Recommended-slot lift vs baselines</h2><p>{lift_note}</p>{lift}
{capture_breakdown(rec)}</section>
<section><h2>Calibration</h2>{calibration_svg(calibration)}</section>
<section><h2>Answer rate by local day and hour (all valid calls, %)</h2>
{heatmap_table(heatmap)}</section>
<section><h2>Feature importance</h2><p>Permutation importance (drop in holdout ROC AUC).</p>
{bars(metrics['feature_importance'], "{:.4f}")}</section>
</body></html>
"""
