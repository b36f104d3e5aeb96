"""The site's own Sphinx extensions, docs/_ext/djangodocs_dialect.py (Django's
markup), docs/_ext/tutorial_markup.py (the site's own) and docs/_ext/stages.py:
the Unix-to-Windows translation rule by rule, one small Sphinx build in a
temporary folder that exercises every directive, and one with the dialect
alone; docs/_ext/emphasized_lines.py in builds that ``make html`` fails.
"""

import os
import subprocess
import sys
import textwrap
import zipfile
import zlib
from pathlib import Path

import pytest
from docutils import nodes

EXT_DIR = Path(__file__).resolve().parents[2] / "docs" / "_ext"
sys.path.insert(0, str(EXT_DIR))

from djangodocs_dialect import console_tab, console_tabs, to_windows  # noqa: E402
from stages import build_archive, stage_files  # noqa: E402

from proof.sphinx_build import (  # noqa: E402
    build_small_site,
    write_small_site,
    write_stage_site,
)

# -- to_windows ------------------------------------------------------------------


@pytest.mark.parametrize(
    "unix, windows",
    [
        # The prompt.
        ("$ python manage.py migrate", "...\\> python manage.py migrate"),
        ("$", "...\\>"),
        # Activating a virtual environment.
        ("$ source .venv/bin/activate", "...\\> .venv\\Scripts\\activate"),
        ("$ source env/dev/bin/activate", "...\\> env\\dev\\Scripts\\activate"),
        ("$ . .venv/bin/activate", "...\\> .venv\\Scripts\\activate"),
        # Creating one.
        ("$ python -m venv .venv", "...\\> py -m venv .venv"),
        ("$ python3 -m venv .venv", "...\\> py -m venv .venv"),
        # Only venv goes through the launcher.
        ("$ python -m pip install Django", "...\\> python -m pip install Django"),
        # Paths.
        (
            "$ python -m pip install -r requirements/dev.txt",
            "...\\> python -m pip install -r requirements\\dev.txt",
        ),
        ("$ cd ../community", "...\\> cd ..\\community"),
        ("$ ls ~/projects/community", "...\\> ls %USERPROFILE%\\projects\\community"),
        # A continued command.
        (
            "$ python manage.py loaddata \\\n    fixtures/one.json",
            "...\\> python manage.py loaddata ^\n    fixtures\\one.json",
        ),
        # cmd.exe has no single quotes.
        ("$ python -c 'import django'", '...\\> python -c "import django"'),
    ],
)
def test_to_windows_rules(unix, windows):
    assert to_windows(unix) == windows


@pytest.mark.parametrize(
    "command",
    [
        "curl http://127.0.0.1:8000/testimonials/",
        "curl https://example.com/a/b?c=d/e",
        "curl 127.0.0.1:8000/testimonials/",
        "python manage.py test --settings=mysite/settings_test",
        'python -m pytest -k "a/b"',
        'python manage.py test "*"',
        "python -c \"print('a/b')\"",
        "git diff origin/main -- testimonials/tasks.py",
    ],
)
def test_to_windows_leaves_urls_options_and_quoted_words(command):
    assert to_windows(f"$ {command}") == f"...\\> {command}"


def test_to_windows_leaves_output_alone():
    session = textwrap.dedent(
        """\
        $ python manage.py db_worker
        Watching for file changes with StatReloader
        Loading /home/you/community/mysite/settings.py
        source .venv/bin/activate is not a command here
        ^C
        Received Interrupt - shutting down gracefully..."""
    )
    translated = to_windows(session).split("\n")
    assert translated[0] == "...\\> python manage.py db_worker"
    assert translated[1:] == session.split("\n")[1:]


def test_to_windows_needs_the_space_after_the_prompt():
    # "$HOME" is output (or a variable), not a prompt.
    assert to_windows("$HOME/bin") == "$HOME/bin"


# -- A small site ------------------------------------------------------------------

INVENTORY_ENTRIES = """\
TASKS std:setting 1 ref/settings/#std-setting-$ -
migrate std:django-admin 1 ref/django-admin/#django-admin-$ -
csrf_token std:templatetag 1 ref/templates/builtins/#std-templatetag-$ -
escape std:templatefilter 1 ref/templates/builtins/#std-templatefilter-$ -
exact std:fieldlookup 1 ref/models/querysets/#std-fieldlookup-$ -
"""

