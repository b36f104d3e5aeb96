"""What every test that starts the reader's project in a process needs.

Processes of a run, and how they end with it
--------------------------------------------

Every process the proof starts carries the run's mark: each pytest process
adds a token of its own to ``PROOF_RUNS`` in its environment when it starts
(:func:`install`, called by tests/conftest.py), and children inherit it,
down to the autoreloader's child of a ``runserver``. Whatever carries the
token belongs to that run, and nothing else does, so ending a run's
processes never touches another run's or the contributor's own.

- :func:`spawn` starts a long-running child (``subprocess.Popen``) and keeps
  it in the run's registry;
- :func:`sweep` kills every process that carries the run's token, and reaps
  the registered ones. tests/conftest.py calls it when pytest ends, at exit
  too, and turns SIGTERM into ``KeyboardInterrupt`` so that an interrupted
  run (Ctrl+C, or SIGTERM from CI or an editor) ends the way Ctrl+C ends it:
  ``finally`` blocks run, then the sweep;
- a watchdog process, started by :func:`install` in a session of its own,
  waits for the run's pytest to end however it ends (SIGKILL included) and
  then sweeps, so not even a killed run leaves a server behind.

Under pytest-xdist, the controller and each of its workers is such a pytest
process: the workers inherit the controller's token and add their own, so
the controller's sweep and watchdog cover every worker's processes too.
Ctrl+C reaches every process of the terminal's group; SIGTERM only the
controller, which passes it on to its workers
(:func:`forward_interrupts_to_children`), so that each ends its tests the
way Ctrl+C ends them before the controller sweeps.
"""

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid

from .paths import ROOT

# Colon-separated tokens: one for each pytest process this one descends from.
RUNS_VARIABLE = "PROOF_RUNS"

_registry = []
_run = {"token": None, "watchdog": None}


def clean_env(**extra):
    """The test's environment, without what would leak into a child Django.

    Settings and pytest variables of this run never reach the child, and
    its output arrives line by line, as a terminal shows it.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PYTEST_", "VIRTUAL_ENV"))
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


class FormatterOnPath(RuntimeError):
    pass


def no_formatter_on(path):
    """Refuse a PATH on which Django would find black.

    startproject, startapp and makemigrations run the first ``black`` on
    PATH over the files they write. The stages were generated as a reader's
    new virtual environment generates them, without black, so a black on
    the proof's PATH would make every generated file differ from its stage
    for a reason no page shows. Returns *path*.
    """
    found = shutil.which("black", path=path)
    if found:
        raise FormatterOnPath(
            f"black is on PATH ({found}): Django formats the files that "
            "startproject and makemigrations write with it, and the stages "
            "were written without it, as a reader's new virtual environment "
            "has none. Take it off PATH for the proof (make venv leaves "
            ".venv without its black command)."
        )
    return path


def free_port():
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reserve_port():
    """A free port on 127.0.0.1, kept from other programs until closed.

    The returned socket is bound but never listens, so a connection to the
    port is refused, as to a port nothing runs on. It sets SO_REUSEADDR,
    which lets a server that sets it too (asyncio's, so aiosmtpd's, and the
    standard library's HTTP server, so ``runserver``'s) bind the same port
    while the reservation holds. A program that binds without it fails, and
    the kernel never hands the port out as a free one.
    """
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    return s


def port_holder(port):
    """Who listens on *port* (any local address), as a sentence part.

    None when nothing listens there. Read from /proc: the listening socket
    in /proc/net/tcp{,6}, then the process that has it open.
    """
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for pid in _pids():
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                    return f"process {pid} ({_command_line(pid)})"
            except OSError:
                continue
    return (
        "a process this user cannot inspect (another user's, or outside this container)"
    )


def port_problem(port):
    """Why a server cannot listen on 127.0.0.1:*port*, or None if it can."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as error:
            holder = port_holder(port) or "something (no listener is visible)"
            return f"port {port} on 127.0.0.1 is taken by {holder}: {error.strerror}"
    return None


# -- the run's processes --------------------------------------------------------


def spawn(argv, **options):
    """``subprocess.Popen(argv, **options)``, registered with the run.

    Its environment gets the run's mark even when *options* give one
    without it.
    """
    env = options.get("env")
    if env is not None and RUNS_VARIABLE in os.environ:
        options["env"] = {**env, RUNS_VARIABLE: os.environ[RUNS_VARIABLE]}
    process = subprocess.Popen(argv, **options)
    _registry.append(process)
    return process


