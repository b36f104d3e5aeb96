"""The checks behind ``make lint``: the pages' style, spelling and Python code.

``python docs/lint.py`` checks the whole project:

- the reST pages (``docs/**/*.txt``) with sphinx-lint's checkers and three of
  our own: prose lines of at most 79 columns, no ``:py:`` prefix on roles,
  and none of the words that WRITING.md bans from the prose;
- the Python statements of the pages' interactive sessions (``pycon``
  blocks) with ``ruff format``, at 79 columns as Django's docs format theirs
  (blacken-docs in Django's ``make black``);
- the spelling of everything in ``docs/`` with codespell;
- the project's Python code, the reader's in ``tutorial_project/`` too, with
  ``ruff check`` and ``ruff format --check`` (which files and rules:
  ``ruff.toml``, and ``tutorial_project/ruff.toml`` for the reader's code).

Given paths, it checks only those: ``.txt`` files as pages, every file for
spelling, ``.py`` files with ruff; a folder stands for the files in it. Each
problem is printed as ``path:line: message``; the exit status is 1 when there
is any.
"""

import argparse
import codeop
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import mock

import sphinxlint.utils
from sphinxlint.checkers import all_checkers, checker
from sphinxlint.sphinxlint import CheckersOptions
from sphinxlint.utils import PER_FILE_CACHES, hide_non_rst_blocks, paragraphs

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
MAX_LINE_LENGTH = 79
# WRITING.md: these words make a reader who struggles feel stupid.
BANNED_WORDS = (
    "easy",
    "easily",
    "simply",
    "just",
    "merely",
    "obviously",
    "straightforward",
)
# Files codespell has no business reading.
NOT_TEXT = "*.png,*.jpg,*.svg,*.inv"
# Dictionaries of codespell: common typos, rarer ones, and British spellings
# (the pages spell as Django does, in American English).
SPELLING_DICTIONARIES = "clear,rare,en-GB_to_en-US"

# The statements of interactive sessions, formatted as Django's docs format
# theirs: blacken-docs with 79 columns, which ruff's formatter matches.
SESSION_LINE_LENGTH = 79

# sphinx-lint's own line-length checker is replaced by ours.
SPHINX_LINT_REPLACED = {"line-too-long"}

_TABLE_ROW = re.compile(r"^\s*[+|]")
_DIRECTIVE_OR_TARGET = re.compile(r"^\s*(\.\. |__ )")
_LONG_INTERPRETED_TEXT = re.compile(r"^\s*\W*(:(\w+:)+)?`.*`\W*$")
_LONG_LITERAL = re.compile(r"^\s*``[^`]+``\W*$")
_OPTION_WITH_ONE_WORD = re.compile(r"^\s+:[\w-]+:\s+\S+$")
_HEADING_RULE = re.compile(r"^([=\-~^\"'`#*+.:_])\1+$")
_PY_DOMAIN_ROLE = re.compile(r":py:[\w-]+:`")
_LITERAL = re.compile(r"``.+?``", re.DOTALL)
_INTERPRETED = re.compile(r"(?::[\w.+-]+(?::[\w.+-]+)*:)?`([^`]+)`_{0,2}")
# How codespell and ruff name a problem: path:line: or path:line:column:
_TOOL_PROBLEM = re.compile(r"^\S.*?:\d+:(\d+:)? ")
_BANNED = re.compile(r"\b(" + "|".join(BANNED_WORDS) + r")\b", re.IGNORECASE)


def _is_heading_text(lines, index):
    """Whether lines[index] is a section title (a rule below it, or above)."""
    line = lines[index].rstrip("\n")
    for other in (index - 1, index + 1):
        if 0 <= other < len(lines):
            rule = lines[other].strip()
            if _HEADING_RULE.match(rule) and len(rule) >= len(line.strip()):
                return True
    return False


@checker(".txt", enabled=False, rst_only=True)
def check_prose_line_too_long(file, lines, options=None):
    """Prose lines longer than the limit (79 columns, as Django's docs).

    Code blocks are hidden before this runs. A line that cannot be wrapped is
    exempt: a table row, a directive or link target, a directive option with
    a one-word value (a path, a URL), a single word, one long role or
    literal, a section title or its rule.
    """
    limit = options.max_line_length
    for index, line in enumerate(lines):
        text = line.rstrip("\n")
        if len(text) <= limit:
            continue
        if (
            _TABLE_ROW.match(text)
            or _DIRECTIVE_OR_TARGET.match(text)
            or _LONG_INTERPRETED_TEXT.match(text)
            or _LONG_LITERAL.match(text)
            or _OPTION_WITH_ONE_WORD.match(text)
            or len(text.split()) == 1
            or _HEADING_RULE.match(text.strip())
            or _is_heading_text(lines, index)
        ):
            continue
        yield index + 1, f"line too long ({len(text)}/{limit} columns)"


