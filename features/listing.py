"""What the list pages (the feature list, the review queue) share: per-row work done once per page.

A list page is read on every visit, and what a template tag or filter does again for each row adds up:
resolving the URL pattern for each row's link (`{% url %}`, 15 µs) cost half as much as the rest of a
row. `RowUrl` reverses once and fills each row's values in; `TimeSince` translates each unit once.
"""

from __future__ import annotations

import datetime

from django.urls import reverse
from django.utils.timesince import TIME_STRINGS, timesince


def _placeholder(kind: str, number: int) -> str:
    """A stand-in the slug or int converter accepts and no URL prefix contains."""
    return {"slug": f"rowurl-placeholder-{number}", "int": f"91827364{number}"}[kind]


class RowUrl:
    """`RowUrl("features:detail", key="slug")(key="reco-home")` is `reverse("features:detail",
    kwargs={"key": "reco-home"})`, with the pattern resolved once.

    Only for slug and int arguments (named with their converter): values `reverse()` inserts unchanged,
    so filling them in gives the same URL. Keys are slugs by the model's field; versions are numbers.
    """

    def __init__(self, viewname: str, **converters: str):
        placeholders = {name: _placeholder(kind, number) for number, (name, kind) in enumerate(converters.items())}
        url = reverse(viewname, kwargs=placeholders)
        for name, placeholder in placeholders.items():
            if url.count(placeholder) != 1:
                raise ValueError(f"{viewname}: cannot tell {name!r} from the rest of {url!r}.")
            url = url.replace(placeholder, f"{{{name}}}")
        self._template = url  # reverse() percent-encodes braces, so the only ones are the fields'

    def __call__(self, **values: str | int) -> str:
        return self._template.format_map(values)


class TimeSince:
    """`|timesince` for the rows of one page: the same text, with each unit's translation ("%(num)d months")
    looked up once per number instead of once per row — the lookups were most of the filter's time."""

    def __init__(self):
        self._units = {name: _TranslatedOnce(text) for name, text in TIME_STRINGS.items()}

    def __call__(self, value: datetime.datetime | None) -> str:
        return timesince(value, time_strings=self._units) if value else ""


class _TranslatedOnce:
    """A plural text (`ngettext_lazy`) that `timesince` formats with `% {"num": n}`, translated once per n."""

    def __init__(self, text):
        self._text, self._done = text, {}

    def __mod__(self, values: dict) -> str:
        number = values["num"]
        if number not in self._done:
            self._done[number] = self._text % values
        return self._done[number]
