from django.tasks import task


@task
def count_words(text):
    """Return how many words the given text has."""
    return len(text.split())
