"""The reader's copy of a file, built from the parts of it a page has shown.

A page often shows a file in parts: a new function here, a setting there,
the imports later. At each step the reader's file holds what the page has
shown so far, and no more; the replay runs each command against that file.

The model, for one file of the stage (the *final* file):

- the *previous* file is the reader's file before the page first shows it
  (for part NN, the one of stage NN-1, or what a command of the page wrote);
  a file that did not exist starts empty;
- diffing previous to final tells which final lines the reader already has
  (the lines kept unchanged) and which lines of the previous file are gone;
- each block that shows the file covers the final lines it shows
  (``proof_lines``, which ``docs/_ext/tutorial_markup.py`` stamps on a
  ``literalinclude``); a block that shows the whole file, or a ``:diff:``,
  covers all of it;
- the reader's file is then, in the final file's order: every kept line,
  every covered line, and the blank lines right after a line the reader
  has when the reader has a line further down too.
  A changed line replaces its previous version once a block shows its new
  version; a line deleted outright stays until a ``:diff:`` or the whole
  file shows it gone.

Two mistakes of a page are reported: a block that emphasizes a line as new
(``:emphasize-lines:``) when the reader's file has that line already, and,
at the end, final lines that no block ever showed or deletions no block
ever showed.
"""

import difflib
from pathlib import Path

from .changes import normalize_generated, shown_lines
from .paths import where


def _ranges(numbers):
    spans = []
    for n in sorted(numbers):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    text = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in spans)
    return ("line " if len(numbers) == 1 else "lines ") + text


class ReaderFile:
    """One file as the reader has it while following the page."""

    def __init__(self, relative, previous_text, final_text):
        self.relative = relative
        self.previous = previous_text.splitlines() if previous_text is not None else []
        self.final = final_text.splitlines()
        self.ends_with_newline = final_text.endswith("\n")
        matcher = difflib.SequenceMatcher(
            a=[normalize_generated(line) for line in self.previous],
            b=[normalize_generated(line) for line in self.final],
            autojunk=False,
        )
        self.opcodes = matcher.get_opcodes()
        self.kept = set()
        for tag, _i1, _i2, j1, j2 in self.opcodes:
            if tag == "equal":
                self.kept.update(range(j1, j2))
        # final line index -> the place of the block that first showed it
        self.shown_by = {}
        self.deletions_shown = False

    # -- what the reader has -------------------------------------------------

    def _has_text_line(self, j):
        return j in self.kept or j in self.shown_by

    def has(self, j):
        """Whether final line *j* (from 0) is in the reader's file now."""
        if self.final[j].strip():
            return self._has_text_line(j)
        # A blank line: present after a line the reader has, when the reader
        # has a line further down too (a reader separates what they add).
        before = next((k for k in range(j - 1, -1, -1) if self.final[k].strip()), None)
        below = any(
            self._has_text_line(k)
            for k in range(j + 1, len(self.final))
            if self.final[k].strip()
        )
        if before is None:
            return below
        if not any(self.final[k].strip() for k in range(j + 1, len(self.final))):
            return self._has_text_line(before)  # blank lines that end the file
        return self._has_text_line(before) and below

    def lines(self):
        out = []
        for tag, i1, i2, j1, j2 in self.opcodes:
            new = [self.final[j] for j in range(j1, j2) if self.has(j)]
            if tag == "equal":
                out.extend(self.previous[i1:i2])
            elif tag == "insert":
                out.extend(new)
            elif tag == "delete":
                if not self.deletions_shown:
                    out.extend(self.previous[i1:i2])
            else:  # replace: the new version once shown, else the old one
                shown = any(
                    j in self.shown_by for j in range(j1, j2) if self.final[j].strip()
                )
                if shown or self.deletions_shown:
                    out.extend(new)
                else:
                    out.extend(self.previous[i1:i2])
        return out

    def text(self):
        lines = self.lines()
        if not lines:
            return ""
        return "\n".join(lines) + ("\n" if self.ends_with_newline else "")

    # -- what a block shows ----------------------------------------------------

    def show(self, place, numbers, emphasized=()):
        """Apply a block that shows final lines *numbers* (from 1), or all (None).

        Returns the problems: emphasized lines the reader has already.
        """
        problems = []
        for number in emphasized:
            j = number - 1
            if (
                0 <= j < len(self.final)
                and self.final[j].strip()
                and self._has_text_line(j)
            ):
                if j in self.shown_by:
                    since = f"shown at {self.shown_by[j]}"
                else:
                    since = "unchanged from the previous stage"
                problems.append(
                    f"{self.relative}: the block emphasizes line {number} as new, "
                    f"but the reader's file has it already ({since}):\n"
                    f"    {self.final[j].strip()}"
                )
        if numbers is None:
            numbers = range(1, len(self.final) + 1)
            self.deletions_shown = True
        for number in numbers:
            if 0 < number <= len(self.final):
                self.shown_by.setdefault(number - 1, place)
        if all(
            j in self.shown_by for j in range(len(self.final)) if self.final[j].strip()
        ):
            # The page has shown every line of the file: the reader's copy
            # is the page's.
            self.deletions_shown = True
        return problems

    def leftovers(self):
        """What the page never showed: final lines, or deletions."""
        problems = []
        missing = [
            j + 1
            for j in range(len(self.final))
            if self.final[j].strip() and not self._has_text_line(j)
        ]
        if missing:
            problems.append(
                f"{self.relative}: {_ranges(missing)} of the stage's file are never "
                "shown, so the reader never adds them"
            )
        if not self.deletions_shown:
            gone = [
                i + 1
                for tag, i1, i2, _j1, _j2 in self.opcodes
                if tag == "delete"
                for i in range(i1, i2)
                if self.previous[i].strip()
            ]
            if gone:
                problems.append(
                    f"{self.relative}: {_ranges(gone)} of the reader's previous file "
                    "are deleted, but no block shows the deletion (a :diff:, or the "
                    "whole file)"
                )
        return problems


