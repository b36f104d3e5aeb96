"""Long-running commands, each in a terminal of the reader's.

A reader runs a worker, a server or a mail catcher in a terminal of its
own and goes on in another. The replay starts such a command as a
:class:`Background` process in a session of its own, reads its output as it
comes, waits until that output matches what the page shows (or is quiet),
and stops it with ``SIGINT``, exactly as Ctrl+C does.
"""

import os
import signal
import subprocess
import threading
import time

from .compare import matches
from .processes import spawn
from .steps import ReplayError

SETTLE_TIMEOUT = 60
QUIET_PERIOD = 1.0
# Django's StatReloader checks files once a second; give it two.
RELOADER_TICK = 2.0
STOP_TIMEOUT = 20


class Background:
    """A long-running command, as in the reader's second terminal.

    *run* is what actually runs, when it is not *command* itself, and
    *rewrite* maps its raw output to what the reader would see (the replay
    runs ``runserver`` on a port of its own and shows it as port 8000; see
    :mod:`standins`).
    """

    def __init__(self, command, cwd, env, run=None, rewrite=None):
        self.command = command
        self.rewrite = rewrite or (lambda text: text)
        self.process = spawn(
            ["bash", "-c", "exec " + (run or command)],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        # The port the site is served on (runserver), and the port the
        # command listens on, for a message when it stops at once.
        self.port = None
        self.listens = None
        self.chunks = []
        self.lock = threading.Lock()
        self.last_output = time.monotonic()
        self.mark = 0
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for chunk in iter(lambda: self.process.stdout.read1(4096), b""):
            with self.lock:
                self.chunks.append(chunk)
                self.last_output = time.monotonic()

    def running(self):
        return self.process.poll() is None

    def text(self):
        with self.lock:
            return self.rewrite(b"".join(self.chunks).decode("utf-8", "replace"))

    def since_mark(self):
        return self.text()[self.mark :]

    def settle(self, expected):
        """Wait until the output since the mark matches *expected*.

        With nothing expected, wait until the output has been quiet a moment.
        """
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while time.monotonic() < deadline:
            quiet = time.monotonic() - self.last_output >= QUIET_PERIOD
            if quiet and (not expected or matches(expected, self.since_mark())):
                return True
            if self.process.poll() is not None and quiet:
                break
            time.sleep(0.1)
        return not expected or matches(expected, self.since_mark())

    def interrupt(self):
        """Ctrl+C: SIGINT to the command's whole process group."""
        return self.stop("SIGINT", "Ctrl+C")

    def stop(self, signal_name, what=None):
        """Send *signal_name* to the process group and wait for the end."""
        self.mark = len(self.text())
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.Signals[signal_name])
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            raise ReplayError(
                f"{self.command!r} did not stop within {STOP_TIMEOUT} s of "
                f"{what or signal_name}"
            ) from None
        self.reader.join(timeout=5)
        return self.process.returncode


def reloads(argv):
    """Whether a command restarts itself when a file of the project changes.

    runserver and db_worker do, under Django's autoreloader, unless told
    not to (with DEBUG on, the tutorial's setting).
    """
    return (
        argv[:2] == ["python", "manage.py"]
        and argv[2:3] in (["runserver"], ["db_worker"])
        and "--noreload" not in argv
        and "--no-reload" not in argv
    )
