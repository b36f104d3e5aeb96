"""Where a replay starts: part 0's recipe, and the real shell's first lines.

- ``recipe_blocks`` picks the console blocks of part 0's section "Start from
  a later part" that a reader of a given part types, by the words
  ``From part N on`` before a block; the real page's recipe installs and
  creates what the later parts need, and only from the part that needs it;
  ``missing_installs`` names a package an earlier part installs and the
  recipe forgets.
- ``startup_output`` reads what a command prints in a terminal before its
  first ``>>>`` prompt, and the replay fails when the page shows otherwise.
"""

import pickle
import shutil
import sys

import pytest
from checker.pages import page_block
from docutils import nodes
from docutils.frontend import get_default_settings
from docutils.parsers.rst import Parser
from docutils.utils import new_document

from proof.paths import stage_dir
from proof.replay import Replay, ReplayError
from proof.shell_start import ShellStartError, startup_output
from proof.start import (
    RecipeError,
    missing_installs,
    pip_installs,
    recipe_blocks,
    stage_zip,
    unpack,
)


def _console(command):
    return nodes.container("", console_source=command, proof_kind="console")


def _doctrees(tmp_path, section_id="start-from-a-later-part"):
    """A part 0 with a recipe of three blocks, as the site's doctree holds it."""
    document = new_document("part00.txt", get_default_settings(Parser))
    section = nodes.section(ids=[section_id])
    section += nodes.title("", "Start from a later part")
    section += nodes.paragraph("", "Create a virtual environment:")
    section += _console("$ echo every part")
    section += nodes.paragraph("", "From part 4 on, install the mail server:")
    section += _console("$ echo from part 4")
    section += nodes.paragraph("", "Then create the database:")
    section += _console("$ echo every part, later")
    document += section
    folder = tmp_path / "doctrees" / "tutorial"
    folder.mkdir(parents=True)
    with open(folder / "part00.doctree", "wb") as f:
        pickle.dump(document, f)
    return tmp_path / "doctrees"


def _commands(blocks):
    return [block.text for block in blocks]


def test_a_block_from_a_later_part_is_left_out_before_it(tmp_path):
    doctrees = _doctrees(tmp_path)
    assert _commands(recipe_blocks(doctrees, 3)) == [
        "$ echo every part",
        "$ echo every part, later",
    ]
    assert _commands(recipe_blocks(doctrees, 4)) == [
        "$ echo every part",
        "$ echo from part 4",
        "$ echo every part, later",
    ]


def test_a_part_0_without_the_recipe_fails(tmp_path):
    with pytest.raises(RecipeError, match="start-from-a-later-part"):
        recipe_blocks(_doctrees(tmp_path, section_id="elsewhere"), 2)


def test_the_pages_recipe_sets_up_what_each_part_needs(site):
    def commands(part):
        return "\n".join(_commands(recipe_blocks(site.doctrees, part)))

    for part in (2, 3, 4, 5, 6):
        assert "python manage.py migrate" in commands(part), part
        assert '"Django>=6.1"' in commands(part), part
    # Part 2 creates the staff account, part 3 installs aiosmtpd, part 5 the
    # debug toolbar: the recipe asks for each from the next part on.
    for part, needed in (
        (3, "createsuperuser --username admin --email admin@example.com"),
        (4, "pip install aiosmtpd"),
        (6, "pip install django-debug-toolbar"),
    ):
        assert needed not in commands(part - 1), (part, needed)
        assert needed in commands(part), (part, needed)


def test_a_recipe_that_forgets_a_package_of_an_earlier_part_fails(site):
    recipe = recipe_blocks(site.doctrees, 4)
    assert missing_installs(site.doctrees, 4, recipe) == {}
    without_smtp = [b for b in recipe if "aiosmtpd" not in b.text]
    assert missing_installs(site.doctrees, 4, without_smtp) == {"aiosmtpd": 3}
    assert pip_installs('$ python -m pip install "Django>=6.1" Django_Tasks.DB') == {
        "django",
        "django-tasks-db",
    }


def test_the_stage_zip_is_the_sites_download(site, tmp_path):
    unpack(stage_zip(1, site.html), tmp_path)
    assert (tmp_path / "community" / "manage.py").read_bytes() == (
        stage_dir(1) / "manage.py"
    ).read_bytes()
    with pytest.raises(RecipeError, match="stage99.zip"):
        stage_zip(99, site.html)


def test_startup_output_reads_up_to_the_prompt(tmp_path):
    command = (
        f"{sys.executable} -c \"import code; print('before'); "
        "code.interact(banner='a banner', exitmsg='')\""
    )
    assert startup_output(command, tmp_path, {"PATH": "/usr/bin:/bin"}) == (
        "before\na banner\n"
    )


def test_startup_output_fails_when_no_prompt_comes(tmp_path):
    with pytest.raises(ShellStartError, match="before its prompt"):
        startup_output("echo no shell here", tmp_path, {"PATH": "/usr/bin:/bin"})


def test_replay_compares_the_shells_first_lines(tmp_path):
    work = tmp_path / "work"
    shutil.copytree(
        stage_dir(1),
        work / "community",
        ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"),
    )
    wrong = page_block(
        tmp_path,
        "$ cd community\n$ python manage.py shell\n"
        "99 objects imported automatically (use -v 2 for details).\n...",
    )
    replay = Replay(1, [wrong], work)
    try:
        with pytest.raises(ReplayError) as failure:
            replay.do_console(wrong)
    finally:
        replay.close()
    message = str(failure.value)
    assert "partXX.txt:6:" in message
    shown, printed = message.split("The real run printed:")
    assert "99 objects" in shown
    assert "objects imported automatically" in printed and "99 objects" not in printed
    assert "(InteractiveConsole)" in printed
