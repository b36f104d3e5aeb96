"""Whether real output matches the output a page shows.

Both sides pass through :func:`normalize.normalize` first. Then every line
must match, in order and exactly, except where the page marks text as
elided, and only there. :data:`ELISIONS` is the one list of those marks:

- a line that is ``...`` and nothing else (after stripping) stands for one
  or more whole lines;
- inside a line, ``...`` stands for some text of that line (at least one
  character) only where it is a token of its own: with a space, the line's
  start, ``=`` or an opening bracket (``(``, ``[``, ``{``, ``<``) on its
  left, and a space, the line's end, a comma, a colon or a closing bracket
  on its right. ``id=...``, ``Digest ..., attempt 1``, ``[...]`` and
  ``admin, auth, ...`` elide; ``Applying x_0001... OK`` and ``alias
  'default'...`` do not.

Everything else is literal: three dots glued to a word, and any run of four
or more dots (a test runner's progress line). Trailing blank lines are
invisible and never compared. Whitespace inside a line must match
(trailing spaces aside, which normalization removes).

docs/project/testing.md describes each elision (section "Comparing
output"); tests/checker/test_testing_page.py fails when the page and
:data:`ELISIONS` differ.
"""

import re
from dataclasses import dataclass
from functools import lru_cache

from .normalize import normalize


@dataclass(frozen=True)
class Elision:
    name: str  # as docs/project/testing.md names it
    mark: re.Pattern  # what the page writes
    stands_for: str  # what the real output may hold there


WHOLE_LINES = Elision(
    "A line that is `...`",
    # The whole line (fullmatch), indented or not.
    re.compile(r"\s*\.\.\.\s*"),
    "one or more whole lines",
)
INSIDE_A_LINE = Elision(
    "`...` inside a line",
    # Three dots that are neither part of a longer run of dots nor glued to
    # a word, with the neighbours a token may have.
    re.compile(r"(?<![^\s=(\[{<])(?<!\.)\.\.\.(?!\.)(?![^\s,:)\]}>])"),
    "some text of that line, at least one character",
)
ELISIONS = (WHOLE_LINES, INSIDE_A_LINE)


def elisions(line):
    """The (start, end) spans of *line* that are elision tokens."""
    return [m.span() for m in INSIDE_A_LINE.mark.finditer(line)]


@lru_cache(maxsize=4096)
def _line_pattern(line):
    parts, position = [], 0
    for start, end in elisions(line):
        parts.append(re.escape(line[position:start]))
        parts.append(".+?")
        position = end
    parts.append(re.escape(line[position:]))
    return re.compile("".join(parts))


def _lines(text):
    lines = normalize(text).split("\n") if text else []
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def lines_match(want, got):
    """Whether the lines *got* match the page's lines *want* (both normalized)."""
    want, got = tuple(want), tuple(got)

    @lru_cache(maxsize=None)
    def match(i, j):
        if i == len(want):
            return j == len(got)
        if WHOLE_LINES.mark.fullmatch(want[i]):
            # One or more whole lines.
            return any(match(i + 1, k) for k in range(j + 1, len(got) + 1))
        if j == len(got):
            return False
        return bool(_line_pattern(want[i]).fullmatch(got[j])) and match(i + 1, j + 1)

    try:
        return match(0, 0)
    finally:
        match.cache_clear()


def matches(expected, actual):
    """Whether *actual* (text) matches *expected* (text or a list of lines)."""
    if not isinstance(expected, str):
        expected = "\n".join(expected)
    return lines_match(_lines(expected), _lines(actual))


def difference(expected_lines, actual_text):
    """The page's lines and the real output, normalized, for a failure."""
    want = normalize("\n".join(expected_lines)) or "(nothing)"
    got = normalize(actual_text) or "(nothing)"
    return (
        "The page shows:\n" + indent(want) + "\nThe real run printed:\n" + indent(got)
    )


def indent(text):
    return "\n".join("    " + line for line in text.splitlines())
