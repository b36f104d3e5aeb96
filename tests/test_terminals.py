"""A command for the first terminal never goes to a shell that is still open.

The reader keeps ``python manage.py shell`` open in their first terminal
(the ``main`` one) while the page sends them to other terminals and back. A
later command of that terminal (``makemigrations``, ``pip install``, a test
run) can only be typed once the shell is left, so the page must say so, with
``exit()``, between the shell and the command. A part after part 1 may begin
while the previous part's shell is still open, so it must say it too before
its first command for that terminal.

The check reads the built page in order: prose, sessions and console blocks.
"""

import shlex

import pytest
from docutils import nodes

from proof.blocks import load_doctree, part_docnames
from proof.paths import staged_parts, where

LEAVE = "exit()"


def _is_console(node):
    return isinstance(node, nodes.Element) and "console_source" in node.attributes


def _walk(tree):
    """Paragraphs and console blocks, in the order a reader meets them."""
    for node in tree.findall(
        lambda n: isinstance(n, nodes.paragraph) or _is_console(n)
    ):
        if isinstance(node, nodes.paragraph) and any(
            _is_console(parent) for parent in _parents(node)
        ):
            continue
        yield node


def _parents(node):
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def _commands(text):
    for line in text.splitlines():
        if line.startswith("$ "):
            try:
                yield shlex.split(line[2:])
            except ValueError:
                continue


def shell_left_open(tree, open_at_start):
    """(line, command, line the shell opened) for each command typed into it."""
    problems = []
    shell_since = "the previous part" if open_at_start else None
    for node in _walk(tree):
        if isinstance(node, nodes.paragraph):
            if LEAVE in node.astext():
                shell_since = None
            continue
        if node.get("terminal", "main") != "main":
            continue
        for argv in _commands(node["console_source"]):
            if argv[:3] == ["python", "manage.py", "shell"]:
                shell_since = f"line {node.line}"
            elif shell_since is not None and argv[:1] != ["cd"]:
                problems.append((node.line, " ".join(argv), shell_since))
    return problems


@pytest.mark.parametrize("number", staged_parts())
def test_no_command_goes_to_an_open_shell(site, number):
    docname = part_docnames(site.doctrees)[number]
    tree = load_doctree(site.doctrees, docname)
    problems = shell_left_open(tree, open_at_start=number > 1)
    assert not problems, "\n".join(
        f"{where(tree['source'], line)}: `{command}` goes to the first terminal, "
        f"where the shell opened at {since} is still open; tell the reader to "
        "leave it with exit() first"
        for line, command, since in problems
    )


def test_a_shell_left_open_is_found():
    document = nodes.document(None, None)
    document += nodes.paragraph("", "Open the shell:")
    document += nodes.container("", console_source="$ python manage.py shell")
    document += nodes.paragraph("", "Now create the migration:")
    document += nodes.container("", console_source="$ python manage.py makemigrations")
    document += nodes.paragraph("", "Leave the shell with exit(), then migrate:")
    document += nodes.container("", console_source="$ python manage.py migrate")
    document += nodes.container(
        "", console_source="$ python manage.py db_worker", terminal="worker"
    )
    found = shell_left_open(document, open_at_start=False)
    assert [command for _, command, _ in found] == ["python manage.py makemigrations"]
    assert [c for _, c, _ in shell_left_open(document, open_at_start=True)] == [
        "python manage.py makemigrations"
    ]
    late = nodes.document(None, None)
    late += nodes.container("", console_source="$ python manage.py check")
    assert shell_left_open(late, open_at_start=True)[0][2] == "the previous part"
