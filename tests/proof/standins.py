"""The stand-ins: what the replay does where a page's command cannot run as written.

A reader types each command into a terminal of their own; the replay runs
it in a test, with the proof's environment, next to other runs and the
contributor's own servers. A few commands cannot run there as the page
writes them. :data:`STAND_INS` is the one list of them: for each, what the
page shows, when a command is one, what the replay does instead and why,
and the function that does it. Every other command runs for real.

docs/project/testing.md describes every entry, in its table of stand-ins;
tests/checker/test_testing_page.py fails when the page and this table
differ.

The page's two fixed addresses, 127.0.0.1:8000 (``runserver``) and
127.0.0.1:1025 (the mail server, where the stages' ``MAILERS`` send), move
to two ports that each replay reserves (:func:`reserve_page_ports`). The
servers run there and show the page's port in their output; the Python
processes the replay starts connect to the reserved port when the code asks
for the page's (``replay_site/sitecustomize.py``, which reads
:func:`connect_setting`).
"""

import shlex
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from .compare import indent
from .paths import VENV_BIN
from .processes import port_problem, reserve_port
from .reader import READER_PASSWORD
from .session import Shell
from .shell_start import ShellStartError, startup_output

COMMAND_TIMEOUT = 180
# The page's fixed ports, which each replay moves to ports of its own.
RUNSERVER_PORT = 8000
SMTP_PORT = 1025


@dataclass(frozen=True)
class StandIn:
    page: str  # what the page shows, as docs/project/testing.md names it
    when: Callable  # whether a command (its argv) is this one
    does: str  # what the replay does instead
    why: str
    # do(replay, block, step, argv, terminal) runs the stand-in.
    do: Callable


def stand_in_for(argv):
    """The stand-in for the command *argv*, or None: it runs as written."""
    return next((s for s in STAND_INS if s.when(argv)), None)


# -- the page's addresses ----------------------------------------------------


def reserve_page_ports():
    """{page's port: reserved socket} for one replay (see processes.reserve_port)."""
    return {RUNSERVER_PORT: reserve_port(), SMTP_PORT: reserve_port()}


def connect_setting(ports):
    """PROOF_CONNECT for ``sitecustomize``: ``1025=<port>,8000=<port>``."""
    return ",".join(f"{shown}={real}" for shown, real in ports.items())


def shown_as(real, shown):
    """Output rewritten from the replay's port *real* to the page's *shown*."""
    return lambda text: text.replace(f"127.0.0.1:{real}", f"127.0.0.1:{shown}")


# -- what each stand-in does -------------------------------------------------


def change_folder(replay, block, step, argv, terminal):
    target = (replay.cwd / argv[1]).resolve()
    if not target.is_dir():
        replay.fail(block, step.offset, f"`cd {argv[1]}`: no such folder")
    replay.cwd = target


def activate(replay, block, step, argv, terminal):
    """Nothing: the proof's environment is first on PATH already."""


def pip_dry_run(replay, block, step, argv, terminal):
    done = subprocess.run(
        [str(VENV_BIN / "python"), "-m", "pip", "install", "--dry-run", *argv[4:]],
        cwd=replay.cwd,
        env=replay.env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )
    output = done.stdout + done.stderr
    replay.log(output)
    if done.returncode != 0 or "Would install" in output:
        replay.fail(
            block,
            step.offset,
            f"`{step.command}` does not install what requirements.txt pins:\n"
            + indent(output),
        )


def open_shell(replay, block, step, argv, terminal):
    if any(line.strip() for line in step.expected):
        # What the real shell prints before its prompt (shell_start.py).
        try:
            output = startup_output(step.command, replay.cwd, replay.env)
        except ShellStartError as error:
            replay.fail(block, step.offset, str(error))
        else:
            replay.log(output)
            replay.compare(block, step, output, f"`{step.command}`")
    if replay.shell is not None:
        replay.shell.close()
    replay.shell = Shell(replay.cwd, replay.env)


def create_superuser(replay, block, step, argv, terminal):
    replay.run_command(
        block,
        step,
        run=step.command + " --noinput",
        env={**replay.env, "DJANGO_SUPERUSER_PASSWORD": READER_PASSWORD},
        expected=[line for line in step.expected if not line.startswith("Password")],
    )


def serve_on_reserved_port(replay, block, step, argv, terminal):
    replay.check_terminal_free(block, step, terminal)
    if len(argv) > 3:
        replay.fail(
            block, step.offset, "the replay runs runserver without arguments only"
        )
    real = replay.ports[RUNSERVER_PORT]
    replay.start_background(
        block,
        step,
        terminal,
        run=f"{step.command} 127.0.0.1:{real}",
        rewrite=shown_as(real, RUNSERVER_PORT),
        port=real,
        listens=real,
    )


