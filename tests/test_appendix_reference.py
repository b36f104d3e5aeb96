"""The reference appendix says what the installed packages do.

docs/appendix/reference.txt is mostly tables. Each test reads one table of
the built page and compares it with the code it describes, both ways: a
name the code has and the page lacks fails, as does a page entry the code
doesn't have or a default that differs. What needs a configured Django (the
commands' parsers, the backends at work, the signals they send) comes from
one process that runs proof/reference_facts.py; the rest is read here, from
the classes and functions themselves.

A table cell is read as the page shows it: a default is the cell's first
inline literal, as a Python value (``"default"``, ``14``, ``None``), or one
of a few words the tests know how to check ("off" for a flag, "required",
the DEBUG setting, "random, N characters").
"""

import ast
import dataclasses
import inspect
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
from docutils import nodes
from sphinx import addnodes

from proof.blocks import load_doctree
from proof.paths import DOCS, where
from proof.processes import clean_env

DOCNAME = "appendix/reference"
PAGE = DOCS / "appendix" / "reference.txt"
FACTS_SCRIPT = Path(__file__).parent / "proof" / "reference_facts.py"


# -- reading the page ------------------------------------------------------------


def _inside_reference(node):
    parent = node.parent
    while parent is not None:
        if isinstance(parent, addnodes.pending_xref):
            return True
        parent = parent.parent
    return False


@dataclass
class Cell:
    node: nodes.Element

    @property
    def text(self):
        # The build turns ' into a typographic apostrophe.
        return " ".join(self.node.astext().replace("\u2019", "'").split())

    @property
    def literals(self):
        """The inline literals of the cell that are no link."""
        return [
            n.astext()
            for n in self.node.findall(nodes.literal)
            if not _inside_reference(n)
        ]

    @property
    def references(self):
        """(role, target) of each cross-reference in the cell."""
        return [
            (n["reftype"], n["reftarget"])
            for n in self.node.findall(addnodes.pending_xref)
        ]

    @property
    def name(self):
        """What the first column names: the text, without a call's ()."""
        return self.text.removesuffix("()")

    def value(self):
        """The cell's first literal, as a Python value."""
        assert self.literals, f"no literal in {self.text!r}"
        return ast.literal_eval(self.literals[0])


@dataclass
class Table:
    title: str
    header: list
    rows: list
    line: int

    def column(self, heading):
        headings = [cell.text for cell in self.header]
        assert heading in headings, f"{self.title!r} has no column {heading!r}"
        return headings.index(heading)

    def by_name(self):
        """{the first cell's name: the row}, every name once."""
        found = {}
        for row in self.rows:
            name = row[0].name
            assert name not in found, f"{self.title!r} lists {name} twice"
            found[name] = row
        return found

    @property
    def place(self):
        return where(PAGE, self.line)


def _tables(tree):
    found = {}
    for table in tree.findall(nodes.table):
        title = table.next_node(nodes.title)
        rows = [
            [Cell(entry) for entry in row.findall(nodes.entry)]
            for row in table.findall(nodes.row)
        ]
        # A list-table's line is its title's, the directive's line.
        found[title.astext()] = Table(title.astext(), rows[0], rows[1:], title.line)
    return found


@pytest.fixture(scope="module")
def page(site):
    return load_doctree(site.doctrees, DOCNAME)


@pytest.fixture(scope="module")
def tables(page):
    return _tables(page)


def paragraph(page, start):
    """The page's paragraph whose text starts with *start*, as a Cell."""
    for node in page.findall(nodes.paragraph):
        if Cell(node).text.startswith(start):
            return Cell(node)
    raise AssertionError(f"{PAGE.name} has no paragraph starting {start!r}")


# -- what a configured Django says ----------------------------------------------


