"""Part 2 end to end: a logged-in member posts the form, a real worker emails.

Everything real: a copy of stage 2 with a file SQLite database, the
development server answering HTTP, `db_worker` in its own process. Only the
email backend differs from the stage: the copy gets a settings module that
writes email to files (Django's filebased backend) so the test can read
what the staff would receive.
"""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from proof.processes import clean_env, copy_stage, free_port, spawn
from proof.reader import READER_PASSWORD, Browser

SETTINGS = """
from mysite.settings import *  # noqa: F403

MAILERS = {{
    "default": {{
        "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "OPTIONS": {{"file_path": {outbox!r}}},
    }},
}}
"""


@pytest.fixture
def project(tmp_path):
    folder = copy_stage(2, tmp_path / "community")
    (folder / "e2e_settings.py").write_text(
        SETTINGS.format(outbox=str(tmp_path / "outbox"))
    )
    return folder


def env():
    return clean_env(
        DJANGO_SETTINGS_MODULE="e2e_settings",
        DJANGO_SUPERUSER_PASSWORD=READER_PASSWORD,
    )


def manage(project, *args):
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=project,
        env=env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_a_posted_testimonial_reaches_the_staff_by_email(project, tmp_path):
    manage(project, "migrate", "--verbosity", "0")
    manage(
        project,
        "createsuperuser",
        "--noinput",
        "--username",
        "admin",
        "--email",
        "admin@example.com",
    )
    manage(
        project,
        "shell",
        "--command",
        "from django.contrib.auth.models import User\n"
        f"User.objects.create_user('member', 'm@example.com', {READER_PASSWORD!r})",
    )

    port = free_port()
    server = spawn(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=project,
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        browser = Browser(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 30
        while True:
            try:
                browser.get("/accounts/login/")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        browser.log_in("member")
        page = browser.submit(
            "/testimonials/new/", {"title": "Kind <i>folks</i>", "text": "A & B"}
        )
        assert page.contains("Thank you! Our staff will review your testimonial soon.")
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=20)

    outbox = tmp_path / "outbox"
    assert not outbox.exists() or not any(outbox.iterdir()), (
        "no email before a worker runs"
    )

    worker = manage(
        project, "db_worker", "--batch", "--no-startup-delay", "--no-reload"
    )
    assert "state=SUCCESSFUL" in worker, worker

    [message] = [p.read_text() for p in Path(outbox).iterdir()]
    assert "Subject: New testimonial: Kind <i>folks</i>" in message
    assert "To: admin@example.com" in message
    assert "&lt;i&gt;folks&lt;/i&gt;" in message
    assert "A &amp; B" in message
