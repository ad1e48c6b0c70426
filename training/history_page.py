"""The history page: every run of one stack, newest first, with its version's figures (rows,
rejects by reason, ROC AUC against the live model's, recommendations, the gate, how the run
ended), and the ROC AUC over time, so drift is seen at a glance. One self-contained HTML page."""

from __future__ import annotations

import html
from typing import Any

OUTCOME_COLORS = {"deployed": "#2e7d32", "kept-current-model": "#546e7a",
                  "rolled-back": "#e65100", "rollback-failed": "#b71c1c", "failed": "#b71c1c"}


def _auc_svg(records: list[dict[str, Any]], width: int = 640, height: int = 160) -> str:
    points = [(i, r["roc_auc"]) for i, r in enumerate(records) if r.get("roc_auc") is not None]
    if len(points) < 2:
        return "<p>The ROC AUC over time shows from the second trained version on.</p>"
    low = min(a for _, a in points) - 0.01
    high = max(a for _, a in points) + 0.01
    x = lambda i: 30 + i * (width - 40) / max(1, len(records) - 1)  # noqa: E731
    y = lambda a: height - 20 - (a - low) / (high - low) * (height - 40)  # noqa: E731
    line = " ".join(f"{x(i):.1f},{y(a):.1f}" for i, a in points)
    dots = "".join(f'<circle cx="{x(i):.1f}" cy="{y(a):.1f}" r="3" fill="'
                   f'{OUTCOME_COLORS.get(records[i]["outcome"], "#333")}"><title>'
                   f'{html.escape(str(records[i].get("model_version")))}: {a:.4f} '
                   f'({html.escape(records[i]["outcome"])})</title></circle>'
                   for i, a in points)
    return (f'<svg width="{width}" height="{height}" role="img" aria-label="ROC AUC per run">'
            f'<text x="0" y="12" font-size="11">ROC AUC {high:.3f}</text>'
            f'<text x="0" y="{height - 4}" font-size="11">{low:.3f} (oldest left)</text>'
            f'<polyline points="{line}" fill="none" stroke="#1565c0"/>{dots}</svg>')


def _rejects(record: dict[str, Any]) -> str:
    reasons = record.get("rejected_by_reason") or {}
    shown = ", ".join(f"{k} {v:,}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1]))
    count = record.get("rows_rejected")
    return "-" if count is None else f"{count:,}" + (f" ({html.escape(shown)})" if shown else "")


def _versus(record: dict) -> str:
    """The recommendations' difference to the live model's and its noise, as the gate read
    them; marked when it is a loss beyond noise."""
    difference, noise = record.get("recommendation_difference"), record.get("recommendation_noise")
    if not isinstance(difference, int | float) or not isinstance(noise, int | float):
        return "-"
    text = f"{difference:+.3f} ({noise:.3f})"
    return f"<b>{text}</b>" if difference + noise < 0 else text


def _number(value: Any, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


def _error(record: dict[str, Any]) -> str:
    """The error's name, then what it said (a failed map item: which one and why)."""
    name, detail = record.get("error") or "", record.get("error_detail") or ""
    if not detail:
        return html.escape(name)
    return f"<b>{html.escape(name)}</b>: {html.escape(detail)}"


def render(records: list[dict[str, Any]], stack: str) -> str:
    """`records`: oldest first, as run_history keeps them."""
    rows = []
    for r in reversed(records):
        color = OUTCOME_COLORS.get(r["outcome"], "#333")
        version = html.escape(r.get("model_version") or "-")
        link = (f'<a href="{version}/report.html">{version}</a>' if r.get("model_version")
                else version)
        rows.append(
            f"<tr><td>{html.escape(r['finished_at'][:19])}</td>"
            f"<td>{html.escape(r['execution'])}</td>"
            f'<td style="color:{color};font-weight:bold">{html.escape(r["outcome"])}</td>'
            f"<td>{link}{' (deploy_version)' if r.get('requested') else ''}</td>"
            f"<td>{_number(r.get('rows_valid'), '{:,}')}</td><td>{_rejects(r)}</td>"
            f"<td>{_number(r.get('roc_auc'), '{:.4f}')}</td>"
            f"<td>{_number(r.get('live_roc_auc'), '{:.4f}')}</td>"
            f"<td>{html.escape(r.get('recommendation') or '-')}</td>"
            f"<td>{_versus(r)}</td>"
            f"<td title=\"{html.escape(r.get('gate_reason') or '')}\">"
            f"{html.escape(r.get('gate') or '-')}</td>"
            f"<td>{_error(r)}</td></tr>")
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>calltime {html.escape(stack)}: every version</title><style>
body{{font-family:system-ui,sans-serif;margin:2rem;color:#222}}
td,th{{padding:.2rem .6rem;text-align:left;font-size:.85rem;border-bottom:1px solid #eee}}
</style></head><body><h1>calltime {html.escape(stack)}: every version over time</h1>
<p>{len(records)} runs. ROC AUC is each version's on its own temporal holdout; "live" is the
live model's on the same holdout, as the quality gate compared them; "vs live" is the answer
rate of held-out calls at the new model's top slots minus at the live model's, with two
standard errors (a loss beyond them keeps the live model).</p>
{_auc_svg(records)}
<table><tr><th>finished (UTC)</th><th>run</th><th>outcome</th><th>version</th><th>rows</th>
<th>rejected (by reason)</th><th>ROC AUC</th><th>live</th><th>recommendations</th>
<th>vs live</th><th>gate</th>
<th>error</th></tr>
{"".join(rows)}</table></body></html>
"""
