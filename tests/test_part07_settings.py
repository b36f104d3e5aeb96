"""Part 7: the production settings, as the server runs them.

A copy of stage 7 runs with ``DJANGO_SETTINGS_MODULE=mysite.production``
and the variables of ``deploy/community.env.example``, filled in as the
reader fills them in, its database on the proof's PostgreSQL server (see
proof.production). What the page says about them: ``check --deploy`` finds
nothing, a missing variable stops every command with its name, the server
installs the releases of the reader's machine and nothing more, and migrate
makes django-tasks-db's table on PostgreSQL under the app label
``django_tasks_database``.
"""

import importlib.util
import re
from pathlib import Path

import pytest

from proof.paths import RELEASE, REQUIREMENTS, stage_dir
from proof.production import (
    ENV_EXAMPLE,
    STAGE,
    ProductionProject,
    env_calls,
    read_env_file,
    required_variables,
)

MIGRATIONS = (
    Path(importlib.util.find_spec("django_tasks_db").origin).parent / "migrations"
)


@pytest.fixture(scope="module")
def migrate_output(tmp_path_factory, postgres):
    project = ProductionProject.copy(
        tmp_path_factory.mktemp("part07") / "community", postgres.new_database()
    )
    done = project.manage("migrate")
    return project, done


@pytest.fixture(scope="module")
def migrated(migrate_output):
    """A copy migrated on PostgreSQL, with the production settings."""
    return migrate_output[0]


@pytest.fixture(scope="module")
def unmigrated(tmp_path_factory, postgres):
    """A copy whose commands stop before they reach the database."""
    return ProductionProject.copy(
        tmp_path_factory.mktemp("part07-bare") / "community", postgres.new_database()
    )


def test_check_deploy_finds_no_issue(migrated):
    done = migrated.manage("check", "--deploy")
    assert done.stdout == "System check identified no issues (1 silenced).\n", (
        done.explain()
    )
    assert done.stderr == "", done.explain()


def test_the_settings_are_production_ones(migrated):
    [line] = migrated.shell(
        "from django.conf import settings as s\n"
        "db = s.DATABASES['default']\n"
        "print(s.DEBUG, 'debug_toolbar' in s.INSTALLED_APPS, db['ENGINE'],"
        " db['CONN_MAX_AGE'], db['CONN_HEALTH_CHECKS'], s.ALLOWED_HOSTS)"
    )
    assert line == (
        "False False django.db.backends.postgresql 600 True ['community.example.com']"
    )


# -- The environment ----------------------------------------------------------


def test_the_example_file_holds_every_variable_the_settings_read():
    example_path = stage_dir(STAGE) / ENV_EXAMPLE
    example = read_env_file(example_path)
    calls = env_calls()
    assert {"DJANGO_SECRET_KEY", "DATABASE_NAME"} <= set(required_variables())
    # Required ones are lines to fill in; optional ones at least mentioned.
    assert set(required_variables()) <= set(example), sorted(
        set(required_variables()) - set(example)
    )
    text = example_path.read_text()
    assert [name for name in calls if name not in text] == []
    # And nothing in the file that the settings ignore.
    assert set(example) - set(calls) == {"DJANGO_SETTINGS_MODULE"}
    assert example["DJANGO_SETTINGS_MODULE"] == "mysite.production"


ENDING = "django.core.exceptions.ImproperlyConfigured: Set the environment variable {}."

