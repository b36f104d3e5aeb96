"""What the versions appendix says of a release that no stage shows.

Runs in the release passes only (``make test-release RELEASE=5.2``; see
tests/conftest.py): the stages' variants themselves are proven by
test_stages.py and the end-to-end tests, which run them in those passes.
"""

import signal
import subprocess
import time
import urllib.error
import urllib.request

import django

from proof.paths import RELEASE, VENV_BIN, seen
from proof.processes import clean_env, free_port
from proof.project import Project, stop


def startproject(folder):
    return subprocess.run(
        [VENV_BIN / "django-admin", "startproject", "mysite", "community"],
        cwd=folder,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_runserver_says_what_the_appendix_says(tmp_path):
    project = Project.copy(1, tmp_path / "community")
    port = free_port()
    server = project.start("manage.py", "runserver", "--noreload", f"127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    output = ""
    while server.poll() is None and time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
        except urllib.error.HTTPError:
            break  # it answers (stage 1 has no page at /)
        except OSError:
            time.sleep(0.2)
        else:
            break
    output = stop(server, signal.SIGTERM, pause=0)
    banner = f"Starting WSGI development server at http://127.0.0.1:{port}/"
    assert seen(banner) in output, output
    assert seen(banner) != banner, "rules.toml's seen entry no longer applies"


def test_the_release_is_the_one_the_pass_proves():
    assert django.get_version().startswith(RELEASE + "."), django.get_version()


# Each release's facts are tests of its pass only (a skip would fail CI).
if RELEASE == "5.2":

    def test_startproject_needs_the_folder_to_exist_on_52(tmp_path):
        refused = startproject(tmp_path)
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert "does not exist, please create it first" in refused.stderr
        (tmp_path / "community").mkdir()
        made = startproject(tmp_path)
        assert made.returncode == 0, made.stdout + made.stderr
        assert (tmp_path / "community" / "manage.py").is_file()


if RELEASE == "6.0":

    def test_startproject_makes_the_folder_on_60(tmp_path):
        made = startproject(tmp_path)
        assert made.returncode == 0, made.stdout + made.stderr
        assert (tmp_path / "community" / "manage.py").is_file()


if RELEASE == "5.2":

    def test_the_toolbars_tasks_panel_records_nothing_on_52(tmp_path):
        project = Project.copy(5, tmp_path / "community")
        # The panel listens to django.tasks' signal, which 5.2 doesn't have.
        listens, subtitle = project.shell(
            "from debug_toolbar.panels import tasks\n"
            "print(tasks.task_enqueued is None)\n"
            "panel = tasks.TasksPanel.__new__(tasks.TasksPanel)\n"
            "print(panel.nav_subtitle)",
        )
        assert (listens, subtitle) == ("True", "Requires Django 6.0+")