@pytest.fixture(scope="module")
def facts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference")
    done = subprocess.run(
        [sys.executable, str(FACTS_SCRIPT), str(folder)],
        cwd=folder,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((folder / "facts.json").read_text())


# -- the task decorator and Task ------------------------------------------------


def _keyword_only(function):
    return {
        name: parameter.default
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    }


def _priority_range(cell):
    from django.tasks.base import TASK_MAX_PRIORITY, TASK_MIN_PRIORITY

    match = re.search(r"from (-?\d+) to (-?\d+)", cell.text)
    assert match, f"the priority's range is missing from {cell.text!r}"
    assert (int(match[1]), int(match[2])) == (TASK_MIN_PRIORITY, TASK_MAX_PRIORITY)


def test_the_decorator_options_and_their_defaults(tables):
    from django.tasks import Task, task

    table = tables["Options of the task decorator"]
    rows = table.by_name()
    options = _keyword_only(task)
    assert sorted(rows) == sorted(options), table.place
    default = table.column("Default")
    for name, row in rows.items():
        assert row[default].value() == options[name], f"{table.place}: {name}"
    _priority_range(rows["priority"][table.column("Meaning")])
    # Everything a Task holds is an option, the function, or run_after,
    # which the decorator refuses (the paragraph after the table).
    held = {field.name for field in dataclasses.fields(Task)}
    assert held == {"func", "run_after", *options}
    with pytest.raises(TypeError):
        task(run_after=None)


def test_the_arguments_of_using(tables):
    from django.tasks import Task

    table = tables["Arguments of Task.using()"]
    rows = table.by_name()
    parameters = inspect.signature(Task.using).parameters
    arguments = _keyword_only(Task.using)
    # Keyword arguments only, each None when left out.
    assert list(parameters) == ["self", *arguments]
    assert sorted(rows) == sorted(arguments), table.place
    assert set(arguments.values()) == {None}
    _priority_range(rows["priority"][table.column("Meaning")])


def _public(cls, kind):
    return {
        name
        for name, value in vars(cls).items()
        if not name.startswith("_") and isinstance(value, kind)
    }


def _check_async_twins(table, cls, methods):
    """A method's row that says "The same, to await" is the async twin of
    the method's row above it, and only an async method's row says so."""
    rows = [row for row in table.rows if row[0].name in methods]
    for index, row in enumerate(rows):
        name = row[0].name
        twin = row[1].text.startswith("The same, to await")
        assert twin == inspect.iscoroutinefunction(getattr(cls, name)), (
            f"{table.place}: {name}"
        )
        if twin:
            assert rows[index - 1][0].name == name.removeprefix("a"), table.place


def test_the_methods_of_task(tables, page):
    from django.tasks import Task

    table = tables["Methods of Task"]
    rows = table.by_name()
    methods = _public(Task, type(Task.call))
    # using() has a table of its own, above.
    assert sorted([*rows, "using"]) == sorted(methods), table.place
    _check_async_twins(table, Task, methods)
    # The paragraph after the table: the attributes that are no option.
    besides = paragraph(page, "Besides its options")
    named = set(besides.literals) | {
        target.rsplit(".", 1)[1] for _, target in besides.references
    }
    assert named == {"func", *_public(Task, property)}


# -- results, statuses, the context ---------------------------------------------


def test_the_attributes_of_task_result(tables, page, facts):
    from django.tasks import TaskResult

    table = tables["Attributes of TaskResult"]
    rows = table.by_name()
    fields = {field.name for field in dataclasses.fields(TaskResult) if field.init}
    properties = _public(TaskResult, property)
    methods = _public(TaskResult, type(TaskResult.refresh))
    assert sorted(rows) == sorted(fields | properties | methods), table.place
    _check_async_twins(table, TaskResult, methods)
    # attempts is the length of worker_ids.
    assert TaskResult.attempts.fget(SimpleNamespace(worker_ids=["a", "b"])) == 2
    # What the rows say of the backends' results.
    runs = facts["runs"]
    assert runs["dummy"]["args_type"] == "list", "a tuple becomes a list"
    assert runs["database"]["last_attempted_at_is_started_at"]
    assert runs["database"]["errors_of_failed"] == 1
    extra = facts["database_backend"]["extra_result_fields"]
    assert extra == paragraph(page, "The results of django-tasks-db").literals[:1]


def test_the_statuses_and_which_are_final(tables):
    from django.tasks import TaskResult, TaskResultStatus

    table = tables["Values of TaskResultStatus"]
    rows = table.by_name()
    assert list(rows) == list(TaskResultStatus.names), table.place
    final = table.column("Final")
    for status in TaskResultStatus:
        finished = TaskResult.is_finished.fget(SimpleNamespace(status=status))
        shown = rows[status.name][final].text
        assert shown == ("yes" if finished else "no"), f"{table.place}: {status}"


def test_the_task_context(tables, facts):
    from django.tasks import TaskContext

    table = tables["Attributes of TaskContext"]
    rows = table.by_name()
    fields = {field.name for field in dataclasses.fields(TaskContext)}
    assert sorted(rows) == sorted(fields | _public(TaskContext, property))
    # attempt is the result's attempts, 1 on a first run, in both runners.
    context = SimpleNamespace(task_result=SimpleNamespace(attempts=7))
    assert TaskContext.attempt.fget(context) == 7
    assert "1 the first time" in rows["attempt"][table.column("Meaning")].text
    assert facts["runs"]["immediate"]["attempt"] == 1
    assert facts["runs"]["database"]["attempt"] == 1


# -- signals ---------------------------------------------------------------------

SENDERS = {
    "backends": "Sender from enqueue() and Django's backends",
    "db_worker": "Sender from db_worker",
}


def test_the_signals(tables, facts):
    from django.core import signals as core_signals
    from django.dispatch import Signal
    from django.tasks import signals

    table = tables["Task signals"]
    status, arguments = table.column("Status of task_result"), table.column("Arguments")
    shown = set()
    for row in table.rows:
        shown.add(
            (
                row[0].text,
                row[status].literals[0],
                tuple(row[arguments].literals),
                *(row[table.column(heading)].text for heading in SENDERS.values()),
            )
        )
    # What the receivers saw: per signal and status, who sent it how.
    seen = {}
    for record in facts["signals"]:
        key = record["signal"], record["status"]
        passed = tuple(name for name in record["arguments"] if name != "signal")
        senders = seen.setdefault(
            key, {"arguments": set(), **{s: set() for s in SENDERS}}
        )
        senders["arguments"].add(passed)
        senders[record["source"]].add(record["sender"])
    observed = set()
    for (name, state), senders in seen.items():
        [passed] = senders["arguments"]
        kinds = []
        for source in SENDERS:
            assert len(senders[source]) <= 1, (name, state, source, senders)
            kinds.append(next(iter(senders[source]), "not sent"))
        observed.add((name, state, passed, *kinds))
    assert shown == observed, table.place
    # Every signal of django.tasks.signals is on the page.
    defined = {
        name
        for name, value in vars(signals).items()
        if isinstance(value, Signal) and value not in vars(core_signals).values()
    }
    assert {row[0].text for row in table.rows} == defined


# -- settings --------------------------------------------------------------------


def _package_dir(name):
    import importlib.util

    return Path(importlib.util.find_spec(name).origin).parent


def _sources(package):
    for path in sorted(_package_dir(package).rglob("*.py")):
        if "migrations" not in path.parts:
            yield ast.parse(path.read_text(), str(path))


def _keys_read(package, holder):
    """{key: required} for each ``holder["key"]`` and ``holder.get("key")``
    in the package's code, where *holder* is a name or an attribute."""

    def is_holder(node):
        return (isinstance(node, ast.Name) and node.id == holder) or (
            isinstance(node, ast.Attribute) and node.attr == holder
        )

    found = {}
    for tree in _sources(package):
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Subscript)
                and is_holder(node.value)
                and isinstance(node.slice, ast.Constant)
            ):
                found[node.slice.value] = True
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get"
                and is_holder(node.func.value)
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.setdefault(node.args[0].value, False)
    return found


