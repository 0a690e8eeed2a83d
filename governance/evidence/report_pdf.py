"""report.pdf: the same report as report.html, typeset with reportlab.

reportlab's layout loop consumes its story from the front, so the story here is a list that refills
itself from a generator of feature sections: only a few sections' flowables exist at any moment, and
memory stays flat however many features the pack holds (finished pages are kept compressed until the
file is written).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO
from xml.sax.saxutils import escape

import reportlab
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from governance.evidence.report import (
    BOTH,
    CELL_WORDS,
    DECLARED_ONLY,
    OBSERVED_ONLY,
    chart_series,
    feature_view,
    status_label,
    tier_label,
    when,
)

# A wide matrix does not fit an A4 page: the PDF shows this many destinations; the HTML and JSON show all.
MAX_MATRIX_DESTINATIONS = 8
HEADING_ROOM = {"h2": 70 * mm, "h3": 25 * mm}
SHORT_CELL = 60  # characters that fit a facts cell on one line without wrapping
CELL_CODES = {BOTH: "D+O", DECLARED_ONLY: "D", OBSERVED_ONLY: "O!"}
CELL_COLOURS = {
    BOTH: colors.HexColor("#dafbe1"),
    DECLARED_ONLY: colors.HexColor("#fff8c5"),
    OBSERVED_ONLY: colors.HexColor("#ffebe9"),
}
SEVERITY_COLOURS = {"critical": "#a40e26", "warning": "#7d4e00", "info": "#0550ae"}
FONT_CANDIDATES = (
    # DejaVu covers far more of Unicode; Vera ships with reportlab, so there is always a TrueType font.
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path(reportlab.__file__).parent / "fonts" / "Vera.ttf",
)


@functools.cache
def _fonts() -> tuple[str, str]:
    """Register a TrueType font (regular, bold) once per process; names usable in styles."""
    for regular in FONT_CANDIDATES:
        bold = regular.with_name(regular.name.replace("Sans.ttf", "Sans-Bold.ttf").replace("Vera.ttf", "VeraBd.ttf"))
        if regular.is_file() and bold.is_file():
            pdfmetrics.registerFont(TTFont("EvidenceSans", str(regular)))
            pdfmetrics.registerFont(TTFont("EvidenceSans-Bold", str(bold)))
            pdfmetrics.registerFontFamily("EvidenceSans", normal="EvidenceSans", bold="EvidenceSans-Bold")
            return "EvidenceSans", "EvidenceSans-Bold"
    return "Helvetica", "Helvetica-Bold"


@functools.cache
def _styles() -> dict[str, ParagraphStyle]:
    regular, bold = _fonts()
    base = getSampleStyleSheet()
    return {
        "title": ParagraphStyle("title", parent=base["Title"], fontName=bold, fontSize=18, leading=22),
        "h2": ParagraphStyle("h2", parent=base["Heading2"], fontName=bold, fontSize=14, leading=17),
        "h3": ParagraphStyle("h3", parent=base["Heading3"], fontName=bold, fontSize=10.5, leading=13),
        "body": ParagraphStyle("body", parent=base["BodyText"], fontName=regular, fontSize=9, leading=11.5),
        "small": ParagraphStyle("small", parent=base["BodyText"], fontName=regular, fontSize=7.5, leading=9),
        "explanation": ParagraphStyle(
            "explanation", parent=base["BodyText"], fontName=regular, fontSize=10.5, leading=13.5, leftIndent=8
        ),
    }


def _heading(text, style: str) -> list[Flowable]:
    """A heading that never ends a page: a new page first unless room for it and a few lines remains.
    (keepWithNext would push a heading and a whole long table to the next page, leaving a gap.)"""
    return [CondPageBreak(HEADING_ROOM[style]), _p(text, style)]


def _p(text, style: str = "body") -> Paragraph:
    return Paragraph(escape(str(text)), _styles()[style])


def _cell(text) -> str | Paragraph:
    """A table cell: short text as a plain string (cheap to lay out), longer text as a wrapping paragraph."""
    text = str(text)
    return text if len(text) <= SHORT_CELL and "\n" not in text else _p(text, "small")


def _grid(data, widths, *, header: bool = True, extra=()) -> Table:
    regular, bold = _fonts()
    commands = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#d0d7de")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("FONTNAME", (0, 0), (-1, -1), regular),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        *extra,
    ]
    if header:
        commands += [("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f6f8fa")), ("FONTNAME", (0, 0), (-1, 0), bold)]
    table = Table(data, colWidths=widths, repeatRows=1 if header else 0, hAlign="LEFT")
    table.setStyle(TableStyle(commands))
    return table


def _chart(title: str, series: list[tuple[str, int]]) -> Drawing:
    regular, bold = _fonts()
    height = 30 + 18 * max(1, len(series))
    drawing = Drawing(170 * mm, height)
    chart = HorizontalBarChart()
    chart.x, chart.y = 45 * mm, 6
    chart.width, chart.height = 100 * mm, height - 30
    chart.data = [[count for _, count in series] or [0]]
    chart.categoryAxis.categoryNames = [label for label, _ in series] or ["—"]
    chart.categoryAxis.reverseDirection = 1
    chart.categoryAxis.labels.fontName = regular
    chart.categoryAxis.labels.fontSize = 8
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontName = regular
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueStep = max(1, max((count for _, count in series), default=1) // 5 or 1)
    chart.bars[0].fillColor = colors.HexColor("#0969da")
    chart.barLabelFormat = "%d"
    chart.barLabels.fontName = regular
    chart.barLabels.fontSize = 7
    chart.barLabels.boxAnchor = "w"
    chart.barLabels.dx = 3
    drawing.add(chart)
    drawing.add(String(0, height - 12, title, fontName=bold, fontSize=10))
    return drawing


def _summary(meta: dict, summary: dict) -> list[Flowable]:
    facts = [
        ["As of", when(meta["as_of"], "now (the time of generation)")],
        ["Generated", when(meta["generated_at"])],
        ["Audit chain head", f"#{meta['audit_chain_head']['sequence']} {meta['audit_chain_head']['hash']}"],
        *(
            [["Audit chain at as-of", f"#{meta['audit_chain_as_of']['sequence']} {meta['audit_chain_as_of']['hash']}"]]
            if meta["audit_chain_as_of"]
            else []
        ),
        ["Signing key (SHA-256)", meta["signing_key_fingerprint"]],
    ]
    counts = [
        ["Features", summary["features"]],
        ["Versions filed", summary["versions"]],
        ["Review decisions", summary["decisions"]],
        ["Findings (all statuses)", summary["findings"]],
        ["Accepted risks", summary["accepted_findings"]],
        ["Observed data paths", summary["observed_edges"]],
        ["Unregistered keys observed", summary["unregistered_keys"]],
    ]
    flowables: list[Flowable] = [
        _p(f"Personalisation governance evidence: {meta['scope']['label']}", "title"),
        _grid([[_p(a, "small"), _p(b, "small")] for a, b in facts], [40 * mm, 130 * mm], header=False),
        _p("Summary", "h2"),
        _grid([[a, str(b)] for a, b in counts], [60 * mm, 25 * mm], header=False),
    ]
    for title, series in chart_series(summary):
        flowables += [Spacer(1, 4 * mm), _chart(title, series)]
    return [*flowables, PageBreak()]


def _findings(findings: list[dict]) -> Flowable:
    if not findings:
        return _p("No open findings or drift.", "small")
    rows = [["Severity", "Rule", "Message", "Framework references", "Status"]]
    for f in findings:
        status = status_label(f["status"])
        if f["status"] == "accepted":
            status += f" until {f['accepted_until']}: {f['accepted_reason']}"
        colour = SEVERITY_COLOURS.get(f["severity"], "#1f2328")
        rows.append(
            [
                Paragraph(f'<font color="{colour}"><b>{escape(f["severity"])}</b></font>', _styles()["small"]),
                _p(f"{f['rule_id']} ({f['source']})", "small"),
                _p(f["message"], "small"),
                _p("; ".join(f["references"]) or "—", "small"),
                _p(status, "small"),
            ]
        )
    return _grid(rows, [18 * mm, 32 * mm, 58 * mm, 42 * mm, 22 * mm])


def _matrix(view) -> list[Flowable]:
    matrix = view.matrix
    if not matrix.signals or not matrix.destinations:
        return [_p("No signals declared or observed.", "small")]
    shown = matrix.destinations[:MAX_MATRIX_DESTINATIONS]
    column = min(22 * mm, (172 * mm - 40 * mm) / len(shown))
    rows = [[_p("signal \\ destination", "small"), *[_p(d, "small") for d in shown]]]
    styles = []
    for r, signal in enumerate(matrix.signals, start=1):
        row = [_cell(signal)]
        for c, destination in enumerate(shown, start=1):
            state = matrix.cell(signal, destination)
            row.append(CELL_CODES[state] if state else "")
            if state:
                styles.append(("BACKGROUND", (c, r), (c, r), CELL_COLOURS[state]))
        rows.append(row)
    table = _grid(rows, [40 * mm] + [column] * len(shown), extra=styles)
    legend = " · ".join(f"{CELL_CODES[s]} = {CELL_WORDS[s]}" for s in (BOTH, DECLARED_ONLY, OBSERVED_ONLY))
    hidden = len(matrix.destinations) - len(shown)
    if hidden:
        legend += f" · {hidden} more destination(s) in report.html and registry.json"
    return [table, _p(legend, "small")]


def _feature(record: dict) -> list[Flowable]:
    view = feature_view(record)
    version = view.version
    described = "—"
    if version:
        described = f"version {version['version']} " + (
            "(in force)" if view.in_force else f"({status_label(version['status']).lower()})"
        )
    facts = [
        ["Team", view.team],
        ["Status", status_label(view.status)],
        ["Described", f"{described} of {view.versions_filed} filed"],
        ["Tier requested", tier_label(view.requested_tier)],
        ["Tier approved", tier_label(view.approved_tier)],
        ["Approved on", when(view.approved_at)],
        ["Re-review due", view.review_due_on or "—"],
    ]
    if view.retired_at:
        facts.append(["Retired", when(view.retired_at)])
    approvals = [
        f"{a.reviewer} approved at {tier_label(a.tier)} on {when(a.decided_at)}"
        + (f"; conditions: {a.conditions}" if a.conditions else "")
        + (f"; until {a.expires_on}" if a.expires_on else "")
        for a in view.approvals
    ] or ["Not approved."]
    return [
        *_heading(f"{view.name} ({view.key})", "h2"),
        _p(view.explanation or "(no explanation)", "explanation"),
        Spacer(1, 2 * mm),
        _grid([[a, _cell(b)] for a, b in facts], [35 * mm, 135 * mm], header=False),
        *_heading("Approvals", "h3"),
        *[_p(line, "small") for line in approvals],
        *_heading("Open findings and drift", "h3"),
        _findings(view.live_findings),
        *_heading("Declared versus observed (signals × destinations)", "h3"),
        *_matrix(view),
        Spacer(1, 6 * mm),
    ]


def _unregistered(records: Iterable[dict]) -> Iterator[list[Flowable]]:
    first = True
    for record in records:
        if first:
            yield [PageBreak(), _p("Observed but not registered", "h2")]
            first = False
        live = [f for f in (*record["findings"], *record["drift_findings"]) if f["status"] != "resolved"]
        yield [
            *_heading(f"{record['feature_key']}: {len(record['observed_edges'])} observed data path(s)", "h3"),
            _findings(live),
        ]


class _Story(list):
    """A story that refills from a generator of flowable lists whenever reportlab looks at it."""

    LOW_WATER = 60

    def __init__(self, sections: Iterator[list[Flowable]]):
        super().__init__()
        self._sections: Iterator[list[Flowable]] | None = sections

    def _fill(self) -> None:
        while self._sections is not None and list.__len__(self) < self.LOW_WATER:
            try:
                self.extend(next(self._sections))
            except StopIteration:
                self._sections = None

    def __len__(self) -> int:
        self._fill()
        return list.__len__(self)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __getitem__(self, index):
        self._fill()
        return list.__getitem__(self, index)


def write_report_pdf(
    destination: BinaryIO,
    *,
    meta: dict,
    summary: dict,
    features: Iterable[dict],
    unregistered: Iterable[dict],
    on_feature: Callable[[], None] | None = None,
) -> None:
    """Typeset the report into `destination`; `on_feature` is called as each feature section is laid out."""
    regular, _ = _fonts()
    label = meta["scope"]["label"]

    def footer(canvas, document):
        canvas.saveState()
        canvas.setFont(regular, 7)
        canvas.drawString(18 * mm, 10 * mm, f"Evidence: {label} · as of {when(meta['as_of'] or meta['generated_at'])}")
        canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, f"page {document.page}")
        canvas.restoreState()

    def sections() -> Iterator[list[Flowable]]:
        yield _summary(meta, summary)
        for record in features:
            yield _feature(record)
            if on_feature is not None:
                on_feature()
        yield from _unregistered(unregistered)

    document = SimpleDocTemplate(
        destination,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
        title=f"Evidence: {label}",
        author="personalisation governance",
        pageCompression=1,
    )
    document.build(_Story(sections()), onFirstPage=footer, onLaterPages=footer)
