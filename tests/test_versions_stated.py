"""The landing page and part 0 say which Django the pages need, and where
readers of older releases go.

The pages show Django 6.1 (from part 2 on, its ``MAILERS`` setting); readers
of Django 6.0 and 5.2 LTS follow them with the versions appendix, whose
variants the release passes prove (``make test-release``). The pages a
reader meets first must say so, link the appendix, and promise neither
Django 6.0 for the pages themselves nor an appendix still to come.
"""

import re

import pytest

from proof.blocks import load_doctree


def _text(site, docname):
    return re.sub(r"\s+", " ", load_doctree(site.doctrees, docname).astext())


def _links(site, docname):
    html = (site.html / f"{docname}.html").read_text()
    return re.findall(r'href="([^"]+)"', html)


@pytest.mark.parametrize("docname", ["index", "tutorial/part00"])
def test_the_page_says_which_django_it_needs_and_where_older_ones_go(site, docname):
    text = _text(site, docname)
    assert "Django 6.1 or newer" in text, docname
    assert "MAILERS" in text, f"{docname} should say what needs Django 6.1"
    assert not re.search(r"(?<![a-z] )Django 6\.0 or newer\.", text), (
        f"{docname} promises Django 6.0 for the pages"
    )
    assert "Django 5.2 LTS" in text and "Django 6.0" in text, docname
    assert any(
        link.split("#")[0].endswith("appendix/versions.html")
        for link in _links(site, docname)
    ), f"{docname} should link the versions appendix"
    assert "coming" not in text, f"{docname} still announces the appendix"
