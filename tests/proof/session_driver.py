"""The Python shell a page's ``pycon`` blocks run in (a child process).

It stands in for ``python manage.py shell``: it is started in the reader's
project folder, sets Django up with the project's settings, offers the same
automatic imports as ``manage.py shell``, and then runs one example at a time
the way the interactive interpreter does (an expression's value is printed).

Protocol: one JSON object per line on stdin, ``{"source": "..."}``; one JSON
object per line on the channel given as fd ``argv[1]``:
``{"output": "...", "exception": "TypeError: ...\\n" or null}``. Everything the
example writes, to ``sys.stdout``, ``sys.stderr`` or straight to file
descriptors 1 and 2 (log handlers do), is captured as its output, as a
terminal would show it.
"""

import json
import os
import sys
import tempfile
import traceback


def setup_django():
    sys.path.insert(0, os.getcwd())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
    import django

    django.setup()
    from django.core.management.commands.shell import Command

    return Command().get_namespace(verbosity=0)


class Capture:
    """Send file descriptors 1 and 2 into a temporary file for a while."""

    def __enter__(self):
        sys.stdout.flush()
        sys.stderr.flush()
        self.file = tempfile.TemporaryFile(mode="w+b")
        self.saved = os.dup(1), os.dup(2)
        os.dup2(self.file.fileno(), 1)
        os.dup2(self.file.fileno(), 2)
        return self

    def __exit__(self, *exc):
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(self.saved[0], 1)
        os.dup2(self.saved[1], 2)
        os.close(self.saved[0])
        os.close(self.saved[1])
        self.file.seek(0)
        self.text = self.file.read().decode("utf-8", "replace")
        self.file.close()


def run_example(source, namespace):
    exception = None
    with Capture() as captured:
        try:
            code = compile(source, "<console>", "single")
            exec(code, namespace)
        except SystemExit:
            exception = "SystemExit\n"
        except BaseException as exc:  # the reader sees any exception
            exception = "".join(traceback.format_exception_only(type(exc), exc))
            # As the interactive interpreter does: no frame of this driver.
            traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next)
    return {"output": captured.text, "exception": exception}


def main():
    channel = os.fdopen(int(sys.argv[1]), "w", buffering=1)
    try:
        with Capture() as captured:
            namespace = setup_django()
    except BaseException:
        channel.write(
            json.dumps({"ready": False, "error": traceback.format_exc()}) + "\n"
        )
        return 1
    namespace["__name__"] = "__console__"
    channel.write(json.dumps({"ready": True, "output": captured.text}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        channel.write(json.dumps(run_example(request["source"], namespace)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
