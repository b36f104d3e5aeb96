"""The reader's project with its production settings (part 7), as a server runs it.

On the server, ``mysite/production.py`` reads everything that differs from
one machine to the next from environment variables, which the systemd units
load from ``/etc/community/community.env``, a copy of the stage's
``deploy/community.env.example`` filled in. A :class:`ProductionProject`
runs its commands with that environment: the example file's variables, the
empty ones filled in, the database ones pointing at a PostgreSQL database
of the proof's own, and the email going to a port on 127.0.0.1 that refuses
connections (a failed task's alert to the admins fails at once, and is
logged).

    project = ProductionProject.copy(tmp_path / "community", postgres.new_database())
    project.manage("migrate")
    project.changed(DATABASE_NAME=None).manage("check", check=False)

Following the file means that a variable added to it is used here at once;
an empty one the proof has no value for stops the test, naming it.
"""

import ast
import re
import secrets
import shutil
import textwrap
from pathlib import Path

from .paths import PARTS_DIR, stage_dir
from .postgres import PORT
from .processes import clean_env
from .project import Project, SQLiteFile, copy_stage

STAGE = 7
ENV_EXAMPLE = Path("deploy/community.env.example")
PRODUCTION_SETTINGS = Path("mysite/production.py")

# Where the server's files are, in the units; the tests run them in a copy.
SERVER_PROJECT = "/srv/community"
SERVER_PYTHON = "/srv/community/.venv/bin/python"


def read_env_file(path):
    """The ``NAME=value`` lines of an environment file, in order.

    Comments and blank lines are skipped, as systemd's EnvironmentFile
    skips them; the values are taken as they are written (the file says:
    without quotes).
    """
    variables = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        name, equals, value = line.partition("=")
        assert equals and name.strip().isidentifier(), (
            f"{path}:{number}: not a NAME=value line: {line!r}"
        )
        variables[name.strip()] = value.strip()
    return variables


def env_calls(path=None):
    """``{name: has a default}`` for each ``env("NAME", ...)`` call of
    production.py (and ``env_int``, ``env_flag``...), by name."""
    path = path or stage_dir(STAGE) / PRODUCTION_SETTINGS
    calls = {}
    for node in ast.walk(ast.parse(Path(path).read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and (node.func.id == "env" or node.func.id.startswith("env_"))
            and isinstance(node.args[0], ast.Constant)
        ):
            [name, *default] = node.args
            calls[name.value] = bool(default or node.keywords)
    return dict(sorted(calls.items(), key=lambda item: item[0]))


def required_variables(path=None):
    """The variables production.py can't do without (no default)."""
    return [name for name, default in env_calls(path).items() if not default]


class ProductionProject(Project):
    """A copy of the stage run with mysite.production and the env file.

    *database* is a :class:`~proof.postgres.PostgresDatabase`: the copy's
    commands reach it through the DATABASE_* variables alone (no settings
    module of the proof's), and the test reads its tasks table directly.
    On a :class:`~proof.project.SQLiteFile`, a settings override replaces
    production.py's DATABASES, and the DATABASE_* lines stay as the example
    has them.
    """

    def __init__(self, folder, database, email_port=9, changes=None, settings=None):
        self.example = read_env_file(Path(folder) / ENV_EXAMPLE)
        super().__init__(
            folder,
            settings or self.example["DJANGO_SETTINGS_MODULE"],
            database=database,
        )
        self.email_port = email_port
        self.changes = dict(changes or {})
        self.secret_key = secrets.token_urlsafe(50)

    @classmethod
    def copy(cls, target, database=None, email_port=9, stage=STAGE):
        """A copy of *stage* (part 7's, by default) in *target*, on
        *database* (by default the SQLite file, for settings that point at
        it)."""
        folder = copy_stage(stage, target)
        return cls(folder, database or SQLiteFile(folder), email_port)

    def clone(self, target):
        """A copy of this copy and of its database, for one test."""
        shutil.copytree(self.folder, target)
        return ProductionProject(
            target,
            self.database.for_copy(target),
            self.email_port,
            self.changes,
            self.settings,
        )

    def changed(self, **changes):
        """The same copy, run with *changes* to the environment (a value of
        None removes the variable)."""
        other = ProductionProject(
            self.folder,
            self.database,
            self.email_port,
            {**self.changes, **changes},
            self.settings,
        )
        other.secret_key = self.secret_key
        return other

    def variables(self):
        """The env file as the server has it: the example, filled in."""
        ours = {
            "DJANGO_SECRET_KEY": self.secret_key,
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.email_port),
            "EMAIL_PASSWORD": "not-a-real-password",
        }
        server = getattr(self.database, "server", None)
        if server is not None:
            ours |= {
                "DATABASE_NAME": self.database.name,
                "DATABASE_USER": server.role,
                # The file's comment: a server elsewhere also sets these.
                "DATABASE_HOST": str(server.socket_dir),
                "DATABASE_PORT": str(PORT),
            }
        filled = {**self.example, **ours}
        empty = [name for name, value in filled.items() if not value]
        assert not empty, (
            f"{ENV_EXAMPLE} leaves {', '.join(empty)} empty, for the reader to "
            "fill in: give the proof a value in proof/production.py"
        )
        return filled

    def env(self, settings=None, **extra):
        """The env file's variables, the settings module the copy runs with
        (mysite.production, or an override of it), then the changes."""
        env = clean_env()
        env.update(self.variables())
        env["DJANGO_SETTINGS_MODULE"] = settings or self.settings
        for name, value in self.changes.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        env.update(extra)
        return env


# -- Staying on SQLite (part 7) ------------------------------------------------
# tests/test_part07_sqlite.py runs the stage with the settings the page
# shows, and make capacity measures with them: both read them here.

SQLITE_PAGE = PARTS_DIR / "part07.txt"
# The page's illustrative python block: its options, its indented reason,
# a blank line, then the code.
_SHOWN = re.compile(
    r"^\.\. illustrative:: python\n(?:    :.*\n(?:        .*\n)*)*\n((?:    .*\n|\n)+)",
    re.M,
)


def sqlite_settings_shown():
    """The SQLite settings part 7 shows, to go into production.py in place
    of its DATABASES."""
    [block] = _SHOWN.findall(SQLITE_PAGE.read_text())
    return textwrap.dedent(block).strip() + "\n"
