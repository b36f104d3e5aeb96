"""docs/project/testing.md describes the proof's tables, all of them and no more.

The replay's stand-ins (``proof.standins.STAND_INS``), the normalization
rules (``proof.normalize.RULES``) and the elision marks
(``proof.compare.ELISIONS``) are each one table in the code. The page for
contributors lists the same entries in prose, with links and examples; the
code keeps only what it needs. These tests read the page's lists and fail
when an entry of a table is not on the page, or the page lists one that is
not in the table, so the two cannot drift apart.

The reader actions of part NN live in tests/proof/reader_actions/partNN.py:
each file must belong to a part page and hold exactly the actions it names.
"""

import ast
import re
import shlex

import pytest

from proof.compare import ELISIONS, elisions
from proof.normalize import RULES, normalize
from proof.paths import DOCS
from proof.reader import ACTIONS
from proof.standins import STAND_INS, stand_in_for

TESTING = DOCS / "project" / "testing.md"
CODE_SPAN = re.compile(r"`([^`]+)`")
# How the page shows a trailing space in an example.
VISIBLE_SPACE = "\u2423"


def section(text, heading):
    """The lines under the Markdown *heading*, up to the next heading."""
    lines = text.splitlines()
    start = lines.index(heading) + 1
    end = next(
        (i for i in range(start, len(lines)) if lines[i].startswith("#")), len(lines)
    )
    return lines[start:end]


def cells(row):
    """The cells of a Markdown table row; a ``|`` inside a code span is text."""
    found, current, in_code = [], "", False
    for char in row.strip().strip("|"):
        if char == "`":
            in_code = not in_code
        if char == "|" and not in_code:
            found.append(current.strip())
            current = ""
        else:
            current += char
    found.append(current.strip())
    return found


def table(lines):
    """The body rows of the first Markdown table in *lines*, as cells."""
    rows = [cells(line) for line in lines if line.startswith("|")]
    assert len(rows) > 2, "no table with a header and rows"
    assert all(set(cell) <= set("-: ") for cell in rows[1]), "no header row"
    return rows[2:]


def first_code(cell):
    match = CODE_SPAN.search(cell)
    assert match, f"no command in backticks in the cell {cell!r}"
    return match.group(1)


def page():
    return TESTING.read_text()


def stand_in_rows():
    return table(section(page(), "### Stand-ins"))


def test_the_page_lists_every_stand_in_and_no_other():
    listed = [first_code(row[0]) for row in stand_in_rows()]
    known = [s.page for s in STAND_INS]
    assert len(set(listed)) == len(listed), f"a stand-in is listed twice: {listed}"
    assert len(set(known)) == len(known), f"STAND_INS names one twice: {known}"
    missing = [name for name in known if name not in listed]
    extra = [name for name in listed if name not in known]
    assert not missing, f"{TESTING.name} does not describe the stand-ins {missing}"
    assert not extra, f"{TESTING.name} lists stand-ins that STAND_INS lacks: {extra}"


def test_each_listed_stand_in_says_what_the_replay_does():
    for row in stand_in_rows():
        assert len(row) == 2 and row[1], f"a row without its stand-in: {row}"


@pytest.mark.parametrize("entry", STAND_INS, ids=lambda s: s.page)
def test_each_stand_in_takes_the_command_it_is_named_by(entry):
    """The command as the page shows it is taken by its entry and no other."""
    argv = shlex.split(entry.page)
    taking = [s.page for s in STAND_INS if s.when(argv)]
    assert taking == [entry.page], f"{entry.page!r} is taken by {taking}"
    assert stand_in_for(argv) is entry
    assert entry.does and entry.why, f"{entry.page!r} needs what it does and why"


def test_commands_without_a_stand_in_run_as_written():
    for command in (
        "python manage.py db_worker --batch",
        "python manage.py migrate",
        "python -m venv .venv",
        "python manage.py test",
    ):
        assert stand_in_for(shlex.split(command)) is None, command


def normalization_rows():
    return table(section(page(), "### Normalization rules"))


def test_the_page_lists_the_normalization_rules_in_their_order():
    listed = [row[0] for row in normalization_rows()]
    assert listed == [rule.name for rule in RULES], (
        f"{TESTING.name} lists the rules {listed}; normalize.RULES applies "
        f"{[rule.name for rule in RULES]}"
    )


def test_each_example_of_the_page_normalizes_as_the_page_says():
    for name, _matches, before, after in normalization_rows():
        before, after = (
            first_code(cell).replace(VISIBLE_SPACE, " ") for cell in (before, after)
        )
        assert normalize(before) == after, (
            f"rule {name!r}: {before!r} normalizes to {normalize(before)!r}, "
            f"not {after!r}"
        )


def elision_bullets():
    lines = section(page(), "## Comparing output")
    return [m.group(1) for line in lines if (m := re.match(r"- \*\*(.+?)\*\*", line))]


def test_the_page_describes_every_elision_and_no_other():
    assert elision_bullets() == [e.name for e in ELISIONS]


def paragraph(lines, start):
    """The text of the paragraph or bullet that starts with *start*."""
    first = next(i for i, line in enumerate(lines) if line.startswith(start))
    text = [lines[first]]
    for line in lines[first + 1 :]:
        if not line.strip() or line.startswith("- "):
            break
        text.append(line.strip())
    return " ".join(text)


def test_the_pages_examples_of_elision_elide_and_its_literal_ones_do_not():
    lines = section(page(), "## Comparing output")
    whole, inside = ELISIONS
    assert whole.mark.fullmatch("    ...") and not whole.mark.fullmatch("... x")
    marked = [
        span
        for span in CODE_SPAN.findall(paragraph(lines, f"- **{inside.name}**"))
        if "..." in span and span != "..."
    ]
    literal = CODE_SPAN.findall(paragraph(lines, "Everything else is literal"))
    assert marked and literal, "the page gives no examples"
    for example in marked:
        assert elisions(example), f"the page says {example!r} elides; it does not"
    for example in literal:
        assert not elisions(example), f"the page says {example!r} is literal"


def reader_actions_of(number):
    text = (DOCS / "tutorial" / f"part{number:02d}.txt").read_text()
    return re.findall(r"^\.\. reader-action:: (\S+)", text, flags=re.MULTILINE)


def test_each_reader_actions_file_holds_exactly_its_pages_actions():
    files = sorted(ACTIONS.glob("*.py"))
    assert files, f"no reader actions in {ACTIONS}"
    for path in files:
        match = re.fullmatch(r"part(\d\d)\.py", path.name)
        assert match, f"{path.name}: reader actions live in partNN.py"
        page_file = DOCS / "tutorial" / f"part{match.group(1)}.txt"
        assert page_file.is_file(), f"{path.name} belongs to no page {page_file}"
        module = ast.parse(path.read_text())
        defined = {
            node.name
            for node in module.body
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
        }
        named = set(reader_actions_of(int(match.group(1))))
        assert defined == named, (
            f"{path.name} defines {sorted(defined)}, and {page_file.name} names "
            f"{sorted(named)}"
        )


def test_every_page_with_reader_actions_has_its_file():
    for page_file in sorted((DOCS / "tutorial").glob("part[0-9][0-9].txt")):
        number = int(page_file.stem[4:])
        if reader_actions_of(number):
            assert (ACTIONS / f"part{number:02d}.py").is_file(), page_file.name
