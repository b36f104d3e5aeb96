"""The screenshots of part 5, taken in a real Chromium from a running stage 5.

Regenerate them after a change to stage 5 or to the pinned packages with::

    .venv/bin/python tests/screenshots.py

which writes the PNG files of ``SCREENSHOTS`` into docs/tutorial/_images/
(``--out FOLDER`` writes them elsewhere). The script:

1. copies tutorial_project/stage05 into a temporary folder, migrates it and
   creates the ``admin`` account, as the reader has it;
2. starts an SMTP server (aiosmtpd, in this process) on a free port, and
   points the copy's email there with a small settings module next to it;
3. makes real task results with ``manage.py shell`` and a real
   ``db_worker --batch``: notifications and word counts that succeed, a
   notification whose testimonial doesn't exist (it fails, with its
   traceback), a reminder scheduled three days ahead and a word count
   that waits for a worker;
4. serves the copy with ``runserver`` on a free port and drives Debian's
   chromium (``/usr/bin/chromium``, or ``PROOF_CHROMIUM``) with playwright,
   in a window of a fixed size, to take each screenshot.

Each screenshot is exactly VIEWPORT in size; what it shows (ids, times)
changes from run to run. tests/test_part05_screenshots.py runs this script
into a temporary folder and checks every image part 5 shows.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from proof.chromium import launch  # noqa: E402
from proof.paths import ROOT  # noqa: E402
from proof.processes import clean_env, copy_stage, free_port, spawn  # noqa: E402

IMAGES = ROOT / "docs" / "tutorial" / "_images"
VIEWPORT = {"width": 1600, "height": 900}
PASSWORD = "screenshots-password"

# file name -> (width, height) of the image
SCREENSHOTS = {
    # the admin's list of task results (the top of the window)
    "part05-admin-task-results.png": (VIEWPORT["width"], 610),
    # a failed result, down to its traceback (the left, where its fields are)
    "part05-admin-failed-result.png": (1100, VIEWPORT["height"]),
    # the debug toolbar's Tasks panel, for the POST of the testimonial form
    "part05-toolbar-tasks-panel.png": (VIEWPORT["width"], VIEWPORT["height"]),
}

SETTINGS = """
from mysite.settings import *  # noqa: F403

MAILERS = {{
    "default": {{
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {{"host": "127.0.0.1", "port": {port}, "timeout": 10}},
    }},
}}
"""

# What the reader's database holds by part 5, in a few rows: a member's
# testimonial, its notification and two word counts (run by the worker),
# and a notification for a testimonial deleted before the worker got to it.
BEFORE_THE_WORKER = f"""
from django.contrib.auth.models import User
from testimonials.models import Testimonial
from testimonials.tasks import count_words, enqueue_notification
User.objects.create_superuser("admin", "admin@example.com", {PASSWORD!r})
member = User.objects.create_user("member", "member@example.com")
kept = Testimonial.objects.create(
    author=member, title="Patient mentors", text="They explained it twice."
)
gone = Testimonial.objects.create(author=member, title="Gone", text="Deleted.")
count_words.enqueue("Every result in one list")
enqueue_notification(kept.pk)
enqueue_notification(gone.pk)
gone.delete()
count_words.enqueue("One more")
"""

# Left for later: a reminder three days ahead, and a word count that waits.
AFTER_THE_WORKER = """
from testimonials.models import Testimonial
from testimonials.tasks import count_words, schedule_review_reminder
schedule_review_reminder(Testimonial.objects.get(title="Patient mentors").pk)
count_words.enqueue("Waiting for a worker")
"""


class _Inbox:
    """Accepts every message; the screenshots don't read them."""

    async def handle_DATA(self, server, session, envelope):
        return "250 OK"


