"""The built site in a real browser: what a reader relies on when copying.

The pages are served on 127.0.0.1 and driven with playwright in Debian's
chromium, ``/usr/bin/chromium`` (``PROOF_CHROMIUM`` names another binary),
by the fixtures of tests/proof/browsing.py. Playwright never downloads a
browser here: ``playwright install`` is not part of the proof.

What is proven:

- the two tabs of a console ("Linux/macOS", "Windows") switch, and switch
  every console of the page together;
- a copy button copies the commands of a session, without prompts and
  without output, and a file exactly as shown;
- the stage box's download is a zip of the stage, under ``community/``;
  from part 2 on, its patch downloads too, and its "Changes in part NN"
  link opens a page that offers the same patch;
- no page asks another origin for anything (fonts, scripts, analytics);
- no page logs an error to the console, and no relative link is broken
  (that last check needs no browser).

As a side effect, a full-page screenshot of part 1 is written to
``_build/proof/screenshots/part01.png`` for reviewers.
"""

import functools
import io
import zipfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from proof.paths import BUILD, PROJECT_DIR_NAME, stage_dir, stage_files, staged_parts

try:
    from playwright.sync_api import expect
except ImportError:  # the browser tests skip; the link check still runs
    expect = None

from stagediff import build_patch  # noqa: E402 (proof.paths puts docs/_ext on the path)

from proof.browsing import html_pages, same_origin  # noqa: E402

SCREENSHOTS = BUILD / "screenshots"
TIMEOUT_MS = 5000

# The languages of shell and Python sessions, and their prompts: copying a
# session copies the text after these, and nothing else (see conf.py).
SESSION_PROMPTS = {
    "console": ("$ ",),
    "doscon": ("...\\> ",),
    "pycon": (">>> ", "... "),
}
# A command ending with one of these continues on the next line.
SHELL_CONTINUATION = {"console": "\\", "doscon": "^"}

# -- The browser's profile -----------------------------------------------------


@pytest.fixture(scope="module")
def context(browser, server):
    """A fresh browser profile that may use the clipboard.

    Requests to other origins are aborted (and recorded by the tests that
    look for them), so that nothing waits on the closed network.
    """
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    context.set_default_timeout(TIMEOUT_MS)
    local = same_origin(server)
    context.route(lambda url: not local(url), lambda route: route.abort())
    yield context
    context.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    yield page
    page.close()


# -- 1. The tabs of a console --------------------------------------------------

# The label of the tab each console of the page shows, in page order.
_SHOWN_TABS = """() => Array.from(document.querySelectorAll(".console-block"))
  .map(console => Array.from(console.querySelectorAll(".tab-content"))
    .filter(content => content.offsetParent !== null)
    .map(content => content.previousElementSibling.textContent))"""


def test_console_tabs_switch_every_console_of_the_page(page, server):
    page.goto(f"{server}/tutorial/part01.html")
    consoles = page.locator(".console-block")
    count = consoles.count()
    assert count >= 2, "part 1 should show several consoles"

    first = consoles.first
    assert first.locator("label.tab-label").all_inner_texts() == [
        "Linux/macOS",
        "Windows",
    ]
    unix, windows = first.locator(".tab-content").all()
    expect(unix).to_be_visible()
    expect(windows).to_be_hidden()
    shown = unix.inner_text()
    assert "$ python3 -m venv .venv" in shown, shown
    assert "$ source .venv/bin/activate" in shown, shown
    assert page.evaluate(_SHOWN_TABS) == [["Linux/macOS"]] * count

    first.locator("label.tab-label", has_text="Windows").click()
    expect(windows).to_be_visible()
    expect(unix).to_be_hidden()
    shown = windows.inner_text()
    assert "...\\> py -m venv .venv" in shown, shown
    assert "...\\> .venv\\Scripts\\activate" in shown, shown
    assert "$ " not in shown and "/bin/activate" not in shown, shown
    # Choosing a tab chooses the tab of the same label in every console.
    assert page.evaluate(_SHOWN_TABS) == [["Windows"]] * count

    consoles.last.locator("label.tab-label", has_text="Linux/macOS").click()
    assert page.evaluate(_SHOWN_TABS) == [["Linux/macOS"]] * count

    page.screenshot(path=str(_screenshot("part01")), full_page=True)


