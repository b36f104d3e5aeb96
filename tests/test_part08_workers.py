"""Part 8: several workers on one PostgreSQL database, and a notification
that runs twice.

Real workers (stage 8, run with mysite.production and the env file, see
proof.production), a real PostgreSQL server, a real SMTP server. What the
page says, as measured:

- four workers share out 200 tasks: each task runs once, on one worker,
  and every worker takes some;
- the staff notification enqueued twice for one testimonial, its two runs
  taken by two workers, sends one email.
"""

import signal
import time
from collections import Counter

import pytest

from proof.production import ProductionProject
from proof.project import stop

STAGE = 8
WORKERS = 4
TASKS = 200


@pytest.fixture(scope="module")
def migrated(tmp_path_factory, postgres):
    project = ProductionProject.copy(
        tmp_path_factory.mktemp("part08-workers") / "community",
        postgres.new_database(),
        stage=STAGE,
    )
    project.add_slow_tasks()
    project.manage("migrate", "--verbosity", "0")
    return project


def test_four_workers_drain_the_queue_each_task_once(project):
    ids = project.records(TASKS, 0.01)
    workers = project.start_workers(WORKERS, "--batch")
    try:
        outputs = [stop(worker, timeout=120) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                stop(worker, signal.SIGTERM)
    assert [w.returncode for w in workers] == [0] * WORKERS, outputs
    rows = [project.task(result_id) for result_id in ids]
    assert [row.status for row in rows] == ["SUCCESSFUL"] * TASKS
    assert [row.return_value for row in rows] == list(range(TASKS))
    assert all(len(row.worker_ids) == 1 for row in rows)
    assert sorted(project.recorded()) == list(range(TASKS)), "each ran once"
    taken = Counter(row.worker_ids[0] for row in rows)
    print(dict(sorted(taken.items())))  # how the page says they shared out
    assert sorted(taken) == [f"worker-{n}" for n in range(1, WORKERS + 1)], taken


def test_the_notification_enqueued_twice_sends_one_email(project, inbox):
    project = project.changed(
        EMAIL_PORT=str(inbox.port), EMAIL_USE_TLS="false", EMAIL_USER=""
    )
    project.create_superuser()
    [testimonial] = project.shell(
        "from django.contrib.auth.models import User\n"
        "from testimonials.models import Testimonial\n"
        "member = User.objects.create_user('member', 'member@example.com')\n"
        "print(Testimonial.objects.create(author=member, title='Twice', text='Hi').pk)"
    )
    first, second = project.shell(
        "from testimonials.tasks import notify_staff_about_testimonial as notify\n"
        f"print(notify.enqueue({testimonial}).id)\n"
        f"print(notify.enqueue({testimonial}).id)"
    )
    workers = project.start_workers(2, "--queue-name", "emails")
    try:
        done = [project.wait_for(i, {"SUCCESSFUL", "FAILED"}) for i in (first, second)]
        time.sleep(1)  # time for a third email, if one were coming
    finally:
        outputs = [stop(worker, signal.SIGTERM) for worker in workers]
    assert [row.status for row in done] == ["SUCCESSFUL"] * 2, outputs
    assert sorted(row.return_value for row in done) == [0, 1], outputs
    [email] = inbox.messages()
    assert email["Subject"] == "New testimonial: Twice"
    assert email["To"] == "admin@example.com"
    [notified] = project.shell(
        "from testimonials.models import Testimonial\n"
        f"print(Testimonial.objects.get(pk={testimonial}).staff_notified_at)"
    )
    assert notified != "None"
    assert "were notified about testimonial" in "".join(outputs), outputs
