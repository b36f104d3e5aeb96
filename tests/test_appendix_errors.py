"""The errors appendix: every message it shows is one a real run prints.

docs/appendix/errors.txt shows each message in a code block named
``error-...``. Each name here has a trigger: Python typed into a stage's
shell (run in one process per stage, see proof.errors), a command, or a
command in a virtual environment of its own (the server's packages, or
Django 5.2 without the backport). The test compares the block with the
traceback or output of that run, with the page's ``...`` lines as the only
elisions, so a release that changes a message fails here, and so does a
trigger that ends in another message. The page's blocks and the triggers
are the same set of names.
"""

import re

import pytest

from proof.blocks import ERROR_MESSAGE, blocks_of
from proof.compare import difference, matches
from proof.errors import ERRORS_DOC, PREFIX, raise_in_shell, run_with, virtualenv
from proof.paths import DOCS, REQUIREMENTS, stage_dir
from proof.production import ENV_EXAMPLE, read_env_file
from proof.project import Project

# -- The triggers ------------------------------------------------------------

COUNT_WORDS = "from testimonials.tasks import count_words\n"

# Typed into the shell of stage 4, migrated.
IN_STAGE_04 = {
    "error-unknown-queue": COUNT_WORDS + 'count_words.using(queue_name="reports")',
    "error-priority-out-of-range": COUNT_WORDS + "count_words.using(priority=500)",
    "error-naive-run-after": (
        "from datetime import datetime, timedelta\n"
        "from testimonials.tasks import remind_staff_to_review\n"
        "remind_staff_to_review.using(run_after=datetime.now() + timedelta(days=3))"
    ),
    "error-not-json": (
        "from django.utils import timezone\n"
        + COUNT_WORDS
        + "count_words.enqueue(timezone.now())"
    ),
    "error-model-instance": (
        "from django.contrib.auth.models import User\n"
        "from testimonials.models import Testimonial\n"
        "from testimonials.tasks import notify_staff_about_testimonial\n"
        'member = User.objects.create_user("member")\n'
        "testimonial = Testimonial.objects.create(\n"
        '    author=member, title="Kind", text="Thanks."\n'
        ")\n"
        "notify_staff_about_testimonial.enqueue(testimonial)"
    ),
    "error-not-module-level": (
        "from django.tasks import task\n"
        "def make_greeting():\n"
        "    @task\n"
        "    def greet(name):\n"
        '        return f"Hello, {name}"\n'
        "    return greet\n"
        "make_greeting()"
    ),
    "error-context-argument": (
        "from django.tasks import task\n"
        "@task(takes_context=True)\n"
        "def send_report(member_id):\n"
        "    pass"
    ),
    "error-not-finished": (
        COUNT_WORDS + 'result = count_words.enqueue("one two")\nresult.return_value'
    ),
    "error-unknown-result": (
        COUNT_WORDS + 'count_words.get_result("3f2b8c1e-5d4a-4e7b-9c6f-0a1b2c3d4e5f")'
    ),
    "error-result-mismatch": (
        "from testimonials.tasks import count_words, send_digest\n"
        'result = count_words.enqueue("one two")\n'
        "send_digest.get_result(result.id)"
    ),
}

# Typed into the shell of stage 6: part 6's immediate backend, and what the
# page says of async tasks (not a message block: a note).
IN_STAGE_06 = {
    "error-immediate-run-after": (
        "from django.test import override_settings\n"
        "from testimonials.tasks import schedule_review_reminder\n"
        "from testimonials.tests.test_tasks import IMMEDIATE_TASKS\n"
        "with override_settings(TASKS=IMMEDIATE_TASKS):\n"
        "    schedule_review_reminder(1)"
    ),
    "async-accepted": (
        "from django.tasks import task\n"
        "from django.tasks.backends.dummy import DummyBackend\n"
        "from django.tasks.backends.immediate import ImmediateBackend\n"
        "from django_tasks_db import DatabaseBackend\n"
        "from mysite.testing import RecordingBackend\n"
        "async def ping():\n"
        '    return "pong"\n'
        "for backend in (DummyBackend, ImmediateBackend, DatabaseBackend,"
        " RecordingBackend):\n"
        '    backend("default", {}).validate_task(task(ping))'
    ),
    "async-refused": (
        "from django.tasks import task\n"
        "from django.tasks.backends.immediate import ImmediateBackend\n"
        "class SyncOnly(ImmediateBackend):\n"
        "    supports_async_task = False\n"
        "async def ping():\n"
        '    return "pong"\n'
        'SyncOnly("default", {}).validate_task(task(ping))'
    ),
}

# Typed into the shell of stage 1 before migrate.
IN_STAGE_01_UNMIGRATED = {
    "error-no-such-table": COUNT_WORDS + 'count_words.enqueue("one two")',
}

# The fixture that produces each block's message.
MESSAGES = {
    **dict.fromkeys(IN_STAGE_04, "stage04_shell"),
    **dict.fromkeys(IN_STAGE_01_UNMIGRATED, "stage01_unmigrated_shell"),
    "error-immediate-run-after": "stage06_shell",
    "error-exclude-queues": "worker_output",
    "error-no-compat-extra": "django52_output",
    "error-missing-variable": "server_output",
    "error-not-a-number": "server_output",
    "error-not-a-flag": "server_output",
    "error-no-debug-toolbar": "server_output",
}


