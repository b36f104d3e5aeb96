"""The reader's project at the end of each part, shown and downloadable.

``tutorial_project/`` holds one folder per part, ``stage01/``, ``stage02/``
and so on: the project exactly as the reader has it at the end of that part,
which the test suite runs. A part page says which one belongs to it::

    .. stage:: 01

The directive shows a box (CSS class ``stage-box``) that names the folder and
links to ``stage01.zip``, the folder packed under a top-level ``community/``
folder, the name the reader gives their project. Generated files (bytecode,
SQLite databases, uploaded media, caches) stay out of the archive.

How the archive gets into the site: the directive writes it into
``<doctreedir>/stages/`` while the page is read, and links it with Sphinx's
``download_reference`` node, the node of the ``:download:`` role, so Sphinx
copies it to ``_downloads/<hash>/stage01.zip`` in the HTML output and writes
a correct relative link, under ``sphinx-build`` and ``sphinx-autobuild``
alike. The archive is deterministic (sorted entries, fixed timestamps and
permissions), so rebuilding an unchanged stage gives identical bytes, and the
file is only rewritten when its bytes change.

Rebuilding: every archived file is a dependency of the page, so editing one
makes Sphinx read the page again; so does a missing archive, which the
download machinery records as a dependency too. Files that appear in or
disappear from the stage folder change no dependency: an ``env-get-outdated``
handler compares a fresh archive with the digest stored when the page was
read, and has the page read again when they differ.

Configuration: ``stages_dir`` (the folder holding ``stageNN/``; relative paths
are relative to the configuration directory) and ``stages_archive_folder``
(the top-level folder inside the archives, ``"community"``).
"""

import fnmatch
import hashlib
import io
import os
import re
import stat
import tempfile
import zipfile
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.util.docutils import SphinxDirective

MIGRATE = "python manage.py migrate"

__version__ = "1.0"

# Folders and files the archives leave out, wherever they are in a stage.
EXCLUDED_DIRS = frozenset(
    {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "media"}
)
EXCLUDED_FILES = (
    "*.pyc",
    "*.pyo",
    "*.sqlite3",
    "*.sqlite3-journal",
    "*.sqlite3-wal",
    "*.sqlite3-shm",
    ".DS_Store",
)

# The earliest date a zip file can record.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_UNIX = 3  # "made by" system of each entry, so permissions are read

_STAGE_ARGUMENT = re.compile(r"\d{1,2}")


def stage_files(stage_dir):
    """The files of a stage that belong in its archive, sorted.

    Returns paths relative to *stage_dir*, with forward slashes.
    """
    stage_dir = Path(stage_dir)
    found = []
    for folder, dirnames, filenames in os.walk(stage_dir):
        dirnames[:] = sorted(d for d in dirnames if d not in EXCLUDED_DIRS)
        for name in filenames:
            if any(fnmatch.fnmatchcase(name, pattern) for pattern in EXCLUDED_FILES):
                continue
            path = Path(folder, name)
            if path.is_file():
                found.append(path.relative_to(stage_dir).as_posix())
    return sorted(found)


def _entry(name, mode):
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.create_system = _UNIX
    info.external_attr = mode << 16
    if name.endswith("/"):
        info.external_attr |= 0x10  # the MS-DOS directory flag
    else:
        info.compress_type = zipfile.ZIP_DEFLATED
    return info


def build_archive(stage_dir, folder="community"):
    """The bytes of a zip of the stage's files, under ``folder/``."""
    stage_dir = Path(stage_dir)
    files = stage_files(stage_dir)
    directories = {""}
    for name in files:
        parts = name.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            directories.add("/".join(parts[:depth]))

    entries = [(d, None) for d in directories] + [(f, f) for f in files]
    entries.sort(key=lambda entry: entry[0])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, file in entries:
            if file is None:
                inside = f"{folder}/{name}/" if name else f"{folder}/"
                archive.writestr(_entry(inside, stat.S_IFDIR | 0o755), b"")
                continue
            path = stage_dir / file
            executable = path.stat().st_mode & stat.S_IXUSR
            mode = stat.S_IFREG | (0o755 if executable else 0o644)
            archive.writestr(
                _entry(f"{folder}/{file}", mode),
                path.read_bytes(),
                compresslevel=9,
            )
    return buffer.getvalue()


def write_if_changed(path, data):
    """Write *data* to *path* unless it already holds exactly that.

    The new file replaces the old one in a single step, so parallel readers
    never see half an archive.
    """
    path = Path(path)
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return True


