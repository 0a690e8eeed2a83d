"""report.html: the readable report, one self-contained page (inline CSS and SVG, no script, no external
asset), written a feature at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe

from governance.evidence.report import (
    BOTH,
    CELL_WORDS,
    DECLARED_ONLY,
    OBSERVED_ONLY,
    FeatureView,
    chart_series,
    feature_view,
    status_label,
    tier_label,
    when,
)

STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;margin:2rem auto;max-width:62rem;
padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.3rem;border-top:2px solid #d0d7de;padding-top:1rem;margin-top:2.5rem}
h3{font-size:1.05rem;margin:1.2rem 0 .4rem}
table{border-collapse:collapse;margin:.4rem 0 1rem}th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;
vertical-align:top}th{background:#f6f8fa}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0}
.explanation{font-size:1.1rem;font-style:italic;border-left:4px solid #0969da;padding-left:.8rem}
.critical{color:#a40e26;font-weight:600}.warning{color:#7d4e00;font-weight:600}.info{color:#0550ae}
.both{background:#dafbe1}.declared{background:#fff8c5}.observed{background:#ffebe9;font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:1.5rem}.muted{color:#59636e}
"""


def _bar_chart(title: str, series: list[tuple[str, int]]) -> str:
    """A horizontal bar chart as inline SVG."""
    width, label_width, bar_height, gap = 420, 150, 18, 6
    peak = max((count for _, count in series), default=0) or 1
    height = 28 + len(series) * (bar_height + gap)
    parts = [
        format_html(
            '<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" role="img" aria-label="{}">'
            '<text x="0" y="16" font-size="14" font-weight="600">{}</text>',
            width,
            height,
            title,
            title,
        )
    ]
    for index, (label, count) in enumerate(series):
        y = 28 + index * (bar_height + gap)
        length = round((width - label_width - 40) * count / peak)
        parts.append(
            format_html(
                '<text x="0" y="{}" font-size="12">{}</text>'
                '<rect x="{}" y="{}" width="{}" height="{}" fill="#0969da"></rect>'
                '<text x="{}" y="{}" font-size="12">{}</text>',
                y + 13,
                label,
                label_width,
                y,
                length,
                bar_height,
                label_width + length + 4,
                y + 13,
                count,
            )
        )
    parts.append("</svg>")
    return "".join(parts)


def _summary(meta: dict, summary: dict) -> str:
    counts = format_html_join(
        "",
        "<tr><th>{}</th><td>{}</td></tr>",
        (
            ("Features", summary["features"]),
            ("Versions filed", summary["versions"]),
            ("Review decisions", summary["decisions"]),
            ("Findings (all statuses)", summary["findings"]),
            ("Accepted risks", summary["accepted_findings"]),
            ("Observed data paths", summary["observed_edges"]),
            ("Unregistered keys observed", summary["unregistered_keys"]),
        ),
    )
    charts = "".join(_bar_chart(title, series) for title, series in chart_series(summary))
    return format_html(
        "<h1>Personalisation governance evidence: {}</h1>"
        "<dl><dt>As of</dt><dd>{}</dd><dt>Generated</dt><dd>{}</dd>"
        "<dt>Audit chain head</dt><dd>#{} <code>{}</code></dd>{}"
        "<dt>Signed with key</dt><dd><code>{}</code> (Ed25519, SHA-256 of the raw public key)</dd></dl>"
        '<h2>Summary</h2><table>{}</table><div class="charts">{}</div>',
        meta["scope"]["label"],
        when(meta["as_of"], "now (the time of generation)"),
        when(meta["generated_at"]),
        meta["audit_chain_head"]["sequence"],
        meta["audit_chain_head"]["hash"],
        format_html(
            "<dt>Audit chain at as-of</dt><dd>#{} <code>{}</code> (the last event on or before it)</dd>",
            meta["audit_chain_as_of"]["sequence"],
            meta["audit_chain_as_of"]["hash"],
        )
        if meta["audit_chain_as_of"]
        else "",
        meta["signing_key_fingerprint"],
        counts,
        _safe(charts),
    )


def format_html(template: str, *args) -> SafeString:
    """Django's `format_html`, escaping each argument (unless already safe) into `template`.

    Ours because Django's passes the escaped arguments to `str.format` as `*map(…)`, which tracemalloc
    (the memory test's instrument) miscounts as never freed.
    """
    return mark_safe(template.format(*[conditional_escape(arg) for arg in args]))  # noqa: S308


def format_html_join(separator: str, template: str, rows: Iterable) -> SafeString:
    return mark_safe(separator.join(format_html(template, *row) for row in rows))  # noqa: S308


def _safe(html: str):
    """Mark markup this module built from `format_html` pieces (every value in it is escaped) as safe."""
    return mark_safe(html)  # noqa: S308


def _references(finding: dict) -> str:
    return "; ".join(finding["references"]) or "—"


