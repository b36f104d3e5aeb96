"""Each part's changes, as a page and as a patch a reader applies.

From part 2 on, the stage box of a part links "Changes in part NN" (a page
with one diff per file) and ``partNN.patch``. Saved next to the
``community/`` folder of the previous stage's download, the patch turns that
folder into the part's stage with either command the box shows, ``git
apply`` or ``patch -p1``: the same files, byte for byte, with the same
executable bits. Part 1 has none: it starts from what ``startproject`` and
``startapp`` generate, with the reader's own secret key, not from a stage.

The patch writer (docs/_ext/stagediff.py) is proven here as well, on
folders that hold every kind of change: new, deleted and empty files, files
without a final newline, a file that becomes executable.
"""

import html
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

# proof.paths puts docs/_ext on the path.
from stagediff import PatchError, build_patch, file_changes  # noqa: E402

from proof.paths import PROJECT_DIR_NAME, stage_dir, stage_files, staged_parts
from proof.sphinx_build import build_small_site, write_stage_site

TOOLS = ("git apply", "patch -p1")
PATCHED_PARTS = [n for n in staged_parts() if stage_dir(n - 1).is_dir()]


def _copy(before, project):
    for relative in stage_files(before):
        target = project / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(Path(before) / relative, target)


def _applied(tmp_path, before, patch_bytes, command):
    """``community/`` made from *before*, with the patch applied.

    *before* is a folder, whose stage files are copied, or a function that
    fills the folder it gets.
    """
    project = tmp_path / PROJECT_DIR_NAME
    if callable(before):
        before(tmp_path)
    else:
        _copy(before, project)
    (tmp_path / "changes.patch").write_bytes(patch_bytes)
    command = command.replace("PATCH", "../changes.patch")
    # The folder must not count as inside a Git repository that holds /tmp.
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(tmp_path)}
    done = subprocess.run(
        command, shell=True, cwd=project, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}{done.stderr}"
    return project


def _differences(ours, expected):
    """What differs between two folders' stage files (noise aside)."""
    mine, theirs = set(stage_files(ours)), set(stage_files(expected))
    problems = [f"missing: {p}" for p in sorted(theirs - mine)]
    problems += [f"extra: {p}" for p in sorted(mine - theirs)]
    for relative in sorted(mine & theirs):
        a, b = Path(ours) / relative, Path(expected) / relative
        if a.read_bytes() != b.read_bytes():
            problems.append(f"content differs: {relative}")
        if (a.stat().st_mode & 0o100) != (b.stat().st_mode & 0o100):
            problems.append(f"executable bit differs: {relative}")
    return problems


# -- The patch writer, on every kind of change -----------------------------------

BEFORE = {
    "manage.py": "run()\n",
    "kept.py": "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n",
    "gone.py": "bye\n",
    "gone_empty/__init__.py": "",
    "no_newline.py": "x\ny",
    "gains_newline.py": "x\ny",
    "loses_newline.py": "x\ny\n",
    "windows.txt": "one\r\ntwo\r\n",
    "feed.txt": "page\x0cbreak\n",
}
AFTER = {
    "manage.py": "run()\n",
    "kept.py": "a\nb\nc\nd\nE\nf\ng\nh\ni\nj\nk\n",
    "new/__init__.py": "",
    "new/module.py": "import os\n",
    "no_newline.py": "x\nY",
    "gains_newline.py": "x\ny\n",
    "loses_newline.py": "x\ny",
    "windows.txt": "one\r\n2\r\n",
    "feed.txt": "page\x0cbreak\nmore\n",
    "added_no_newline.txt": "last",
}
NOISE = {
    "db.sqlite3": "data",
    "mysite/__pycache__/settings.cpython-312.pyc": "bytecode",
    "media/upload.txt": "uploaded",
}


def _folder(root, files, executable=()):
    for name, text in {**files, **NOISE}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())
        path.chmod(0o755 if name in executable else 0o644)
    return root


@pytest.fixture
def pair(tmp_path):
    before = _folder(tmp_path / "before", BEFORE)
    after = _folder(tmp_path / "after", AFTER, executable={"manage.py"})
    return before, after