def test_a_link_can_open_the_windows_tabs(page, server):
    """``?tabs=Windows`` in a URL opens every console on its Windows tab."""
    page.goto(f"{server}/tutorial/part01.html?tabs=Windows")
    shown = page.evaluate(_SHOWN_TABS)
    assert shown and shown == [["Windows"]] * len(shown)


def _screenshot(name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"


# -- 2. The copy buttons -------------------------------------------------------

SENTINEL = "<clipboard before the click>"


def copy(page, highlight, force=False):
    """Click the copy button of a ``div.highlight`` and read the clipboard.

    copybutton copies with clipboard.js, that is document.execCommand("copy")
    on a hidden textarea, not navigator.clipboard.writeText; headless
    chromium puts that on its own clipboard, which navigator.clipboard
    .readText() reads back once the context has the clipboard permissions
    (so no interception of writeText is needed, and it would see nothing).
    The clipboard holds a sentinel before the click, so a copy that silently
    did nothing cannot pass with the text of an earlier one.

    The button appears on hover; Playwright's click moves the mouse onto it.
    ``force`` skips Playwright's wait for the button to be still, which the
    sweep of every block can afford: a click that missed leaves the sentinel.
    """
    page.evaluate("text => navigator.clipboard.writeText(text)", SENTINEL)
    highlight.locator("button.copybtn").click(force=force)
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied != SENTINEL, "the copy button put nothing on the clipboard"
    return copied


@pytest.fixture(scope="module")
def part01(context, server):
    """Part 1, loaded once for the copy examples."""
    page = context.new_page()
    page.goto(f"{server}/tutorial/part01.html")
    yield page
    page.close()


COPY_CASES = [
    pytest.param(
        "console",
        "manage.py migrate",
        "python manage.py migrate",
        id="console-migrate",
    ),
    pytest.param(
        "doscon",
        "manage.py migrate",
        "python manage.py migrate",
        id="windows-migrate",
    ),
    pytest.param(
        "console",
        "venv .venv",
        "mkdir tasks-tutorial\ncd tasks-tutorial\n"
        "python3 -m venv .venv\nsource .venv/bin/activate",
        id="console-venv",
    ),
    pytest.param(
        "doscon",
        "venv .venv",
        "mkdir tasks-tutorial\ncd tasks-tutorial\n"
        "py -m venv .venv\n.venv\\Scripts\\activate",
        id="windows-venv",
    ),
    pytest.param(
        "pycon",
        "count_words.enqueue(",
        'result = count_words.enqueue("Tasks run outside the request")\n'
        "result.status\n"
        "result.id",
        id="pycon-enqueue",
    ),
    pytest.param(
        "pycon",
        "DBTaskResult.objects.values(",
        "from pprint import pp\n"
        "from django_tasks_db.models import DBTaskResult\n"
        "row = DBTaskResult.objects.values(\n"
        '    "task_path", "args_kwargs", "status", "return_value"\n'
        ").get(id=result.id)\n"
        "pp(row)",
        id="pycon-continuation",
    ),
]


@pytest.mark.parametrize("language, containing, expected", COPY_CASES)
def test_copy_button_copies_the_commands_only(part01, language, containing, expected):
    if language in ("console", "doscon"):
        label = "Windows" if language == "doscon" else "Linux/macOS"
        part01.locator("label.tab-label", has_text=label).first.click()
    highlight = (
        part01.locator(f"div.highlight-{language}")
        .filter(has_text=containing)
        .first.locator("div.highlight")
    )
    assert copy(part01, highlight) == expected


def commands_of(shown, language):
    """What copying a session must give: its commands, without prompts."""
    prompts = SESSION_PROMPTS[language]
    continuation = SHELL_CONTINUATION.get(language)
    commands, continued = [], False
    for line in shown.split("\n"):
        prompt = next((p for p in prompts if line.startswith(p)), None)
        if prompt is not None:
            commands.append(line[len(prompt) :])
        elif language == "pycon" and line in (">>>", "..."):
            commands.append("")  # an empty line that ends a compound statement
        elif continued:
            commands.append(line)
        else:
            continue  # output
        continued = bool(continuation) and commands[-1].endswith(continuation)
    return "\n".join(commands)


# Each code block of the page: its index, language, shown text (line
# numbers left out) and whether it is visible (the other tab hides some).
_BLOCKS = """() => Array.from(document.querySelectorAll("div.highlight"))
  .map((highlight, index) => {
    const clone = highlight.querySelector("pre").cloneNode(true);
    clone.querySelectorAll(".linenos").forEach(node => node.remove());
    const outer = highlight.closest("[class*='highlight-']");
    const language = (outer.className.match(/highlight-(\\S+)/) || [])[1];
    return {index, language, text: clone.textContent,
            visible: highlight.offsetParent !== null};
  })"""


def _expected_copy(language, text):
    if language in SESSION_PROMPTS:
        return commands_of(text, language)
    return text[:-1] if text.endswith("\n") else text


def test_every_copy_button_copies_what_the_reader_needs(page, server, site):
    """On every page: a session copies its commands, any other block its text.

    A session without a single command (a console showing only ``^C`` and
    the worker's answer) is left out: there is nothing to copy from it.
    """
    problems, checked = [], 0
    for name in html_pages(site.html):
        page.goto(f"{server}/{name}")
        for tab in ("Linux/macOS", "Windows"):
            if tab == "Windows":
                windows = page.locator("label.tab-label", has_text="Windows")
                if not windows.count():
                    break
                windows.first.click()
            for block in page.evaluate(_BLOCKS):
                language = block["language"]
                if not block["visible"] or (tab == "Windows" and language != "doscon"):
                    continue
                expected = _expected_copy(language, block["text"])
                if not expected:
                    continue
                highlight = page.locator("div.highlight").nth(block["index"])
                copied = copy(page, highlight, force=True)
                checked += 1
                # Blank output lines after the last command come along as
                # trailing newlines (copybutton keeps empty lines, which code
                # files need); they run nothing when pasted.
                if copied.rstrip("\n") != expected:
                    problems.append(
                        f"{name} ({tab}), {language} block {block['index']}:\n"
                        f"  expected {expected!r}\n  copied   {copied!r}"
                    )
    assert checked > 20, f"only {checked} copy buttons found"
    assert not problems, "\n".join(problems)


# -- 3. The stage download -----------------------------------------------------


@pytest.mark.parametrize("number", staged_parts())
def test_stage_box_downloads_the_stage(page, server, number):
    page.goto(f"{server}/tutorial/part{number:02d}.html")
    zip_name = f"stage{number:02d}.zip"
    link = page.locator(".stage-box a.download", has_text=zip_name)
    expect(link).to_have_count(1)
    with page.expect_download() as started:
        link.click()
    download = started.value
    assert download.suggested_filename == zip_name
    assert download.url.startswith(server + "/"), download.url
    data = Path(download.path()).read_bytes()

    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None, "a member of the zip is corrupt"
    names = archive.namelist()
    top = f"{PROJECT_DIR_NAME}/"
    assert all(n.startswith(top) for n in names), names
    assert f"{top}manage.py" in names and f"{top}testimonials/tasks.py" in names
    assert not [
        n
        for n in names
        if "__pycache__" in n or n.endswith((".pyc", ".sqlite3", ".zip"))
    ]
    # The reader gets exactly the files the proof runs, byte for byte.
    stage = stage_dir(number)
    files = {n[len(top) :]: n for n in names if not n.endswith("/")}
    assert sorted(files) == sorted(p.as_posix() for p in stage_files(stage))
    for relative, member in files.items():
        assert archive.read(member) == (stage / relative).read_bytes(), relative


def _download(page, link):
    with page.expect_download() as started:
        link.click()
    return started.value


@pytest.mark.parametrize(
    "number", [n for n in staged_parts() if stage_dir(n - 1).is_dir()]
)
def test_stage_box_downloads_the_patch(page, server, number):
    page.goto(f"{server}/tutorial/part{number:02d}.html")
    patch_name = f"part{number:02d}.patch"
    expected = build_patch(stage_dir(number - 1), stage_dir(number))
    link = page.locator(".stage-box a.download", has_text=patch_name)
    expect(link).to_have_count(1)
    download = _download(page, link)
    assert download.suggested_filename == patch_name
    assert Path(download.path()).read_bytes() == expected

    page.locator(".stage-box a", has_text=f"Changes in part {number}").click()
    expect(page.locator("h1")).to_contain_text(f"Changes in part {number}")
    download = _download(page, page.locator("article a.download", has_text=patch_name))
    assert download.suggested_filename == patch_name
    assert Path(download.path()).read_bytes() == expected


# -- 4 and 5. Every page: its requests and its console --------------------------


@dataclass
class Visit:
    requests: list = field(default_factory=list)
    console_errors: list = field(default_factory=list)


def _is_favicon_probe(message):
    # Chromium asks every site for /favicon.ico by itself when a page names
    # no icon (the site sets no html_favicon): the server's 404 is logged as
    # a console error, but no page asked for it.
    return urlsplit(message.location.get("url", "")).path == "/favicon.ico"


@pytest.fixture(scope="module")
def visits(context, server, site):
    """Every built page, each in its own tab, loaded until the network is idle.

    The pages load side by side, so their waits for half a second without a
    request overlap.
    """
    names = html_pages(site.html)
    pages = [context.new_page() for _ in names]
    found = {}
    for name, page in zip(names, pages, strict=True):
        visit = found[name] = Visit()
        page.on("request", lambda request, v=visit: v.requests.append(request.url))
        page.on(
            "console",
            lambda message, v=visit: (
                message.type == "error"
                and not _is_favicon_probe(message)
                and v.console_errors.append(f"{message.text} ({message.location})")
            ),
        )
        page.on("pageerror", lambda error, v=visit: v.console_errors.append(str(error)))
        page.goto(f"{server}/{name}", wait_until="commit")
    for page in pages:
        page.wait_for_load_state("networkidle")
        page.close()
    return found


def test_the_pages_include_the_tutorial(visits):
    for name in [
        "index.html",
        "tutorial/part00.html",
        "tutorial/part01.html",
        "project/testing.html",
    ]:
        assert name in visits


def test_no_page_asks_another_origin(visits, server):
    local = same_origin(server)
    foreign = {
        name: [url for url in visit.requests if not local(url)]
        for name, visit in visits.items()
    }
    foreign = {name: urls for name, urls in foreign.items() if urls}
    assert not foreign, f"requests that leave {server}: {foreign}"
    assert all(visit.requests for visit in visits.values())


def test_no_page_logs_an_error(visits):
    errors = {name: v.console_errors for name, v in visits.items() if v.console_errors}
    assert not errors, errors


class _References(HTMLParser):
    ATTRIBUTES = {"a": "href", "link": "href", "script": "src", "img": "src"}

    def __init__(self):
        super().__init__()
        self.references, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        value = attrs.get(self.ATTRIBUTES.get(tag, ""))
        if value is not None:
            self.references.append(value)


@functools.cache
def _parse(path):
    parser = _References()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_no_relative_link_is_broken(site):
    """Every relative href/src of every page names a file that exists."""
    root = site.html.resolve()
    _parse.cache_clear()
    broken, checked = [], 0
    for name in html_pages(root):
        page = root / name
        for reference in _parse(page).references:
            parts = urlsplit(reference)
            if parts.scheme or parts.netloc or not (parts.path or parts.fragment):
                continue  # http(s):, mailto:, //host, or a bare "#"
            checked += 1
            target = (
                (page.parent / unquote(parts.path)).resolve() if parts.path else page
            )
            if target.is_dir():
                target = target / "index.html"
            if not target.is_relative_to(root) or not target.is_file():
                broken.append(f"{name}: {reference} (no file)")
            elif (
                parts.fragment
                and target.suffix == ".html"
                and unquote(parts.fragment) not in _parse(target).ids
            ):
                broken.append(f"{name}: {reference} (no such anchor)")
    assert checked > 50, f"only {checked} relative links found"
    assert not broken, "\n".join(broken)
