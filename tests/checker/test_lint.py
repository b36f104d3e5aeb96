"""`make lint` (docs/lint.py) fails on each kind of problem it is there for.

Each test writes a small file and runs the lint entry point on it, as
`make lint` runs it on the project.
"""

import re
import shutil
import subprocess
import sys

import pytest

from proof.paths import ROOT

LINT = ROOT / "docs" / "lint.py"
LONG_PROSE = " ".join(["word"] * 18).ljust(90, "s")


def lint(*paths, script=LINT):
    """Run docs/lint.py on *paths*: its exit status and its report lines."""
    done = subprocess.run(
        [sys.executable, script, *map(str, paths)],
        cwd=script.parent.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout.splitlines()


def page(tmp_path, text, name="page.txt"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_project_passes():
    status, report = lint()
    assert (status, report) == (0, [])


def test_a_long_prose_line_fails(tmp_path):
    assert len(LONG_PROSE) == 90
    path = page(tmp_path, f"Title\n=====\n\n{LONG_PROSE}\n")
    status, report = lint(path)
    assert status == 1
    assert report == [f"{path}:4: line too long (90/79 columns) (prose-line-too-long)"]


def test_a_long_prose_line_in_an_only_block_fails(tmp_path):
    path = page(
        tmp_path, f"Title\n=====\n\n.. only:: tutorial_site\n\n    {LONG_PROSE}\n"
    )
    status, report = lint(path)
    assert status == 1
    assert report == [f"{path}:6: line too long (94/79 columns) (prose-line-too-long)"]


def test_lines_that_cannot_be_wrapped_pass(tmp_path):
    url = "https://docs.djangoproject.com/en/stable/" + "x" * 60
    path = page(
        tmp_path,
        "A code block keeps its own lines:\n"
        "\n"
        ".. code-block:: python\n"
        "\n"
        f"    {LONG_PROSE}\n"
        "\n"
        ".. literalinclude:: " + "a/" * 40 + "b.py\n"
        "    :caption: " + "a/" * 40 + "b.py\n"
        "\n"
        "See\n"
        f"{url}\n"
        "\n"
        f"``{'x' * 85}``\n",
    )
    assert lint(path) == (0, [])


@pytest.mark.parametrize("word", ["simply", "Just"])
def test_a_banned_word_in_prose_fails(tmp_path, word):
    path = page(tmp_path, f"Some prose.\n\nWe {word} add a task.\n")
    status, report = lint(path)
    assert status == 1
    assert report == [
        f"{path}:3: {word!r}: a word the pages avoid (WRITING.md) (banned-words)"
    ]


def test_a_banned_word_in_a_link_title_fails(tmp_path):
    path = page(tmp_path, "Read\n:doc:`the simply named page <other>` first.\n")
    status, report = lint(path)
    assert status == 1
    assert report == [
        f"{path}:2: 'simply': a word the pages avoid (WRITING.md) (banned-words)"
    ]


def test_a_banned_word_in_code_or_literals_passes(tmp_path):
    path = page(
        tmp_path,
        "Call ``just()`` or :func:`mysite.easy`, then run:\n"
        "\n"
        ".. code-block:: python\n"
        "\n"
        "    simply = just_this()\n",
    )
    assert lint(path) == (0, [])


def test_a_py_prefix_fails(tmp_path):
    path = page(tmp_path, "See :py:class:`django.tasks.Task`.\n")
    status, report = lint(path)
    assert status == 1
    assert len(report) == 1
    assert report[0].startswith(f"{path}:1: ':py:class:`': leave out ':py'")


def test_a_misspelled_word_fails(tmp_path):
    typo = "rec" + "ieve"  # not spelled out, or codespell flags this file
    path = page(tmp_path, f"The worker will {typo} the task.\n")
    status, report = lint(path)
    assert status == 1
    assert report == [f"{path}:1: {typo} ==> receive (codespell)"]


def test_an_unformatted_python_file_fails(tmp_path):
    path = tmp_path / "module.py"
    path.write_text("numbers = { 'one':1 }\n")
    status, report = lint(path)
    assert status == 1
    assert len(report) == 1
    assert report[0].startswith(f"{path}:1:")
    assert report[0].endswith("File would be reformatted (ruff format)")
    path.write_text('numbers = {"one": 1}\n')
    assert lint(path) == (0, [])


def test_unsorted_imports_fail(tmp_path):
    path = tmp_path / "module.py"
    path.write_text("import sys\nimport os\n\nprint(os, sys)\n")
    status, report = lint(path)
    assert status == 1
    assert len(report) == 1
    assert re.match(rf"{re.escape(str(path))}:1:1: I001 ", report[0])


SESSION = """Title
=====

.. code-block:: pycon

    >>> from testimonials.tasks import count_words
    >>> result = count_words.enqueue( 'a b' )
    >>> for word in ["one", "two"]:
    ...     print(word)
    ...
    one
    two
    >>> result.status
    ...
"""


def test_an_unformatted_session_statement_fails(tmp_path):
    """Only the statement ruff would change is named, with ruff's version;
    a bare ``...`` ends the loop, and after the last statement is output."""
    path = page(tmp_path, SESSION)
    status, report = lint(path)
    assert status == 1
    assert report == [
        f"{path}:7: a session statement that `ruff format` would write as:",
        '    result = count_words.enqueue("a b")',
    ]
    path.write_text(SESSION.replace("enqueue( 'a b' )", 'enqueue("a b")'))
    assert lint(path) == (0, [])


def test_session_statements_are_read_as_the_console_reads_them(tmp_path):
    sys.path.insert(0, str(LINT.parent))
    try:
        from lint import session_statements
    finally:
        sys.path.remove(str(LINT.parent))
    statements = list(session_statements(page(tmp_path, SESSION)))
    assert statements == [
        (6, "from testimonials.tasks import count_words\n"),
        (7, "result = count_words.enqueue( 'a b' )\n"),
        (8, 'for word in ["one", "two"]:\n    print(word)\n'),
        (13, "result.status\n"),
    ]


def test_the_banned_words_are_those_contributing_md_names():
    sys.path.insert(0, str(LINT.parent))
    try:
        import lint as module
    finally:
        sys.path.remove(str(LINT.parent))
    text = (ROOT / "docs" / "project" / "contributing.md").read_text()
    [rule] = re.findall(r"\*\*Words to avoid\.\*\*(.*?):", text, re.DOTALL)
    assert set(re.findall(r'"(\w+)"', rule)) == set(module.BANNED_WORDS)


# The reader's code, linted as `make lint` lints the project: a copy of the
# lint, of both ruff configurations and of two stages, in a folder laid out as
# the project is. Stage 1 holds startproject's and startapp's files as Django
# writes them; stage 6 imports the project's own packages.
COPIED_STAGES = ("stage01", "stage06")
STAGE_NOISE = shutil.ignore_patterns("__pycache__", "*.pyc", "db.sqlite3*", "media")


@pytest.fixture
def project_copy(tmp_path):
    (tmp_path / "docs").mkdir()
    shutil.copy(LINT, tmp_path / "docs" / "lint.py")
    shutil.copy(ROOT / "ruff.toml", tmp_path / "ruff.toml")
    stages = tmp_path / "tutorial_project"
    stages.mkdir()
    shutil.copy(ROOT / "tutorial_project" / "ruff.toml", stages / "ruff.toml")
    for stage in COPIED_STAGES:
        source = ROOT / "tutorial_project" / stage
        shutil.copytree(source, stages / stage, ignore=STAGE_NOISE)
    return tmp_path


def lint_copy(project):
    """`make lint` in the copy: docs/lint.py with no paths."""
    return lint(script=project / "docs" / "lint.py")


def test_the_stages_pass_as_they_are(project_copy):
    assert lint_copy(project_copy) == (0, [])


def test_an_unformatted_stage_file_fails(project_copy):
    tasks = project_copy / "tutorial_project" / "stage01" / "testimonials" / "tasks.py"
    text = tasks.read_text()
    assert "return len(text.split())" in text
    tasks.write_text(text.replace("len(text.split())", "len( text.split() )"))
    status, report = lint_copy(project_copy)
    assert status == 1
    assert len(report) == 1
    assert report[0].startswith("tutorial_project/stage01/testimonials/tasks.py:")
    assert report[0].endswith("File would be reformatted (ruff format)")


def test_a_stages_own_packages_are_sorted_first_party(project_copy):
    # In a stage, mysite and testimonials are first-party: a group of their
    # own after Django's. As third-party packages (the rule outside the
    # stages) this block would be sorted.
    tests = project_copy / "tutorial_project" / "stage06" / "mysite" / "tests.py"
    text = tests.read_text()
    groups = "from django.utils import timezone\n\nfrom mysite.testing import"
    assert text.count(groups) == 1
    tests.write_text(text.replace(groups, groups.replace("\n\n", "\n")))
    status, report = lint_copy(project_copy)
    assert status == 1
    assert len(report) == 1
    assert re.match(
        r"tutorial_project/stage06/mysite/tests\.py:\d+:1: I001 ", report[0]
    )
