"""A JSON batch whose every item is clean is decoded by msgspec and folded by `_fold_clean`; any other batch
by the exact route, item by item. The two must never disagree: for any body, what the clean route folds is
what the exact route folds from the same body, and a batch the exact route would refuse any part of never
takes the clean route. Pure functions: no database, no HTTP."""

import datetime
import json

import orjson
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from governance.drift import ingest

NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.UTC)


def mostly(usual, unusual):
    """Values from `usual` 39 times in 40, else from `unusual`: many batches stay clean, many do not."""
    return st.integers(0, 39).flatmap(lambda draw: usual if draw else unusual)


# Names: mostly well-formed for their field, sometimes not (upper case, a space, an email, an IP address, too
# long, empty, a leading dash, a colon where only identities and destinations may have one).
KEYS = st.sampled_from(["reco-locale", "locale", "search.rank", "a_b", "x" * 80])
ADDRESSES = st.sampled_from(["reco-reader", "svc:a/b", "spiffe://prod/ns/reco", "Ranker.V2"])
ODD_NAMES = st.sampled_from(["Reco", "a b", "jane@example.com", "10.0.0.1", "::1", "x" * 130, "", "-lead", "a:b"])
NAMES = {
    "feature": mostly(KEYS, ODD_NAMES),
    "service_identity": mostly(ADDRESSES, ODD_NAMES),
    "signal": mostly(KEYS, ODD_NAMES),
    "destination": mostly(ADDRESSES, ODD_NAMES),
    "environment": mostly(st.sampled_from(["production", "staging", "eu-1"]), ODD_NAMES),
}
# Moments: RFC 3339 in its spellings (zones, lower case, a space, fractions of every length), and not.
MOMENTS = mostly(
    st.builds(
        lambda minutes, fraction, zone, separator: (
            (NOW - datetime.timedelta(minutes=minutes)).strftime(f"%Y-%m-%d{separator}%H:%M:%S") + fraction + zone
        ),
        st.integers(min_value=-10, max_value=400 * 24 * 60 + 10),
        st.sampled_from(["", ".5", ".123", ".123456", ".1234567", ".999999999"]),
        st.sampled_from(["Z", "z", "+00:00", "-00:00", "+05:30", "-08:00", "+0530"]),
        st.sampled_from(["T", "t", " "]),
    ),
    st.sampled_from(
        [
            "2026-02-30T12:00:00Z",
            "2026-11-25",
            "later",
            "2026-11-25T24:00:00Z",
            "2026-11-25T11:00:00.Z",
            "2026-11-25T11:00:00",
        ]
    ),
)
COUNTS = mostly(
    st.integers(min_value=1, max_value=3), st.sampled_from([0, -1, 10**9, 10**9 + 1, 2**70, 1.0, True, None, "2"])
)
TTLS = mostly(st.integers(min_value=0, max_value=3600), st.sampled_from([-1, 2**53, 2**53 + 1, 0.5, None, "60"]))


@st.composite
def items(draw):
    item = {field: draw(NAMES[field]) for field in ingest.IDENTIFIER_FIELDS}
    item["observed_at"] = draw(MOMENTS)
    if draw(st.booleans()):
        item["count"] = draw(COUNTS)
    if draw(st.booleans()):
        item["credential_ttl_seconds"] = draw(TTLS)
    if draw(st.integers(0, 40)) == 0:
        item[draw(st.sampled_from(["user_id", "note", "feature"]))] = draw(st.sampled_from(["u-1", "ok", 3]))
    if draw(st.integers(0, 40)) == 0:
        del item[draw(st.sampled_from(list(item)))]
    return item


def both_routes(body: bytes, *, track_features: bool = False) -> tuple:
    decoded = ingest.decode_json_batch(body)
    clean = (
        ingest._fold_clean(decoded, NOW, track_features=track_features) if type(decoded) is ingest.CleanBatch else None
    )
    exact = ingest._validate_and_fold(ingest.json_batch_items(body), NOW, track_features=track_features)
    return clean, exact


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(items(), max_size=12), st.booleans(), st.booleans())
def test_the_clean_route_folds_what_the_exact_route_folds(batch, enveloped, track_features):
    body = json.dumps({"observations": batch} if enveloped else batch).encode()  # big integers too

    clean, exact = both_routes(body, track_features=track_features)

    event("clean route" if clean is not None else "exact route")
    if clean is not None:
        assert clean == exact
    assert ingest._validate_and_fold(ingest.decode_json_batch(body), NOW, track_features=track_features) == exact


@settings(max_examples=300, deadline=None)
@given(st.lists(items(), min_size=1, max_size=12))
def test_a_batch_with_anything_to_refuse_never_takes_the_clean_route(batch):
    clean, exact = both_routes(json.dumps(batch).encode())

    assume(exact.rejected or exact.end_user)
    assert clean is None


@pytest.mark.parametrize(
    "stamp",
    [
        "2026-11-25T11:00:00Z",
        "2026-11-25t11:00:00z",
        "2026-11-25 11:00:00Z",
        "2026-11-25T11:00:00.1234567Z",
        "2026-11-25T16:30:00+05:30",
        "2026-11-25T11:00:00-00:00",
    ],
)
def test_every_spelling_of_a_valid_moment_takes_the_clean_route(stamp):
    item = dict.fromkeys(ingest.IDENTIFIER_FIELDS, "reco") | {"observed_at": stamp, "count": 2}

    clean, exact = both_routes(orjson.dumps([item, item]))

    assert clean is not None and clean == exact
    assert exact.accepted == 2 and not exact.rejected


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b'{"observations": []}',
        b'[{"feature": "a"}]',
        b'[{"feature": "a", "count": null}]',
        b'[1, "two", null]',
        b'[{"feature": "a", "count": 100000000000000000000000}]',
    ],
)
def test_bodies_the_clean_decoder_cannot_take_go_the_exact_route_with_the_same_answer(body):
    decoded = ingest.decode_json_batch(body)

    if type(decoded) is ingest.CleanBatch:
        assert decoded == []
    else:
        assert decoded == ingest.json_batch_items(body)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"[1,",
        b'"a"',
        b"{}",
        b'{"observations": 1}',
        b'{"observations": [], "more": 1}',
        b"[\xff]",
        b'["\\ud800"]',
    ],
)
def test_a_body_that_is_not_a_batch_is_malformed_on_both_routes(body):
    with pytest.raises(ingest.MalformedBatch):
        ingest.decode_json_batch(body)
