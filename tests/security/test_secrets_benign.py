"""What people legitimately type is not taken for a secret: the false-positive rate on a benign corpus.

The corpus (secrets_benign_corpus.txt) holds UUIDs and digests generated once from fixed seeds, and
hand-written prose, URLs and secret references, dates, identifiers, versions and near misses (text that
talks about keys and tokens, public-key headers, short signatures). Each value goes through the check
the registration applies to every free-text field, in the fields that take the longest text.
"""

from collections import Counter
from dataclasses import replace

from features.validation import secret_paths
from tests.factories import complete_declaration
from tests.security.secrets_fixtures import benign_corpus

CORPUS = benign_corpus()
CATEGORIES = ("uuid", "digest", "url", "prose", "date", "identifier", "version", "near-miss")
TEXT_FIELDS = ("explanation", "purpose", "consent_mechanism", "opt_out", "necessity_justification")


def test_the_corpus_has_at_least_200_values_across_every_category():
    counts = Counter(category for category, _ in CORPUS)
    assert tuple(counts) == CATEGORIES
    assert len(CORPUS) >= 200
    assert all(counts[category] >= 10 for category in CATEGORIES), counts
    assert len({value for _, value in CORPUS}) == len(CORPUS), "a value is listed twice"


def test_no_benign_value_is_refused_as_a_secret(figure):
    base = complete_declaration()
    refused = [
        f"{category}: {value!r} ({kind} in {path})"
        for category, value in CORPUS
        for path, kind in secret_paths(replace(base, **dict.fromkeys(TEXT_FIELDS, value))).items()
    ]
    assert not refused, "\n".join(refused)
    counts = Counter(category for category, _ in CORPUS)
    figure(
        f"secrets in input, benign corpus: 0/{len(CORPUS)} false positives "
        f"({', '.join(f'{counts[category]} {category}' for category in CATEGORIES)})"
    )
