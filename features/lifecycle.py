"""The feature lifecycle: which status may follow which, and nothing else.

draft → in_review → approved → retired, with the two detours a review can take (changes_requested,
rejected). A feature that is approved, rejected or sent back goes to review again when a new version is
submitted. Any other move raises `TransitionNotAllowed`.
"""

from features.choices import FeatureStatus as S


class TransitionNotAllowed(Exception):
    """A lifecycle move that DESIGN.md does not allow; the message says which and why."""


FEATURE_TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.IN_REVIEW, S.RETIRED}),
    S.IN_REVIEW: frozenset({S.APPROVED, S.CHANGES_REQUESTED, S.REJECTED}),
    S.CHANGES_REQUESTED: frozenset({S.IN_REVIEW, S.RETIRED}),
    S.APPROVED: frozenset({S.IN_REVIEW, S.RETIRED}),
    S.REJECTED: frozenset({S.IN_REVIEW, S.RETIRED}),
    S.RETIRED: frozenset(),
}


def check_transition(current: str, target: str) -> None:
    """Raise `TransitionNotAllowed` unless a feature in `current` may move to `target`."""
    if target not in FEATURE_TRANSITIONS[current]:
        raise TransitionNotAllowed(
            f"A feature that is {S(current).label.lower()} cannot become {S(target).label.lower()}."
        )
