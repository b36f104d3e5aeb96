"""Every built page passes an accessibility audit, in both themes, at two widths.

axe-core (bundled by axe-playwright-python, pinned in requirements.txt)
checks each page against WCAG 2.1 A and AA and axe's best practices, in
furo's light and dark theme, at a desktop width and at a phone's width,
where the sidebars fold away and more code blocks scroll sideways. The
audit must find nothing; a failure lists each rule broken, its impact, the
page, the theme, the width and the first elements that break it.

The causes are fixed once for every page: docs/_templates/page.html names
the two sidebars and gives the toctree captions a heading level,
docs/_templates/search.html gives the search page its heading, and
docs/_static/scroll-regions.js puts each block that scrolls in the tab order
with a name. The site is served and the browser started by the fixtures of
tests/proof/browsing.py.
"""

import pytest

from proof.browsing import html_pages, same_origin
from proof.paths import DOCS, part_numbers, staged_parts

try:
    from axe_playwright_python.sync_playwright import Axe
except ImportError:  # the browser fixture skips first when playwright is missing
    Axe = None

TIMEOUT_MS = 5000
WIDTHS = {"desktop": 1280, "phone": 390}
THEMES = ("light", "dark")
# The rule sets axe calls WCAG 2.1 A and AA (with the 2.0 rules they build
# on) and its best practices.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
OPTIONS = {"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]}
# How many of a rule's failing elements a report names.
SHOWN_TARGETS = 3

# The theme a page shows: furo reads it from localStorage before the first
# paint; the page also asks for the same color scheme.
_PICK_THEME = "theme => localStorage.setItem('theme', theme)"
_SHOWN_THEME = """() => {
  const [r, g, b] = getComputedStyle(document.body).backgroundColor
    .match(/\\d+/g).map(Number);
  return {theme: document.body.dataset.theme, dark: r + g + b < 3 * 128};
}"""


@pytest.fixture(scope="module")
def axe():
    if Axe is None:
        pytest.skip(
            "axe-playwright-python is not installed: `make venv` installs it "
            "from requirements.txt"
        )
    return Axe()


def expected_pages():
    """The pages the audit must see: landing, parts, their changes, the project."""
    names = {"index.html", "search.html", "genindex.html"}
    names |= {f"tutorial/part{number:02d}.html" for number in part_numbers()}
    names |= {
        f"tutorial/part{number:02d}-changes.html"
        for number in staged_parts()
        if number >= 2
    }
    names |= {
        f"project/{path.stem}.html"
        for path in (DOCS / "project").iterdir()
        if path.suffix in {".txt", ".md", ".rst"} and path.name != "README.md"
    }
    return names


def describe(violation, name, theme, width):
    targets = [" ".join(node["target"]) for node in violation["nodes"]]
    shown = ", ".join(targets[:SHOWN_TARGETS])
    more = len(targets) - SHOWN_TARGETS
    if more > 0:
        shown += f" (and {more} more)"
    return (
        f"{violation['id']} ({violation['impact']}) on {name}, {theme} theme, "
        f"{width} px: {violation['help']}: {shown}"
    )


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_every_page_passes_the_audit(browser, server, site, axe, width, theme):
    names = html_pages(site.html)
    missing = expected_pages() - set(names)
    assert not missing, f"the audit would miss pages the site should have: {missing}"

    context = browser.new_context(
        viewport={"width": width, "height": 900}, color_scheme=theme
    )
    context.set_default_timeout(TIMEOUT_MS)
    local = same_origin(server)
    elsewhere = []

    def refuse(route):
        elsewhere.append(route.request.url)
        route.abort()

    context.route(lambda url: not local(url), refuse)
    context.add_init_script(f"({_PICK_THEME})({theme!r})")
    problems = []
    engine = None
    try:
        page = context.new_page()
        for name in names:
            page.goto(f"{server}/{name}")
            shown = page.evaluate(_SHOWN_THEME)
            assert shown == {"theme": theme, "dark": theme == "dark"}, (name, shown)
            results = axe.run(page, options=OPTIONS).response
            engine = results["testEngine"]["version"]
            problems += [
                describe(violation, name, theme, width)
                for violation in results["violations"]
            ]
    finally:
        context.close()
    assert not elsewhere, f"pages asked another origin for: {elsewhere}"
    assert not problems, (
        f"axe-core {engine} found {len(problems)} problems:\n" + "\n".join(problems)
    )


# The scrolling blocks the page has put in the tab order, by language.
_MARKED = """() => Array.from(document.querySelectorAll("[data-scroll-region]"))
  .filter(el => el.offsetParent !== null)
  .map(el => el.closest("div[class*='highlight-']")?.className.split(" ")[0])"""


def test_a_block_shown_by_a_tab_or_a_narrower_window_takes_the_focus(
    browser,
    server,
    axe,
):
    """The blocks that only scroll later are found too: a console's other tab,
    hidden when the page loads, and a window made narrower or wider."""
    context = browser.new_context(viewport={"width": WIDTHS["phone"], "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    local = same_origin(server)
    context.route(lambda url: not local(url), lambda route: route.abort())
    rule = {"type": "rule", "values": ["scrollable-region-focusable"]}
    only = {**OPTIONS, "runOnly": rule}
    try:
        page = context.new_page()
        page.goto(f"{server}/tutorial/part01.html")
        assert "highlight-doscon" not in page.evaluate(_MARKED)
        page.locator(".console-block label.tab-label", has_text="Windows").first.click()
        page.wait_for_function(f"({_MARKED})().includes('highlight-doscon')")
        assert axe.run(page, options=only).response["violations"] == []

        narrow = len(page.evaluate(_MARKED))
        page.set_viewport_size({"width": WIDTHS["desktop"], "height": 900})
        page.wait_for_function(f"({_MARKED})().length < {narrow}")
        assert axe.run(page, options=only).response["violations"] == []
        page.set_viewport_size({"width": WIDTHS["phone"], "height": 900})
        page.wait_for_function(f"({_MARKED})().length === {narrow}")
    finally:
        context.close()
