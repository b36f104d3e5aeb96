"""Run a page's ``pycon`` blocks in a shell that stays open between them.

A reader keeps one ``manage.py shell`` open while the page sends them to
another terminal and back, so the examples of one page share a namespace
until the page starts a new shell. :class:`Shell` is that shell, a child
process running :mod:`session_driver` in the reader's project folder.

Comparison follows :mod:`doctest`: each ``>>>`` example's expected output is
compared with the real output, after :func:`normalize.normalize`, with
``ELLIPSIS`` (``...`` matches anything) and ``NORMALIZE_WHITESPACE``. An
expected traceback is compared by its last line(s), the exception itself.
"""

import doctest
import json
import os
import subprocess
import sys
from pathlib import Path

from .normalize import normalize

DRIVER = Path(__file__).with_name("session_driver.py")
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
TIMEOUT = 60


class SessionError(AssertionError):
    pass


class Shell:
    def __init__(self, cwd, env):
        read_fd, write_fd = os.pipe()
        self.process = subprocess.Popen(
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
        line = self.channel.readline()
        if not line:
            raise SessionError("the shell process ended unexpectedly")
        return json.loads(line)

    def run(self, source):
        self.process.stdin.write(json.dumps({"source": source}) + "\n")
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


def examples(text):
    """Parse a pycon block into doctest examples (with their line offsets)."""
    return doctest.DocTestParser().get_examples(text)


def check_example(example, result):
    """Return None when *result* matches *example*, else an explanation."""
    checker = doctest.OutputChecker()
    if example.exc_msg is not None:
        if result["exception"] is None:
            return (
                "expected an exception but none was raised.\n"
                f"Expected:\n{_indent(example.exc_msg)}\n"
                f"Got:\n{_indent(result['output'])}"
            )
        want, got = normalize(example.exc_msg), normalize(result["exception"])
        if checker.check_output(want + "\n", got + "\n", FLAGS):
            return None
        return f"Expected exception:\n{_indent(want)}\nGot:\n{_indent(result['output'])}"
    want, got = normalize(example.want), normalize(result["output"])
    if checker.check_output(want + "\n", got + "\n", FLAGS):
        return None
    return f"Expected:\n{_indent(want or '(nothing)')}\nGot:\n{_indent(got or '(nothing)')}"


def _indent(text):
    return "\n".join("    " + line for line in text.splitlines()) or "    (nothing)"
