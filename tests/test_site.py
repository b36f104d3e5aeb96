"""The site builds without a single warning, and every block is accounted for.

The audit classifies each code block of each part page (see
docs/project/testing.md): included from the part's stage, a Python session
that runs, a console command that runs, or explicitly illustrative. The
appendix pages are audited too, with the kinds they may use (an error
message of the errors page). Any other block fails the audit with its file
and line.
"""

from collections import Counter

import pytest

from proof.audit import AUDIT_REPORT, problems_of
from proof.blocks import (
    ACTION,
    APPENDIX_KINDS,
    KINDS,
    appendix_docnames,
    blocks_of,
    part_docnames,
)
from proof.paths import part_numbers, stage_dir, staged_parts


def test_build_has_no_warnings(site):
    assert not site.warnings, "the build warned:\n" + "\n".join(site.warnings)
    assert site.returncode == 0, site.output


def test_every_part_page_is_built(site):
    built = part_docnames(site.doctrees)
    assert sorted(built) == part_numbers()
    for number in staged_parts():
        assert stage_dir(number).is_dir(), f"part {number:02d} has no stage folder"


def test_every_block_is_proven(site, request):
    problems, report = [], []
    for number, docname in sorted(part_docnames(site.doctrees).items()):
        everything = blocks_of(site.doctrees, docname)
        blocks = [block for block in everything if block.kind != ACTION]
        counts = Counter(block.kind for block in blocks)
        actions = len(everything) - len(blocks)
        report.append(
            f"part {number:02d}: {len(blocks):3d} blocks = "
            + ", ".join(f"{counts[kind]} {kind}" for kind in KINDS)
            + (
                f", {counts['unclassified']} UNCLASSIFIED"
                if counts["unclassified"]
                else ""
            )
            + (f"; {actions} reader actions" if actions else "")
        )
        for block in blocks:
            problems.extend(problems_of(block, number))
    for docname in appendix_docnames(site.doctrees):
        blocks = blocks_of(site.doctrees, docname)
        counts = Counter(block.kind for block in blocks)
        report.append(
            f"{docname}: {len(blocks):3d} blocks = "
            + ", ".join(f"{counts[kind]} {kind}" for kind in KINDS + APPENDIX_KINDS)
            + (
                f", {counts['unclassified']} UNCLASSIFIED"
                if counts["unclassified"]
                else ""
            )
        )
        for block in blocks:
            problems.extend(problems_of(block, None))
    request.config.stash[AUDIT_REPORT] = report
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("number", staged_parts())
def test_part_offers_its_stage(site, number):
    html = (site.html / "tutorial" / f"part{number:02d}.html").read_text()
    assert f"tutorial_project/stage{number:02d}/" in html
    zip_name = f"stage{number:02d}.zip"
    assert zip_name in html, f"part {number:02d} does not link {zip_name}"
