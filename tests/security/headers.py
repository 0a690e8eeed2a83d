"""What every response must carry, as one function per rule, shared by the header walks."""

from __future__ import annotations

import re
from html.parser import HTMLParser

NONE_DIRECTIVES = ("object-src", "base-uri", "frame-ancestors")
NONCE = re.compile(r"^'nonce-([A-Za-z0-9_\-+/=]{16,})'$")


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name.lower()] = values
    return directives


def header_nonce(response) -> str | None:
    directives = csp_directives(response.get("Content-Security-Policy", "") or "x")
    found = [m.group(1) for value in directives.get("script-src", []) if (m := NONCE.match(value))]
    return found[0] if len(found) == 1 else None


class _Scripts(HTMLParser):
    """Every <script> (its attributes, whether it holds code) and every inline event handler."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.scripts: list[dict] = []
        self.handlers: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.handlers += [f"<{tag} {name}>" for name in attributes if name.startswith("on")]
        if tag == "script":
            self.scripts.append({**attributes, "_code": ""})
            self._in_script = True

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1]["_code"] += data


def is_html(response) -> bool:
    return response.get("Content-Type", "").startswith("text/html")


def kind_of(response) -> str:
    """How a walked route answered, for the figure: a page, data, or an answer without content."""
    if 200 <= response.status_code < 300:
        return "page" if is_html(response) else "data"
    return "redirect" if 300 <= response.status_code < 400 else "refusal"


def cache_problems(response) -> list[str]:
    cache_control = response.get("Cache-Control", "")
    return [] if "no-store" in cache_control else [f"Cache-Control is {cache_control!r}, not no-store"]


def csp_problems(response) -> list[str]:
    """The strict policy: a per-request nonce, no inline script, nothing embeddable, no <base> games."""
    header = response.get("Content-Security-Policy")
    if not header:
        return ["no Content-Security-Policy"]
    directives = csp_directives(header)
    problems = []
    if header_nonce(response) is None:
        problems.append(f"script-src names no single nonce: {directives.get('script-src')}")
    for name, values in directives.items():
        if (name.startswith("script-src") or name == "default-src") and (
            "'unsafe-inline'" in values or "'unsafe-eval'" in values
        ):
            problems.append(f"{name} allows {values}")
    for name in NONE_DIRECTIVES:
        if directives.get(name) != ["'none'"]:
            problems.append(f"{name} is {directives.get(name)}, not 'none'")
    if directives.get("default-src") != ["'self'"]:
        problems.append(f"default-src is {directives.get('default-src')}")
    return problems


def body_problems(response) -> list[str]:
    """The page keeps to the policy: scripts come from files, carry the header's nonce if any; no handlers."""
    parser = _Scripts()
    parser.feed(response.content.decode(errors="replace"))
    nonce = header_nonce(response)
    problems = [f"inline event handler {handler}" for handler in parser.handlers]
    for script in parser.scripts:
        if script["_code"].strip() and script.get("type") != "application/json":
            problems.append(f"inline script: {script['_code'].strip()[:60]!r}")
        if "nonce" in script and script["nonce"] != nonce:
            problems.append(f"a script's nonce {script['nonce']!r} is not the header's {nonce!r}")
    return problems


def problems_of(response) -> list[str]:
    """Everything wrong with one response's headers (and, for a page, its scripts)."""
    problems = cache_problems(response)
    if is_html(response):
        problems += csp_problems(response) + body_problems(response)
    return problems