def _digest(data):
    return hashlib.sha256(data).hexdigest()


def resolve_stages_dir(app, config):
    """Make ``stages_dir`` absolute, relative to the configuration folder."""
    if config.stages_dir:
        base = app.confdir or os.getcwd()
        config.stages_dir = str(Path(base, config.stages_dir).resolve())


class StageDirective(SphinxDirective):
    """``.. stage:: 01``: the box pointing to the part's project folder."""

    has_content = False
    required_arguments = 1
    optional_arguments = 0

    def run(self):
        argument = self.arguments[0]
        if not _STAGE_ARGUMENT.fullmatch(argument):
            raise self.error(
                f'The "stage" directive takes a part number such as 01, '
                f"not {argument!r}."
            )
        stage = f"stage{int(argument):02d}"
        if not self.config.stages_dir:
            raise self.error(
                'The "stage" directive needs the stages_dir setting in conf.py.'
            )
        stages_dir = Path(self.config.stages_dir)
        stage_dir = stages_dir / stage
        if not stage_dir.is_dir():
            raise self.error(f"The stage folder {stage_dir} does not exist.")

        folder = self.config.stages_archive_folder
        data = build_archive(stage_dir, folder)
        archive = Path(self.env.doctreedir, "stages", f"{stage}.zip")
        write_if_changed(archive, data)

        docname = self.env.docname
        for name in stage_files(stage_dir):
            self.env.note_dependency(stage_dir / name)
        stages = self.env.stages_used = getattr(self.env, "stages_used", {})
        stages.setdefault(docname, {})[stage] = {
            "stage_dir": str(stage_dir),
            "archive": str(archive),
            "folder": folder,
            "digest": _digest(data),
        }

        # The download link, relative to the page's folder as :download:
        # targets are.
        page_dir = self.env.doc2path(docname).parent
        target = Path(os.path.relpath(archive, page_dir)).as_posix()
        link = addnodes.download_reference(
            "",
            "",
            nodes.literal(f"{stage}.zip", f"{stage}.zip"),
            reftarget=target,
            refdoc=docname,
            refexplicit=True,
            refdomain="",
            reftype="download",
        )
        shown = f"{stages_dir.name}/{stage}/"

        box = nodes.admonition("", classes=["stage-box"])
        self.set_source_info(box)
        box += nodes.title("", "Your project at the end of this part")
        first = nodes.paragraph()
        first += nodes.Text(
            "When you finish this part, your project matches the folder "
        )
        first += nodes.literal(shown, shown)
        first += nodes.Text(
            " of this tutorial's source, the code that the tutorial's tests "
            "run. If something behaves differently for you, compare your "
            "files with it."
        )
        second = nodes.paragraph()
        second += nodes.Text("You can also download it as ")
        second += link
        second += nodes.Text(": it unpacks to a ")
        second += nodes.literal(f"{folder}/", f"{folder}/")
        second += nodes.Text(" folder without a database: create one with ")
        second += nodes.literal(MIGRATE, MIGRATE)
        second += nodes.Text(" before you use it.")
        box += first
        box += second
        return [box]


def purge_doc(app, env, docname):
    getattr(env, "stages_used", {}).pop(docname, None)


def merge_info(app, env, docnames, other):
    used = getattr(other, "stages_used", {})
    mine = env.stages_used = getattr(env, "stages_used", {})
    for docname in docnames:
        if docname in used:
            mine[docname] = used[docname]


def outdated_by_stage(app, env, added, changed, removed):
    """Pages whose stage folder gained, lost or changed files."""
    stale = []
    for docname, stages in getattr(env, "stages_used", {}).items():
        if docname in removed or docname in changed:
            continue
        for stage in stages.values():
            stage_dir = Path(stage["stage_dir"])
            if not stage_dir.is_dir() or _digest(
                build_archive(stage_dir, stage["folder"])
            ) != stage["digest"]:
                stale.append(docname)
                break
    return stale


def setup(app):
    app.add_config_value("stages_dir", "", "env", types=[str])
    app.add_config_value("stages_archive_folder", "community", "env", types=[str])
    app.add_directive("stage", StageDirective)
    app.connect("config-inited", resolve_stages_dir)
    app.connect("env-purge-doc", purge_doc)
    app.connect("env-merge-info", merge_info)
    app.connect("env-get-outdated", outdated_by_stage)
    return {
        "version": __version__,
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
