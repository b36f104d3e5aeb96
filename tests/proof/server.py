"""The production server of part 7, as the replay plays it.

Part 7 runs the project on a Linux server: PostgreSQL from the system's
packages, the settings' secrets in /etc/community/community.env, and the
workers as systemd services. None of that can exist in a test: the replay
has no root, no system PostgreSQL and no systemd. It plays each piece with
something real of its own, and the stand-ins of :mod:`standins` use them:

- :class:`ReplayServer` starts a PostgreSQL server of the replay's own
  (:mod:`postgres`) the first time a page asks the system's ``postgres``
  user for something, and makes the role and the database the page names;
- the environment file is ``deploy/community.env.example`` of the reader's
  project, with the replay's values in the blanks it leaves (a secret key,
  the database's socket, the replay's mail server), written into the
  replay's folder; "loading" it puts its variables into the environment of
  the commands that follow, as ``set -a`` and ``source`` do in a shell;
- the units the page copies to /etc/systemd/system go into a folder laid
  out as a server's root, where ``systemd-analyze verify`` checks them;
  "starting" a service starts its ``ExecStart`` command, read from the
  unit, as a background process with the unit's working directory (the
  project) and environment file, and "stopping" it sends the unit's
  ``KillSignal``. Its output is what ``journalctl -t <identifier> -o cat``
  shows.
"""

import secrets
import shutil
import subprocess
from dataclasses import dataclass

from .postgres import PORT, binaries, postgres_server
from .units import exec_start, expand, read_unit, setting, unit_env

# Where the page puts things on the server.
SERVER_PROJECT = "/srv/community"
SERVER_PYTHON = f"{SERVER_PROJECT}/.venv/bin/python"
ENV_FILE = "/etc/community/community.env"
UNITS_DIR = "/etc/systemd/system"
# The variables the replay fills in where the example leaves them empty, or
# replaces because they must reach the replay's own services.
SMTP_HOST = "127.0.0.1"


@dataclass
class Service:
    """What a unit's [Service] section says the replay should run."""

    argv: list
    env: dict
    identifier: str
    kill_signal: str
    kind: str
    restart: str
    restart_seconds: float


