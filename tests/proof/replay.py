"""Follow a part the way a reader does, and check every step against the page.

The replay starts where the reader starts: for part 1 an empty folder, for
part NN the download of stage NN-1, unpacked and set up by part 0's recipe
(see :mod:`start`). It then walks the page's blocks in order:

- a console block runs its ``$`` commands for real, in the folder the page
  has ``cd``-ed into, and compares any output the page shows;
- an included stage file is written into the project as the reader has it
  at that step, with what the page has shown of it so far (see
  :mod:`fragments`);
- a ``pycon`` block is typed into the open shell (see :mod:`session`);
- an illustrative block does nothing.

Some commands cannot run as written inside a test; each has one documented
stand-in (docs/project/testing.md keeps the same list):

- ``source .venv/bin/activate``: the proof's own interpreter, whose
  environment holds exactly requirements.txt, plays the reader's
  virtual environment, so activating is a no-op;
- ``python -m pip install ...`` runs with ``--dry-run`` in that environment
  and fails if pip would install anything: the page installs what the
  proof tests;
- ``python manage.py shell`` opens the session shell; when the page shows
  what the shell prints as it starts, the real command runs in a
  pseudo-terminal up to its first prompt, for comparison (see
  :mod:`shell_start`);
- a long-running command (``db_worker`` without ``--batch``, ``runserver``)
  starts in the background, as in a second terminal; the replay waits until
  its output matches what the page shows, and a ``^C`` line sends it SIGINT
  exactly as Ctrl+C does. Whatever still runs at the end of the page gets
  SIGINT too;
- the page's fixed addresses, 127.0.0.1:8000 (``runserver``) and
  127.0.0.1:1025 (``python -m aiosmtpd -n -l 127.0.0.1:1025``, where
  ``MAILERS`` sends): each replay reserves two free ports for them, runs the
  servers there and shows the page's ports in their output; the Python
  processes it starts connect to the reserved port when the code asks for
  the page's (``replay_site/sitecustomize.py``), so a second run, or the
  contributor's own server or mail catcher, never meets them. aiosmtpd on
  any other address runs as written, and the replay fails at once when
  that port is taken, naming what holds it.

At the end, the project folder must hold exactly the files of stage NN.
"""

import os
import shlex
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .changes import generated_project, normalize_generated, stage01_django
from .compare import matches
from .fragments import ReaderFiles
from .normalize import normalize
from .paths import BUILD, PROJECT_DIR_NAME, VENV_BIN, stage_dir, stage_files, where
from .processes import clean_env, port_holder, port_problem, reserve_port, spawn
from .reader import READER_PASSWORD, Reader, load_action
from .session import SessionError, Shell, run_statement, statements
from .shell_start import ShellStartError, startup_output
from .start import missing_installs, recipe_blocks, stage_zip, unpack

COMMAND_TIMEOUT = 180
# The page's fixed ports, which each replay moves to ports of its own.
RUNSERVER_PORT = 8000
SMTP_PORT = 1025
REPLAY_SITE = Path(__file__).with_name("replay_site")
SETTLE_TIMEOUT = 60
QUIET_PERIOD = 1.0
# Django's StatReloader checks files once a second; give it two.
RELOADER_TICK = 2.0


class ReplayError(AssertionError):
    pass


@dataclass
class Step:
    kind: str  # "command", "interrupt" or "watch" (more output of a running command)
    command: str
    expected: list = field(default_factory=list)
    offset: int = 0  # line within the block


def parse_console(text):
    steps = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("$ "):
            command, start = line[2:], i
            while command.endswith("\\") and i + 1 < len(lines):
                i += 1
                command = command[:-1].rstrip() + " " + lines[i].strip()
            steps.append(Step("command", command.strip(), offset=start))
        elif line.strip() == "^C":
            steps.append(Step("interrupt", "^C", offset=i))
        elif steps:
            steps[-1].expected.append(line)
        elif line.strip():
            # Output before any command: what a command already running in
            # this terminal prints next.
            steps.append(Step("watch", "", expected=[line], offset=i))
        i += 1
    return steps