def install():
    """Give this pytest process its token, its watchdog and its handlers."""
    if _run["token"] is not None:
        return
    token = uuid.uuid4().hex
    inherited = os.environ.get(RUNS_VARIABLE)
    # The watchdog carries only the tokens of the runs above this one: the
    # sweep of this run must not end it.
    _run["watchdog"] = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); "
            "from proof.processes import watch; watch(sys.argv[2])",
            str(ROOT / "tests"),
            token,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    _run["token"] = token
    os.environ[RUNS_VARIABLE] = f"{inherited}:{token}" if inherited else token
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)
    atexit.register(_at_exit)


def _at_exit():
    sweep()
    watchdog = _run["watchdog"]
    watchdog.stdin.close()
    try:
        watchdog.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def _interrupt(number, frame):
    raise KeyboardInterrupt(f"stopped by signal {signal.Signals(number).name}")


def forward_interrupts_to_children():
    """From now on, SIGTERM goes on to this process's children of the run.

    For a pytest whose children are pytest processes (xdist's workers), each
    with the handler :func:`install` gives. The watchdog is spared.
    """
    if signal.getsignal(signal.SIGTERM) is not _interrupt:
        return

    def interrupt(number, frame):
        for pid in children_of_the_run():
            try:
                os.kill(pid, number)
            except (ProcessLookupError, PermissionError):
                pass
        _interrupt(number, frame)

    signal.signal(signal.SIGTERM, interrupt)


def children_of_the_run():
    """The pids of this process's children that carry the run's token."""
    token, me = _run["token"], os.getpid()
    if token is None:
        return []
    return [
        pid
        for pid in processes_of(token)
        if _parent(pid) == me and pid != _run["watchdog"].pid
    ]


def _parent(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            # The command (field 2) may hold spaces and parentheses.
            return int(f.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def sweep():
    """Kill every process of this run that still runs, and reap our children."""
    token = _run["token"]
    if token is None:
        return
    # A second Ctrl+C or SIGTERM must not cut the sweep short.
    saved = {}
    for number in (signal.SIGINT, signal.SIGTERM):
        try:
            saved[number] = signal.signal(number, signal.SIG_IGN)
        except ValueError:  # not the main thread
            pass
    try:
        for process in _registry:
            # An unreaped child keeps its pid: the number is still its own.
            if process.poll() is None:
                try:
                    if os.getpgid(process.pid) == process.pid:
                        os.killpg(process.pid, signal.SIGKILL)
                    else:
                        process.kill()
                except (ProcessLookupError, PermissionError):
                    pass
        kill_run(token, spare={os.getpid(), _run["watchdog"].pid})
        for process in _registry:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            for stream in (process.stdin, process.stdout, process.stderr):
                if stream is not None:
                    stream.close()
        _registry.clear()
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)


def kill_run(token, spare=(), timeout=10, variable=RUNS_VARIABLE):
    """SIGKILL every process that carries *token*, until none is left."""
    deadline = time.monotonic() + timeout
    while True:
        victims = [pid for pid in processes_of(token, variable) if pid not in spare]
        if not victims or time.monotonic() > deadline:
            return victims
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.05)


def processes_of(token, variable=RUNS_VARIABLE):
    """The pids of the running processes whose *variable* holds *token*."""
    found = []
    for pid in _pids():
        value = _environment(pid).get(variable)
        if value is not None and token in value.split(":"):
            found.append(pid)
    return found


def watch(token):
    """The watchdog: wait until the run closes our stdin, then sweep it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stdin.buffer.read()
    kill_run(token, spare={os.getpid()})


def _pids():
    """Every pid on the machine, from /proc (none where there is no /proc)."""
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []


def _environment(pid):
    """The environment process *pid* started with.

    An empty dict for zombies and other users' processes.
    """
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            data = f.read()
    except OSError:
        return {}
    pairs = (entry.split(b"=", 1) for entry in data.split(b"\0") if b"=" in entry)
    return {
        key.decode(errors="replace"): value.decode(errors="replace")
        for key, value in pairs
    }


def _command_line(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            parts = f.read().split(b"\0")
    except OSError:
        return "?"
    return " ".join(p.decode(errors="replace") for p in parts if p) or "?"
