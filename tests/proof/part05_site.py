"""Stage 5 as part 5 shows it running: task results in the admin, the toolbar.

Part 5's screenshots (tools/screenshots.py) and its toolbar test
(tests/test_part05_toolbar.py) need the same thing: a copy of stage 5 with
a few real task results, served by ``runserver``, and a Chromium that logs
in and clicks where the page tells the reader to click. Both get it here:

1. :func:`prepare` copies the stage, migrates it, creates the ``admin``
   account, and makes real results with ``manage.py shell`` and a real
   ``db_worker --batch``: notifications and word counts that succeed, a
   notification whose testimonial doesn't exist (it fails, with its
   traceback), a reminder three days ahead and a word count that waits;
2. ``Project.serve()`` serves it; :func:`chromium` and :func:`new_page`
   open a window of VIEWPORT's size that loads nothing from elsewhere;
3. :func:`log_in`, :func:`submit_testimonial` and
   :func:`open_tasks_of_the_post` are the reader's steps.
"""

import json
from contextlib import contextmanager
from pathlib import Path

from .chromium import launch
from .project import Project

VIEWPORT = {"width": 1600, "height": 900}
PASSWORD = "screenshots-password"

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


def prepare(folder, smtp_port):
    """A migrated copy of stage 5 in *folder*/community, with task results."""
    project = Project.copy(5, Path(folder) / "community").send_email_to(smtp_port)
    project.manage("migrate", "--verbosity", "0")
    project.shell(BEFORE_THE_WORKER)
    project.run_worker("--queue-name", "*")
    project.shell(AFTER_THE_WORKER)
    return project


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


def remember(page, **items):
    """Set the browser's local storage before each page runs its scripts."""
    script = "".join(
        f"localStorage.setItem({json.dumps(key)}, {json.dumps(value)});"
        for key, value in items.items()
    )
    page.context.add_init_script(script)


def log_in(page, base_url, login_path):
    page.goto(base_url + login_path)
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("form:has(input[name=password]) [type=submit]")
    page.wait_for_load_state()


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