@pytest.mark.parametrize("tool", TOOLS)
def test_patch_carries_every_kind_of_change(pair, tmp_path, tool):
    before, after = pair
    data = build_patch(before, after)
    command = {"git apply": "git apply PATCH", "patch -p1": "patch -p1 < PATCH"}[tool]
    project = _applied(tmp_path / "apply", before, data, command)
    assert _differences(project, after) == []
    text = data.decode()
    assert "new file mode 100644\nindex " in text  # new/__init__.py, empty
    assert "deleted file mode 100644\n" in text
    assert "old mode 100644\nnew mode 100755\n" in text
    assert text.count("\\ No newline at end of file\n") == 5
    for noise in NOISE:
        assert noise not in text


def test_patch_names_each_change(pair):
    before, after = pair
    statuses = {c.path: c.status for c in file_changes(before, after)}
    assert statuses == {
        "added_no_newline.txt": "added",
        "feed.txt": "changed",
        "gains_newline.py": "changed",
        "gone.py": "deleted",
        "gone_empty/__init__.py": "deleted",
        "kept.py": "changed",
        "loses_newline.py": "changed",
        "manage.py": "mode",
        "new/__init__.py": "added",
        "new/module.py": "added",
        "no_newline.py": "changed",
        "windows.txt": "changed",
    }


def test_patch_bytes_depend_only_on_the_files(pair, tmp_path):
    before, after = pair
    first = build_patch(before, after)
    # Copies made in another order, with other dates and more noise.
    copies = []
    for folder in (before, after):
        copy = tmp_path / "copies" / folder.name
        for relative in reversed(stage_files(folder)):
            target = copy / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(folder / relative, target)
            os.utime(target, (86400, 86400))
        (copy / "extra.sqlite3-journal").write_text("noise")
        copies.append(copy)
    assert build_patch(*copies) == first
    assert build_patch(before, after) == first


@pytest.mark.parametrize(
    "data", [b"GIF89a\x00\x01", b"caf\xe9\n"], ids=["nul byte", "latin-1"]
)
def test_patch_refuses_a_binary_file(pair, data):
    before, after = pair
    (after / "logo.gif").write_bytes(data)
    with pytest.raises(PatchError, match=r"logo\.gif is not a UTF-8 text file"):
        build_patch(before, after)


def test_patch_refuses_a_path_either_tool_reads_differently(pair):
    before, after = pair
    (after / "my notes.txt").write_text("hello\n")
    with pytest.raises(PatchError, match="my notes.txt"):
        build_patch(before, after)


# -- The site's patches ------------------------------------------------------------


def _built_patch(site, number):
    found = list((site.html / "_downloads").rglob(f"part{number:02d}.patch"))
    assert len(found) == 1, found
    return found[0]


def _box_commands(site, number):
    """The commands the part's stage box tells the reader to run."""
    page = (site.html / "tutorial" / f"part{number:02d}.html").read_text()
    box = page[page.index('class="stage-box') :]
    box = box[: box.index("</div>")]
    codes = [
        html.unescape(re.sub(r"<[^>]+>", "", code))
        for code in re.findall(r"<code[^>]*>(.*?)</code>", box, re.S)
    ]
    return [c for c in codes if c.startswith(TOOLS)]


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("number", PATCHED_PARTS)
def test_patch_turns_the_previous_stage_into_the_stage(site, tmp_path, number, tool):
    patch_name = f"part{number:02d}.patch"
    commands = _box_commands(site, number)
    assert len(commands) == 2, commands
    command = next(c for c in commands if c.startswith(tool))
    data = _built_patch(site, number).read_bytes()
    archive = next((site.html / "_downloads").rglob(f"stage{number - 1:02d}.zip"))

    def unpack(folder):
        """As unzip does: the files, with the permissions the zip records."""
        with zipfile.ZipFile(archive) as opened:
            for info in opened.infolist():
                opened.extract(info, folder)
                (folder / info.filename).chmod((info.external_attr >> 16) & 0o777)

    project = _applied(
        tmp_path, unpack, data, command.replace(f"../{patch_name}", "PATCH")
    )
    assert _differences(project, stage_dir(number)) == []


