"""Normalisation of output that changes from run to run.

A page shows the output of one real run; the tests compare it with the
output of another. Both sides pass through :func:`normalize` first, so
values that can never repeat (ids, clocks, addresses, random worker ids)
compare equal while everything else must match exactly. Each rule is
listed, with an example, in docs/project/testing.md; keep the two in step.
"""

import re

# (name, pattern, replacement). Order matters: ids before shorter numbers.
RULES = [
    (
        "uuid",
        re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"),
        "<uuid>",
    ),
    (
        "datetime repr",
        re.compile(r"datetime\.datetime\(\d{4}(?:, \d{1,6}){2,6}"),
        "datetime.datetime(<when>",
    ),
    (
        "ISO timestamp",
        re.compile(
            r"\b\d{4}-\d\d-\d\d[ T]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:[+-]\d\d:\d\d|Z)?"
        ),
        "<timestamp>",
    ),
    (
        "memory address",
        re.compile(r"\b0x[0-9a-fA-F]{6,16}\b"),
        "0x<address>",
    ),
    (
        "duration",
        # How long a test run took: "Ran 29 tests in 0.372s", "in 1.13s".
        re.compile(r"\bin \d+\.\d+s\b"),
        "in <seconds>s",
    ),
    (
        "worker id",
        # get_random_string(32): letters and digits, at least one of each.
        re.compile(r"\b(?=[A-Za-z]*\d)(?=\d*[A-Za-z])[A-Za-z0-9]{32}\b"),
        "<worker-id>",
    ),
]


def normalize(text):
    """Return *text* with every volatile value replaced by a placeholder."""
    for _name, pattern, replacement in RULES:
        text = pattern.sub(replacement, text)
    # Trailing spaces are invisible on a page and in a terminal.
    return "\n".join(line.rstrip() for line in text.splitlines())
