"""The Python shell a page's ``pycon`` blocks run in (a child process).

It stands in for ``python manage.py shell``: it is started in the reader's
project folder, sets Django up with the project's settings, offers the same
automatic imports as ``manage.py shell``, and then reads what the reader
types one line at a time, with :class:`code.InteractiveConsole`, the console
``manage.py shell`` itself runs (through :func:`code.interact`): a line
completes a statement, which then runs, or the console waits for more (its
``...`` prompt), exactly as in the reader's terminal.

Protocol: one JSON object per line on stdin, ``{"line": "..."}`` (a line as
typed, without its prompt); one JSON object per line on the channel given as
fd ``argv[1]``: ``{"more": true or false, "output": "...", "exception":
"TypeError: ...\\n" or null}``. ``more`` is true when the console would
prompt ``...`` next. Everything the line's statement writes, to
``sys.stdout``, ``sys.stderr`` or straight to file descriptors 1 and 2 (log
handlers do), is captured as its output, as a terminal would show it.
"""

import code
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


class Console(code.InteractiveConsole):
    """The interactive console, noting the exception it reports, if any."""

    exception = None

    def showtraceback(self):
        kind, value = sys.exc_info()[:2]
        self.exception = "".join(traceback.format_exception_only(kind, value))
        super().showtraceback()

    def showsyntaxerror(self, *args, **kwargs):
        kind, value = sys.exc_info()[:2]
        self.exception = "".join(traceback.format_exception_only(kind, value))
        super().showsyntaxerror(*args, **kwargs)


def push_line(console, line):
    console.exception = None
    more = False
    with Capture() as captured:
        try:
            more = console.push(line)
        except SystemExit:
            console.resetbuffer()
            console.exception = "SystemExit\n"
    return {"more": bool(more), "output": captured.text, "exception": console.exception}


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
    console = Console(locals=namespace, filename="<console>")
    channel.write(json.dumps({"ready": True, "output": captured.text}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        channel.write(json.dumps(push_line(console, request["line"])) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
