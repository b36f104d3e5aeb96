"""Each part, followed step by step, gives its stage; and shows every change.

- ``test_replay``: :mod:`proof.replay` follows the page as a reader would;
  every command and session runs for real and its output is compared.
  A transcript of the run is kept in _build/proof/replay-partNN.log.
- ``test_no_hidden_changes``: every line added or changed between
  stage NN-1 and stage NN appears in a block of part NN.
"""

import pytest

from proof.blocks import blocks_of, part_docnames
from proof.changes import normalize_generated, previous_stage, shown_lines, stage_delta
from proof.paths import BUILD, stage_dir, staged_parts, where
from proof.replay import Replay


@pytest.mark.parametrize("number", staged_parts())
def test_replay(site, number, tmp_path):
    docname = part_docnames(site.doctrees)[number]
    blocks = blocks_of(site.doctrees, docname)
    log = BUILD / f"replay-part{number:02d}.log"
    with open(log, "w") as transcript:
        Replay(number, blocks, tmp_path, transcript).run()


@pytest.mark.parametrize("number", staged_parts())
def test_no_hidden_changes(site, number):
    docname = part_docnames(site.doctrees)[number]
    blocks = blocks_of(site.doctrees, docname)
    page = str(blocks[0].source) if blocks else docname
    problems = []
    for relative, (how, added, deleted) in stage_delta(number).items():
        shown = [
            b for b in blocks if b.kind == "include" and b.stage == (number, relative)
        ]
        if how == "added" and any(
            relative.as_posix() in b.text for b in blocks if b.kind == "console"
        ):
            # A file a command of the page writes (makemigrations prints the
            # migration's path); the replay checks its content.
            continue
        if how == "deleted":
            if relative.as_posix() not in page_text(page):
                problems.append(f"{relative} is deleted, but the page never names it")
            continue
        text = normalize_generated((stage_dir(number) / relative).read_text())
        covered = set()
        diff_shown = False
        for block in shown:
            if block.language == "udiff":
                diff_shown = True
                covered.update(added)
            else:
                covered.update(shown_lines(text, normalize_generated(block.text)))
        missing = sorted(added - covered)
        if missing:
            problems.append(
                f"{relative} ({how}): {_ranges(missing)} of "
                f"stage{number:02d}/{relative} are not shown by part {number:02d}"
            )
        if deleted and not diff_shown:
            problems.append(
                f"{relative}: {_ranges(sorted(deleted))} of "
                f"{where(previous_stage(number) / relative)} are deleted, and only "
                "a :diff: block shows a deletion"
            )
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)


def page_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _ranges(numbers):
    spans, start, previous = [], None, None
    for n in numbers:
        if start is None:
            start = previous = n
        elif n == previous + 1:
            previous = n
        else:
            spans.append((start, previous))
            start = previous = n
    if start is not None:
        spans.append((start, previous))
    text = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in spans)
    return ("line " if len(numbers) == 1 else "lines ") + text