@pytest.mark.parametrize("number", PATCHED_PARTS)
def test_built_patch_is_the_stages_patch(site, number):
    """Every build writes the same bytes: those of the two stage folders."""
    built = _built_patch(site, number).read_bytes()
    assert built == build_patch(stage_dir(number - 1), stage_dir(number))
    assert built.startswith(b"diff --git a/")
    # No generated file among the patch's files (a .gitignore may name them).
    headers = [line for line in built.splitlines() if line.startswith(b"diff --git ")]
    assert headers
    assert not [h for h in headers if b"__pycache__" in h or b".sqlite3" in h]


@pytest.mark.parametrize("number", PATCHED_PARTS)
def test_part_page_links_its_changes(site, number):
    tutorial = site.html / "tutorial"
    page = (tutorial / f"part{number:02d}.html").read_text()
    box = page[page.index('class="stage-box') :]
    changes_name = f"part{number:02d}-changes.html"
    assert f'href="{changes_name}">Changes in part {number}</a>' in box
    patch = _built_patch(site, number)
    href = Path(os.path.relpath(patch, tutorial)).as_posix()
    assert f'href="{href}"' in box

    changes = (tutorial / changes_name).read_text()
    assert f"<h1>Changes in part {number}<" in changes
    assert f'href="{href}"' in changes
    assert f'href="part{number:02d}.html"' in changes
    files = file_changes(stage_dir(number - 1), stage_dir(number))
    assert files
    for change in files:
        heading = re.search(
            rf"<h2><code[^>]*>{re.escape(change.path)}</code> "
            rf'<span class="stage-change-status">\(([^)]+)\)</span>',
            changes,
        )
        assert heading, f"{changes_name} has no heading for {change.path}"
        words = {"added": "new file", "deleted": "deleted file"}
        assert heading.group(1) == words.get(change.status, heading.group(1))
        for line in change.text().splitlines():
            if line.startswith(("+", "-")) and line[1:].strip():
                assert html.escape(line) in changes, (change.path, line)


def test_part_1_has_no_patch(site):
    """Part 1 starts from generated files, not from a stage: nothing to apply."""
    assert not list((site.html / "_downloads").rglob("part01.patch"))
    assert not (site.html / "tutorial" / "part01-changes.html").exists()
    assert "Changes in part" not in (site.html / "tutorial" / "part01.html").read_text()


def test_git_apply_skips_everything_inside_a_larger_repository(tmp_path):
    """What the changes pages warn about, and why they offer ``patch -p1``."""
    number = PATCHED_PARTS[0]
    before, after = stage_dir(number - 1), stage_dir(number)
    repository = tmp_path / "repository"
    repository.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repository, check=True)
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(tmp_path)}
    project = repository / PROJECT_DIR_NAME
    _copy(before, project)
    (repository / "changes.patch").write_bytes(build_patch(before, after))
    done = subprocess.run(
        ["git", "apply", "../changes.patch"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert _differences(project, before) == []  # nothing was applied


# -- Rebuilding ------------------------------------------------------------------


def _small_site(tmp_path):
    """A page with part 2's stage box, over stages 1 and 2 (BEFORE, AFTER)."""
    write_stage_site(tmp_path, "Part 2\n======\n\n.. stage:: 02\n")
    _folder(tmp_path / "project" / "stage01", BEFORE)
    return _folder(tmp_path / "project" / "stage02", AFTER)


def test_a_change_to_the_previous_stage_rebuilds_the_patch(tmp_path):
    _small_site(tmp_path)
    _, warnings = build_small_site(tmp_path)
    assert warnings == ""

    def built():
        patch = next((tmp_path / "html" / "_downloads").rglob("part02.patch"))
        return patch.read_bytes()

    assert b"old.txt" not in built()
    assert "gone.py" in (tmp_path / "html" / "part02-changes.html").read_text()
    # A file only the earlier stage gains changes no dependency of the page.
    (tmp_path / "project" / "stage01" / "old.txt").write_text("old\n")
    _, warnings = build_small_site(tmp_path)
    assert warnings == ""
    assert b"deleted file mode 100644\n" in built() and b"a/old.txt" in built()
    assert "old.txt" in (tmp_path / "html" / "part02-changes.html").read_text()


def test_a_binary_file_in_a_stage_fails_the_build(tmp_path):
    after = _small_site(tmp_path)
    (after / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00")
    _, warnings = build_small_site(tmp_path)
    assert "logo.png is not a UTF-8 text file" in warnings
