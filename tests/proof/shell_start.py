"""What ``python manage.py shell`` prints when it starts, in a real terminal.

The replay runs a page's sessions in a stand-in shell (see :mod:`session`),
which prints nothing when it opens. When a page shows what the real shell
prints before its first prompt (Django's line about the objects it imported
automatically, then Python's banner), :func:`startup_output` runs the real
command in a pseudo-terminal, as the reader's terminal does, reads up to the
first ``>>>`` prompt, and leaves with Ctrl+D.
"""

import os
import pty
import re
import select
import subprocess
import tempfile
import time

TIMEOUT = 60
PROMPT = b">>> "
CTRL_D = b"\x04"
# Colours and cursor control that a terminal interprets and never shows.
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]")


class ShellStartError(AssertionError):
    pass


def startup_output(command, cwd, env, timeout=TIMEOUT):
    """The text *command* (a ``manage.py shell`` line) shows before its prompt."""
    with tempfile.TemporaryDirectory() as home:
        # The interpreter keeps its history in the home folder: a folder of
        # its own, so that the run leaves nothing in the contributor's.
        return _run(command, cwd, {**env, "TERM": "dumb", "HOME": home}, timeout)


def _run(command, cwd, env, timeout):
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        ["bash", "-c", "exec " + command],
        cwd=cwd,
        env=env,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        start_new_session=True,
    )
    os.close(follower)
    data = b""
    deadline = time.monotonic() + timeout
    try:
        while not data.endswith(PROMPT):
            if time.monotonic() > deadline:
                raise ShellStartError(
                    f"`{command}` showed no prompt within {timeout} s:\n" + _clean(data)
                )
            ready, _, _ = select.select([leader], [], [], 0.2)
            if not ready:
                if process.poll() is not None:
                    raise ShellStartError(
                        f"`{command}` ended (exit status {process.returncode}) "
                        "before its prompt:\n" + _clean(data)
                    )
                continue
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the shell closed the terminal
                chunk = b""
            if not chunk:
                raise ShellStartError(
                    f"`{command}` closed its terminal before its prompt:\n"
                    + _clean(data)
                )
            data += chunk
        os.write(leader, CTRL_D)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(leader)
    return _clean(data[: -len(PROMPT)])


def _clean(data):
    text = data.decode("utf-8", "replace").replace("\r\n", "\n")
    return _ESCAPES.sub("", text)
