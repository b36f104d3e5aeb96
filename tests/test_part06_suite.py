"""Part 6: the reader's own test suite passes, and catches what it should.

On a copy of stage 6, Django's test runner and pytest each run the suite
the page builds, and must pass, without a log line in any order of its
files. Then each mutation breaks the project in one way the page says its
tests protect against (the notification, its enqueueing, the digest's
batches, the recording backend and its transactions) and the suite must
fail. A mutation is an exact replacement of a piece of a stage file; a piece
that no longer exists fails the test loudly, so a mutation can't turn
silently into no change.
"""

import re

import pytest

from proof.paths import stage_dir
from proof.project import Project

PYTEST_MODULE = "testimonials/tests/test_with_pytest.py"


def run(project, *args):
    """``python *args`` in the project: its exit status and output."""
    done = project.run(*args, check=False)
    return done.returncode, done.output


def count_tests(relative):
    text = (stage_dir(6) / relative).read_text()
    return len(re.findall(r"^\s*def test_", text, re.M))


def unittest_modules():
    """The stage's test modules that Django's runner runs."""
    stage = stage_dir(6)
    found = [
        path.relative_to(stage).as_posix()
        for path in stage.rglob("test*.py")
        if "__pycache__" not in path.parts
    ]
    return sorted(m for m in found if m != PYTEST_MODULE)


@pytest.fixture
def project(tmp_path):
    return Project.copy(6, tmp_path / "community")


def test_djangos_runner_runs_the_whole_suite(project):
    expected = sum(count_tests(m) for m in unittest_modules())
    assert expected > 20, unittest_modules()

    code, output = run(project, "manage.py", "test")

    assert code == 0, output
    assert f"Ran {expected} tests" in output, output
    assert output.rstrip().endswith(
        "Destroying test database for alias 'default'..."
    ), output
    # The settings keep the tests' output to test results.
    assert "INFO" not in output and "DEBUG" not in output, output


def test_pytest_runs_the_same_suite_and_the_pytest_style_test(project):
    expected = sum(count_tests(m) for m in unittest_modules()) + count_tests(
        PYTEST_MODULE
    )

    code, output = run(project, "-m", "pytest", "-q", "-p", "no:cacheprovider")

    assert code == 0, output
    assert re.search(rf"^{expected} passed in ", output, re.M), output


# A line of the project's log format: time, level, logger.
LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) ", re.M
)


def log_lines(output):
    return [line for line in output.splitlines() if LOG_LINE.match(line)]


def test_the_suite_is_quiet_in_any_order(project):
    """No log line shows, whichever tests run before the real worker's.

    db_worker sets its loggers' levels from its verbosity; a test that runs
    it must not change what later tests print. pytest runs the files in the
    order given, and -s lets the log lines through; Django's runner runs its
    TestCase classes first, in either direction.
    """
    with_pytest = ["-m", "pytest", "-q", "-s", "-p", "no:cacheprovider"]
    runs = {
        "pytest, backend tests first": [*with_pytest, "mysite", "testimonials"],
        "pytest, worker test first": [*with_pytest, "testimonials", "mysite"],
        "manage.py test": ["manage.py", "test"],
        "manage.py test --reverse": ["manage.py", "test", "--reverse"],
    }
    for name, args in runs.items():
        code, output = run(project, *args)
        assert code == 0, f"{name}:\n{output}"
        assert log_lines(output) == [], f"{name}:\n{output}"
        assert "Traceback" not in output, f"{name}:\n{output}"


# (file, the piece to replace, what replaces it)
MUTATIONS = {
    "notification-sends-to-nobody": (
        "testimonials/tasks.py",
        "            recipient_list=recipients,\n            html_message=",
        "            recipient_list=[],\n            html_message=",
    ),
    "notification-leaves-the-emails-queue": (
        "testimonials/tasks.py",
        '@task(queue_name="emails", priority=10)',
        "@task(priority=10)",
    ),
    "notification-enqueued-before-commit": (
        "testimonials/views.py",
        "transaction.on_commit(partial(enqueue_notification, self.object.pk))",
        "enqueue_notification(self.object.pk)",
    ),
    "notification-not-enqueued": (
        "testimonials/views.py",
        "        transaction.on_commit("
        "partial(enqueue_notification, self.object.pk))\n",
        "",
    ),
    "reminder-without-run-after": (
        "testimonials/tasks.py",
        "remind_staff_to_review.using(\n"
        "        run_after=timezone.now() + REVIEW_REMINDER_DELAY\n"
        "    ).enqueue(testimonial_id)",
        "remind_staff_to_review.enqueue(testimonial_id)",
    ),
    "backend-ignores-priority": (
        "mysite/testing.py",
        "key=lambda result: (-result.task.priority, result.task.run_after or now),",
        "key=lambda result: result.task.run_after or now,",
    ),
    "backend-ignores-run-after": (
        "mysite/testing.py",
        "            and (result.task.run_after is None"
        " or result.task.run_after <= now)\n",
        "",
    ),
    "backend-keeps-rolled-back-tasks": (
        "mysite/testing.py",
        "            if in_transaction is None or not in_transaction.rolled_back()\n",
        "",
    ),
    "backend-runs-tasks-before-the-commit": (
        "mysite/testing.py",
        "            if (in_transaction is None or in_transaction.committed())\n"
        "            and result.status == TaskResultStatus.READY",
        "            if result.status == TaskResultStatus.READY",
    ),
    "backend-counts-the-test-case-transaction": (
        "mysite/testing.py",
        "        if not block._from_testcase:\n            return depth",
        "        return depth",
    ),
    "backend-never-strict": (
        "mysite/testing.py",
        "        if depth is not None and self.strict:",
        "        if False:",
    ),
    "digest-batches-enqueued-one-by-one": (
        "testimonials/tasks.py",
        "    with transaction.atomic():\n        batch_ids = [",
        "    if True:\n        batch_ids = [",
    ),
    "backend-stops-quietly-at-its-bound": (
        "mysite/testing.py",
        "                raise TooManyTasks(",
        "                return done\n                TooManyTasks(",
    ),
}

# The same mutations under pytest, for a few: the runner differs, not what
# the tests check.
UNDER_PYTEST = {"notification-enqueued-before-commit", "backend-ignores-priority"}


def mutate(project, name):
    relative, piece, replacement = MUTATIONS[name]
    path = project.folder / relative
    text = path.read_text()
    assert text.count(piece) == 1, (
        f"{name}: {relative} no longer has the piece to replace"
    )
    path.write_text(text.replace(piece, replacement))


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_djangos_runner_catches(project, name):
    mutate(project, name)

    code, output = run(project, "manage.py", "test")

    assert code != 0, f"{name}: the suite still passes\n{output}"
    assert re.search(r"^FAILED \((failures|errors)=", output, re.M), output


@pytest.mark.parametrize("name", sorted(UNDER_PYTEST))
def test_pytest_catches(project, name):
    mutate(project, name)

    code, output = run(project, "-m", "pytest", "-q", "-p", "no:cacheprovider")

    assert code == 1, f"{name}: pytest still passes\n{output}"
    assert re.search(r"^\d+ failed", output, re.M), output
