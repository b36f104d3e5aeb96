from django.apps import AppConfig


class TestimonialsConfig(AppConfig):
    name = 'testimonials'

    def ready(self):
        # Importing the module connects its receivers to the task signals.
        from . import signals  # noqa: F401
