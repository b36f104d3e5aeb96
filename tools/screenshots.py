"""Retake the screenshots of part 5 in a real Chromium, from a running stage 5.

Run it after a change to stage 5 or to the pinned packages::

    make screenshots        # or: .venv/bin/python tools/screenshots.py

It writes the PNG files of ``SCREENSHOTS`` into docs/tutorial/_images/
(``--out FOLDER`` writes them elsewhere) and prints their paths. The site it
photographs is tests/proof/part05_site.py's: a copy of stage 5 with real
task results, its email going to an SMTP server in this process, served by
``runserver`` and seen by Debian's chromium (``/usr/bin/chromium``, or
``PROOF_CHROMIUM``) in a window of a fixed size.

Each screenshot is exactly the size SCREENSHOTS gives; what it shows (ids,
times) changes from run to run. tests/test_part05_screenshots.py runs this
script into a temporary folder and checks every image part 5 shows.
"""

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from proof import part05_site as site  # noqa: E402
from proof.inbox import smtp_inbox  # noqa: E402
from proof.paths import ROOT  # noqa: E402

IMAGES = ROOT / "docs" / "tutorial" / "_images"
WIDTH, HEIGHT = site.VIEWPORT["width"], site.VIEWPORT["height"]

# file name -> (width, height) of the image
SCREENSHOTS = {
    # the admin's list of task results (the top of the window)
    "part05-admin-task-results.png": (WIDTH, 610),
    # a failed result, down to its traceback (the left, where its fields are)
    "part05-admin-failed-result.png": (1100, HEIGHT),
    # the debug toolbar's Tasks panel, for the POST of the testimonial form
    "part05-toolbar-tasks-panel.png": (WIDTH, HEIGHT),
}


def shoot(page, out, name):
    """Save the top left of the window, in the size SCREENSHOTS gives."""
    width, height = SCREENSHOTS[name]
    page.screenshot(
        path=out / name, clip={"x": 0, "y": 0, "width": width, "height": height}
    )


def admin_screenshots(browser, base_url, out):
    page = site.new_page(browser, base_url)
    # The toolbar collapsed to its handle (its "Hide" button remembers
    # that), and the admin's list of models folded away, for room.
    site.remember(
        page, **{"djdt.show": "false", "django.admin.navSidebarIsOpen": "false"}
    )
    site.log_in(page, base_url, "/admin/login/")
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


def toolbar_screenshot(browser, base_url, out):
    page = site.new_page(browser, base_url)
    site.log_in(page, base_url, "/accounts/login/")
    site.submit_testimonial(page, base_url)
    site.open_tasks_of_the_post(page)
    shoot(page, out, "part05-toolbar-tasks-panel.png")
    page.context.close()


def take_all(out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder, smtp_inbox() as inbox:
        project = site.prepare(folder, inbox.port)
        with project.serve() as base_url, site.chromium() as browser:
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