COMMANDS = {
    "check": ["check"],
    "db_worker": ["db_worker"],
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", required_variables())
def test_a_missing_or_empty_variable_stops_the_command_naming_it(
    unmigrated, name, command
):
    for value in (None, ""):
        project = unmigrated.changed(**{name: value})
        done = project.manage(*COMMANDS[command], check=False, timeout=60)
        assert done.returncode == 1, done.explain()
        assert done.stderr.splitlines()[-1] == ENDING.format(name), done.explain()


# -- What the server installs -------------------------------------------------


def pins(path):
    """``{name: version}`` of the ``name==version`` lines of a requirements file."""
    return pins_of(Path(path).read_text().splitlines(), path)


def pins_of(lines, where="the release's requirements"):
    found = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            name, equals, version = line.partition("==")
            assert equals, f"{where}: not pinned: {line!r}"
            found[re.sub(r"[-_.]+", "-", name.strip().lower())] = version.strip()
    return found


def test_the_server_installs_the_releases_of_the_readers_machine():
    stage = pins(stage_dir(STAGE) / "requirements.txt")
    ours = pins(REQUIREMENTS)
    if RELEASE:  # the release pass's own environment
        import variants

        ours.update(pins_of(variants.requirements(RELEASE)))
    tasks_db = "django-tasks-db[compat]" if RELEASE == "5.2" else "django-tasks-db"
    assert {"django", tasks_db, "psycopg[binary]"} <= set(stage), stage
    assert {name: ours.get(name) for name in stage} == stage


# Run manage.py with the modules of the packages that only the development
# machine installs made unimportable.
WITHOUT = """\
import importlib.metadata, re, runpy, sys
server = {server!r}
for module, dists in importlib.metadata.packages_distributions().items():
    names = {{re.sub(r"[-_.]+", "-", d.lower()) for d in dists}}
    if names & {development!r} and not names & server:
        sys.modules[module] = None
{then}
"""
MANAGE = """\
sys.argv = ["manage.py", *sys.argv[1:]]
runpy.run_path("manage.py", run_name="__main__")"""


def test_the_server_needs_no_package_that_its_requirements_leave_out(migrated):
    """The development settings add django-debug-toolbar; production
    removes it, so the server's requirements.txt can leave it out."""
    stage = {name.split("[")[0] for name in pins(stage_dir(STAGE) / "requirements.txt")}
    development = {name.split("[")[0] for name in pins(REQUIREMENTS)} - stage
    assert "django-debug-toolbar" in development
    server = stage | {"psycopg-binary"}
    blocked = WITHOUT.format(
        server=server, development=development, then="import debug_toolbar"
    )
    done = migrated.run("-c", blocked, check=False)
    assert "ModuleNotFoundError" in done.stderr, done.explain()
    code = WITHOUT.format(server=server, development=development, then=MANAGE)
    done = migrated.run("-c", code, "check", "--deploy")
    assert done.stdout == "System check identified no issues (1 silenced).\n"
    done = migrated.run("-c", code, "db_worker", "--batch", "--no-startup-delay")
    assert "No more tasks to run" in done.stderr, done.explain()


# -- The database ---------------------------------------------------------------


def test_migrate_makes_the_tasks_table_on_postgresql(migrate_output):
    project, done = migrate_output
    assert (
        "Apply all migrations: admin, auth, contenttypes, django_tasks_database, "
        "sessions, testimonials"
    ) in done.stdout, done.explain()
    assert project.database.query(
        "SELECT count(*) FROM django_tasks_database_dbtaskresult"
    ) == [(0,)]
    assert not (project.folder / "db.sqlite3").exists()


def test_showmigrations_knows_the_app_as_django_tasks_database(migrated):
    done = migrated.manage("showmigrations", "django_tasks_database")
    lines = done.stdout.splitlines()
    names = sorted(p.stem for p in MIGRATIONS.glob("0*.py"))
    assert lines[0] == "django_tasks_database"
    assert lines[1:] == [f" [X] {name}" for name in names], done.explain()
    assert lines[1] == " [X] 0001_initial"


def test_showmigrations_refuses_the_package_name(migrated):
    done = migrated.manage("showmigrations", "django_tasks_db", check=False)
    assert done.returncode == 2, done.explain()
    assert done.stderr.strip() == (
        "No installed app with label 'django_tasks_db'. "
        "Did you mean 'django_tasks_database'?"
    ), done.explain()
