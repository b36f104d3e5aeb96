"""Stopping a run leaves none of its processes behind.

Each case starts a real pytest, in a session of its own as a terminal
would, on tests/checker/interrupted_run.py, which starts a worker, a
development server, a mail server and a shell and then waits. Every process
of that run carries ``PROOF_PROBE=<a fresh id>`` in its environment,
inherited from the pytest. Once all of them run, the case stops the pytest
and then looks in /proc for any process that still carries the id.
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from proof.paths import ROOT
from proof.processes import _command_line, clean_env, kill_run, processes_of, spawn

# The check reads every process's environment from /proc.
pytestmark = pytest.mark.skipif(
    not Path("/proc/self/environ").exists(), reason="needs /proc"
)

TARGET = Path(__file__).with_name("interrupted_run.py")
PROBE = "PROOF_PROBE"


def start_run(tmp_path, *options):
    probe = uuid.uuid4().hex
    ready = tmp_path / "ready.json"
    run = spawn(
        [
            sys.executable,
            "-m",
            "pytest",
            "-c",
            "tests/pytest.ini",
            "-p",
            "no:cacheprovider",
            "-q",
            *options,
            str(TARGET),
        ],
        cwd=ROOT,
        env=clean_env(
            **{
                PROBE: probe,
                "PROOF_INTERRUPT_READY": str(ready),
                "PROOF_BUILD_DIR": str(tmp_path / "build"),
            }
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while not ready.is_file():
        if run.poll() is not None or time.monotonic() > deadline:
            run.kill()
            pytest.fail(
                "the run did not get its processes going:\n" + run.communicate()[0]
            )
        time.sleep(0.2)
    started = json.loads(ready.read_text())
    # Besides those: the reloader children of the worker and the server,
    # and the foreground worker with its reloader child.
    while True:
        running = set(processes_of(probe, PROBE))
        workers = [pid for pid in running if "db_worker" in _command_line(pid)]
        if len(workers) >= 4 and len(running - {run.pid}) >= len(started) + 4:
            break
        if time.monotonic() > deadline:
            pytest.fail("not everything started:\n" + describe(running))
        time.sleep(0.2)
    assert set(started) <= running, (started, running)
    return run, probe


def left_over(probe, timeout):
    """The processes that still carry *probe* after up to *timeout* seconds."""
    deadline = time.monotonic() + timeout
    while True:
        left = processes_of(probe, PROBE)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def describe(pids):
    return "\n".join(f"  {pid}: {_command_line(pid)}" for pid in sorted(pids))


# The run alone, and the run as `make test` starts it: a controller and
# its pytest-xdist worker, which runs the test.
RUNS = {"one-process": (), "xdist": ("-n", "1")}


@pytest.mark.parametrize("options", RUNS.values(), ids=RUNS.keys())
@pytest.mark.parametrize(
    "how, stop, status",
    [
        (
            "SIGTERM to pytest, as CI and editors send",
            lambda run: run.send_signal(signal.SIGTERM),
            2,
        ),
        (
            "SIGINT to the terminal's process group, as Ctrl+C sends",
            lambda run: os.killpg(run.pid, signal.SIGINT),
            2,
        ),
        (
            "SIGKILL to pytest, which no handler sees",
            lambda run: run.send_signal(signal.SIGKILL),
            -signal.SIGKILL,
        ),
    ],
    ids=["sigterm", "ctrl-c", "sigkill"],
)
def test_a_stopped_run_leaves_no_process_behind(tmp_path, how, stop, status, options):
    run, probe = start_run(tmp_path, *options)
    stop(run)
    output, _ = run.communicate(timeout=60)
    # 2 is pytest's status for an interrupted run: SIGTERM ended it as
    # Ctrl+C does, not by killing it.
    assert run.returncode == status, output
    # After SIGKILL, the run's watchdog sweeps; give it a moment.
    left = left_over(probe, timeout=15 if status < 0 else 3)
    try:
        assert not left, f"{how}: still running\n{describe(left)}\n{output}"
    finally:
        kill_run(probe, variable=PROBE)


def test_without_the_machinery_sigterm_leaves_the_servers_running(tmp_path):
    """What the test above would see if tests/conftest.py did not install it.

    Without the conftest, SIGTERM kills pytest at once, and the servers, in
    sessions of their own, go on running: the check can see them.
    """
    run, probe = start_run(tmp_path, "--noconftest")
    run.send_signal(signal.SIGTERM)
    output, _ = run.communicate(timeout=60)
    try:
        assert run.returncode == -signal.SIGTERM, output
        left = left_over(probe, timeout=0)
        commands = [_command_line(pid) for pid in left]
        for name in ("db_worker", "runserver", "aiosmtpd"):
            assert any(name in command for command in commands), describe(left)
        # Both workers, each with its autoreloader's child.
        assert sum("db_worker" in command for command in commands) >= 4, describe(left)
    finally:
        kill_run(probe, variable=PROBE)
