"""Normalisation of output that changes from run to run.

A page shows the output of one real run; the tests compare it with the
output of another. Both sides pass through :func:`normalize` first, so
values that can never repeat (ids, clocks, addresses, random worker ids)
compare equal while everything else must match exactly.

:data:`RULES` is the one list of what normalization replaces, applied in
its order. The table "Normalization rules" of docs/project/testing.md
describes each rule with an example, in the same order;
tests/checker/test_testing_page.py fails when the two differ, or when an
example of the page does not normalize as the page says.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    name: str  # as the table of docs/project/testing.md names it
    apply: Callable  # text -> text


def replacing(pattern, placeholder):
    """A rule's apply: every match of *pattern* becomes *placeholder*."""
    compiled = re.compile(pattern)
    return lambda text: compiled.sub(placeholder, text)


def _strip_trailing_spaces(text):
    # Trailing spaces are invisible on a page and in a terminal.
    return "\n".join(line.rstrip() for line in text.splitlines())


# Order matters: ids before shorter numbers.
RULES = (
    Rule(
        "uuid",
        replacing(
            r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
            "<uuid>",
        ),
    ),
    Rule(
        "datetime repr",
        replacing(
            r"datetime\.datetime\(\d{4}(?:, \d{1,6}){2,6}", "datetime.datetime(<when>"
        ),
    ),
    Rule(
        "ISO timestamp",
        replacing(
            r"\b\d{4}-\d\d-\d\d[ T]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:[+-]\d\d:\d\d|Z)?",
            "<timestamp>",
        ),
    ),
    Rule("memory address", replacing(r"\b0x[0-9a-fA-F]{6,16}\b", "0x<address>")),
    # How long a test run took: "Ran 29 tests in 0.372s", "in 1.13s".
    Rule("duration", replacing(r"\bin \d+\.\d+s\b", "in <seconds>s")),
    # get_random_string(32): letters and digits, at least one of each.
    Rule(
        "worker id",
        replacing(r"\b(?=[A-Za-z]*\d)(?=\d*[A-Za-z])[A-Za-z0-9]{32}\b", "<worker-id>"),
    ),
    Rule("trailing spaces", _strip_trailing_spaces),
)


def normalize(text):
    """Return *text* with every volatile value replaced by a placeholder."""
    for rule in RULES:
        text = rule.apply(text)
    return text
