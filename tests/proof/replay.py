"""Follow a part the way a reader does, and check every step against the page.

The replay starts where the reader starts: for part 1 an empty folder, for
part NN a copy of stage NN-1 (its database fresh). It then walks the page's
blocks in order:

- a console block runs its ``$`` commands for real, in the folder the page
  has ``cd``-ed into, and compares any output the page shows;
- an included stage file is written into the project, as the reader's edit;
- a ``pycon`` block runs in the open shell (see :mod:`session`);
- an illustrative block does nothing.

Some commands cannot run as written inside a test; each has one documented
stand-in (docs/project/testing.md keeps the same list):

- ``source .venv/bin/activate``: the proof's own interpreter, whose
  environment holds exactly requirements.txt, plays the reader's
  virtual environment, so activating is a no-op;
- ``python -m pip install ...`` runs with ``--dry-run`` in that environment
  and fails if pip would install anything: the page installs what the
  proof tests;
- ``python manage.py shell`` opens the session shell;
- a long-running command (``db_worker`` without ``--batch``, ``runserver``)
  starts in the background, as in a second terminal; the replay waits until
  its output matches what the page shows, and a ``^C`` line sends it SIGINT
  exactly as Ctrl+C does. Whatever still runs at the end of the page gets
  SIGINT too.

At the end, the project folder must hold exactly the files of stage NN.
"""

import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .changes import normalize_generated
from .normalize import normalize
from .paths import PROJECT_DIR_NAME, VENV_BIN, stage_dir, stage_files, where
from .processes import clean_env, copy_stage, free_port
from .reader import READER_PASSWORD, Reader, load_action
from .session import Shell, check_example, examples

import doctest

