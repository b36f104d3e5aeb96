"""Part 2 end to end: a logged-in member posts the form, a real worker emails.

Everything real: a copy of stage 2 with a file SQLite database, the
development server answering HTTP, `db_worker` in its own process, and an
SMTP server that receives what the staff would. Only the SMTP port differs
from the stage.
"""

from proof.project import Project
from proof.reader import READER_PASSWORD, Browser


def test_a_posted_testimonial_reaches_the_staff_by_email(tmp_path, inbox):
    project = Project.copy(2, tmp_path / "community").send_email_to(inbox.port)
    project.manage("migrate", "--verbosity", "0")
    project.create_superuser(password=READER_PASSWORD)
    project.shell(
        "from django.contrib.auth.models import User\n"
        f"User.objects.create_user('member', 'm@example.com', {READER_PASSWORD!r})",
    )

    with project.serve() as url:
        browser = Browser(url)
        browser.log_in("member")
        page = browser.submit(
            "/testimonials/new/", {"title": "Kind <i>folks</i>", "text": "A & B"}
        )
        assert page.contains("Thank you! Our staff will review your testimonial soon.")
    assert inbox.envelopes == [], "no email before a worker runs"

    worker = project.run_worker()
    assert "state=SUCCESSFUL" in worker.output, worker.explain()

    [envelope] = inbox.envelopes
    assert envelope.rcpt_tos == ["admin@example.com"]
    message = envelope.content.decode()
    assert "Subject: New testimonial: Kind <i>folks</i>" in message
    assert "To: admin@example.com" in message
    assert "&lt;i&gt;folks&lt;/i&gt;" in message
    assert "A &amp; B" in message