CONF = """\
extensions = [
    "sphinx.ext.intersphinx", "djangodocs_dialect", "tutorial_markup", "stages"
]
root_doc = "index"
source_suffix = {".txt": "restructuredtext"}
nitpicky = True
intersphinx_mapping = {
    "django": ("https://docs.example.org/django/", "django.inv"),
}
stages_dir = "project"
html_theme = "basic"
"""

INDEX = """\
Index
=====

.. stage:: 01

Roles: :setting:`TASKS`, :djadmin:`migrate`, :ttag:`csrf_token`,
:tfilter:`escape`, :lookup:`exact`.

.. console::
    :caption: Start the worker

    $ source .venv/bin/activate
    $ python manage.py db_worker
    Starting worker
    ^C

.. console::

    $ python -m venv .venv

.. illustrative:: ini
    :reason: it needs systemd

    [Service]
    ExecStart=/srv/community/.venv/bin/python manage.py db_worker

.. literalinclude:: project/stage01/manage.py

.. literalinclude:: project/stage01/testimonials/tasks.py
    :start-at: TASKS
    :emphasize-lines: 1

.. code-block:: pycon

    >>> 1 + 1
    2

.. code-block:: python

    print("not classified")

.. toctree::

    bad
"""

# Line numbers below are those of this text.
BAD = """\
Bad
===

.. illustrative:: ini

    [Service]

.. stage:: 07
"""
BAD_ILLUSTRATIVE_LINE = 4
BAD_STAGE_LINE = 8

STAGE_FILES = {
    "manage.py": "print('manage')\n",
    "mysite/__init__.py": "",
    "mysite/settings.py": "DEBUG = True\n",
    "testimonials/tasks.py": "TASKS = []\n",
    ".gitignore": "db.sqlite3\n",
}
NOISE_FILES = {
    "mysite/__pycache__/settings.cpython-312.pyc": "x",
    "testimonials/stray.pyc": "x",
    "db.sqlite3": "x",
    "db.sqlite3-journal": "x",
    "media/photos/me.jpg": "x",
    ".pytest_cache/v/cache/lastfailed": "{}",
}
EXPECTED_ENTRIES = [
    "community/",
    "community/.gitignore",
    "community/manage.py",
    "community/mysite/",
    "community/mysite/__init__.py",
    "community/mysite/settings.py",
    "community/testimonials/",
    "community/testimonials/tasks.py",
]


