"""proof.project: a copy of a stage, on SQLite or PostgreSQL, with workers.

The end-to-end tests of every part stand on this helper; these tests check
what they take for granted: the copy holds the stage's files and no
generated ones, settings overrides chain and never touch the stage, and a
copy on a PostgreSQL server of the proof's own runs several workers that
share the tasks, each task once.
"""

import shutil

import pytest

from proof import project as project_module
from proof.paths import stage_dir, stage_files
from proof.postgres import PostgresDatabase
from proof.project import Project, stop

COUNT_WORDS = (
    "from testimonials.tasks import count_words\n"
    "for n in range({count}):\n"
    "    print(count_words.enqueue('word ' * n).id)"
)


def test_a_copy_holds_the_stage_files_and_nothing_generated(tmp_path, monkeypatch):
    """What the site's downloads leave out, the copy leaves out too."""
    stage = tmp_path / "stage01"
    shutil.copytree(stage_dir(1), stage)
    noise = [".DS_Store", "db.sqlite3", "testimonials/__pycache__/tasks.pyc"]
    for relative in noise:
        (stage / relative).parent.mkdir(parents=True, exist_ok=True)
        (stage / relative).write_text("generated")
    monkeypatch.setattr(project_module, "stage_dir", lambda number: stage)

    project = Project.copy(1, tmp_path / "community")

    assert stage_files(project.folder) == stage_files(stage_dir(1))
    for relative in noise:
        assert not (project.folder / relative).exists(), relative


def test_settings_overrides_chain_and_leave_the_stage_alone(tmp_path):
    project = Project.copy(1, tmp_path / "community")
    project.override_settings("DEBUG = False\n")
    project.override_settings("TIME_ZONE = 'Europe/Paris'\n", module="second")
    printed = project.shell(
        "from django.conf import settings\n"
        "print(settings.DEBUG, settings.TIME_ZONE, settings.ROOT_URLCONF)"
    )
    assert printed == ["False Europe/Paris mysite.urls"]
    assert not (stage_dir(1) / "proof_settings.py").exists()
    assert not (stage_dir(1) / "second.py").exists()


def test_a_failing_command_says_what_ran_and_what_it_printed(tmp_path):
    project = Project.copy(1, tmp_path / "community")
    with pytest.raises(AssertionError) as failure:
        project.manage("no_such_command")
    assert "$ manage.py no_such_command" in str(failure.value)
    assert "Unknown command: 'no_such_command'" in str(failure.value)


def test_stage_1_on_postgresql_with_three_workers(tmp_path, postgres):
    """One line gives the copy its database; workers share 30 tasks."""
    project = Project.copy(1, tmp_path / "community", database=postgres.new_database())
    assert isinstance(project.database, PostgresDatabase)
    project.manage("migrate", "--verbosity", "0")
    ids = project.shell(COUNT_WORDS.format(count=30))

    workers = project.start_workers(3, "--batch", interval="0")
    outputs = [stop(worker, timeout=120) for worker in workers]

    assert [w.returncode for w in workers] == [0, 0, 0], outputs
    rows = {result_id: project.task(result_id) for result_id in ids}
    assert {row.status for row in rows.values()} == {"SUCCESSFUL"}
    assert all(len(row.worker_ids) == 1 for row in rows.values())
    assert [int(rows[i].return_value) for i in ids] == list(range(30))
    # The rows are PostgreSQL's: SQLite's file was never made.
    assert not (project.folder / "db.sqlite3").exists()


def test_a_clone_of_a_postgresql_copy_has_its_own_database(tmp_path, postgres):
    first = Project.copy(1, tmp_path / "first", database=postgres.new_database())
    first.manage("migrate", "--verbosity", "0")
    [kept] = first.shell(COUNT_WORDS.format(count=1))
    second = first.clone(tmp_path / "second")
    second.run_worker()
    assert second.status(kept) == "SUCCESSFUL"
    assert first.status(kept) == "READY"
