"""Run a page's ``pycon`` blocks in a shell that stays open between them.

A reader keeps one ``manage.py shell`` open while the page sends them to
another terminal and back, so the sessions of one page share a namespace
until the page starts a new shell. :class:`Shell` is that shell, a child
process running :mod:`session_driver` in the reader's project folder.

A ``pycon`` block is a transcript of the interactive console: ``>>> `` and
``... `` lines are what the reader types, every other line is what the
console printed. :func:`statements` reads a block the way the console
reads the reader's typing, and :func:`run_statement` types each line into
the real console, one at a time, so a transcript that a reader could not
type fails: a statement that the console still waits to complete (a
compound statement ends only at an empty ``...`` line), or a ``...`` line
where the console is already back at ``>>>``. What the console prints for a
statement is compared with the lines the page shows under it, by
:func:`compare.matches`: every line, with elision only where the page
marks it. A traceback is shown as ``Traceback (most recent call last):``,
an indented ``...`` line for its frames, and the exception.
"""

import json
import os
import select
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .compare import matches
from .normalize import normalize
from .processes import spawn

DRIVER = Path(__file__).with_name("session_driver.py")
TIMEOUT = 60


class SessionError(AssertionError):
    pass


class Shell:
    def __init__(self, cwd, env):
        read_fd, write_fd = os.pipe()
        self.process = spawn(
            [sys.executable, str(DRIVER), str(write_fd)],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(write_fd,),
            text=True,
        )
        os.close(write_fd)
        self.channel = os.fdopen(read_fd, "r")
        hello = self._receive()
        if not hello.get("ready"):
            self.close()
            raise SessionError(
                "the shell could not start Django:\n" + hello.get("error", "")
            )

    def _receive(self):
        # One answer per line typed; a statement that never returns (a
        # blocking call, an endless loop) fails instead of stalling the run.
        ready, _, _ = select.select([self.channel], [], [], TIMEOUT)
        if not ready:
            self.process.kill()
            self.process.wait()
            raise SessionError(
                f"the shell gave no answer within {TIMEOUT} s, and was stopped"
            )
        line = self.channel.readline()
        if not line:
            raise SessionError("the shell process ended unexpectedly")
        return json.loads(line)

    def push(self, line):
        """Type one line (without its prompt), as the reader does."""
        self.process.stdin.write(json.dumps({"line": line}) + "\n")
        self.process.stdin.flush()
        return self._receive()

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.channel.close()


PS1, PS2 = ">>>", "..."


@dataclass
class Statement:
    """What the reader types after one ``>>>`` prompt, and what it prints."""

    lines: list  # (offset in the block, line as typed without its prompt)
    want: list = field(default_factory=list)  # the output lines the page shows

    @property
    def offset(self):
        return self.lines[0][0]

    @property
    def source(self):
        return "\n".join(line for _, line in self.lines)


def _typed(line, prompt):
    """The text after *prompt* and its space, or None when it isn't there."""
    if line == prompt or line.rstrip() == prompt:
        return ""
    if line.startswith(prompt + " "):
        return line[len(prompt) + 1 :]
    return None


def statements(text):
    """Split a transcript into statements, with their page offsets.

    ``... `` lines continue the statement above them until its first output
    line; after output, a line of ``...`` is an elision in the output.
    Output before the first ``>>>`` raises :class:`SessionError`.
    """
    found = []
    for offset, line in enumerate(text.splitlines()):
        typed = _typed(line, PS1)
        if typed is not None:
            found.append(Statement([(offset, typed)]))
            continue
        if not found:
            if line.strip():
                raise SessionError(
                    f"line {offset + 1} of the session comes before any >>> prompt"
                )
            continue
        current = found[-1]
        typed = _typed(line, PS2)
        if typed is not None and not current.want:
            current.lines.append((offset, typed))
        else:
            current.want.append(line)
    return found


def run_statement(shell, statement):
    """Type *statement* into *shell*: (offset of a problem or None, problem, output).

    The problem is None when the console takes the lines as the page shows
    them and prints what the page shows.
    """
    output = []
    last = len(statement.lines) - 1
    for position, (offset, line) in enumerate(statement.lines):
        result = shell.push(line)
        output.append(result["output"])
        if position < last and not result["more"]:
            typed = "".join(output)
            return (
                offset + 1,
                (
                    "the console ends the statement here and prompts >>>, but "
                    "the page continues it with a ... line"
                    + (":\n" + _indent(typed) if typed.strip() else "")
                ),
                typed,
            )
        if position == last and result["more"]:
            # Whatever the reader types next would go into this statement.
            # End it here, so that a run with PROOF_KEEP_GOING can go on.
            shell.push("")
            return (
                offset,
                (
                    "the console still waits for the statement to end (it prompts "
                    "...), but the page goes on; a compound statement ends with an "
                    "empty ... line"
                ),
                "".join(output),
            )
    typed = "".join(output)
    if matches(statement.want, typed):
        return None, None, typed
    want = normalize("\n".join(statement.want)).rstrip("\n")
    return (
        statement.offset,
        (
            f"Expected:\n{_indent(want or '(nothing)')}\n"
            f"Got:\n{_indent(normalize(typed) or '(nothing)')}"
        ),
        typed,
    )


def _indent(text):
    return "\n".join("    " + line for line in text.splitlines()) or "    (nothing)"
