"""What the reader has and does in part 5 (see proof/reader.py).

The toolbar's panels are HTML fragments that its JavaScript fetches from
``__debug__/`` URLs; these actions fetch the same URLs the clicks do. A real
Chromium clicks through the same steps in tests/test_part05_toolbar.py.
"""

import html
import json
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

CHANGELIST = "/admin/django_tasks_database/dbtaskresult/"
NOTIFICATION = "testimonials.tasks.notify_staff_about_testimonial"
REMINDER = "testimonials.tasks.remind_staff_to_review"


def _json(page):
    assert page.status == 200, f"{page.url} answered {page.status}"
    return json.loads(page.text)


def _cells(fragment):
    """The rows of an HTML table fragment, as lists of cell texts."""
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", fragment, re.S):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        rows.append(
            [html.unescape(re.sub(r"<[^>]+>|\s+", " ", c)).strip() for c in cells]
        )
    return rows


def toolbar_lists_the_tasks_of_the_post(reader):
    browser = reader.browser
    browser.log_in("admin")
    page = browser.submit(
        "/testimonials/new/",
        {"title": "Friendly reviews", "text": "Every question got an answer."},
    )
    assert page.status == 200 and page.url.endswith("/testimonials/new/"), page.url
    assert page.contains("Thank you!"), "the page does not thank the reader"
    shown = re.search(r'id="djDebug"[^>]*data-request-id="(\w+)"', page.text)
    assert shown, "the page shows no debug toolbar"

    # 1. History: the requests the toolbar remembers, the newest first.
    history = _json(
        browser.get(
            "/__debug__/render_panel/?"
            + urlencode({"request_id": shown.group(1), "panel_id": "HistoryPanel"})
        )
    )["content"]
    posts = [
        request_id
        for request_id, method, path in re.findall(
            r'<tr[^>]*data-request-id="(\w+)">.*?<p>(\w+)</p>.*?<p>([^<]*)</p>',
            history,
            re.S,
        )
        if method == "POST" and path == "/testimonials/new/"
    ]
    assert posts, "History lists no POST to /testimonials/new/"
    post = posts[0]

    # 2. Switch: the toolbar shows the POST's panels; "Tasks" says 2 tasks.
    panels = _json(
        browser.get(
            "/__debug__/history_sidebar/?"
            + urlencode({"request_id": post, "exclude_history": "True"})
        )
    )
    button = re.sub(r"<[^>]+>|\s+", " ", panels["TasksPanel"]["button"])
    assert "Tasks" in button and "2 tasks" in button, button

    # 3. Tasks: the notification and the reminder, as the page describes.
    content = _json(
        browser.get(
            "/__debug__/render_panel/?"
            + urlencode({"request_id": post, "panel_id": "TasksPanel"})
        )
    )["content"]
    header, *rows = _cells(content)
    assert header[:6] == [
        "Python Path",
        "Queue",
        "Backend",
        "Priority",
        "Run After",
        "Status",
    ], header
    by_path = {row[0]: row for row in rows}
    assert set(by_path) == {NOTIFICATION, REMINDER}, rows
    notification, reminder = by_path[NOTIFICATION], by_path[REMINDER]
    assert notification[1:6] == ["emails", "default", "10", "—", "READY"], notification
    assert reminder[1:4] == ["emails", "default", "0"] and reminder[5] == "READY", (
        reminder
    )
    assert notification[7] == "{'attempt': 1}", notification
    run_after = datetime.fromisoformat(reminder[4].replace("Z", "+00:00"))
    in_three_days = datetime.now(timezone.utc) + timedelta(days=3)
    assert abs(run_after - in_three_days) < timedelta(minutes=5), reminder


def admin_lists_the_task_results(reader):
    browser = reader.browser
    page = browser.get(CHANGELIST)
    assert page.status == 200 and page.url.endswith(CHANGELIST), page.url
    assert page.contains("Select Task Result to view"), "not the list of results"
    for column in (
        "Task name",
        "Status",
        "Enqueued at",
        "Started at",
        "Finished at",
        "Priority",
        "Queue name",
    ):
        assert page.contains(column), f"the list has no column {column!r}"
    # Filters by status, priority and queue.
    for link in ("?status__exact=FAILED", "?priority=10", "?queue_name=emails"):
        assert page.contains(link), f"no filter link {link}"
    # No "Add" button above the list (the sidebar's links are other models').
    tools = re.search(r'<ul class="object-tools">(.*?)</ul>', page.text, re.S)
    assert tools and "/add/" not in tools.group(1), "the list offers to add a result"
    # What this part made, and how the list shows it.
    rows = re.findall(
        r'<td class="field-task_name">(\w+)</td><td class="field-status">(\w+)</td>',
        page.text,
    )
    for row in [
        ("notify_staff_about_testimonial", "Failed"),
        ("notify_staff_about_testimonial", "Successful"),
        ("remind_staff_to_review", "Ready"),
        ("count_words", "Successful"),
    ]:
        assert row in rows, f"no {row} in {rows}"

    failed = browser.get(CHANGELIST + "?status__exact=FAILED")
    ids = re.findall(rf'href="{CHANGELIST}([0-9a-f-]{{36}})/change/', failed.text)
    assert ids, "the Failed filter shows nothing"
    detail = browser.get(f"{CHANGELIST}{ids[0]}/change/")
    assert detail.status == 200, detail.status
    assert detail.contains("Traceback (most recent call last)"), "no traceback"
    assert detail.contains("Exception class path"), "no exception class"
    assert 'name="_save"' not in detail.text, "the result can be saved"
    assert "/delete/" not in detail.text, "the result can be deleted"
    assert 'class="closelink"' in detail.text, "no Close button"

    # The reminder's page says when it may run; the admin refuses changes.
    reminders = browser.get(CHANGELIST + "?status__exact=READY")
    reminder_ids = re.findall(
        rf'href="{CHANGELIST}([0-9a-f-]{{36}})/change/[^"]*">[^<]*</a></th>'
        r'<td class="field-task_name">remind_staff_to_review<',
        reminders.text,
    )
    assert reminder_ids, "no ready reminder in the list"
    reminder = browser.get(f"{CHANGELIST}{reminder_ids[0]}/change/")
    run_after = re.search(
        r"<label>Run after:</label>\s*<div class=\"readonly\">([^<]+)</div>",
        reminder.text,
    )
    assert run_after, "the reminder's page shows no run after"
    when = datetime.fromisoformat(run_after.group(1).strip())
    assert abs(when - datetime.now(timezone.utc) - timedelta(days=3)) < timedelta(
        minutes=10
    ), when
    assert browser.get(CHANGELIST + "add/").status == 403
    delete = browser.get(f"{CHANGELIST}{ids[0]}/delete/")
    assert delete.status == 403, delete.status


def admin_shows_the_pruned_notification(reader):
    page = reader.browser.get("/admin/testimonials/testimonial/")
    assert page.status == 200, page.status
    row = re.search(
        r"Friendly reviews</a></th>(.*?)</tr>", html.unescape(page.text), re.S
    )
    assert row, "the testimonial is not listed"
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    assert cells[-1].strip() == "-", (
        f"the Staff notification column shows {cells[-1]!r}"
    )