def _seconds(text):
    """systemd's time span, as far as the units use it: 5s, 100ms, 2min."""
    for suffix, factor in (("ms", 0.001), ("min", 60), ("s", 1)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


class ReplayServer:
    """What part 7's server holds, for one replay."""

    def __init__(self, replay):
        self.replay = replay
        self.root = replay.workdir / "server-root"
        self._postgres = None
        self._postgres_context = None
        self.env_file = None
        # SyslogIdentifier -> the service's runs, oldest first: a Background,
        # or the output of a run that ended (Type=oneshot)
        self.services = {}
        self._smtp = None

    # -- PostgreSQL -------------------------------------------------------------

    @property
    def postgres(self):
        if self._postgres is None:
            if binaries() is None:
                from .postgres import MISSING

                raise RuntimeError(MISSING)
            self._postgres_context = postgres_server()
            self._postgres = self._postgres_context.__enter__()
        return self._postgres

    def create_role(self, name):
        with self.postgres.connect() as connection:
            connection.execute(f'CREATE ROLE "{name}" LOGIN')

    def create_database(self, name, owner):
        with self.postgres.connect() as connection:
            connection.execute(f'CREATE DATABASE "{name}" OWNER "{owner}"')

    # -- the environment file ----------------------------------------------------

    def install_env_file(self, example):
        """The example file, with the replay's values: the file the reader
        fills in with their editor."""
        values = {
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DATABASE_HOST": str(self.postgres.socket_dir),
            "DATABASE_PORT": str(PORT),
            # The replay's mail server stands in for the provider's.
            "EMAIL_HOST": SMTP_HOST,
            "EMAIL_PORT": str(self.replay.ports[1025]),
            "EMAIL_USE_TLS": "false",
            "EMAIL_USER": "",
            "EMAIL_PASSWORD": "",
        }
        lines, seen = [], set()
        for line in example.read_text().splitlines():
            name, equals, _ = line.partition("=")
            if equals and not line.startswith("#") and name in values:
                line = f"{name}={values[name]}"
                seen.add(name)
            lines.append(line)
        lines += [
            f"{name}={value}" for name, value in values.items() if name not in seen
        ]
        self.start_mail_server()
        self.env_file = self.root / ENV_FILE.lstrip("/")
        self.env_file.parent.mkdir(parents=True, exist_ok=True)
        self.env_file.write_text("\n".join(lines) + "\n")
        return self.env_file

    def start_mail_server(self):
        """The email provider's SMTP server: an aiosmtpd server in the test's
        process, on the replay's reserved mail port, that accepts everything."""
        if self._smtp is None:
            from aiosmtpd.controller import Controller

            from .inbox import Inbox

            self.inbox = Inbox()
            self._smtp = Controller(
                self.inbox, hostname=SMTP_HOST, port=self.replay.ports[1025]
            )
            self._smtp.start()

    def env_values(self):
        """NAME=value lines of the environment file, as systemd reads them."""
        if self.env_file is None:
            raise RuntimeError(f"{ENV_FILE} was never installed")
        values = {}
        for line in self.env_file.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                name, _, value = line.partition("=")
                values[name.strip()] = value
        return values

    # -- units ---------------------------------------------------------------------

    def install_units(self, sources):
        target = self.root / UNITS_DIR.lstrip("/")
        target.mkdir(parents=True, exist_ok=True)
        for source in sources:
            shutil.copy(source, target / source.name)

    def unit_file(self, unit):
        """The file of *unit* (a template's for an instance), or None."""
        name = unit if "." in unit else f"{unit}.service"
        stem, _, suffix = name.rpartition(".")
        if "@" in stem:
            stem = stem.split("@", 1)[0] + "@"
        path = self.root / UNITS_DIR.lstrip("/") / f"{stem}.{suffix}"
        return path if path.is_file() else None

    def fake_root(self):
        """The root ``systemd-analyze verify`` reads: the units, the project's
        Python, the environment file, and systemd's own units."""
        python = self.root / SERVER_PYTHON.lstrip("/")
        if not python.exists():
            python.parent.mkdir(parents=True, exist_ok=True)
            python.write_text("#!/bin/sh\n")
            python.chmod(0o755)
        system = self.root / "usr/lib/systemd/system"
        if not system.exists():
            shutil.copytree("/usr/lib/systemd/system", system, symlinks=True)
        return self.root

    def verify(self, units):
        """``systemd-analyze verify`` of *units*: its complaints ('' if none)."""
        if shutil.which("systemd-analyze") is None:
            raise RuntimeError(
                "systemd-analyze is not installed: apt-get install systemd"
            )
        root = self.fake_root()
        problems = []
        for unit in units:
            done = subprocess.run(
                ["systemd-analyze", "verify", f"--root={root}", unit],
                capture_output=True,
                text=True,
                timeout=60,
            )
            said = (done.stdout + done.stderr).strip()
            if done.returncode != 0 or said:
                problems.append(f"{unit}: {said or f'exit status {done.returncode}'}")
        return "\n".join(problems)

    def service(self, unit):
        """(argv, environment, identifier, kill signal, type) of a service."""
        path = self.unit_file(unit)
        if path is None:
            raise RuntimeError(f"no unit file for {unit} in {UNITS_DIR}")
        instance = unit.split("@", 1)[1].rsplit(".", 1)[0] if "@" in unit else None
        read = read_unit(path)

        def value(key, default=None):
            found = setting(read, "Service", key)
            return default if found is None else found

        argv = exec_start(path.name, instance, path.parent)
        if argv[0] != SERVER_PYTHON:
            raise RuntimeError(f"{unit}: ExecStart runs {argv[0]}, not {SERVER_PYTHON}")
        if value("WorkingDirectory") != SERVER_PROJECT:
            raise RuntimeError(f"{unit}: WorkingDirectory is not {SERVER_PROJECT}")
        if value("EnvironmentFile") != ENV_FILE:
            raise RuntimeError(f"{unit}: EnvironmentFile is not {ENV_FILE}")
        env = {**self.env_values(), **unit_env(path.name, path.parent)}
        identifier = expand(value("SyslogIdentifier", unit), instance)
        return Service(
            argv=["python", *argv[1:]],
            env=env,
            identifier=identifier,
            kill_signal=value("KillSignal", "SIGTERM"),
            kind=value("Type", "simple"),
            restart=value("Restart", "no"),
            restart_seconds=_seconds(value("RestartSec", "100ms")),
        )

    def journal(self, identifier):
        """Everything the runs of the service with *identifier* printed."""
        runs = self.services.get(identifier, [])
        return "".join(run if isinstance(run, str) else run.text() for run in runs)

    def running(self, identifier):
        """The service's process, when one runs."""
        runs = self.services.get(identifier, [])
        last = runs[-1] if runs else None
        if last is not None and not isinstance(last, str) and last.running():
            return last
        return None

    def close(self):
        for identifier in self.services:
            if (process := self.running(identifier)) is not None:
                process.stop("SIGKILL")
        if self._smtp is not None:
            self._smtp.stop()
            self._smtp = None
        if self._postgres_context is not None:
            self._postgres_context.__exit__(None, None, None)
            self._postgres_context = self._postgres = None


def environment_of(replay, values):
    """The replay's environment with *values* in it, and nothing that would
    send the project's commands to settings other than those values name."""
    env = {
        key: value for key, value in replay.env.items() if not key.startswith("DJANGO_")
    }
    env.update(values)
    return env