def test_the_keys_of_a_tasks_entry(tables, page, facts):
    table = tables["Keys of an entry in TASKS"]
    rows = table.by_name()
    read = _keys_read("django.tasks", "params")
    assert sorted(rows) == sorted(read), table.place
    default = table.column("Default")
    defaults = facts["runs"]["entry_defaults"]
    for key, required in read.items():
        cell = rows[key][default]
        if required:
            assert cell.text == "required", f"{table.place}: {key}"
        elif key == "QUEUES":
            assert sorted(cell.value()) == defaults[key], table.place
        else:
            assert cell.value() == defaults[key], f"{table.place}: {key}"
    # "An empty list allows any name".
    assert facts["runs"]["unlisted_queue"] == {
        "dummy": "refused",
        "any_queue": "accepted",
    }
    # Without the setting: the paragraph above the table.
    text = paragraph(page, "TASKS maps aliases")
    [backend] = [t for role, t in text.references if role == "class"]
    assert facts["global_tasks"] == {text.value(): {"BACKEND": backend}}


def test_the_options_django_tasks_db_reads(tables, facts):
    table = tables["OPTIONS that django-tasks-db reads"]
    rows = table.by_name()
    assert sorted(rows) == sorted(_keys_read("django_tasks_db", "options"))
    backend = facts["database_backend"]
    cell = rows["id_function"][table.column("Default")]
    assert cell.literals == [backend["id_function_default"]], table.place
    # "A function, or the dotted path of one".
    assert backend["id_function_by_path"] and backend["id_function_callable"]


