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
import time
from collections.abc import Callable
from dataclasses import dataclass

from .compare import indent, matches
from .paths import VENV_BIN
from .processes import port_problem, reserve_port
from .reader import READER_PASSWORD
from .server import ENV_FILE, SERVER_PROJECT, UNITS_DIR, environment_of
from .session import Shell
from .shell_start import ShellStartError, startup_output
from .terminals import Background

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
            output = startup_output(step.command, replay.cwd, replay.env_for(terminal))
        except ShellStartError as error:
            replay.fail(block, step.offset, str(error))
        else:
            replay.log(output)
            replay.compare(block, step, output, f"`{step.command}`")
    if replay.shell is not None:
        replay.shell.close()
    replay.shell = Shell(replay.cwd, replay.env_for(terminal))


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


# -- part 7's server (see server.py) -------------------------------------------


def _server_path(replay, path):
    """A path on the page's server, where the replay has it."""
    if path == SERVER_PROJECT or path.startswith(SERVER_PROJECT + "/"):
        return replay.project / path[len(SERVER_PROJECT) :].lstrip("/")
    return replay.server.root / path.lstrip("/")


def _problem(replay, block, step, message):
    replay.fail(block, step.offset, f"`{step.command}`: {message}")


def _no_output_expected(replay, block, step):
    """The page shows no output, or only elided output ('...' lines)."""
    if any(line.strip() not in ("", "...") for line in step.expected):
        _problem(replay, block, step, "the replay shows no output for this command")


def become_site_user(replay, block, step, argv, terminal):
    """The site user's login shell starts in its home: the project."""
    _no_output_expected(replay, block, step)
    replay.cwd = replay.project


def load_env_file(replay, block, step, argv, terminal):
    _no_output_expected(replay, block, step)
    if argv[4] != ENV_FILE:
        _problem(replay, block, step, f"the replay loads {ENV_FILE} only")
        return
    try:
        values = replay.server.env_values()
    except RuntimeError as error:
        _problem(replay, block, step, str(error))
        return
    replay.terminal_env[terminal] = environment_of(replay, values)


def postgres_createuser(replay, block, step, argv, terminal):
    _no_output_expected(replay, block, step)
    replay.server.create_role(argv[-1])


def postgres_createdb(replay, block, step, argv, terminal):
    _no_output_expected(replay, block, step)
    options = argv[4:]
    if options[:2] != ["--owner", options[1]] or len(options) != 3:
        _problem(replay, block, step, "the replay takes createdb --owner USER NAME")
        return
    replay.server.create_database(options[2], owner=options[1])


def install_env_file(replay, block, step, argv, terminal):
    _no_output_expected(replay, block, step)
    source, target = argv[-2], argv[-1]
    if target != ENV_FILE:
        _problem(replay, block, step, f"the replay installs {ENV_FILE} only")
        return
    example = _server_path(replay, source)
    if not example.is_file():
        _problem(replay, block, step, f"no such file: {source}")
        return
    replay.server.install_env_file(example)


def edit_env_file(replay, block, step, argv, terminal):
    _no_output_expected(replay, block, step)
    if replay.server.env_file is None:
        _problem(replay, block, step, f"{ENV_FILE} was never installed")


def copy_units(replay, block, step, argv, terminal):
    _no_output_expected(replay, block, step)
    *sources, target = argv[2:]
    if target.rstrip("/") != UNITS_DIR:
        _problem(replay, block, step, f"the replay copies units to {UNITS_DIR} only")
        return
    files = []
    for pattern in sources:
        folder = _server_path(replay, pattern.rsplit("/", 1)[0])
        found = sorted(folder.glob(pattern.rsplit("/", 1)[1]))
        if not found:
            _problem(replay, block, step, f"{pattern} matches no file")
        files += found
    replay.server.install_units(files)


def pull_project(replay, block, step, argv, terminal):
    """Nothing to pull: the project the replay works on is the server's."""
    _no_output_expected(replay, block, step)


def reload_units(replay, block, step, argv, terminal):
    """Every unit copied so far must pass systemd-analyze verify."""
    _no_output_expected(replay, block, step)
    folder = replay.server.root / UNITS_DIR.lstrip("/")
    units = [
        p.name.replace("@.", "@1.") for p in sorted(folder.glob("*")) if p.is_file()
    ]
    problems = replay.server.verify(units)
    if problems:
        _problem(
            replay, block, step, "systemd-analyze verify says:\n" + indent(problems)
        )