def _matches(expected_lines, actual_text):
    # Only what the page marks as elided may differ: see compare.py.
    return matches(expected_lines, actual_text)


def _difference(expected_lines, actual_text):
    want = normalize("\n".join(expected_lines)) or "(nothing)"
    got = normalize(actual_text) or "(nothing)"
    return (
        "The page shows:\n" + _indent(want) + "\nThe real run printed:\n" + _indent(got)
    )


def _indent(text):
    return "\n".join("    " + line for line in text.splitlines())


class Background:
    """A long-running command, as in the reader's second terminal.

    *rewrite* maps its raw output to what the reader would see (the replay
    runs ``runserver`` on a port of its own and shows it as port 8000).
    """

    def __init__(self, command, cwd, env, run=None, rewrite=None):
        self.command = command
        self.rewrite = rewrite or (lambda text: text)
        self.process = spawn(
            ["bash", "-c", "exec " + (run or command)],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.chunks = []
        self.lock = threading.Lock()
        self.last_output = time.monotonic()
        self.mark = 0
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for chunk in iter(lambda: self.process.stdout.read1(4096), b""):
            with self.lock:
                self.chunks.append(chunk)
                self.last_output = time.monotonic()

    def text(self):
        with self.lock:
            return self.rewrite(b"".join(self.chunks).decode("utf-8", "replace"))

    def since_mark(self):
        return self.text()[self.mark :]

    def settle(self, expected):
        """Wait until the output since the mark matches *expected*.

        With nothing expected, wait until the output has been quiet a moment.
        """
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while time.monotonic() < deadline:
            quiet = time.monotonic() - self.last_output >= QUIET_PERIOD
            if quiet and (not expected or _matches(expected, self.since_mark())):
                return True
            if self.process.poll() is not None and quiet:
                break
            time.sleep(0.1)
        return not expected or _matches(expected, self.since_mark())

    def interrupt(self):
        self.mark = len(self.text())
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            raise ReplayError(
                f"{self.command!r} did not stop within 20 s of Ctrl+C"
            ) from None
        self.reader.join(timeout=5)
        return self.process.returncode


def reloads(argv):
    """Whether a command restarts itself when a file of the project changes.

    runserver and db_worker do, under Django's autoreloader, unless told
    not to (with DEBUG on, the tutorial's setting).
    """
    return (
        argv[:2] == ["python", "manage.py"]
        and argv[2:3] in (["runserver"], ["db_worker"])
        and "--noreload" not in argv
        and "--no-reload" not in argv
    )


def is_long_running(argv):
    if argv[:2] == ["python", "manage.py"] and len(argv) > 2:
        if argv[2] == "runserver":
            return True
        if argv[2] == "db_worker" and "--batch" not in argv:
            return True
    # A local SMTP server that prints the messages it receives.
    return argv[:3] == ["python", "-m", "aiosmtpd"]


class Replay:
    def __init__(self, part, blocks, workdir, transcript=None):
        self.part = part
        self.blocks = blocks
        self.workdir = Path(workdir)
        self.transcript = transcript
        self.shell = None
        # terminal name -> the long-running command it shows
        self.backgrounds = {}
        self.reader = Reader(self)
        # PROOF_KEEP_GOING=1: note every mismatch in the transcript and go on,
        # which is how a writer collects the real output of a new page.
        self.keep_going = bool(os.environ.get("PROOF_KEEP_GOING"))
        self.failures = []
        # Stand-in: the page's fixed ports, on ports reserved for this replay.
        self.reserved = {RUNSERVER_PORT: reserve_port(), SMTP_PORT: reserve_port()}
        self.ports = {shown: s.getsockname()[1] for shown, s in self.reserved.items()}
        self.env = clean_env(
            PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            # No __pycache__ folders in the reader's project.
            PYTHONDONTWRITEBYTECODE="1",
            PYTHONPATH=os.pathsep.join(
                filter(None, [str(REPLAY_SITE), os.environ.get("PYTHONPATH")])
            ),
            PROOF_CONNECT=",".join(
                f"{shown}={real}" for shown, real in self.ports.items()
            ),
        )
        if part == 1:
            # The page creates the project wherever it likes; see `project`.
            self._project = None
            self.cwd = self.workdir
        else:
            # The reader starts from the previous part's download and follows
            # part 0's recipe, block by block (see start.py).
            unpack(stage_zip(part - 1), self.workdir)
            self._project = self.workdir / PROJECT_DIR_NAME
            self.cwd = self.workdir
            recipe = recipe_blocks(BUILD / "doctrees", part)
            forgotten = missing_installs(BUILD / "doctrees", part, recipe)
            if forgotten:
                raise ReplayError(
                    f"part 0's recipe for starting with part {part} does not "
                    "install "
                    + ", ".join(
                        f"{name} (part {number} installs it)"
                        for name, number in sorted(forgotten.items())
                    )
                )
            for block in recipe:
                self.do_console(block)
            if self.cwd != self.project.resolve():
                raise ReplayError(
                    f"after part 0's recipe, the reader should be in "
                    f"{PROJECT_DIR_NAME}/, not in {self.cwd}"
                )

    _reader_files = None

    @property
    def reader_files(self):
        """The files the page has shown, as the reader has them (fragments.py)."""
        if self._reader_files is None:
            self._reader_files = ReaderFiles(previous=self._generated_by_stage_django)
        return self._reader_files

    def _generated_by_stage_django(self, relative):
        """What startproject wrote, as the Django that made stage 1 writes it.

        Under another release (CI's Django 6.0 job), the reader's own
        startproject writes other settings; the page's edits are checked
        against the files of the release the stages were made with.
        """
        import django

        if self.part != 1 or django.get_version() == stage01_django():
            return None
        generated = generated_project() / relative
        return generated.read_text() if generated.is_file() else None

    @property
    def project(self):
        """The reader's project folder: the one named like the stage's."""
        if self._project is None:
            found = sorted(self.workdir.glob(f"**/{PROJECT_DIR_NAME}/manage.py"))
            if found:
                self._project = found[0].parent
            else:
                return self.workdir / PROJECT_DIR_NAME
        return self._project

    # -- reporting -----------------------------------------------------------

    def log(self, text):
        if self.transcript is not None:
            self.transcript.write(text.rstrip("\n") + "\n")

    def fail(self, block, offset, message):
        line = page_line(block, offset)
        text = f"{where(block.source, line)}: {message}"
        if self.keep_going:
            self.failures.append(text)
            self.log("!!! " + text.replace("\n", "\n!!! "))
            return
        raise ReplayError(text)

    # -- the walk ------------------------------------------------------------

    def run(self):
        try:
            for block in self.blocks:
                handler = getattr(self, f"do_{block.kind}", None)
                if handler is None:
                    self.fail(
                        block, 0, f"a block of kind {block.kind!r} cannot be replayed"
                    )
                handler(block)
            try:
                self.finish()
            except ReplayError as error:
                if not self.keep_going:
                    raise
                self.failures.append(str(error))
        finally:
            self.close()
        if self.failures:
            raise ReplayError("\n\n".join(self.failures))

    def close(self):
        if self.shell is not None:
            self.shell.close()
            self.shell = None
        for background in self.backgrounds.values():
            if background.process.poll() is None:
                background.interrupt()
        self.backgrounds = {}
        for reservation in self.reserved.values():
            reservation.close()

    def server_url(self):
        for background in self.backgrounds.values():
            if getattr(background, "port", None) and background.process.poll() is None:
                return f"http://127.0.0.1:{background.port}"
        raise ReplayError("a reader action needs the site, but no runserver is running")

    def do_action(self, block):
        self.log(f"# {block.place}: the reader does {block.text}()")
        try:
            action = load_action(self.part, block.text)
            action(self.reader)
        except (AssertionError, LookupError, OSError) as error:
            self.fail(block, 0, f"reader action {block.text}(): {error}")

    def do_illustrative(self, block):
        self.log(f"# {block.place}: illustrative, not run")

    def do_include(self, block):
        number, relative = block.stage
        if number != self.part:
            return
        target = self.project / relative
        source = stage_dir(number) / relative
        # The reader's file holds what the page has shown of it so far.
        text, problems = self.reader_files.apply(block, self.project, source)
        for problem in problems:
            self.fail(block, 0, problem)
        if target.is_file() and target.read_text() == text:
            # Nothing new for the reader to save (and a save would restart
            # the reloaders).
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        self.log(f"# {block.place}: the reader edits {relative}")
        self.let_reloaders_notice()

    def let_reloaders_notice(self):
        """Give running commands the moment a reader needs between steps.

        A worker or server started by the page runs under Django's
        autoreloader, which looks for changed files every second. A reader
        who saves a file and turns to the next step gives it that second;
        the replay waits as long, then until the commands' output settles.
        """
        running = [
            b
            for b in self.backgrounds.values()
            if b.process.poll() is None and reloads(shlex.split(b.command))
        ]
        if not running:
            return
        time.sleep(RELOADER_TICK)
        for background in running:
            background.settle([])

    def do_pycon(self, block):
        if self.shell is None:
            self.fail(
                block,
                0,
                "a Python session, but the page has not started "
                "`python manage.py shell` yet",
            )
        self.log(f"# {block.place}: shell session")
        try:
            typed = statements(block.text)
        except SessionError as error:
            self.fail(block, 0, str(error))
            return
        for statement in typed:
            try:
                offset, problem, output = run_statement(self.shell, statement)
            except SessionError as error:
                self.shell = None
                self.fail(
                    block,
                    statement.lines[0][0],
                    f"{statement.source.strip()!r}\n{error}",
                )
                return
            self.log(">>> " + statement.source.replace("\n", "\n... "))
            if output:
                self.log(output)
            if problem:
                self.fail(block, offset, f"{statement.source.strip()!r}\n{problem}")

    def do_console(self, block):
        try:
            steps = parse_console(block.text)
        except ReplayError as error:
            self.fail(block, 0, str(error))
        terminal = block.attributes.get("terminal", "main")
        for step in steps:
            if step.kind == "interrupt":
                self.interrupt(block, step, terminal)
            elif step.kind == "watch":
                self.watch(block, step, terminal)
            else:
                self.command(block, step, terminal)

    # -- commands ------------------------------------------------------------

    def command(self, block, step, terminal="main"):
        place = where(block.source, page_line(block, step.offset))
        self.log(f"$ {step.command}    # {place}")
        try:
            argv = shlex.split(step.command)
        except ValueError as error:
            self.fail(block, step.offset, f"cannot parse the command: {error}")
        if argv[0] == "cd":
            target = (self.cwd / argv[1]).resolve()
            if not target.is_dir():
                self.fail(block, step.offset, f"`cd {argv[1]}`: no such folder")
            self.cwd = target
            return
        if argv[0] == "source" and argv[1].endswith("/bin/activate"):
            return
        if argv[:3] == ["python", "manage.py", "shell"]:
            if any(line.strip() for line in step.expected):
                # What the real shell prints before its prompt (shell_start.py).
                try:
                    output = startup_output(step.command, self.cwd, self.env)
                except ShellStartError as error:
                    self.fail(block, step.offset, str(error))
                else:
                    self.log(output)
                    if not _matches(step.expected, output):
                        self.fail(
                            block,
                            step.offset,
                            f"`{step.command}`\n" + _difference(step.expected, output),
                        )
            if self.shell is not None:
                self.shell.close()
            self.shell = Shell(self.cwd, self.env)
            return
        if is_long_running(argv):
            self.start_background(block, step, terminal, argv)
            return
        if argv[:4] == ["python", "-m", "pip", "install"]:
            self.pip_install(block, step, argv)
            return
        run, env, expected = step.command, self.env, step.expected
        if argv[:3] == ["python", "manage.py", "createsuperuser"]:
            # Stand-in: the password prompts need a terminal; the replay
            # answers them through the documented environment variable.
            run = step.command + " --noinput"
            env = {**self.env, "DJANGO_SUPERUSER_PASSWORD": READER_PASSWORD}
            expected = [
                line for line in step.expected if not line.startswith("Password")
            ]
        step = Step(step.kind, step.command, expected, step.offset)
        done = subprocess.run(
            ["bash", "-c", run],
            cwd=self.cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            timeout=COMMAND_TIMEOUT,
        )
        output = done.stdout.decode("utf-8", "replace")
        self.log(output)
        shown = any(line.strip() for line in step.expected)
        if shown and not _matches(step.expected, output):
            self.fail(
                block,
                step.offset,
                f"`{step.command}`\n" + _difference(step.expected, output),
            )
        if done.returncode != 0 and not shown:
            self.fail(
                block,
                step.offset,
                f"`{step.command}` failed (exit status {done.returncode}) and "
                f"the page does not show an error:\n{_indent(output)}",
            )

    def pip_install(self, block, step, argv):
        done = subprocess.run(
            [str(VENV_BIN / "python"), "-m", "pip", "install", "--dry-run", *argv[4:]],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
        )
        output = done.stdout + done.stderr
        self.log(output)
        if done.returncode != 0 or "Would install" in output:
            self.fail(
                block,
                step.offset,
                f"`{step.command}` does not install what requirements.txt pins:\n"
                + _indent(output),
            )

    def start_background(self, block, step, terminal, argv):
        running = self.backgrounds.get(terminal)
        if running is not None and running.process.poll() is None:
            self.fail(
                block,
                step.offset,
                f"`{step.command}` starts in the {terminal!r} terminal while "
                f"`{running.command}` still runs there; stop it first (a ^C line)",
            )
        run, rewrite, port, listens = None, None, None, None
        if argv[2:3] == ["runserver"]:
            if len(argv) > 3:
                self.fail(
                    block,
                    step.offset,
                    "the replay runs runserver without arguments only",
                )
            # Stand-in: the replay's port, shown as the default 8000.
            port = listens = self.ports[RUNSERVER_PORT]
            run = f"{step.command} 127.0.0.1:{port}"
            rewrite = self.shown_as(RUNSERVER_PORT)
        elif argv[:3] == ["python", "-m", "aiosmtpd"]:
            run, rewrite, listens = self.smtp_stand_in(block, step, argv)
        background = Background(
            step.command, self.cwd, self.env, run=run, rewrite=rewrite
        )
        background.port = port
        background.listens = listens
        self.backgrounds[terminal] = background
        if not background.settle(step.expected):
            output = background.text()
            self.log(output)
            self.fail(
                block,
                step.offset,
                f"`{step.command}`\n" + _difference(step.expected, output),
            )
        elif background.process.poll() is not None:
            output = background.text()
            self.log(output)
            holder = port_holder(listens) if listens else None
            held = (
                f"\nIts port, 127.0.0.1:{listens}, is held by {holder}."
                if holder
                else ""
            )
            self.fail(
                block,
                step.offset,
                f"`{step.command}` should keep running, but it stopped (exit status "
                f"{background.process.returncode}):\n{_indent(output)}{held}",
            )
        self.log(background.text())
        background.mark = len(background.text())

    def shown_as(self, shown):
        """Output rewritten from this replay's port to the page's *shown* port."""
        real = self.ports[shown]
        return lambda text: text.replace(f"127.0.0.1:{real}", f"127.0.0.1:{shown}")

    def smtp_stand_in(self, block, step, argv):
        """(command to run, output rewrite, port) for ``python -m aiosmtpd``.

        127.0.0.1:1025 moves to the replay's port. Any other address cannot
        be moved (the reader's code would not find it): it runs as written,
        and fails at once when its port is taken.
        """
        argv = list(argv)
        for i, word in enumerate(argv):
            if word in ("-l", "--listen") and i + 1 < len(argv):
                position, value = i + 1, argv[i + 1]
                break
            if word.startswith("--listen="):
                position, value = i, word.split("=", 1)[1]
                break
        else:
            self.fail(
                block,
                step.offset,
                f"`{step.command}` listens on aiosmtpd's default address; the page "
                f"should name it: -l 127.0.0.1:{SMTP_PORT}, "
                "where the stages' MAILERS send",
            )
            return None, None, None
        host, _, port = value.rpartition(":")
        if host == "127.0.0.1" and port == str(SMTP_PORT):
            real = self.ports[SMTP_PORT]
            argv[position] = argv[position].replace(value, f"127.0.0.1:{real}")
            return shlex.join(argv), self.shown_as(SMTP_PORT), real
        problem = port_problem(int(port)) if port.isdigit() else None
        if problem:
            self.fail(
                block,
                step.offset,
                f"`{step.command}` needs a port the replay cannot move: {problem}",
            )
        return None, None, int(port) if port.isdigit() else None

    def running_in(self, block, step, terminal):
        background = self.backgrounds.get(terminal)
        if background is None or background.process.poll() is not None:
            self.fail(
                block,
                step.offset,
                f"no command is running in the {terminal!r} terminal",
            )
            return None
        return background

    def watch(self, block, step, terminal):
        background = self.running_in(block, step, terminal)
        if background is None:
            return
        settled = background.settle(step.expected)
        output = background.since_mark()
        self.log(f"# more output in the {terminal!r} terminal\n" + output)
        if not settled:
            self.fail(
                block,
                step.offset,
                f"in the {terminal!r} terminal\n" + _difference(step.expected, output),
            )
        background.mark = len(background.text())

    def interrupt(self, block, step, terminal="main"):
        background = self.running_in(block, step, terminal)
        if background is None:
            return
        background.interrupt()
        output = background.since_mark()
        self.log("^C\n" + output)
        if not _matches(step.expected, output):
            self.fail(
                block,
                step.offset,
                "after Ctrl+C\n" + _difference(step.expected, output),
            )
        del self.backgrounds[terminal]

    # -- the end ---------------------------------------------------------------

    def finish(self):
        self.close()
        expected = stage_dir(self.part)
        if not self.project.is_dir():
            raise ReplayError(
                f"the page never created the project folder {PROJECT_DIR_NAME}/"
            )
        ours = set(stage_files(self.project))
        theirs = set(stage_files(expected))
        problems = list(self.reader_files.leftovers())
        for relative in sorted(theirs - ours):
            problems.append(f"missing after the replay: {relative}")
        for relative in sorted(ours - theirs):
            problems.append(
                f"left by the replay but not in stage{self.part:02d}: {relative}"
            )
        for relative in sorted(ours & theirs):
            mine = normalize_generated((self.project / relative).read_text())
            stage = normalize_generated((expected / relative).read_text())
            if mine != stage:
                problems.append(f"differs from stage{self.part:02d}: {relative}")
        if problems:
            raise ReplayError(
                f"after following part {self.part:02d}, the reader's project is not "
                f"tutorial_project/stage{self.part:02d}:\n  " + "\n  ".join(problems)
            )


def page_line(block, offset):
    """The page line of line *offset* (from 0) of a block's content."""
    try:
        source = Path(block.source).read_text().splitlines()
    except OSError:
        return block.line
    first = next((line.strip() for line in block.text.splitlines() if line.strip()), "")
    for number in range(max(block.line - 1, 0), len(source)):
        if first and source[number].strip() == first:
            start = number - next(
                i for i, line in enumerate(block.text.splitlines()) if line.strip()
            )
            return start + offset + 1
    return block.line