def test_the_other_settings_django_tasks_db_reads(tables, facts):
    table = tables["Other settings that django-tasks-db reads"]
    read = set()
    for tree in _sources("django_tasks_db"):
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "settings"
            ):
                read.add(node.attr)
    rows = table.by_name()
    assert sorted(rows) == sorted(read), table.place
    date = facts["database_backend"]["no_run_after"]
    assert date == [9999, 1, 1] and "January 9999" in rows["USE_TZ"][1].text
    assert facts["database_backend"]["no_run_after_aware"]  # USE_TZ is on there


# -- the commands ----------------------------------------------------------------

COMMAND_TABLES = {
    "db_worker": "Options of db_worker",
    "prune_db_task_results": "Options of prune_db_task_results",
}


def _own_actions(facts, command, build):
    common = {tuple(action["option_strings"]) for action in facts["base_actions"]}
    return {
        tuple(action["option_strings"]): action
        for action in facts["commands"][command][build]["actions"]
        if tuple(action["option_strings"]) not in common
    }


def _check_default(place, cell, actions):
    """The page's default for one option, against the parsers built with
    DEBUG off and on (*actions*: the option in each)."""
    off, on = actions
    if cell.text == "off":
        # A flag: giving it changes what the command gets.
        assert off["nargs"] == 0 and off["const"] != off["default"], place
        assert off["class"] in ("_StoreTrueAction", "_StoreFalseAction"), place
    elif cell.references == [("setting", "DEBUG")]:
        assert (off["default"], on["default"]) == (False, True), place
    elif match := re.fullmatch(r"random, (\d+) characters", cell.text):
        assert off["default"] != on["default"], f"{place}: not random"
        assert {len(off["default"]), len(on["default"])} == {int(match[1])}, place
    else:
        assert cell.value() == off["default"] == on["default"], place


@pytest.mark.parametrize("command", COMMAND_TABLES)
def test_the_options_of_the_command(tables, facts, command):
    table = tables[COMMAND_TABLES[command]]
    off, on = (_own_actions(facts, command, build) for build in (0, 1))
    shown = {tuple(row[0].literals): row for row in table.rows}
    missing, extra = set(off) - set(shown), set(shown) - set(off)
    assert not missing and not extra, (
        f"{table.place}: the page lacks {sorted(missing)} and shows options "
        f"the command doesn't have: {sorted(extra)}"
    )
    default = table.column("Default")
    for options, row in shown.items():
        place = f"{table.place}: {' '.join(options)}"
        _check_default(place, row[default], (off[options], on[options]))