def _findings_table(findings: list[dict]) -> str:
    if not findings:
        return '<p class="muted">No open findings or drift.</p>'
    rows = format_html_join(
        "",
        '<tr><td class="{}">{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>',
        (
            (
                f["severity"],
                f["severity"],
                "drift" if f["source"] == "drift" else f["source"],
                f["rule_id"],
                f["message"],
                _references(f),
                status_label(f["status"])
                + (f" until {f['accepted_until']}: {f['accepted_reason']}" if f["status"] == "accepted" else ""),
            )
            for f in findings
        ),
    )
    return format_html(
        "<table><tr><th>Severity</th><th>Source</th><th>Rule</th><th>Message</th><th>Framework references</th>"
        "<th>Status</th></tr>{}</table>",
        rows,
    )


def _matrix(view: FeatureView) -> str:
    matrix = view.matrix
    if not matrix.signals or not matrix.destinations:
        return '<p class="muted">No signals declared or observed.</p>'
    head = format_html_join("", "<th>{}</th>", ((d,) for d in matrix.destinations))
    body = []
    for signal in matrix.signals:
        cells = []
        for destination in matrix.destinations:
            state = matrix.cell(signal, destination)
            cells.append(format_html('<td class="{}">{}</td>', state, CELL_WORDS[state]) if state else "<td></td>")
        body.append(format_html("<tr><th>{}</th>{}</tr>", signal, _safe("".join(cells))))
    legend = format_html(
        '<p class="muted"><span class="{}">{}</span> · <span class="{}">{}</span> · <span class="{}">{}</span></p>',
        BOTH,
        CELL_WORDS[BOTH],
        DECLARED_ONLY,
        CELL_WORDS[DECLARED_ONLY],
        OBSERVED_ONLY,
        CELL_WORDS[OBSERVED_ONLY],
    )
    return format_html(
        "<table><tr><th>Signal \\ destination</th>{}</tr>{}</table>{}", head, _safe("".join(body)), legend
    )


def _feature(record: dict) -> str:
    view = feature_view(record)
    version = view.version
    approvals = format_html_join(
        "",
        "<li>{} approved at {} on {}{}{}</li>",
        (
            (
                a.reviewer,
                tier_label(a.tier),
                when(a.decided_at),
                f"; conditions: {a.conditions}" if a.conditions else "",
                f"; until {a.expires_on}" if a.expires_on else "",
            )
            for a in view.approvals
        ),
    )
    described = (
        f"version {version['version']} (in force)"
        if view.in_force
        else (f"version {version['version']} ({status_label(version['status']).lower()})" if version else "—")
    )
    return format_html(
        '<section id="feature-{}"><h2>{} <code>{}</code></h2>'
        '<p class="explanation">{}</p>'
        "<dl><dt>Team</dt><dd>{}</dd><dt>Status</dt><dd>{}</dd><dt>Described</dt><dd>{} of {} filed</dd>"
        "<dt>Tier requested</dt><dd>{}</dd><dt>Tier approved</dt><dd>{}</dd><dt>Approved on</dt><dd>{}</dd>"
        "<dt>Re-review due</dt><dd>{}</dd><dt>Retired</dt><dd>{}</dd></dl>"
        "<h3>Approvals</h3>{}"
        "<h3>Open findings and drift</h3>{}"
        "<h3>Declared versus observed (signals × destinations)</h3>{}</section>",
        view.key,
        view.name,
        view.key,
        view.explanation or "(no explanation)",
        view.team,
        status_label(view.status),
        described,
        view.versions_filed,
        tier_label(view.requested_tier),
        tier_label(view.approved_tier),
        when(view.approved_at),
        view.review_due_on or "—",
        when(view.retired_at),
        format_html("<ul>{}</ul>", approvals) if view.approvals else _safe('<p class="muted">Not approved.</p>'),
        _safe(_findings_table(view.live_findings)),
        _safe(_matrix(view)),
    )


def _unregistered(record: dict) -> str:
    live = [f for f in (*record["findings"], *record["drift_findings"]) if f["status"] != "resolved"]
    return format_html(
        "<section><h3><code>{}</code></h3><p>{} observed data path(s).</p>{}</section>",
        record["feature_key"],
        len(record["observed_edges"]),
        _safe(_findings_table(live)),
    )


def write_report_html(
    write: Callable[[str], None],
    *,
    meta: dict,
    summary: dict,
    features: Iterable[dict],
    unregistered: Iterable[dict],
) -> None:
    """Write the whole page through `write`, one feature section at a time."""
    write(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape('Evidence: ' + meta['scope']['label'])}</title><style>{STYLE}</style></head><body>\n"
    )
    write(_summary(meta, summary) + "\n")
    for record in features:
        write(_feature(record) + "\n")
    first = True
    for record in unregistered:
        if first:
            write(
                "<h2>Observed but not registered</h2><p>Keys seen by telemetry or drift detection that are not "
                "registered features in this scope.</p>\n"
            )
            first = False
        write(_unregistered(record) + "\n")
    write("</body></html>\n")