COMMAND_TIMEOUT = 180
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
    want = normalize("\n".join(expected_lines))
    got = normalize(actual_text)
    checker = doctest.OutputChecker()
    return checker.check_output(want + "\n", got + "\n", doctest.ELLIPSIS)


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
    runs ``runserver`` on a free port and shows it as port 8000).
    """

    def __init__(self, command, cwd, env, run=None, rewrite=None):
        self.command = command
        self.rewrite = rewrite or (lambda text: text)
        self.process = subprocess.Popen(
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
        return self.text()[self.mark:]

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
            raise ReplayError(f"{self.command!r} did not stop within 20 s of Ctrl+C")
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
        self.env = clean_env(
            PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            # No __pycache__ folders in the reader's project.
            PYTHONDONTWRITEBYTECODE="1",
        )
        if part == 1:
            # The page creates the project wherever it likes; see `project`.
            self._project = None
            self.cwd = self.workdir
        else:
            self._project = self.workdir / PROJECT_DIR_NAME
            copy_stage(part - 1, self._project)
            self.cwd = self.project
            # The reader's database already has the previous parts'
            # migrations: apply them quietly, as setup the page doesn't show.
            done = subprocess.run(
                ["python", "manage.py", "migrate", "--verbosity", "0"],
                cwd=self.project, env=self.env, capture_output=True, text=True,
                timeout=COMMAND_TIMEOUT,
            )
            if done.returncode != 0:
                raise ReplayError(
                    f"stage{part - 1:02d} does not migrate:\n{done.stdout}{done.stderr}"
                )
            # Whatever else the reader has from earlier parts (an account,
            # say): tests/stageNN/reader_actions.py's before_part(reader).
            try:
                before_part = load_action(part, "before_part")
            except LookupError:
                before_part = None
            if before_part is not None:
                before_part(self.reader)

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
                    self.fail(block, 0, f"a block of kind {block.kind!r} cannot be replayed")
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
        if target.is_file() and target.read_bytes() == source.read_bytes():
            # Shown again, unchanged: the reader has nothing to save (and a
            # save would restart the reloaders).
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
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
            b for b in self.backgrounds.values()
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
                block, 0,
                "a Python session, but the page has not started "
                "`python manage.py shell` yet",
            )
        self.log(f"# {block.place}: shell session")
        for example in examples(block.text):
            result = self.shell.run(example.source)
            self.log(">>> " + example.source.rstrip("\n").replace("\n", "\n... "))
            self.log(result["output"])
            problem = check_example(example, result)
            if problem:
                self.fail(block, example.lineno, f"{example.source.strip()!r}\n{problem}")

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
        self.log(f"$ {step.command}    # {where(block.source, page_line(block, step.offset))}")
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
            if step.expected:
                self.fail(
                    block, step.offset,
                    "the page shows output for an interactive shell; show the "
                    "session in a pycon block instead",
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
            expected = [line for line in step.expected if not line.startswith("Password")]
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
            self.fail(block, step.offset, f"`{step.command}`\n" + _difference(step.expected, output))
        if done.returncode != 0 and not shown:
            self.fail(
                block, step.offset,
                f"`{step.command}` failed (exit status {done.returncode}) and "
                f"the page does not show an error:\n{_indent(output)}",
            )

    def pip_install(self, block, step, argv):
        done = subprocess.run(
            [str(VENV_BIN / "python"), "-m", "pip", "install", "--dry-run", *argv[4:]],
            cwd=self.cwd, env=self.env, capture_output=True, text=True,
            timeout=COMMAND_TIMEOUT,
        )
        output = done.stdout + done.stderr
        self.log(output)
        if done.returncode != 0 or "Would install" in output:
            self.fail(
                block, step.offset,
                f"`{step.command}` does not install what requirements.txt pins:\n"
                + _indent(output),
            )

    def start_background(self, block, step, terminal, argv):
        running = self.backgrounds.get(terminal)
        if running is not None and running.process.poll() is None:
            self.fail(
                block, step.offset,
                f"`{step.command}` starts in the {terminal!r} terminal while "
                f"`{running.command}` still runs there; stop it first (a ^C line)",
            )
        run, rewrite, port = None, None, None
        if argv[2:3] == ["runserver"]:
            if len(argv) > 3:
                self.fail(block, step.offset, "the replay runs runserver without arguments only")
            # Stand-in: a free port, shown as the default 8000.
            port = free_port()
            run = f"{step.command} 127.0.0.1:{port}"
            rewrite = lambda text, port=port: text.replace(f"127.0.0.1:{port}", "127.0.0.1:8000")
        background = Background(step.command, self.cwd, self.env, run=run, rewrite=rewrite)
        background.port = port
        self.backgrounds[terminal] = background
        if not background.settle(step.expected):
            output = background.text()
            self.log(output)
            self.fail(block, step.offset, f"`{step.command}`\n" + _difference(step.expected, output))
        elif background.process.poll() is not None:
            output = background.text()
            self.log(output)
            self.fail(
                block, step.offset,
                f"`{step.command}` should keep running, but it stopped (exit status "
                f"{background.process.returncode}):\n{_indent(output)}",
            )
        self.log(background.text())
        background.mark = len(background.text())

    def running_in(self, block, step, terminal):
        background = self.backgrounds.get(terminal)
        if background is None or background.process.poll() is not None:
            self.fail(block, step.offset, f"no command is running in the {terminal!r} terminal")
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
            self.fail(block, step.offset, f"in the {terminal!r} terminal\n" + _difference(step.expected, output))
        background.mark = len(background.text())

    def interrupt(self, block, step, terminal="main"):
        background = self.running_in(block, step, terminal)
        if background is None:
            return
        background.interrupt()
        output = background.since_mark()
        self.log("^C\n" + output)
        if not _matches(step.expected, output):
            self.fail(block, step.offset, "after Ctrl+C\n" + _difference(step.expected, output))
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
        problems = []
        for relative in sorted(theirs - ours):
            problems.append(f"missing after the replay: {relative}")
        for relative in sorted(ours - theirs):
            problems.append(f"left by the replay but not in stage{self.part:02d}: {relative}")
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
