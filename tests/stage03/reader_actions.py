"""What the reader has and does in part 3 (see proof/reader.py)."""

import subprocess

from proof.reader import READER_PASSWORD


def before_part(reader):
    """The reader's database holds the staff account created in part 2."""
    subprocess.run(
        ["python", "manage.py", "createsuperuser", "--noinput",
         "--username", "admin", "--email", "admin@example.com"],
        cwd=reader.project,
        env={**reader.replay.env, "DJANGO_SUPERUSER_PASSWORD": READER_PASSWORD},
        check=True, capture_output=True, timeout=60,
    )


def admin_shows_the_notifications(reader):
    browser = reader.browser
    browser.submit(
        "/admin/login/?next=/admin/testimonials/testimonial/",
        {"username": "admin", "password": reader.password,
         "next": "/admin/testimonials/testimonial/"},
    )
    page = browser.get("/admin/testimonials/testimonial/")
    assert page.status == 200 and page.url.endswith("/admin/testimonials/testimonial/"), page.url
    assert page.contains("Staff notification"), "the column is missing"
    assert page.text.count("Sent to 1 staff") == 2, "both notifications should read as sent"
