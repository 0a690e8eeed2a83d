"""A secret typed into any field of a registration is refused on the form and on the API, and leaves no trace.

DESIGN.md, "Reliability and security": a field that contains something shaped like a secret is refused,
never stored, never logged. For every field a person can type into, every family of secret
(`secrets_fixtures.FAMILIES`) is sent through the registration page and through /api/v1/, one request
each with everything else valid: the 19 fields of a declaration through the edit page and PUT
/features/{key}/draft, a new feature's key and name through the create page and POST /features. A case
passes when the request is refused with an error at that field (form: the page says nothing was saved;
API: 400) and the value is then nowhere: not in the response, not in any column of any table (the audit
trail included), not in any SQL sent to the database (parameters included), not in any log record or log
handler's output, and no audit event was written. A value refused for another reason first (too long for
the field, not a number) counts: it is refused all the same, and must leave no trace either.

Families have several variants (an AWS key id and a secret key, …): field number i gets variant i of its
family, so every variant crosses both ways in; the key and the name get every variant. The last test
reports the figures in pytest's "security figures" summary.
"""

from __future__ import annotations

import io
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from features.declaration import declaration_of
from features.models import Feature
from features.selectors import latest_registration
from features.services import feature_create
from governance.audit.models import AuditEvent
from tests.factories import ServiceIdentityFactory, SignalFactory, complete_declaration, form_data
from tests.security.secrets_fixtures import FAMILIES, SAMPLES, SecretSample, family_samples

pytestmark = pytest.mark.django_db

FEATURE_KEY = "locale-ordering"
EDIT_PAGE, CREATE_PAGE = f"/features/{FEATURE_KEY}/edit/", "/features/new/"
DRAFT_API, FEATURES_API = f"/api/v1/features/{FEATURE_KEY}/draft", "/api/v1/features"
SECTIONS = ("signals", "identities", "destinations")


# --- where a value goes ----------------------------------------------------------------------------------------


def _in_prose(value: str) -> str:
    return f"The ranker is called with {value} for now."


def _top(name: str, prose: bool = False) -> Callable[[dict, str], None]:
    return lambda declaration, value: declaration.update({name: _in_prose(value) if prose else value})


def _row(section: str, name: str, prose: bool = False) -> Callable[[dict, str], None]:
    return lambda declaration, value: declaration[section][0].update({name: _in_prose(value) if prose else value})


def _append(section: str, name: str) -> Callable[[dict, str], None]:
    return lambda declaration, value: declaration[section][0][name].append(value)


# Every field of a declaration a person types or picks, by its path; choices and numbers too (a request can
# carry anything). Free text gets the secret inside a sentence, identifiers and choices get it bare.
FIELDS: dict[str, Callable[[dict, str], None]] = {
    "explanation": _top("explanation", prose=True),
    "purpose": _top("purpose", prose=True),
    "requested_tier": _top("requested_tier"),
    "consent_basis": _top("consent_basis"),
    "consent_mechanism": _top("consent_mechanism", prose=True),
    "retention_days": _top("retention_days"),
    "opt_out": _top("opt_out", prose=True),
    "high_trust_domain": _top("high_trust_domain"),
    "necessity_justification": _top("necessity_justification", prose=True),
    "signals.0.signal": _row("signals", "signal"),
    "signals.0.origin": _row("signals", "origin"),
    "signals.0.justification": _row("signals", "justification", prose=True),
    "signals.0.retention_days": _row("signals", "retention_days"),
    "identities.0.identity": _row("identities", "identity"),
    "identities.0.scopes": _append("identities", "scopes"),
    "identities.0.access": _row("identities", "access"),
    "destinations.0.name": _row("destinations", "name"),
    "destinations.0.kind": _row("destinations", "kind"),
    "destinations.0.signals": _append("destinations", "signals"),
}
FEATURE_FIELDS = ("key", "name")  # typed when a feature is created, on the page and in the API
ALL_FIELDS = (*FIELDS, *FEATURE_FIELDS)


def sample_for(family: str, field_index: int) -> SecretSample:
    variants = family_samples(family)
    return variants[field_index % len(variants)]


# --- what a refused value could leak into -------------------------------------------------------------------------


def database_text() -> dict[str, str]:
    """Every stored value of every column of every table in the database, as text, by `table.column`."""
    cells: dict[str, list[str]] = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 (names from the catalogue)
            columns = [f"{table}.{column[0]}" for column in cursor.description]
            for column in columns:
                cells[column] = []
            for row in cursor.fetchall():
                for column, cell in zip(columns, row, strict=True):
                    text = bytes(cell).decode("latin-1") if isinstance(cell, bytes | memoryview) else str(cell)
                    cells[column].append(text)
    return {column: "\n".join(texts) for column, texts in cells.items()}


