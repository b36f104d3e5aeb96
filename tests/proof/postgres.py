"""A PostgreSQL server of the proof's own, and databases on it.

Parts 7 and 8 run the reader's project on PostgreSQL. The proof never uses
a PostgreSQL server of the machine's: it makes one in a temporary folder
with ``initdb``, starts it with ``pg_ctl``, and removes it afterwards. The
server listens on a Unix socket in that folder only (no TCP port, so it
can't collide with the contributor's own servers or another run's), trusts
the local user, and needs no password and no system service. When the
proof runs as root (in a container, in CI), the server runs as an
unprivileged user, since PostgreSQL refuses to run as root.

    with postgres_server() as server:
        project = Project.copy(8, tmp_path / "community",
                               database=server.new_database())

The binaries are looked for on PATH, then in Debian's
/usr/lib/postgresql/NN/bin; :data:`MISSING` says how to install them when
there are none.
"""

import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

MISSING = (
    "PostgreSQL's server programs (initdb, pg_ctl) are not installed: "
    "apt-get install postgresql (Debian, Ubuntu), or brew install postgresql "
    "(macOS)"
)
# The user the server runs as when the proof runs as root.
UNPRIVILEGED = ("postgres", "nobody")
PORT = 5432  # only names the socket file: the server has no TCP port


def binaries():
    """The folder holding initdb and pg_ctl, or None."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / "pg_ctl").is_file() and (folder / "initdb").is_file():
            return folder
    return None


def _server_user():
    """The pw entry of the user to run the server as; None to run as we are."""
    if os.geteuid() != 0:
        return None
    for name in UNPRIVILEGED:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError(f"running as root, and none of the users {UNPRIVILEGED} exists")


class PostgresServer:
    """A running server: its socket folder, and how to make databases."""

    def __init__(self, folder, bin_dir, user):
        self.folder = Path(folder)
        self.bin_dir = bin_dir
        self.user = user  # a pw entry, or None
        self.data = self.folder / "data"
        self.socket_dir = self.folder / "socket"
        self.log = self.folder / "server.log"
        self.role = user.pw_name if user else pwd.getpwuid(os.geteuid()).pw_name

    def _run(self, program, *args, check=True):
        argv = [str(self.bin_dir / program), *args]
        if self.user is not None:
            argv = [
                "setpriv",
                f"--reuid={self.user.pw_uid}",
                f"--regid={self.user.pw_gid}",
                "--clear-groups",
                *argv,
            ]
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=120, cwd=self.folder
        )
        if check and done.returncode != 0:
            raise RuntimeError(
                f"{program} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
                + (f"\n{self.log.read_text()}" if self.log.exists() else "")
            )
        return done

    def start(self):
        self.socket_dir.mkdir()
        if self.user is not None:
            for path in (self.folder, self.socket_dir):
                os.chown(path, self.user.pw_uid, self.user.pw_gid)
        self._run(
            "initdb",
            "--pgdata",
            str(self.data),
            "--username",
            self.role,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--no-sync",
        )
        return self.start_again()

    def start_again(self):
        """Start the server on its existing data folder (after :meth:`stop`)."""
        options = (
            f"-c listen_addresses='' -k {self.socket_dir} -p {PORT} "
            "-c fsync=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl",
            "--pgdata",
            str(self.data),
            "--log",
            str(self.log),
            "--options",
            options,
            "--wait",
            "start",
        )
        return self

    def stop(self, mode="fast", check=False):
        """Stop the server: ``fast`` ends every session at once, as a
        service manager's stop does; ``immediate`` stops without shutting
        down cleanly, as a crash would."""
        self._run(
            "pg_ctl",
            "--pgdata",
            str(self.data),
            "--mode",
            mode,
            "--wait",
            "stop",
            check=check,
        )

    def is_running(self):
        done = self._run("pg_ctl", "--pgdata", str(self.data), "status", check=False)
        return done.returncode == 0

    def restart(self, mode="fast", down_for=0.0):
        """Stop the server, wait *down_for* seconds, and start it again:
        every client's connection ends, as with ``systemctl restart
        postgresql``."""
        self.stop(mode, check=True)
        time.sleep(down_for)
        return self.start_again()

    def connect(self, dbname="postgres"):
        import psycopg

        return psycopg.connect(
            host=str(self.socket_dir),
            port=PORT,
            user=self.role,
            dbname=dbname,
            autocommit=True,
        )

    def new_database(self):
        """A new, empty database on this server, for one copy of the project."""
        name = f"proof_{uuid.uuid4().hex[:12]}"
        with self.connect() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return PostgresDatabase(self, name)


class PostgresDatabase:
    """One database on a :class:`PostgresServer`, as a project's database."""

    placeholder = "%s"
    # psycopg gives jsonb columns back as Python values.
    json_as_text = False

    def __init__(self, server, name):
        self.server = server
        self.name = name

    def settings(self):
        """The settings lines that point the project at this database."""
        return (
            "DATABASES = {\n"
            '    "default": {\n'
            '        "ENGINE": "django.db.backends.postgresql",\n'
            f'        "NAME": "{self.name}",\n'
            f'        "USER": "{self.server.role}",\n'
            f'        "HOST": "{self.server.socket_dir}",\n'
            f'        "PORT": "{PORT}",\n'
            "    },\n"
            "}\n"
        )

    def for_copy(self, folder):
        """A copy of this database (PostgreSQL's template copy) for a copy
        of the project."""
        name = f"proof_{uuid.uuid4().hex[:12]}"
        with self.server.connect() as connection:
            connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
        return PostgresDatabase(self.server, name)

    def key(self, result_id):
        return result_id

    def query(self, sql, params=()):
        with self.server.connect(self.name) as connection:
            rows = connection.execute(sql, params).fetchall()
        return [tuple(_plain(v) for v in row) for row in rows]


def _plain(value):
    """Dates as the SQLite file gives them, as text (JSON columns come back
    as Python values, which proof.project expects of PostgreSQL)."""
    from datetime import datetime

    if isinstance(value, datetime):
        return value.isoformat()
    return value


@contextmanager
def postgres_server():
    """A PostgreSQL server in a temporary folder, while the block runs.

    The folder is made directly in the system's temporary folder, not in
    pytest's (whose folders only their owner may enter), so that an
    unprivileged server user can reach it; it is removed afterwards.
    """
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError(MISSING)
    folder = Path(tempfile.mkdtemp(prefix="proof-postgres-"))
    server = PostgresServer(folder, bin_dir, _server_user())
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
