from django.core.management.base import BaseCommand

from testimonials.tasks import send_digest


class Command(BaseCommand):
    help = "Enqueue the digest of the latest testimonials, for a worker to send."

    def handle(self, *args, **options):
        result = send_digest.enqueue()
        self.stdout.write(
            f"Enqueued {result.task.name} on the {result.task.queue_name!r} "
            f"queue: task result {result.id}"
        )
