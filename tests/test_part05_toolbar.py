"""Part 5's toolbar: installed while developing only, and its Tasks panel.

The settings install the toolbar while DEBUG is on and no test runs; the
toolbar's check debug_toolbar.E001 reports only the case part 5 describes.
Those tests run ``python`` in a copy of stage 5.

The panel is checked in a real Chromium, against a running stage 5.

A copy of stage 5 (migrated, with the ``admin`` account and some task
results, see tests/proof/part05_site.py) is served by ``runserver``; Debian's
chromium logs in on the site, submits the testimonial form, and clicks
through the toolbar as part 5 tells the reader to: History, Switch on the
form's POST, Tasks. The panel must list the notification and the reminder
as the page describes them, while the page after the redirect enqueued
nothing.
"""

from datetime import datetime, timedelta, timezone

import pytest

from proof import part05_site
from proof.chromium import CHROMIUM
from proof.inbox import smtp_inbox
from proof.project import Project

try:
    import playwright.sync_api  # noqa: F401
except ImportError:
    playwright = None


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if playwright is None:
        pytest.skip("playwright is not installed: `make venv` installs it")
    if not CHROMIUM.is_file():
        pytest.skip(f"no browser at {CHROMIUM}: apt-get install chromium")
    with smtp_inbox() as inbox:
        project = part05_site.prepare(tmp_path_factory.mktemp("part05"), inbox.port)
        with project.serve() as url:
            yield url


@pytest.fixture
def page(site):
    with part05_site.chromium() as browser:
        page = part05_site.new_page(browser, site)
        yield page
        page.context.close()


def table(panel):
    header = panel.locator("thead th").all_inner_texts()
    rows = [
        row.locator("td").all_inner_texts() for row in panel.locator("tbody tr").all()
    ]
    return [h.strip().lower() for h in header], [[c.strip() for c in r] for r in rows]


def test_the_tasks_panel_lists_what_the_form_post_enqueued(page, site):
    part05_site.log_in(page, site, "/accounts/login/")
    part05_site.submit_testimonial(page, site)

    # The toolbar of the page after the redirect: that GET enqueued nothing.
    tasks_button = page.locator("#djdt-TasksPanel")
    assert "0 tasks" in tasks_button.inner_text()
    tasks_button.locator("a").click()
    # The panel's content arrives from the server a moment after the click.
    page.locator("#TasksPanel").get_by_text(
        "No tasks were queued during this request."
    ).wait_for()
    page.locator("#TasksPanel .djDebugClose").click()

    panel = part05_site.open_tasks_of_the_post(page)
    header, rows = table(panel)
    assert header == [
        "python path",
        "queue",
        "backend",
        "priority",
        "run after",
        "status",
        "arguments",
        "keyword arguments",
    ]
    by_path = {row[0]: row for row in rows}
    assert set(by_path) == {
        "testimonials.tasks.notify_staff_about_testimonial",
        "testimonials.tasks.remind_staff_to_review",
    }
    notification = by_path["testimonials.tasks.notify_staff_about_testimonial"]
    reminder = by_path["testimonials.tasks.remind_staff_to_review"]
    assert notification[1:6] == ["emails", "default", "10", "—", "READY"]
    assert notification[7] == "{'attempt': 1}"
    assert reminder[1:4] == ["emails", "default", "0"] and reminder[5] == "READY"
    run_after = datetime.fromisoformat(reminder[4].replace("Z", "+00:00"))
    in_three_days = datetime.now(timezone.utc) + timedelta(days=3)
    assert abs(run_after - in_three_days) < timedelta(minutes=5)
    # Both got the new testimonial's id.
    assert notification[6] == reminder[6] and notification[6].startswith("[")


def test_the_history_lists_the_post_and_switches_the_panels(page, site):
    part05_site.log_in(page, site, "/accounts/login/")
    part05_site.submit_testimonial(page, site)
    page.click("#djdt-HistoryPanel a")
    rows = page.locator("#djdtHistoryRequests > tr")
    rows.first.wait_for()
    listed = [
        (
            r.locator("td").nth(1).inner_text().strip(),
            r.locator("td").nth(2).inner_text().strip(),
        )
        for r in rows.all()
    ]
    # The newest first: the page after the redirect, then the form's POST.
    assert listed[:2] == [("GET", "/testimonials/new/"), ("POST", "/testimonials/new/")]


@pytest.fixture(scope="module")
def stage(tmp_path_factory):
    """A copy of stage 5 that nothing runs in (no database needed)."""
    return Project.copy(5, tmp_path_factory.mktemp("stage05") / "community")


@pytest.mark.parametrize(
    "how, env, installed",
    [
        ("runserver", {}, True),
        ("test", {}, False),
        ("runserver", {"PYTEST_VERSION": "9.2.0"}, False),
    ],
)
def test_the_toolbar_is_installed_while_developing_only(stage, how, env, installed):
    code = (
        "import sys; sys.argv = ['manage.py', %r]\n"
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "from django.urls import reverse\n"
        "print('debug_toolbar' in settings.INSTALLED_APPS,"
        " settings.MIDDLEWARE[0], reverse('djdt:render_panel') if"
        " 'debug_toolbar' in settings.INSTALLED_APPS else None)\n" % how
    )
    done = stage.run("-c", code, env=env, timeout=60)
    if installed:
        assert done.stdout.split() == [
            "True",
            "debug_toolbar.middleware.DebugToolbarMiddleware",
            "/__debug__/render_panel/",
        ]
    else:
        assert done.stdout.split() == [
            "False",
            "django.middleware.security.SecurityMiddleware",
            "None",
        ]


E001_SETTINGS = """
from mysite.settings import *  # noqa: F403

# As Django's test runner has it, with the toolbar installed anyway and told
# to show itself whatever DEBUG says.
DEBUG = False
if "debug_toolbar" not in INSTALLED_APPS:
    INSTALLED_APPS = [*INSTALLED_APPS, "debug_toolbar"]
DEBUG_TOOLBAR_CONFIG = {"SHOW_TOOLBAR_CALLBACK": "e001_settings.always"}


def always(request):
    return True
"""


@pytest.mark.parametrize(
    "env, reported", [({"PYTEST_VERSION": "9.2.0"}, True), ({}, False)]
)
def test_the_toolbars_check_for_tests_reports_one_case(stage, tmp_path, env, reported):
    """E001: a test run, DEBUG off, a changed SHOW_TOOLBAR_CALLBACK and no
    toolbar URLs (debug_toolbar_urls() gives none without DEBUG)."""
    project = stage.clone(tmp_path / "community")
    project.write("e001_settings.py", E001_SETTINGS)
    done = project.manage(
        "check", settings="e001_settings", env=env, check=False, timeout=60
    )
    output = done.output
    if reported:
        assert done.returncode == 1, output
        assert (
            "(debug_toolbar.E001) The Django Debug Toolbar can't be used with tests"
            in output
        )
    else:
        assert done.returncode == 0, output
        assert "System check identified no issues" in output
