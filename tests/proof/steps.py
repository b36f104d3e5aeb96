"""A console block as the steps a reader takes, and where each is on the page.

A console block of a part page holds, in order:

- ``$`` lines: commands the reader types (a line ending in ``\\`` goes on
  on the next line);
- a ``^C`` line: the reader presses Ctrl+C in that terminal;
- every other line: output of the step above it. Output before the
  block's first ``$`` is more output of the command that already runs in
  the block's terminal.

:func:`parse_console` turns the block's text into :class:`Step` objects;
:func:`page_line` finds the page line of a line of any block, so that a
failure names the place a contributor has to fix.
"""

from dataclasses import dataclass, field
from pathlib import Path


class ReplayError(AssertionError):
    """A step of the page that does not do what the page says."""


@dataclass
class Step:
    kind: str  # "command", "interrupt" or "watch" (more output of a running command)
    command: str
    expected: list = field(default_factory=list)
    offset: int = 0  # line within the block


def parse_console(text):
    steps = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("$ "):
            command, start = line[2:], i
            while command.endswith("\\") and i + 1 < len(lines):
                i += 1
                command = command[:-1].rstrip() + " " + lines[i].strip()
            steps.append(Step("command", command.strip(), offset=start))
        elif line.strip() == "^C":
            steps.append(Step("interrupt", "^C", offset=i))
        elif steps:
            steps[-1].expected.append(line)
        elif line.strip():
            # Output before any command: what a command already running in
            # this terminal prints next.
            steps.append(Step("watch", "", expected=[line], offset=i))
        i += 1
    return steps


def page_line(block, offset):
    """The page line of line *offset* (from 0) of a block's content."""
    try:
        source = Path(block.source).read_text().splitlines()
    except OSError:
        return block.line
    first = next((line.strip() for line in block.text.splitlines() if line.strip()), "")
    for number in range(max(block.line - 1, 0), len(source)):
        if first and source[number].strip() == first:
            start = number - next(
                i for i, line in enumerate(block.text.splitlines()) if line.strip()
            )
            return start + offset + 1
    return block.line