def in_background(replay, block, step, argv, terminal):
    replay.check_terminal_free(block, step, terminal)
    replay.start_background(block, step, terminal)


def listen_address(argv):
    """(index in *argv*, address) of aiosmtpd's ``-l``/``--listen``, or None."""
    for i, word in enumerate(argv):
        if word in ("-l", "--listen") and i + 1 < len(argv):
            return i + 1, argv[i + 1]
        if word.startswith("--listen="):
            return i, word.split("=", 1)[1]
    return None


def mail_server(replay, block, step, argv, terminal):
    """127.0.0.1:1025 moves to the replay's port.

    Any other address cannot be moved (the reader's code would not find
    it): it runs as written, and fails at once when its port is taken.
    """
    replay.check_terminal_free(block, step, terminal)
    found = listen_address(argv)
    if found is None:
        replay.fail(
            block,
            step.offset,
            f"`{step.command}` listens on aiosmtpd's default address; the page "
            f"should name it: -l 127.0.0.1:{SMTP_PORT}, "
            "where the stages' MAILERS send",
        )
        replay.start_background(block, step, terminal)
        return
    position, address = found
    host, _, port = address.rpartition(":")
    if host == "127.0.0.1" and port == str(SMTP_PORT):
        real = replay.ports[SMTP_PORT]
        moved = list(argv)
        moved[position] = moved[position].replace(address, f"127.0.0.1:{real}")
        replay.start_background(
            block,
            step,
            terminal,
            run=shlex.join(moved),
            rewrite=shown_as(real, SMTP_PORT),
            listens=real,
        )
        return
    problem = port_problem(int(port)) if port.isdigit() else None
    if problem:
        replay.fail(
            block,
            step.offset,
            f"`{step.command}` needs a port the replay cannot move: {problem}",
        )
    replay.start_background(
        block, step, terminal, listens=int(port) if port.isdigit() else None
    )


def _manage(argv, command):
    return argv[:3] == ["python", "manage.py", command]


STAND_INS = (
    StandIn(
        page="cd <folder>",
        when=lambda argv: argv[:1] == ["cd"],
        does="moves the replay to that folder, where the next commands run",
        why="each command runs in a shell of its own, where a cd would not last",
        do=change_folder,
    ),
    StandIn(
        page="source .venv/bin/activate",
        when=lambda argv: (
            argv[:1] == ["source"]
            and len(argv) > 1
            and argv[1].endswith("/bin/activate")
        ),
        does="nothing",
        why="the proof's own environment, which holds exactly requirements.txt, "
        "is first on PATH already and plays the reader's virtual environment",
        do=activate,
    ),
    StandIn(
        page="python -m pip install ...",
        when=lambda argv: argv[:4] == ["python", "-m", "pip", "install"],
        does="the same command with --dry-run, which must find nothing to install",
        why="the proof's environment must not change, and the page must install "
        "no more than requirements.txt pins",
        do=pip_dry_run,
    ),
    StandIn(
        page="python manage.py shell",
        when=lambda argv: _manage(argv, "shell"),
        does="opens the session shell for the page's pycon blocks; when the page "
        "shows what the shell prints as it starts, also runs the real command in a "
        "pseudo-terminal up to its first prompt",
        why="the replay types each pycon block into that shell and reads the "
        "answer to each statement",
        do=open_shell,
    ),
    StandIn(
        page="python manage.py createsuperuser ...",
        when=lambda argv: _manage(argv, "createsuperuser"),
        does="the same command with --noinput and the password in "
        "DJANGO_SUPERUSER_PASSWORD; the page's Password lines are not compared",
        why="the password prompts need a terminal",
        do=create_superuser,
    ),
    StandIn(
        page="python manage.py runserver",
        when=lambda argv: _manage(argv, "runserver"),
        does="starts the server in the background on a reserved port, shown as "
        f"{RUNSERVER_PORT} in its output; any argument fails",
        why=f"127.0.0.1:{RUNSERVER_PORT} may be taken by another run or the "
        "contributor's own server",
        do=serve_on_reserved_port,
    ),
    StandIn(
        page=f"python -m aiosmtpd -n -l 127.0.0.1:{SMTP_PORT}",
        when=lambda argv: argv[:3] == ["python", "-m", "aiosmtpd"],
        does=f"starts the mail server in the background; 127.0.0.1:{SMTP_PORT} "
        f"moves to a reserved port, shown as {SMTP_PORT}, any other address runs "
        "as written, and no -l fails",
        why=f"127.0.0.1:{SMTP_PORT} may be taken by another run or the "
        "contributor's own mail catcher",
        do=mail_server,
    ),
    StandIn(
        page="python manage.py db_worker",
        when=lambda argv: _manage(argv, "db_worker") and "--batch" not in argv,
        does="starts the worker in the background, as in a second terminal",
        why="without --batch the worker runs until Ctrl+C",
        do=in_background,
    ),
)
