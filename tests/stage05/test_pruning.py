"""Stage 5: prune_db_task_results deletes exactly what its options say.

Results of every status, in both queues, finished 1, 10, 20 and 40 days ago,
are pruned with each combination of options part 5 explains. What remains is
compared with what the options say must remain:

- only finished results (SUCCESSFUL, FAILED) are ever deleted;
- only in the queues of --queue-name, "default" unless told, "*" for all;
- a successful result when it finished at least --min-age-days ago (14 by
  default), a failed one at least --failed-min-age-days ago when given,
  else --min-age-days too.

With --dry-run, nothing is deleted and the count is reported.
"""

import logging
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from testimonials.admin import TestimonialAdmin
from testimonials.models import Testimonial
from testimonials.tasks import count_words, enqueue_notification

LOGGER = "django_tasks_db.prune_db_task_results"
QUEUES = ["default", "emails"]
AGES = [1, 10, 20, 40]  # days since the result finished (or was enqueued)
STATUSES = [
    TaskResultStatus.SUCCESSFUL,
    TaskResultStatus.FAILED,
    TaskResultStatus.READY,
    TaskResultStatus.RUNNING,
]


@pytest.fixture
def results(db):
    """{id: (queue, status, age in days)}, one result of each kind."""
    now = timezone.now()
    made = {}
    for queue in QUEUES:
        for status in STATUSES:
            for age in AGES:
                result = count_words.using(queue_name=queue).enqueue("x")
                when = now - timedelta(days=age, hours=1)
                finished = status in (
                    TaskResultStatus.SUCCESSFUL,
                    TaskResultStatus.FAILED,
                )
                DBTaskResult.objects.filter(pk=result.id).update(
                    status=status,
                    enqueued_at=when,
                    started_at=when if status != TaskResultStatus.READY else None,
                    finished_at=when if finished else None,
                )
                made[result.id] = (queue, status, age)
    return made


def expected_deletions(results, min_age=14, failed_min_age=None, queues="default"):
    names = queues.split(",")
    gone = set()
    for result_id, (queue, status, age) in results.items():
        if "*" not in names and queue not in names:
            continue
        if status == TaskResultStatus.SUCCESSFUL and age >= min_age:
            gone.add(result_id)
        if status == TaskResultStatus.FAILED and age >= (
            min_age if failed_min_age is None else failed_min_age
        ):
            gone.add(result_id)
    return gone


def remaining():
    return {str(pk) for pk in DBTaskResult.objects.values_list("pk", flat=True)}


OPTIONS = [
    ({}, []),
    ({"min_age": 0}, ["--min-age-days", "0"]),
    ({"min_age": 5}, ["--min-age-days", "5"]),
    ({"queues": "*"}, ["--queue-name", "*"]),
    ({"queues": "emails"}, ["--queue-name", "emails"]),
    ({"queues": "default,emails"}, ["--queue-name", "default,emails"]),
    ({"failed_min_age": 30}, ["--failed-min-age-days", "30"]),
    (
        {"failed_min_age": 5, "min_age": 30, "queues": "*"},
        ["--failed-min-age-days", "5", "--min-age-days", "30", "--queue-name", "*"],
    ),
    (
        {"min_age": 0, "failed_min_age": 30, "queues": "*"},
        ["--min-age-days", "0", "--failed-min-age-days", "30", "--queue-name", "*"],
    ),
]


@pytest.mark.parametrize(
    "model, argv", OPTIONS, ids=[" ".join(a) or "defaults" for _, a in OPTIONS]
)
def test_pruning_deletes_exactly_what_the_options_say(results, model, argv, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    gone = expected_deletions(results, **model)
    assert 0 < len(gone) < len(results), "each case deletes some results, keeps others"

    call_command("prune_db_task_results", *argv)

    assert remaining() == set(results) - gone
    assert [r.getMessage() for r in caplog.records if r.name == LOGGER] == [
        f"Deleted {len(gone)} task result(s)"
    ]


@pytest.mark.parametrize(
    "model, argv", OPTIONS, ids=[" ".join(a) or "defaults" for _, a in OPTIONS]
)
def test_a_dry_run_deletes_nothing_and_reports_the_count(results, model, argv, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    gone = expected_deletions(results, **model)

    call_command("prune_db_task_results", "--dry-run", *argv)

    assert remaining() == set(results)
    assert [r.getMessage() for r in caplog.records if r.name == LOGGER] == [
        f"Would delete {len(gone)} task result(s)"
    ]


def test_by_default_nothing_in_the_emails_queue_is_pruned(results):
    call_command("prune_db_task_results", "--min-age-days", "0")
    left = {
        results[pk][0]
        for pk in remaining()
        if results[pk][1] in (TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED)
    }
    assert left == {"emails"}


def test_a_pruned_notification_reads_as_none_and_the_admin_shows_a_dash(db):
    admin = get_user_model().objects.create_superuser(
        "admin", "admin@example.com", "pw"
    )
    testimonial = Testimonial.objects.create(author=admin, title="Friendly", text="x")
    enqueue_notification(testimonial.pk)
    DBTaskResult.objects.update(
        status=TaskResultStatus.SUCCESSFUL, finished_at=timezone.now(), return_value=1
    )
    testimonial.refresh_from_db()
    assert testimonial.notification_result().status == TaskResultStatus.SUCCESSFUL
    column = TestimonialAdmin(Testimonial, None).notification
    assert column(testimonial) == "Sent to 1 staff"

    call_command("prune_db_task_results", "--min-age-days", "0", "--queue-name", "*")

    testimonial.refresh_from_db()
    assert testimonial.notification_id, "the testimonial keeps the id"
    assert testimonial.notification_result() is None
    assert column(testimonial) == "-"
