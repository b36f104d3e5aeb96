"""A run that waits to be stopped (not collected by `make test`).

tests/checker/test_interrupt.py starts pytest on this module alone, waits
until the file named by ``PROOF_INTERRUPT_READY`` says that everything runs,
and then stops that pytest as Ctrl+C, CI or an editor would.

The test starts, with the proof's own helpers, what a replay of part 3 has
running at once: the worker and the development server under Django's
autoreloader (two processes each), the mail server, and the session shell,
in a copy of stage 3. Then it waits in a second worker, run in the
foreground with ``subprocess.run`` as tests run commands: interrupted,
``subprocess.run`` kills the command, but not the autoreloader's child.
Nothing here stops any of them: whatever ends them is the machinery of
tests/proof/processes.py.
"""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

# With --noconftest (the run without the machinery), tests/ is not on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from proof.paths import VENV_BIN  # noqa: E402
from proof.processes import clean_env, free_port  # noqa: E402
from proof.project import copy_stage  # noqa: E402
from proof.replay import Background  # noqa: E402
from proof.session import Shell  # noqa: E402


def wait_for(condition, what, timeout=90):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not start within {timeout} s")
        time.sleep(0.1)


def accepts(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_start_the_servers_and_wait_to_be_stopped(tmp_path):
    project = copy_stage(3, tmp_path / "community")
    env = clean_env(
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHONDONTWRITEBYTECODE="1",
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
        cwd=project,
        env=env,
        check=True,
        timeout=120,
    )
    web, mail = free_port(), free_port()
    worker = Background("python manage.py db_worker", project, env)
    server = Background(f"python manage.py runserver 127.0.0.1:{web}", project, env)
    smtp = Background(f"python -m aiosmtpd -n -l 127.0.0.1:{mail}", project, env)
    shell = Shell(project, env)
    wait_for(lambda: "Starting worker" in worker.text(), "db_worker")
    wait_for(lambda: accepts(web), "runserver")
    wait_for(lambda: accepts(mail), "aiosmtpd")
    started = [b.process.pid for b in (worker, server, smtp)] + [shell.process.pid]
    Path(os.environ["PROOF_INTERRUPT_READY"]).write_text(json.dumps(started))
    subprocess.run(
        ["python", "manage.py", "db_worker"],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        timeout=600,
    )