class Traces:
    """What requests leave behind outside the database: the SQL they send, log records, log handlers' output."""

    def __init__(self, caplog):
        self.caplog = caplog
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.queries = CaptureQueriesContext(connection)
        self.loggers: list[logging.Logger] = []

    def __enter__(self):
        self.caplog.set_level(logging.DEBUG)
        # The root logger, and every logger that does not pass its records up to it.
        self.loggers = [logging.getLogger()] + [
            logger
            for logger in logging.Logger.manager.loggerDict.values()
            if isinstance(logger, logging.Logger) and not logger.propagate
        ]
        for logger in self.loggers:
            logger.addHandler(self.handler)
        self.queries.__enter__()  # a debug cursor: every query and its parameters, also logged at DEBUG
        return self

    def __exit__(self, *exc_info):
        self.queries.__exit__(*exc_info)
        for logger in self.loggers:
            logger.removeHandler(self.handler)

    def places_containing(self, needle: str) -> list[str]:
        places = {
            "SQL sent to the database": "\n".join(
                f"{query['sql']} {query.get('params', '')}" for query in self.queries.captured_queries
            ),
            "log records": self.caplog.text + "\n".join(str(record.__dict__) for record in self.caplog.records),
            "log handler output": self.stream.getvalue(),
        }
        return [place for place, text in places.items() if needle in text]


# --- a request, and whether it was refused without a trace ----------------------------------------------------------


@dataclass(frozen=True)
class Case:
    surface: str  # "form" or "API"
    way_in: str
    field: str
    sample: SecretSample

    def __str__(self) -> str:
        return f"{self.surface} ({self.way_in}), {self.sample.id} in {self.field}"


def api_error_fields(response) -> set[str]:
    return {error["field"] for error in response.json().get("errors", []) if error.get("field")}


def form_error_fields(response) -> set[str]:
    """The fields of the re-shown registration page that carry an error, by declaration path."""
    context = response.context
    editor, feature_form = context["editor"], context.get("feature_form")
    named = set(editor.form.errors)
    for section in SECTIONS:
        for index, row in enumerate(editor.sections[section].formset.forms):
            named |= {f"{section}.{index}.{name}" for name in row.errors}
    return named | (set(feature_form.errors) if feature_form is not None else set())


def refusal_problems(case: Case, response) -> list[str]:
    """Why `response` is not a refusal naming the case's field (empty when it is one)."""
    if case.surface == "API":
        if response.status_code != 400:
            return [f"answered {response.status_code}, not 400"]
        named = api_error_fields(response)
    else:
        if response.status_code != 200 or "Nothing was saved" not in response.content.decode():
            return [f"answered {response.status_code}, not the page saying nothing was saved"]
        named = form_error_fields(response)
    if not any(name == case.field or name.startswith(f"{case.field}.") for name in named):
        return [f"the errors name {sorted(named)}, not {case.field}"]
    return []


def run_case(case: Case, send: Callable[[], object], state: Callable[[], object]) -> list[str]:
    """Send one request carrying a secret; what went wrong (nothing, when it was refused without a trace).

    `state()` is what the request must leave as it was (the draft, the list of features).
    """
    before, events_before = state(), AuditEvent.objects.count()
    response = send()
    problems = refusal_problems(case, response)
    if case.sample.needle in response.content.decode():
        problems.append("the response repeats the secret")
    if state() != before:
        problems.append("something was saved")
    if AuditEvent.objects.count() != events_before:
        problems.append("an audit event was recorded")
    return problems


# (form or API, field) -> family -> [cases refused without a trace, cases run]; the last test reports them.
RESULTS: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))


def finish(cases: list[tuple[Case, list[str]]], traces: Traces) -> None:
    """Look for every secret sent in the database and the traces; count the figures; fail on any problem."""
    stored = database_text()
    assert "audit_auditevent.payload" in stored  # the audit trail is among the tables searched
    report = []
    for case, problems in cases:
        needle = case.sample.needle
        leaks = [column for column, text in stored.items() if needle in text] + traces.places_containing(needle)
        problems = problems + [f"found in {place}" for place in leaks]
        tally = RESULTS[case.surface, case.field][case.sample.family]
        tally[0] += not problems
        tally[1] += 1
        report += [f"{case}: {problem}" for problem in problems]
    assert not report, "\n".join(report)


# --- the registry under test ------------------------------------------------------------------------------------


@pytest.fixture
def catalogue(db):
    SignalFactory(key="locale")
    ServiceIdentityFactory(name="reco-reader", granted_scopes=["profile:read"])


@pytest.fixture
def feature(owner, team, catalogue):
    return feature_create(
        actor=owner, key=FEATURE_KEY, name="Locale ordering", team=team, declaration=complete_declaration()
    )


