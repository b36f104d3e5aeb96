"""The landing page and part 0 say which Django each part needs.

Part 1 runs on Django 6.0; from ``FIRST_PART_NEEDING_DJANGO_61`` on, the
project needs Django 6.1 (its ``MAILERS`` setting), and the proof leaves
those parts out under Django 6.0 (see tests/conftest.py). The pages a reader
meets first must say the same, so that nobody starts on a release that stops
working halfway, and must not promise Django 6.0 for the whole tutorial.
"""

import re

import pytest

from proof.blocks import load_doctree
from proof.paths import FIRST_PART_NEEDING_DJANGO_61


def _text(site, docname):
    return re.sub(r"\s+", " ", load_doctree(site.doctrees, docname).astext())


@pytest.mark.parametrize("docname", ["index", "tutorial/part00"])
def test_the_page_says_which_django_each_part_needs(site, docname):
    text = _text(site, docname)
    first = FIRST_PART_NEEDING_DJANGO_61
    assert "Django 6.1 or newer" in text, docname
    assert re.search(rf"[Ff]rom part {first} on", text), (
        f"{docname} should say that Django 6.1 is needed from part {first} on"
    )
    assert "MAILERS" in text, f"{docname} should say what needs Django 6.1"
    # A requirement of its own ("Django 6.0 or newer."), not a part's ("Part 1
    # needs Django 6.0 or newer.").
    assert not re.search(r"(?<![a-z] )Django 6\.0 or newer\.", text), (
        f"{docname} promises Django 6.0 for the whole tutorial"
    )
    assert (
        re.search(r"Django 6\.0 and (for )?Django 5\.2", text) and "coming" in text
    ), f"{docname} should say that variants for Django 6.0 and 5.2 are coming"