@contextmanager
def smtp_server():
    from aiosmtpd.controller import Controller

    port = free_port()
    controller = Controller(_Inbox(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def manage(project, *args, timeout=120):
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=project,
        env=clean_env(DJANGO_SETTINGS_MODULE="screenshot_settings"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}")
    return done.stdout


def prepare(folder, smtp_port):
    """A migrated copy of stage 5 in *folder*/community, with task results."""
    project = copy_stage(5, Path(folder) / "community")
    (project / "screenshot_settings.py").write_text(SETTINGS.format(port=smtp_port))
    manage(project, "migrate", "--verbosity", "0")
    manage(project, "shell", "--verbosity", "0", "--command", BEFORE_THE_WORKER)
    manage(
        project,
        "db_worker",
        "--batch",
        "--no-reload",
        "--no-startup-delay",
        "--queue-name",
        "*",
    )
    manage(project, "shell", "--verbosity", "0", "--command", AFTER_THE_WORKER)
    return project


@contextmanager
def running_site(project):
    """``runserver`` on a free port, without the autoreloader."""
    port = free_port()
    server = spawn(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=project,
        env=clean_env(DJANGO_SETTINGS_MODULE="screenshot_settings"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/accounts/login/", timeout=5).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "runserver did not start:\n" + server.stdout.read().decode()
                    ) from None
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stdout.close()


@contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright, ["--font-render-hinting=none"])
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser, base_url):
    """A fresh window of VIEWPORT's size that loads nothing from elsewhere."""
    context = browser.new_context(
        viewport=VIEWPORT,
        device_scale_factor=1,
        locale="en-US",
        timezone_id="UTC",
        color_scheme="light",
    )
    context.set_default_timeout(15000)
    context.route(
        lambda url: not (url == base_url or url.startswith(base_url + "/")),
        lambda route: route.abort(),
    )
    return context.new_page()


def log_in(page, base_url, login_path):
    page.goto(base_url + login_path)
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("form:has(input[name=password]) [type=submit]")
    page.wait_for_load_state()


def remember(page, **items):
    """Set the browser's local storage before each page runs its scripts."""
    script = "".join(
        f"localStorage.setItem({json.dumps(key)}, {json.dumps(value)});"
        for key, value in items.items()
    )
    page.context.add_init_script(script)


def shoot(page, out, name):
    """Save the top left of the window, in the size SCREENSHOTS gives."""
    width, height = SCREENSHOTS[name]
    page.screenshot(
        path=out / name, clip={"x": 0, "y": 0, "width": width, "height": height}
    )


def admin_screenshots(browser, base_url, out):
    page = new_page(browser, base_url)
    # The toolbar collapsed to its handle (its "Hide" button remembers
    # that), and the admin's list of models folded away, for room.
    remember(page, **{"djdt.show": "false", "django.admin.navSidebarIsOpen": "false"})
    log_in(page, base_url, "/admin/login/")
    page.goto(base_url + "/admin/django_tasks_database/dbtaskresult/")
    page.wait_for_selector("#result_list")
    shoot(page, out, "part05-admin-task-results.png")

    page.click("#changelist-filter >> text=FAILED")
    page.wait_for_selector("#result_list")
    page.click("#result_list tbody tr:first-child th a")
    page.wait_for_selector("text=Traceback (most recent call last)")
    # Scroll down to where the result says when it may run, what failed
    # and how.
    page.locator("div.field-display_run_after").evaluate(
        "field => field.scrollIntoView({block: 'start'})"
    )
    shoot(page, out, "part05-admin-failed-result.png")
    page.context.close()


def submit_testimonial(page, base_url):
    page.goto(base_url + "/testimonials/new/")
    page.fill("input[name=title]", "Friendly reviews")
    page.fill("textarea[name=text]", "Every question got an answer.")
    page.click("main form [type=submit]")
    page.wait_for_selector("text=Thank you!")


def open_tasks_of_the_post(page):
    """In the toolbar: History, switch to the POST, then the Tasks panel."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.click("#djdt-HistoryPanel a")
    # The form's POST, not the login's, which the history lists too.
    row = (
        page.locator("#djdtHistoryRequests > tr")
        .filter(has_text="POST")
        .filter(has_text="/testimonials/new/")
        .first
    )
    row.wait_for()
    # The toolbar then shows the POST's panels, and the Tasks button says how
    # many. The toolbar sometimes redraws its history while the click lands,
    # and the switch shows no counts; a reader clicks Switch again.
    for attempt in range(3):
        row.locator("button.switchHistory").click()
        try:
            page.wait_for_selector(
                "#djdt-TasksPanel small:has-text('2 tasks')", timeout=5000
            )
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    page.click("#djdt-TasksPanel a")
    panel = page.locator("#TasksPanel")
    panel.locator("table").wait_for()
    return panel


def toolbar_screenshot(browser, base_url, out):
    page = new_page(browser, base_url)
    log_in(page, base_url, "/accounts/login/")
    submit_testimonial(page, base_url)
    open_tasks_of_the_post(page)
    shoot(page, out, "part05-toolbar-tasks-panel.png")
    page.context.close()


def take_all(out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder, smtp_server() as smtp_port:
        project = prepare(folder, smtp_port)
        with running_site(project) as base_url, chromium() as browser:
            admin_screenshots(browser, base_url, out)
            toolbar_screenshot(browser, base_url, out)
    return [out / name for name in SCREENSHOTS]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", default=str(IMAGES), help="where to write the PNG files"
    )
    args = parser.parse_args(argv)
    for path in take_all(args.out):
        print(path)


if __name__ == "__main__":
    main()