def systemctl(replay, block, step, argv, terminal):
    """enable --now, start, stop and restart, on the replay's services."""
    _no_output_expected(replay, block, step)
    words = argv[2:]
    action = words.pop(0)
    now = action == "enable" and words[:1] == ["--now"]
    if now:
        words.pop(0)
    elif action == "enable":
        _problem(replay, block, step, "the replay enables units with --now only")
        return
    for unit in words:
        unit = unit if "." in unit else f"{unit}.service"
        if action in ("stop", "restart"):
            stop_service(replay, block, step, unit)
        if action in ("enable", "start", "restart"):
            start_unit(replay, block, step, unit)


def start_unit(replay, block, step, unit):
    server = replay.server
    problems = server.verify([unit])
    if problems:
        _problem(
            replay, block, step, "systemd-analyze verify says:\n" + indent(problems)
        )
        return
    if unit.endswith(".timer"):
        return  # it fires later; the test of the units checks its schedule
    service = server.service(unit)
    if server.running(service.identifier) is not None:
        return  # systemctl start of a running service does nothing
    run_env = {**environment_of(replay, service.env), "PATH": replay.env["PATH"]}
    runs = server.services.setdefault(service.identifier, [])
    if service.kind == "oneshot":
        done = subprocess.run(
            service.argv,
            cwd=replay.project,
            env=run_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=COMMAND_TIMEOUT,
        )
        replay.log(f"# {unit} ran: {shlex.join(service.argv)}\n{done.stdout}")
        runs.append(done.stdout)
        if done.returncode != 0:
            _problem(replay, block, step, f"{unit} failed:\n" + indent(done.stdout))
        return
    background = Background(shlex.join(service.argv), replay.project, run_env)
    runs.append(background)
    background.settle([])
    if not background.running():
        _problem(
            replay,
            block,
            step,
            f"{unit} stopped at once:\n" + indent(background.text()),
        )


def stop_service(replay, block, step, unit, signal_name=None):
    """Stop *unit* with its KillSignal (or *signal_name*); its exit status."""
    server = replay.server
    service = server.service(unit)
    process = server.running(service.identifier)
    if process is None:
        _problem(replay, block, step, f"{unit} is not running")
        return None
    return process.stop(signal_name or service.kill_signal)


def kill_service(replay, block, step, argv, terminal):
    """systemctl kill: the signal to the service's processes; a service that
    ends in failure starts again after RestartSec when Restart=on-failure."""
    _no_output_expected(replay, block, step)
    signal_name = "SIGTERM"
    units = []
    for word in argv[3:]:
        if word.startswith("--signal="):
            signal_name = word.split("=", 1)[1]
        else:
            units.append(word if "." in word else f"{word}.service")
    for unit in units:
        status = stop_service(replay, block, step, unit, signal_name)
        service = replay.server.service(unit)
        failed = status is not None and status != 0
        if failed and service.restart in ("on-failure", "always"):
            time.sleep(service.restart_seconds)
            start_unit(replay, block, step, unit)


def journal(replay, block, step, argv, terminal):
    """What the service with that identifier printed, since it started."""
    identifier = argv[argv.index("-t") + 1]
    server = replay.server
    if identifier not in server.services:
        _problem(replay, block, step, f"no service logs as {identifier}")
        return
    if server.running(identifier) is not None:
        # Wait until the journal holds what the page shows, or is quiet.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if step.expected and matches(step.expected, server.journal(identifier)):
                break
            process = server.running(identifier)
            quiet = process is None or time.monotonic() - process.last_output > 1
            if not step.expected and quiet:
                break
            time.sleep(0.1)
    output = server.journal(identifier)
    replay.log(output)
    replay.compare(block, step, output, f"`{step.command}`")


def _sudo(argv, *words):
    return argv[: len(words) + 1] == ["sudo", *words]


def _manage(argv, command):
    return argv[:3] == ["python", "manage.py", command]