@checker(".txt", enabled=False, rst_only=True)
def check_py_domain_prefix(file, lines, options=None):
    """Roles with the ``:py:`` prefix: Python is the default domain."""
    for lno, line in enumerate(lines, start=1):
        for match in _PY_DOMAIN_ROLE.finditer(line):
            yield lno, f"{match.group(0)!r}: leave out ':py', the default domain"


def _blank_out(match, keep=""):
    """What replaces a match: *keep*, then the newlines of the match."""
    return keep + "\n" * match.group(0).count("\n")


def _prose_only(paragraph):
    """The paragraph without its literals and role targets, newlines kept.

    A role or link with a title keeps the title, which the reader reads.
    """
    paragraph = _LITERAL.sub(_blank_out, paragraph)

    def title_only(match):
        body = match.group(1)
        title = body[: body.rindex("<")] if "<" in body else ""
        return _blank_out(match, keep=" " + title.replace("\n", " ") + " ")

    return _INTERPRETED.sub(title_only, paragraph)


@checker(".txt", enabled=False, rst_only=True)
def check_banned_words(file, lines, options=None):
    """The words WRITING.md bans, in prose (not in code, literals, targets)."""
    for lno, paragraph in paragraphs(lines):
        prose = _prose_only(paragraph)
        for match in _BANNED.finditer(prose):
            line = lno + prose[: match.start()].count("\n")
            yield line, f"{match.group(0)!r}: a word the pages avoid (WRITING.md)"


def page_checkers():
    """sphinx-lint's reST checkers, all of them as Django runs them, and ours."""
    ours = {
        check_prose_line_too_long,
        check_py_domain_prefix,
        check_banned_words,
    }
    theirs = {
        check
        for name, check in all_checkers.items()
        if ".rst" in check.suffixes and name not in SPHINX_LINT_REPLACED
    }
    return sorted(theirs | ours, key=lambda check: check.name)


_ONLY = re.compile(r"^\s*\.\. only::")
_their_non_rst_block = sphinxlint.utils.is_multiline_non_rst_block


def _non_rst_block(line):
    """sphinx-lint's test, except that an ``only`` block holds reST (prose
    for this site or for Django's docs), checked like the rest."""
    return False if _ONLY.match(line) else _their_non_rst_block(line)


def check_page(path, checkers=None):
    """The problems of one reST page, as ``path:line: message`` strings."""
    options = CheckersOptions()
    options.max_line_length = MAX_LINE_LENGTH
    lines = tuple(path.read_text(encoding="utf-8").splitlines(keepends=True))
    problems = []
    try:
        with mock.patch.object(
            sphinxlint.utils, "is_multiline_non_rst_block", _non_rst_block
        ):
            rst_lines = hide_non_rst_blocks(lines)
        for check in checkers or page_checkers():
            for lno, message in check(
                str(path), rst_lines if check.rst_only else lines, options
            ):
                problems.append((lno, f"{message} ({check.name})"))
    finally:
        for cached in PER_FILE_CACHES:
            cached.cache_clear()
    return [f"{_shown(path)}:{lno}: {message}" for lno, message in sorted(problems)]


_PYCON_BLOCK = re.compile(r"^(\s*)\.\. code-block:: pycon\s*$")