@pytest.fixture
def browser(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def api(owner):
    client = APIClient()
    client.force_login(owner)
    return client


def declaration_with(field: str, value: str) -> dict:
    declaration = complete_declaration().as_dict()
    FIELDS[field](declaration, value)
    return declaration


# --- a secret in a field of the declaration: the edit page and PUT /draft ---------------------------------------


@pytest.mark.parametrize("field", FIELDS)
def test_a_secret_in_a_declaration_field_is_refused_by_the_form_without_a_trace(browser, feature, caplog, field):
    draft = lambda: declaration_of(latest_registration(feature))  # noqa: E731
    cases = []
    with Traces(caplog) as traces:
        for family in FAMILIES:
            case = Case("form", "edit page", field, sample_for(family, list(FIELDS).index(field)))
            data = form_data(declaration_with(field, case.sample.value))
            cases.append((case, run_case(case, lambda data=data: browser.post(EDIT_PAGE, data), draft)))
    finish(cases, traces)


@pytest.mark.parametrize("field", FIELDS)
def test_a_secret_in_a_declaration_field_is_refused_by_the_api_without_a_trace(api, feature, caplog, field):
    draft = lambda: declaration_of(latest_registration(feature))  # noqa: E731
    cases = []
    with Traces(caplog) as traces:
        for family in FAMILIES:
            case = Case("API", "PUT /features/{key}/draft", field, sample_for(family, list(FIELDS).index(field)))
            body = declaration_with(field, case.sample.value)
            cases.append((case, run_case(case, lambda body=body: api.put(DRAFT_API, body, format="json"), draft)))
    finish(cases, traces)


# --- a secret as a new feature's key or name: the create page and POST /features --------------------------------


def features() -> list[tuple[str, str]]:
    return list(Feature.objects.values_list("key", "name"))


@pytest.mark.parametrize("field", FEATURE_FIELDS)
def test_a_secret_as_a_new_features_key_or_name_is_refused_by_the_form_without_a_trace(
    browser, team, catalogue, caplog, field
):
    cases = []
    with Traces(caplog) as traces:
        for index, sample in enumerate(SAMPLES):
            case = Case("form", "create page", field, sample)
            data = {
                **form_data(complete_declaration().as_dict()),
                "key": f"new-{index}",
                "name": "New",
                "team": team.slug,
            }
            data[field] = sample.value
            cases.append((case, run_case(case, lambda data=data: browser.post(CREATE_PAGE, data), features)))
    finish(cases, traces)


@pytest.mark.parametrize("field", FEATURE_FIELDS)
def test_a_secret_as_a_new_features_key_or_name_is_refused_by_the_api_without_a_trace(
    api, team, catalogue, caplog, field
):
    cases = []
    with Traces(caplog) as traces:
        for index, sample in enumerate(SAMPLES):
            case = Case("API", "POST /features", field, sample)
            body = {"key": f"new-{index}", "name": "New", "team": team.slug, field: sample.value}
            body["declaration"] = complete_declaration().as_dict()
            cases.append(
                (case, run_case(case, lambda body=body: api.post(FEATURES_API, body, format="json"), features))
            )
    finish(cases, traces)


# --- the figures ------------------------------------------------------------------------------------------------


def test_every_family_and_every_variant_is_sent():
    assert FAMILIES == ("aws", "gcp", "azure", "github", "slack", "stripe", "private-key", "jwt", "high-entropy")
    sent = {sample_for(family, index).id for family in FAMILIES for index in range(len(FIELDS))}
    assert sent == {sample.id for sample in SAMPLES}


def test_needles_are_spelled_the_same_in_json_html_and_sql():
    # The searches look for a needle verbatim: it must hold nothing that JSON, HTML or SQL would escape.
    for sample in SAMPLES:
        assert len(sample.needle) >= 16 and sample.needle in sample.value
        assert not set(sample.needle) & set("\"'\\<>&\n"), sample.id


def surface_figure(surface: str) -> tuple[str, int, int]:
    """The figure line for the form or the API; the requests refused without a trace, and those sent."""
    by_field = {field: RESULTS[surface, field] for field in ALL_FIELDS}
    refused = sum(tally[0] for tallies in by_field.values() for tally in tallies.values())
    sent = sum(tally[1] for tallies in by_field.values() for tally in tallies.values())
    families = sum(
        all(by_field[field][family][0] == by_field[field][family][1] > 0 for field in ALL_FIELDS) for family in FAMILIES
    )
    line = (
        f"secrets in input, {surface}: {families}/{len(FAMILIES)} families refused in all {len(ALL_FIELDS)} fields; "
        f"{refused}/{sent} requests refused and found nowhere after (tables incl. audit trail, SQL, logs, response)"
    )
    return line, refused, sent


def test_secrets_in_input_figures(request, figure):
    """Runs last and reports the figures; skips when only part of the module was selected."""
    matrix = [
        item
        for item in request.session.items
        if item.module is request.module and item.originalname.startswith("test_a_secret_")
    ]
    if len(matrix) < 2 * len(ALL_FIELDS):
        pytest.skip("the figures count every case: run the whole module")
    lines = []
    for surface in ("form", "API"):
        line, refused, sent = surface_figure(surface)
        assert sent == len(FAMILIES) * len(FIELDS) + len(SAMPLES) * len(FEATURE_FIELDS), line
        assert refused == sent, line
        lines.append(line)
    for line in lines:
        figure(line)