def block_lines(block, final_text):
    """The final file's line numbers a block shows, or None for all of it."""
    if block.language == "udiff":
        return None
    numbers = block.attributes.get("proof_lines")
    final = final_text.splitlines()
    if numbers is not None:
        stamped = [
            final[n - 1].strip() if 0 < n <= len(final) else None for n in numbers
        ]
        if stamped != [line.strip() for line in block.text.splitlines()]:
            # The file changed since the site was built: the stamp is stale.
            numbers = None
    if numbers is None:
        # Find the block's lines in the file, as "no hidden changes" does.
        numbers = sorted(shown_lines(final_text, normalize_generated(block.text)))
    if set(numbers) >= set(range(1, len(final) + 1)):
        return None
    return list(numbers)


class ReaderFiles:
    """The files a page has shown so far, by their path in the project."""

    def __init__(self, previous=None):
        self.files = {}
        # previous(relative) -> the text to start from instead of the
        # reader's file, or None to start from the reader's file.
        self.previous = previous or (lambda relative: None)

    def apply(self, block, project, final_path):
        """Apply an include block; returns (the reader's text now, problems)."""
        relative = block.stage[1]
        final_text = Path(final_path).read_text()
        current = self.files.get(relative)
        if current is None:
            target = Path(project) / relative
            previous = self.previous(relative)
            if previous is None and target.is_file():
                previous = target.read_text()
            current = self.files[relative] = ReaderFile(relative, previous, final_text)
        numbers = block_lines(block, final_text)
        problems = current.show(
            where(block.source, block.line),
            numbers,
            block.attributes.get("proof_emphasized", ()),
        )
        return current.text(), problems

    def leftovers(self):
        problems = []
        for reader_file in self.files.values():
            problems.extend(reader_file.leftovers())
        return problems