def session_statements(path):
    """(line, source) of each statement typed in the page's pycon blocks.

    A statement is a ``>>>`` line and its ``...`` continuation lines; a bare
    ``...`` ends a compound statement (the empty line the console asks for)
    and is elided output anywhere else.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        match = _PYCON_BLOCK.match(lines[index])
        index += 1
        if not match:
            continue
        indent = len(match.group(1))
        body = []
        while index < len(lines) and (
            not lines[index].strip()
            or len(lines[index]) - len(lines[index].lstrip()) > indent
        ):
            body.append((index + 1, lines[index].strip()))
            index += 1
        yield from _statements(body)


def _statements(body):
    position = 0
    while position < len(body):
        number, text = body[position]
        position += 1
        if not (text.startswith(">>> ") or text == ">>>"):
            continue
        source = [text[4:]]
        while position < len(body):
            following = body[position][1]
            if following.startswith("... "):
                source.append(following[4:])
                position += 1
                continue
            if following == "..." and _incomplete(source):
                position += 1
            break
        yield number, "\n".join(source) + "\n"


def _incomplete(source):
    try:
        return codeop.compile_command("\n".join(source), symbol="single") is None
    except SyntaxError:
        return False


def check_sessions(pages):
    """Session statements that ``ruff format`` would write otherwise."""
    statements = {}
    with tempfile.TemporaryDirectory() as folder:
        for page in pages:
            for number, source in session_statements(page):
                name = f"statement{len(statements)}.py"
                (Path(folder) / name).write_text(source)
                statements[name] = (page, number)
        if not statements:
            return []
        status, output = _run(
            [
                "ruff",
                "format",
                "--isolated",
                "--line-length",
                str(SESSION_LINE_LENGTH),
                "--diff",
                folder,
            ]
        )
        if status not in (0, 1):
            return [f"ruff format failed on the sessions ({status}):", *output]
        # ruff's diff: one "--- file" header, then its changes, per file.
        problems, current = [], None
        for line in output:
            name = Path(line[4:].strip()).name if line.startswith("--- ") else None
            if name in statements:
                page, number = statements[name]
                current = [
                    f"{_shown(page)}:{number}: a session statement that "
                    "`ruff format` would write as:"
                ]
                problems.append(current)
            elif current is not None and line[:1] in ("+", " "):
                if not line.startswith("+++ "):
                    current.append("    " + line[1:])
        return ["\n".join(problem) for problem in sorted(problems)]


def _shown(path):
    """A path as the problems name it: from the project's top when inside."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _run(command):
    """Run a tool from the project's top: its exit status and its output."""
    done = subprocess.run(
        [sys.executable, "-m", *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return done.returncode, (done.stdout + done.stderr).splitlines()


def check_spelling(paths):
    """codespell's findings in *paths* (``path:line: typo ==> fix``)."""
    status, output = _run(
        [
            "codespell_lib",
            "--builtin",
            SPELLING_DICTIONARIES,
            "--skip",
            NOT_TEXT,
            *map(str, paths),
        ]
    )
    found = [line for line in output if _TOOL_PROBLEM.match(line)]
    if status != 0 and (status != 65 or not found):  # 65: misspellings found
        return [f"codespell failed ({status}):", *output]
    return [f"{line} (codespell)" for line in found]


def check_python(paths=None):
    """ruff's findings in *paths*, or in the files ruff.toml names.

    ruff reads the configuration nearest to each file, as it does when run
    by hand: ``tutorial_project/ruff.toml`` for a stage's file, ``ruff.toml``
    for the others and for files outside the project.
    """
    targets = [str(path) for path in paths] if paths is not None else []
    problems = []
    for command, label in (
        (["check", "--quiet"], "ruff check"),
        (["format", "--check"], "ruff format"),
    ):
        status, output = _run(
            ["ruff", *command, "--output-format", "concise", *targets]
        )
        found = [line for line in output if _TOOL_PROBLEM.match(line)]
        if status != 0 and (status != 1 or not found):
            return problems + [f"{label} failed ({status}):", *output]
        problems += [f"{line} ({label})" for line in found]
    return problems


def _files(paths):
    """The files that *paths* name, folders expanded."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        else:
            yield path


def lint(paths=None):
    """Every problem in *paths* (the whole project when None)."""
    if paths is None:
        pages = sorted(DOCS.rglob("*.txt"))
        spelled = [_shown(DOCS)]
        python = None
    else:
        files = [path.resolve() for path in _files(paths)]
        pages = [path for path in files if path.suffix == ".txt"]
        # The tools run from the project's top: name the files from there.
        spelled = [_shown(path) for path in files]
        python = [_shown(path) for path in files if path.suffix == ".py"]
    problems = []
    for page in pages:
        problems += check_page(page)
    problems += check_sessions(pages)
    if spelled:
        problems += check_spelling(spelled)
    if python is None or python:
        problems += check_python(python)
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, help="default: the project")
    arguments = parser.parse_args(argv)
    problems = lint(arguments.paths or None)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) found.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