def _write_inventory(path):
    header = (
        "# Sphinx inventory version 2\n# Project: Django\n# Version: 6.1\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    path.write_bytes(header.encode() + zlib.compress(INVENTORY_ENTRIES.encode()))


def _make_stage(folder):
    for name, text in {**STAGE_FILES, **NOISE_FILES}.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    docs = root / "docs"
    docs.mkdir()
    (docs / "conf.py").write_text(CONF)
    (docs / "index.txt").write_text(INDEX)
    (docs / "bad.txt").write_text(BAD)
    _write_inventory(docs / "django.inv")
    _make_stage(docs / "project" / "stage01")
    app, warnings = build_small_site(root)
    return root, app, warnings


def _doctree(site, docname):
    _, app, _ = site
    return app.env.get_doctree(docname)


def _warnings_of(warnings, filename):
    return [line for line in warnings.splitlines() if filename in line]


def test_site_builds_without_warnings_outside_the_bad_page(site):
    _, _, warnings = site
    others = [
        line for line in warnings.splitlines() if line.strip() and "bad.txt" not in line
    ]
    assert others == []


def test_roles_are_std_cross_references(site):
    refs = {
        node["reftarget"]: node
        for node in _doctree(site, "index").findall(
            lambda n: n.tagname == "pending_xref"
        )
    }
    for target, reftype in [
        ("TASKS", "setting"),
        ("migrate", "djadmin"),
        ("csrf_token", "ttag"),
        ("escape", "tfilter"),
        ("exact", "lookup"),
    ]:
        assert refs[target]["refdomain"] == "std"
        assert refs[target]["reftype"] == reftype
        # The link text is the name in code style.
        assert isinstance(refs[target][0], nodes.literal)


def test_roles_map_to_the_types_of_djangos_inventory(site):
    _, app, _ = site
    std = app.env.domains.standard_domain
    assert std.objtypes_for_role("djadmin") == ["django-admin"]
    assert std.objtypes_for_role("ttag") == ["templatetag"]
    assert std.objtypes_for_role("tfilter") == ["templatefilter"]
    assert std.objtypes_for_role("lookup") == ["fieldlookup"]
    assert std.objtypes_for_role("setting") == ["setting"]


def test_intersphinx_resolves_the_roles(site):
    root, _, _ = site
    html = (root / "html" / "index.html").read_text()
    base = "https://docs.example.org/django/"
    for url in [
        "ref/settings/#std-setting-TASKS",
        "ref/django-admin/#django-admin-migrate",
        "ref/templates/builtins/#std-templatetag-csrf_token",
        "ref/templates/builtins/#std-templatefilter-escape",
        "ref/models/querysets/#std-fieldlookup-exact",
    ]:
        assert f'href="{base}{url}"' in html, url


def test_console_makes_two_tabs(site):
    consoles = [
        node
        for node in _doctree(site, "index").findall(nodes.container)
        if node.get("proof_kind") == "console"
    ]
    assert len(consoles) == 2
    first = consoles[0]
    assert first["console_source"] == (
        "$ source .venv/bin/activate\n$ python manage.py db_worker\nStarting worker\n^C"
    )
    assert first["caption"] == "Start the worker"
    assert first["proof_document"] == "index"
    assert first.source.endswith("index.txt") and first.line == 9

    [tab_set] = first.children
    assert isinstance(tab_set, console_tabs)
    tabs = list(tab_set.children)
    assert all(isinstance(tab, console_tab) for tab in tabs)
    assert [tab["label"] for tab in tabs] == ["Linux/macOS", "Windows"]
    # Each console is its own group of tabs.
    assert [c[0]["group"] for c in consoles] == ["console-0", "console-1"]

    blocks = list(first.findall(nodes.literal_block))
    assert [b["language"] for b in blocks] == ["console", "doscon"]
    assert [b["proof_kind"] for b in blocks] == ["console", "console-windows"]
    assert blocks[0].astext() == first["console_source"]
    assert blocks[1].astext() == (
        "...\\> .venv\\Scripts\\activate\n...\\> python manage.py db_worker\n"
        "Starting worker\n^C"
    )
    for block in blocks:
        assert block.source.endswith("index.txt") and block.line == 9
        # The caption shows in both tabs.
        assert block.parent["classes"] == ["literal-block-wrapper"]


def test_console_tabs_render_as_separate_tab_sets(site):
    root, _, _ = site
    html = (root / "html" / "index.html").read_text()
    assert html.count('class="tab-set') == 2
    # One radio group per console, its first tab chosen.
    for group in ("console-0", "console-1"):
        assert html.count(f'name="{group}"') == 2
        assert (
            f'<input class="tab-input" id="{group}-1" name="{group}" type="radio"'
            ' checked="checked" /><label class="tab-label"'
            f' for="{group}-1">Linux/macOS</label>'
        ) in html
        assert (
            f'<input class="tab-input" id="{group}-2" name="{group}" type="radio"'
            f' /><label class="tab-label" for="{group}-2">Windows</label>'
        ) in html
    assert html.count('<div class="highlight-doscon') == 2
    assert html.count('<div class="highlight-console') == 2


DIALECT_ONLY_PAGE = """\
Index
=====

.. console::
    :caption: Migrate

    $ python manage.py migrate
"""


def test_the_dialect_builds_a_page_alone(tmp_path):
    """What could go to Django's docs needs nothing of this site's markup,
    and stamps nothing for the proof; the tabs bring their style and script.
    """
    write_small_site(tmp_path, DIALECT_ONLY_PAGE, ["djangodocs_dialect"])
    app, warnings = build_small_site(tmp_path)
    assert warnings == ""
    assert "tutorial_markup" not in app.extensions
    [console] = [
        node
        for node in app.env.get_doctree("index").findall(nodes.container)
        if "console-block" in node["classes"]
    ]
    assert [b["language"] for b in console.findall(nodes.literal_block)] == [
        "console",
        "doscon",
    ]
    stamps = {"console_source", "terminal", "caption"}
    stamped = [
        node
        for node in console.findall(nodes.Element)
        if any(name in stamps or name.startswith("proof_") for name in node.attributes)
    ]
    assert stamped == []
    html = (tmp_path / "html" / "index.html").read_text()
    assert html.count('class="tab-label"') == 2
    for asset in ("console-tabs.css", "console-tabs.js"):
        assert f"_static/{asset}" in html
        assert (tmp_path / "html" / "_static" / asset).is_file()


def test_blocks_are_classified(site):
    kinds = [
        (b.get("proof_kind"), b.get("language"), b["proof_document"])
        for b in _doctree(site, "index").findall(nodes.literal_block)
    ]
    assert kinds == [
        ("console", "console", "index"),
        ("console-windows", "doscon", "index"),
        ("console", "console", "index"),
        ("console-windows", "doscon", "index"),
        ("illustrative", "ini", "index"),
        ("include", None, "index"),
        ("include", None, "index"),
        ("pycon", "pycon", "index"),
        (None, "python", "index"),
    ]
    include, excerpt = [
        b
        for b in _doctree(site, "index").findall(nodes.literal_block)
        if b.get("proof_kind") == "include"
    ]
    assert Path(include["source"]).name == "manage.py"
    # The lines of the file each shows, for the replay, and which of them
    # the block emphasizes.
    assert include["proof_lines"] == [1]
    assert include["proof_emphasized"] == []
    assert excerpt["proof_lines"] == [1] and excerpt["proof_emphasized"] == [1]


SHOWN_FILE = """\
import os


def first():
    return 1


class Second:
    def method(self):
        return 2
"""


@pytest.mark.parametrize(
    "options, lines",
    [
        ({}, list(range(1, 11))),
        ({"start-at": "def first", "end-at": "return 1"}, [4, 5]),
        (
            {"start-after": "import os", "end-before": "class Second"},
            [2, 3, 4, 5, 6, 7],
        ),
        ({"pyobject": "Second.method", "dedent": 4}, [9, 10]),
        ({"start-at": "class Second", "lines": "1,3"}, [8, 10]),
        ({"diff": "other.py"}, None),
    ],
)
def test_literalinclude_records_the_lines_it_shows(tmp_path, options, lines):
    from types import SimpleNamespace

    from tutorial_markup import shown_line_numbers

    path = tmp_path / "shown.py"
    path.write_text(SHOWN_FILE)
    config = SimpleNamespace(source_encoding="utf-8")
    assert shown_line_numbers(str(path), options, config) == lines


def test_illustrative_block_shows_its_reason(site):
    block = next(
        b
        for b in _doctree(site, "index").findall(nodes.literal_block)
        if b.get("proof_kind") == "illustrative"
    )
    assert block["proof_reason"] == "it needs systemd"
    assert block.source.endswith("index.txt") and block.line == 21
    note = block.parent[1]
    assert "illustrative-note" in note["classes"]
    assert note.astext() == "Not run by the tests: it needs systemd."


def test_illustrative_without_reason_is_an_error_with_file_and_line(site):
    _, _, warnings = site
    found = [
        line
        for line in _warnings_of(warnings, f"bad.txt:{BAD_ILLUSTRATIVE_LINE}:")
        if ":reason:" in line
    ]
    assert len(found) == 1
    assert "ERROR" in found[0]
    assert not any(
        b.get("proof_kind") == "illustrative"
        for b in _doctree(site, "bad").findall(nodes.literal_block)
    )


def test_missing_stage_is_an_error_naming_the_folder(site):
    root, _, warnings = site
    found = _warnings_of(warnings, f"bad.txt:{BAD_STAGE_LINE}:")
    assert len(found) == 1
    assert "ERROR" in found[0]
    assert str(root / "docs" / "project" / "stage07") in found[0]


def test_stage_box_links_the_archive(site):
    root, _, _ = site
    html = (root / "html" / "index.html").read_text()
    assert 'class="stage-box admonition"' in html
    assert "project/stage01/" in html
    archives = list((root / "html" / "_downloads").rglob("stage01.zip"))
    assert len(archives) == 1
    href = archives[0].relative_to(root / "html").as_posix()
    assert f'href="{href}"' in html


def test_stage_archive_contents(site):
    root, _, _ = site
    archive = next((root / "html" / "_downloads").rglob("stage01.zip"))
    with zipfile.ZipFile(archive) as opened:
        assert opened.namelist() == EXPECTED_ENTRIES
        assert opened.read("community/manage.py") == b"print('manage')\n"
        assert {info.date_time for info in opened.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_stage_archive_is_deterministic(tmp_path):
    stage = tmp_path / "stage01"
    _make_stage(stage)
    first = build_archive(stage)
    os.utime(stage / "manage.py", (1, 1))
    assert build_archive(stage) == first
    files = [e.removeprefix("community/") for e in EXPECTED_ENTRIES]
    assert stage_files(stage) == [f for f in files if f and not f.endswith("/")]


def test_new_stage_file_rebuilds_page_and_archive(tmp_path):
    write_stage_site(tmp_path, "Index\n=====\n\n.. stage:: 1\n")
    stage = tmp_path / "project" / "stage01"
    _make_stage(stage)
    app, warnings = build_small_site(tmp_path)
    assert warnings == ""

    def archived():
        archive = next((tmp_path / "html" / "_downloads").rglob("stage01.zip"))
        with zipfile.ZipFile(archive) as opened:
            return opened.namelist()

    assert "community/testimonials/views.py" not in archived()
    read_at = app.env.all_docs["index"]
    # An unchanged stage: the page is not read again.
    app, warnings = build_small_site(tmp_path)
    assert warnings == ""
    assert app.env.all_docs["index"] == read_at
    # A new file changes no dependency, yet the page and archive follow.
    (stage / "testimonials" / "views.py").write_text("# new\n")
    app, warnings = build_small_site(tmp_path)
    assert warnings == ""
    assert app.env.all_docs["index"] > read_at
    assert "community/testimonials/views.py" in archived()


# -- emphasized_lines ----------------------------------------------------------

EMPHASIZED_FILE = """\
import os

import sys


def first():
    return os, sys
"""


def _build_with_emphasis(tmp_path, options):
    """Build a page that includes EMPHASIZED_FILE with *options*, as
    ``make html`` builds (``-W``): the exit status and the warnings."""
    lines = "".join(f"    :{name}: {value}\n" for name, value in options.items())
    docs = write_small_site(
        tmp_path,
        f"Title\n=====\n\n.. literalinclude:: shown.py\n{lines}",
        ["emphasized_lines"],
        'source_suffix = {".txt": "restructuredtext"}\n',
        name="index.txt",
    )
    (docs / "shown.py").write_text(EMPHASIZED_FILE)
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-E", "-n", "-W", "--keep-going", "-q"]
        + ["-b", "html", str(docs), str(tmp_path / "html")],
        env={**os.environ, "PYTHONPATH": str(EXT_DIR)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stderr.splitlines()


# The directive is on line 4 of the page.
DIRECTIVE = "index.txt:4:"


def test_emphasized_lines_of_the_piece_shown_pass(tmp_path):
    options = {"start-at": "import sys", "emphasize-lines": "1,4-5"}
    assert _build_with_emphasis(tmp_path, options) == (0, [])


def test_an_emphasized_line_past_the_block_fails_the_build(tmp_path):
    # The piece from "def first" has two lines: 3 is past its end.
    options = {"start-at": "def first", "emphasize-lines": "1,3"}
    status, warnings = _build_with_emphasis(tmp_path, options)
    assert status == 1
    ours = [line for line in warnings if DIRECTIVE in line]
    assert len(ours) == 1
    assert (
        ":emphasize-lines: '1,3' names line 3, past the end of the block (2 lines)"
        in ours[0]
    )


def test_an_emphasized_blank_line_fails_the_build(tmp_path):
    status, warnings = _build_with_emphasis(tmp_path, {"emphasize-lines": "1-3"})
    assert status == 1
    assert len(warnings) == 1
    assert DIRECTIVE in warnings[0]
    assert ":emphasize-lines: highlights blank line 2 of the block" in warnings[0]