def test_the_log_levels_by_verbosity(tables, facts):
    table = tables["Log levels by verbosity"]
    [verbosity] = [
        a for a in facts["base_actions"] if "--verbosity" in a["option_strings"]
    ]
    rows = {int(row[0].literals[0]): row for row in table.rows}
    assert sorted(rows) == verbosity["choices"], table.place
    assert [n for n, row in rows.items() if "the default" in row[0].text] == [
        verbosity["default"]
    ]
    for index, heading in enumerate(table.header[1:], start=1):
        command, *loggers = heading.literals
        levels = facts["log_levels"][command]
        for number, row in rows.items():
            expected = {logger: row[index].literals[0] for logger in loggers}
            assert levels[str(number)] == expected, f"{table.place}: {command} {number}"


# -- backends --------------------------------------------------------------------


def _backend_classes():
    """Every backend Django ships, and django-tasks-db's."""
    import importlib
    import pkgutil

    import django.tasks.backends as package
    from django.tasks.backends.base import BaseTaskBackend
    from django_tasks_db import DatabaseBackend

    found = {DatabaseBackend}
    for module in pkgutil.iter_modules(package.__path__):
        loaded = importlib.import_module(f"{package.__name__}.{module.name}")
        found |= {
            value
            for value in vars(loaded).values()
            # type(), not isinstance(): settings is a lazy object in there.
            if issubclass(type(value), type)
            and issubclass(value, BaseTaskBackend)
            and value is not BaseTaskBackend
            and value.__module__ == loaded.__name__
        }
    return {f"{cls.__module__}.{cls.__qualname__}": cls for cls in found}


def test_what_each_backend_supports(tables, page, facts):
    from django.tasks.backends.base import BaseTaskBackend
    from django.utils.module_loading import import_string

    table = tables["What each backend supports"]
    flags = sorted(
        name for name in dir(BaseTaskBackend) if name.startswith("supports_")
    )
    assert not any(getattr(BaseTaskBackend, flag) for flag in flags)
    rows = table.by_name()
    assert sorted(rows) == flags, table.place
    # A column per backend, named by its class (a link, or a literal for
    # django-tasks-db's, which Django's reference doesn't document).
    classes = {cls.__qualname__: cls for cls in _backend_classes().values()}
    columns = [cell.text for cell in table.header[1:]]
    assert sorted(columns) == sorted(classes), table.place
    for flag, row in rows.items():
        for name, cell in zip(columns, row[1:], strict=True):
            expected = "yes" if getattr(classes[name], flag) else "no"
            assert cell.text == expected, f"{table.place}: {name} {flag}"
    db_path = paragraph(page, "DatabaseBackend is django-tasks-db's").literals[1]
    assert import_string(db_path) is classes["DatabaseBackend"]
    # The definitions under the table explain each flag once.
    terms = [term.astext() for term in page.findall(nodes.term)]
    assert sorted(t for t in terms if t.startswith("supports_")) == flags
    # What the list under them says of the two test backends.
    dummy, immediate = facts["runs"]["dummy"], facts["runs"]["immediate"]
    assert dummy["status"] == "READY" and dummy["kept"] and dummy["cleared"]
    assert dummy["found"], "the dummy backend finds its results in one thread"
    assert immediate["status"] == "SUCCESSFUL" and immediate["return_value"] == 3
    assert immediate["get_result"] == immediate["refresh"] == "NotImplementedError"


# -- links to the tutorial -------------------------------------------------------


def test_each_row_links_a_part_that_uses_it(site, tables):
    """A "Tutorial" cell links a part page that mentions the row's name, in
    its text or in a file it shows."""
    checked = 0
    for table in tables.values():
        headings = [cell.text for cell in table.header]
        if "Tutorial" not in headings:
            continue
        column = headings.index("Tutorial")
        for row in table.rows:
            links = [t for role, t in row[column].references if role == "doc"]
            for target in links:
                match = re.fullmatch(r"/tutorial/part(\d\d)", target)
                assert match, f"{table.place}: {target} is no part"
                assert row[column].text == f"Part {int(match[1])}", table.place
                source = load_doctree(site.doctrees, target[1:]).astext()
                names = row[0].literals or [row[0].name]
                assert any(name in source for name in names), (
                    f"{table.place}: part {match[1]} never mentions {row[0].name}"
                )
                checked += 1
    assert checked, "no table links a part of the tutorial"
