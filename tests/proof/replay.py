"""Follow a part the way a reader does, and check every step against the page.

The replay starts where the reader starts: for part 1 an empty folder, for
part NN the download of stage NN-1, unpacked and set up by part 0's recipe
(see :mod:`start`). It then walks the page's blocks in order:

- a console block (:mod:`steps`) runs its ``$`` commands for real, in the
  folder the page has ``cd``-ed into, and compares any output the page
  shows (:mod:`compare`); a long-running command starts in the background,
  as in a second terminal (:mod:`terminals`);
- an included stage file is written into the project as the reader has it
  at that step, with what the page has shown of it so far (see
  :mod:`fragments`);
- a ``pycon`` block is typed into the open shell (see :mod:`session`);
- a reader action does in the browser what the prose asks (:mod:`reader`);
- an illustrative block does nothing.

A command that cannot run as written inside a test has one stand-in,
listed in :data:`standins.STAND_INS`; every other command runs for real.

At the end, the project folder must hold exactly the files of stage NN.
"""

import os
import shlex
import subprocess
import time
from pathlib import Path

from .changes import generated_project, normalize_generated, stage01_django
from .compare import difference, indent, matches
from .fragments import ReaderFiles
from .paths import BUILD, PROJECT_DIR_NAME, VENV_BIN, stage_dir, stage_files, where
from .processes import clean_env, no_formatter_on, port_holder
from .reader import Reader, load_action
from .server import ReplayServer
from .session import SessionError, run_statement, statements
from .standins import (
    COMMAND_TIMEOUT,
    SMTP_PORT,
    connect_setting,
    reserve_page_ports,
    stand_in_for,
)
from .start import (
    missing_installs,
    recipe_blocks,
    server_recipe,
    stage_zip,
    unpack,
)
from .steps import ReplayError, Step, page_line, parse_console
from .terminals import RELOADER_TICK, Background, reloads

# What the checkers import from here (test_ports.py, interrupted_run.py).
__all__ = ["SMTP_PORT", "Background", "Replay", "ReplayError"]

REPLAY_SITE = Path(__file__).with_name("replay_site")


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
        # Part 7's server: PostgreSQL, the environment file, the services.
        self.server = ReplayServer(self)
        # terminal name -> its environment, where it differs from self.env
        # (a terminal that loaded the server's environment file)
        self.terminal_env = {}
        # PROOF_KEEP_GOING=1: note every mismatch in the transcript and go on,
        # which is how a writer collects the real output of a new page.
        self.keep_going = bool(os.environ.get("PROOF_KEEP_GOING"))
        self.failures = []
        # The page's fixed ports, on ports reserved for this replay.
        self.reserved = reserve_page_ports()
        self.ports = {shown: s.getsockname()[1] for shown, s in self.reserved.items()}
        self.env = clean_env(
            PATH=no_formatter_on(f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"),
            # No __pycache__ folders in the reader's project.
            PYTHONDONTWRITEBYTECODE="1",
            PYTHONPATH=os.pathsep.join(
                filter(None, [str(REPLAY_SITE), os.environ.get("PYTHONPATH")])
            ),
            PROOF_CONNECT=connect_setting(self.ports),
        )
        if part == 1:
            # The page creates the project wherever it likes; see `project`.
            self._project = None
            self.cwd = self.workdir
        else:
            self._project = self.workdir / PROJECT_DIR_NAME
            self.cwd = self.workdir
            self.start_from_previous_part()

    def start_from_previous_part(self):
        """Start as part 0's recipe says, from the previous part's download."""
        unpack(stage_zip(self.part - 1), self.workdir)
        recipe = recipe_blocks(BUILD / "doctrees", self.part)
        forgotten = missing_installs(BUILD / "doctrees", self.part, recipe)
        if forgotten:
            raise ReplayError(
                f"part 0's recipe for starting with part {self.part} does not "
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
        # After part 7, the server as part 7 sets it up (see start.py); its
        # site user's terminal ends in the project too.
        for block in server_recipe(BUILD / "doctrees", self.part):
            self.do_console(block)

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

    def env_for(self, terminal):
        """The environment of the commands typed in *terminal*."""
        return self.terminal_env.get(terminal, self.env)

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

    def compare(self, block, step, output, heading):
        """Fail unless *output* matches what the page shows for *step*."""
        if not matches(step.expected, output):
            self.fail(
                block, step.offset, heading + "\n" + difference(step.expected, output)
            )

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
        self.server.close()
        for background in self.backgrounds.values():
            if background.running():
                background.interrupt()
        self.backgrounds = {}
        for reservation in self.reserved.values():
            reservation.close()

    def server_url(self):
        for background in self.backgrounds.values():
            if background.port and background.running():
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
            if b.running() and reloads(shlex.split(b.command))
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
        terminal = block.attributes.get("terminal", "main")
        for step in parse_console(block.text):
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
            return
        stand_in = stand_in_for(argv)
        if stand_in is None:
            self.run_command(block, step, env=self.env_for(terminal))
        else:
            stand_in.do(self, block, step, argv, terminal)

    def run_command(self, block, step, run=None, env=None, expected=None):
        """Run a command to its end and compare its output with the page's.

        A stand-in may run *run* instead, with *env*, and compare only the
        *expected* lines.
        """
        if expected is not None:
            step = Step(step.kind, step.command, expected, step.offset)
        done = subprocess.run(
            ["bash", "-c", run or step.command],
            cwd=self.cwd,
            env=env or self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            timeout=COMMAND_TIMEOUT,
        )
        output = done.stdout.decode("utf-8", "replace")
        self.log(output)
        shown = any(line.strip() for line in step.expected)
        if shown:
            self.compare(block, step, output, f"`{step.command}`")
        if done.returncode != 0 and not shown:
            self.fail(
                block,
                step.offset,
                f"`{step.command}` failed (exit status {done.returncode}) and "
                f"the page does not show an error:\n{indent(output)}",
            )

    def check_terminal_free(self, block, step, terminal):
        running = self.backgrounds.get(terminal)
        if running is not None and running.running():
            self.fail(
                block,
                step.offset,
                f"`{step.command}` starts in the {terminal!r} terminal while "
                f"`{running.command}` still runs there; stop it first (a ^C line)",
            )

    def start_background(
        self, block, step, terminal, run=None, rewrite=None, port=None, listens=None
    ):
        """Start a long-running command in *terminal* (see terminals.py).

        *run* and *rewrite* are a stand-in's (what runs instead, and how its
        output reads as the page's); *port* is the site's port, when it
        serves the site, and *listens* the port it listens on.
        """
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
                f"`{step.command}`\n" + difference(step.expected, output),
            )
        elif not background.running():
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
                f"{background.process.returncode}):\n{indent(output)}{held}",
            )
        self.log(background.text())
        background.mark = len(background.text())

    def running_in(self, block, step, terminal):
        background = self.backgrounds.get(terminal)
        if background is None or not background.running():
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
                f"in the {terminal!r} terminal\n" + difference(step.expected, output),
            )
        background.mark = len(background.text())

    def interrupt(self, block, step, terminal="main"):
        background = self.running_in(block, step, terminal)
        if background is None:
            return
        background.interrupt()
        output = background.since_mark()
        self.log("^C\n" + output)
        self.compare(block, step, output, "after Ctrl+C")
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