def pinned(package):
    """The release of *package* that requirements.txt pins."""
    for line in REQUIREMENTS.read_text().splitlines():
        name, _, version = line.split("#")[0].strip().partition("==")
        if name.lower() == package:
            return version
    raise AssertionError(f"requirements.txt pins no {package}")


# Django 5.2 LTS, the release the versions appendix follows.
# The Django 5.2 release the variants are proven with (rules.toml).
DJANGO_52 = __import__("variants").load().release("5.2").django


# -- The runs ------------------------------------------------------------------


@pytest.fixture(scope="module")
def stage04_shell(tmp_path_factory):
    project = Project.copy(4, tmp_path_factory.mktemp("errors04") / "community")
    project.manage("migrate", "--verbosity", "0")
    printed = raise_in_shell(project, IN_STAGE_04)
    worker = project.manage("db_worker", "--exclude-queues", "emails", check=False)
    return {**printed, "worker": worker}


@pytest.fixture(scope="module")
def worker_output(stage04_shell):
    done = stage04_shell["worker"]
    assert done.returncode != 0, done.explain()
    return {"error-exclude-queues": done.output}


@pytest.fixture(scope="module")
def stage06_shell(tmp_path_factory):
    project = Project.copy(6, tmp_path_factory.mktemp("errors06") / "community")
    return raise_in_shell(project, IN_STAGE_06)


@pytest.fixture(scope="module")
def stage01_unmigrated_shell(tmp_path_factory):
    project = Project.copy(1, tmp_path_factory.mktemp("errors01") / "community")
    return raise_in_shell(project, IN_STAGE_01_UNMIGRATED)


@pytest.fixture(scope="module")
def django52_output(tmp_path_factory):
    """``manage.py check`` of stage 1 with Django 5.2 and django-tasks-db,
    installed the plain way, without its ``compat`` extra."""
    release = pinned("django-tasks-db")
    python = virtualenv(
        f"django-{DJANGO_52}-tasks-db-{release}",
        [f"django=={DJANGO_52}", f"django-tasks-db=={release}"],
    )
    project = Project.copy(1, tmp_path_factory.mktemp("errors52") / "community")
    status, versions = run_with(
        python,
        project,
        "-c",
        "import django, importlib.util; print(django.get_version(), "
        "importlib.util.find_spec('django_tasks') is None)",
    )
    assert (status, versions.split()) == (0, [DJANGO_52, "True"]), versions
    status, output = run_with(python, project, "manage.py", "check")
    assert status != 0, output
    return {"error-no-compat-extra": output}


@pytest.fixture(scope="module")
def server_output(tmp_path_factory):
    """Stage 7's commands with what the server installs (its
    requirements.txt) and the variables of its environment file."""
    python = virtualenv(
        "stage07-server", ["-r", str(stage_dir(7) / "requirements.txt")]
    )
    project = Project.copy(7, tmp_path_factory.mktemp("errors07") / "community")
    example = read_env_file(project.folder / ENV_EXAMPLE)
    assert example["DJANGO_SECRET_KEY"] == "", "the example leaves the key empty"
    filled = {**example, "DJANGO_SECRET_KEY": "a-long-random-value"}
    runs = {
        # The file as the example has it, the secret key not filled in yet.
        "error-missing-variable": example,
        "error-not-a-number": {**filled, "EMAIL_PORT": "submission"},
        "error-not-a-flag": {**filled, "EMAIL_USE_TLS": "True"},
        # A terminal where the file's variables were not loaded.
        "error-no-debug-toolbar": {"DJANGO_SETTINGS_MODULE": None},
    }
    printed = {}
    for name, env in runs.items():
        status, printed[name] = run_with(python, project, "manage.py", "check", env=env)
        assert status != 0, printed[name]
    return printed


# -- The page ------------------------------------------------------------------


@pytest.fixture(scope="module")
def shown(site):
    """{name: text} of the page's message blocks, from the built doctree."""
    blocks = {}
    for block in blocks_of(site.doctrees, ERRORS_DOC):
        if block.kind != ERROR_MESSAGE:
            continue
        [name] = [n for n in block.attributes.get("names", []) if n.startswith(PREFIX)]
        assert name not in blocks, f"{block.place}: a second block named {name}"
        blocks[name] = block.text
    return blocks


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_the_page_shows_the_real_message(name, shown, request):
    printed = request.getfixturevalue(MESSAGES[name])[name]
    assert printed, f"{name}: the trigger ended without an error"
    assert name in shown, f"{ERRORS_DOC}.txt has no block named {name}"
    assert matches(shown[name], printed), difference(shown[name].splitlines(), printed)


def test_every_block_has_a_trigger(shown):
    assert set(shown) == set(MESSAGES), (
        f"blocks without a trigger: {sorted(set(shown) - set(MESSAGES))}; "
        f"triggers without a block: {sorted(set(MESSAGES) - set(shown))}"
    )


def test_what_the_page_says_of_async_tasks(stage06_shell):
    """No backend of the tutorial refuses an async task, and a backend that
    does says what the page quotes."""
    assert stage06_shell["async-accepted"] is None, stage06_shell["async-accepted"]
    source = (DOCS / f"{ERRORS_DOC}.txt").read_text()
    [quoted] = re.findall(r'with "([^"]+)"\s+when a backend', " ".join(source.split()))
    refused = stage06_shell["async-refused"]
    assert refused and refused.splitlines()[-1].endswith(": " + quoted), refused