STAND_INS = (
    StandIn(
        page="sudo -u community -i",
        when=lambda argv: argv == ["sudo", "-u", "community", "-i"],
        does="moves the replay into the project, the site user's home",
        why="the replay has no other user; its commands run as the site user would",
        do=become_site_user,
    ),
    StandIn(
        page=f"set -a && source {ENV_FILE} && set +a",
        when=lambda argv: argv[:4] == ["set", "-a", "&&", "source"],
        does="puts the variables of the replay's environment file into the "
        "environment of the commands that follow in the same terminal",
        why="each command runs in a shell of its own, where the variables would "
        "not last",
        do=load_env_file,
    ),
    StandIn(
        page="sudo -u postgres createuser NAME",
        when=lambda argv: _sudo(argv, "-u", "postgres", "createuser"),
        does="creates the role on a PostgreSQL server of the replay's own, started "
        "for it",
        why="the proof never uses the machine's PostgreSQL, nor root",
        do=postgres_createuser,
    ),
    StandIn(
        page="sudo -u postgres createdb --owner USER NAME",
        when=lambda argv: _sudo(argv, "-u", "postgres", "createdb"),
        does="creates the database on the replay's PostgreSQL server",
        why="the proof never uses the machine's PostgreSQL, nor root",
        do=postgres_createdb,
    ),
    StandIn(
        page=f"sudo install ... {ENV_FILE}",
        when=lambda argv: _sudo(argv, "install"),
        does="copies the example into the replay's folder and fills in the "
        "secret key, the database's socket and the replay's mail server, which "
        "stands in for the provider's",
        why="the replay has no root; a reader fills in the blanks with an editor",
        do=install_env_file,
    ),
    StandIn(
        page=f"sudoedit {ENV_FILE}",
        when=lambda argv: argv[:1] == ["sudoedit"],
        does="nothing: the replay's file has its values already",
        why="an editor needs a reader",
        do=edit_env_file,
    ),
    StandIn(
        page=f"sudo cp ... {UNITS_DIR}/",
        when=lambda argv: _sudo(argv, "cp") and argv[-1].startswith(UNITS_DIR),
        does="copies the units into a folder laid out as the server's root",
        why="the replay has no root and no systemd",
        do=copy_units,
    ),
    StandIn(
        page="sudo -u community git -C /srv/community pull",
        when=lambda argv: (
            argv == ["sudo", "-u", "community", "git", "-C", SERVER_PROJECT, "pull"]
        ),
        does="nothing: the replay's project is the server's copy",
        why="the replay has no repository to pull from; the files the page shows "
        "are in the project already",
        do=pull_project,
    ),
    StandIn(
        page="sudo systemctl daemon-reload",
        when=lambda argv: argv == ["sudo", "systemctl", "daemon-reload"],
        does="runs systemd-analyze verify on every unit copied (a template as "
        "instance 1); any message fails",
        why="systemd reads the units here, and would log what it rejects",
        do=reload_units,
    ),
    StandIn(
        page="sudo systemctl enable --now, start, stop or restart UNIT...",
        when=lambda argv: (
            _sudo(argv, "systemctl")
            and argv[2:3] in (["enable"], ["start"], ["stop"], ["restart"])
        ),
        does="verifies each unit; starts a service's ExecStart, read from its unit "
        "(the venv's python as the proof's, in the project, with the unit's "
        "environment file and Environment=), in the background, or to its end for "
        "Type=oneshot; stops one with its KillSignal; a timer is verified only",
        why="the replay has no systemd; what the services run is the reader's "
        "command, as the unit writes it",
        do=systemctl,
    ),
    StandIn(
        page="sudo systemctl kill --signal=SIGNAL UNIT...",
        when=lambda argv: argv[:3] == ["sudo", "systemctl", "kill"],
        does="sends the signal to the service's process; a service that ends in "
        "failure starts again after its RestartSec when its unit says "
        "Restart=on-failure",
        why="the replay has no systemd; the restart is what systemd does",
        do=kill_service,
    ),
    StandIn(
        page="sudo journalctl -t IDENTIFIER -o cat",
        when=lambda argv: _sudo(argv, "journalctl") and "-t" in argv,
        does="shows what that service printed since it started, once it matches "
        "the page or has been quiet a moment",
        why="the service's output is the journal's entries for its identifier, "
        "which -o cat shows without their time and host",
        do=journal,
    ),
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
