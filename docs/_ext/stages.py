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

From part 2 on (whenever the folder of the stage before exists), the box
also offers that part's changes: ``partNN.patch``, made by ``stagediff.py``
from the two stage folders and downloaded the way the zip is, and a page,
``partNN-changes.html`` next to the part's page, with a diff per file. The
page is not a document: ``html-collect-pages`` writes it from the stage
folders on every HTML build, and other builders show the link's words only.
The patch is a dependency like the zip: files of either stage, and the
patch's digest, decide whether the page is read again.

Configuration: ``stages_dir`` (the folder holding ``stageNN/``; relative paths
are relative to the configuration directory) and ``stages_archive_folder``
(the top-level folder inside the archives, ``"community"``).
"""

import hashlib
import html
import io
import os
import posixpath
import re
import stat
import tempfile
import zipfile
from pathlib import Path

import stagediff
import variants
from docutils import nodes
from sphinx import addnodes
from sphinx.util.docutils import SphinxDirective

MIGRATE = "python manage.py migrate"

__version__ = "1.1"

# Folders and files the archives and patches leave out, wherever they are in
# a stage: the one definition of generated noise, in variants.py (which the
# proof imports without Sphinx), used by the proof too.
EXCLUDED_DIRS = variants.EXCLUDED_DIRS
EXCLUDED_FILES = variants.EXCLUDED_FILES
stage_files = variants.stage_files

# The earliest date a zip file can record.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_UNIX = 3  # "made by" system of each entry, so permissions are read

_STAGE_ARGUMENT = re.compile(r"\d{1,2}")


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
        used = {
            "stage_dir": str(stage_dir),
            "archive": str(archive),
            "folder": folder,
            "digest": _digest(data),
        }
        number = int(argument)
        previous_dir = stages_dir / f"stage{number - 1:02d}"
        if previous_dir.is_dir():
            try:
                patch_data = stagediff.build_patch(previous_dir, stage_dir)
            except stagediff.PatchError as error:
                raise self.error(str(error)) from None
            patch = Path(self.env.doctreedir, "stages", f"part{number:02d}.patch")
            write_if_changed(patch, patch_data)
            for name in stage_files(previous_dir):
                self.env.note_dependency(previous_dir / name)
            changes_page = posixpath.join(
                posixpath.dirname(docname), f"part{number:02d}-changes"
            )
            if changes_page in self.env.found_docs:
                raise self.error(
                    f"The page {changes_page} exists, so the changes of this "
                    f"part need another name."
                )
            used.update(
                part=number,
                previous_dir=str(previous_dir),
                patch=str(patch),
                patch_digest=_digest(patch_data),
                changes_page=changes_page,
            )
        stages = self.env.stages_used = getattr(self.env, "stages_used", {})
        stages.setdefault(docname, {})[stage] = used

        link = self.download(archive)
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
        second += nodes.Text(
            " folder without a database. To start the next part from it, set "
            "it up as “Start from a later part”, in part 0, shows: it creates "
            "the database with "
        )
        second += nodes.literal(MIGRATE, MIGRATE)
        second += nodes.Text(", among other steps.")
        box += first
        box += second
        if "patch" in used:
            box += self.changes_paragraph(used, folder)
        box += self.variants_paragraph(number, folder)
        return [box]

    def variants_paragraph(self, number, folder):
        """Links to the stage's variants for older Django releases."""
        rules = variants.load()
        self.env.note_dependency(str(variants.RULES))
        for extra in variants.VARIANTS.rglob("*"):
            if extra.is_file() and extra != variants.RULES:
                self.env.note_dependency(str(extra))
        paragraph = nodes.paragraph(classes=["stage-variants"])
        paragraph += nodes.Text(
            "On an older Django release, download this stage for it: "
        )
        releases = sorted(
            rules.releases.values(), key=lambda r: r.version, reverse=True
        )
        for index, release in enumerate(releases):
            made = variants.project(number, release.version, rules)
            archive = Path(
                self.env.doctreedir, "stages", f"stage{number:02d}-{release.name}.zip"
            )
            # Written to a folder of its own only to be packed like a stage.
            with tempfile.TemporaryDirectory() as out:
                made.write(out)
                write_if_changed(archive, build_archive(out, folder))
            if index:
                paragraph += nodes.Text(" or ")
            paragraph += self.download(archive)
            paragraph += nodes.Text(f" ({release.title})")
        paragraph += nodes.Text(".")
        if "appendix/versions" in self.env.found_docs:
            appendix = addnodes.pending_xref(
                "",
                nodes.inline("", "Django 5.2 LTS and 6.0"),
                refdomain="std",
                reftype="doc",
                reftarget="/appendix/versions",
                refdoc=self.env.docname,
                refexplicit=True,
            )
            paragraph += nodes.Text(" The appendix ")
            paragraph += appendix
            paragraph += nodes.Text(" says what differs from this page on each.")
        return paragraph

    def download(self, path):
        """A ``:download:`` link to *path*, shown as its file name."""
        # Relative to the page's folder, as :download: targets are.
        page_dir = self.env.doc2path(self.env.docname).parent
        target = Path(os.path.relpath(path, page_dir)).as_posix()
        name = Path(path).name
        return addnodes.download_reference(
            "",
            "",
            nodes.literal(name, name),
            reftarget=target,
            refdoc=self.env.docname,
            refexplicit=True,
            refdomain="",
            reftype="download",
        )

    def changes_paragraph(self, used, folder):
        number = used["part"]
        previous = Path(used["previous_dir"]).name
        patch_name = Path(used["patch"]).name
        page_link = nodes.reference(
            "",
            f"Changes in part {number}",
            internal=True,
            classes=["stage-changes-link"],
        )
        page_link["stage_changes_page"] = used["changes_page"]
        paragraph = nodes.paragraph()
        paragraph += nodes.Text("To see what this part changed, file by file, read ")
        paragraph += page_link
        paragraph += nodes.Text(", or download the patch ")
        paragraph += self.download(used["patch"])
        paragraph += nodes.Text(". Save it next to the ")
        paragraph += nodes.literal(f"{folder}/", f"{folder}/")
        paragraph += nodes.Text(" folder of ")
        paragraph += nodes.literal(f"{previous}.zip", f"{previous}.zip")
        paragraph += nodes.Text(" and run ")
        git, patch = f"git apply ../{patch_name}", f"patch -p1 < ../{patch_name}"
        paragraph += nodes.literal(git, git)
        paragraph += nodes.Text(" (or ")
        paragraph += nodes.literal(patch, patch)
        paragraph += nodes.Text(") inside that folder: it becomes this stage.")
        return paragraph


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
            if _stage_changed(stage):
                stale.append(docname)
                break
    return stale


def _stage_changed(stage):
    stage_dir = Path(stage["stage_dir"])
    if not stage_dir.is_dir():
        return True
    if _digest(build_archive(stage_dir, stage["folder"])) != stage["digest"]:
        return True
    previous_dir = stage_dir.parent / f"stage{int(stage_dir.name[5:]) - 1:02d}"
    if "patch" not in stage:
        return previous_dir.is_dir()  # a part that gains an earlier stage
    if not previous_dir.is_dir():
        return True
    try:
        patch = stagediff.build_patch(previous_dir, stage_dir)
    except stagediff.PatchError:
        return True  # reading the page again reports it
    return _digest(patch) != stage["patch_digest"]


# -- The changes pages ---------------------------------------------------------


def link_changes_pages(app, doctree, docname):
    """Point each "Changes in part NN" link at its page, or drop the link.

    The pages exist in HTML output only; other builders get the words.
    """
    html_output = getattr(app.builder, "format", "") == "html"
    for node in list(doctree.findall(nodes.reference)):
        if "stage_changes_page" not in node:
            continue
        if html_output:
            node["refuri"] = app.builder.get_relative_uri(
                docname, node["stage_changes_page"]
            )
        else:
            node.replace_self(nodes.Text(node.astext()))


_STATUS = {
    "added": "new file",
    "deleted": "deleted file",
    "changed": "changed",
    "mode": "permissions changed",
}
_LINE_TAGS = {"+": ("ins", "added"), "-": ("del", "deleted"), " ": ("span", "context")}


def _anchor(path):
    return "file-" + re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")


def _diff_html(change):
    """A file's hunks as lines in a ``pre``: ``ins``, ``del`` and context."""
    rows = []
    for hunk in change.hunks:
        for line in hunk.removesuffix("\n").split("\n"):
            if line.startswith("@@"):
                tag, kind = "span", "hunk"
            elif line.startswith("\\"):
                tag, kind = "span", "note"
            else:
                tag, kind = _LINE_TAGS[line[0]]
            rows.append(
                f'<{tag} class="stage-diff-line {kind}">{html.escape(line)}</{tag}>'
            )
    return "".join(rows)


def _code(text, extra=""):
    """Inline code, marked up as docutils marks up a ``literal``."""
    classes = f"{extra} docutils literal notranslate".strip()
    return f'<code class="{classes}">{html.escape(text)}</code>'


def changes_body(used, changes, patch_href, part_title, part_href, folder):
    """The HTML of a part's changes page."""
    number = used["part"]
    previous = Path(used["previous_dir"]).name
    current = Path(used["stage_dir"]).name
    patch_name = Path(used["patch"]).name
    esc = html.escape
    title = f"Changes in part {number}"
    out = [
        f'<section class="stage-changes" id="changes-in-part-{number}">',
        f'<h1>{esc(title)}<a class="headerlink" href="#changes-in-part-{number}"'
        f' title="Link to this heading">#</a></h1>',
        f'<p>What <a class="reference internal" href="{esc(part_href)}">'
        f"{esc(part_title)}</a> changes in the project, from "
        f"{_code(previous + '/')} to {_code(current + '/')}: a line that starts "
        f"with {_code('+')} is new, a line that starts with {_code('-')} goes "
        f"away, and the other lines show where the change is. A line that "
        f"starts with {_code('@@')} gives the place of the lines below it: "
        f"their first line number and count, before the change and after.</p>",
        f'<p>The same changes as a patch: <a class="reference download internal" '
        f'download="" href="{esc(patch_href)}">'
        f"{_code(patch_name, 'xref download')}</a>. Save it next to the "
        f"{_code(folder + '/')} folder of {_code(previous + '.zip')}; inside "
        f"that folder, either command turns it into this part's stage:</p>",
    ]
    for command in (f"git apply ../{patch_name}", f"patch -p1 < ../{patch_name}"):
        out.append(
            '<div class="highlight-console notranslate"><div class="highlight">'
            f'<pre><span></span><span class="gp">$ </span>{esc(command)}\n</pre>'
            "</div></div>"
        )
    out.append(
        f"<p>Inside a folder that belongs to a larger Git repository, "
        f"{_code('git apply')} reads the paths from the top of that "
        f"repository and skips every file of the patch without an error; "
        f"use {_code('patch -p1')} there.</p>"
    )
    out.append('<nav aria-label="Files"><ul class="stage-changes-files">')
    for change in changes:
        out.append(
            f'<li><a href="#{_anchor(change.path)}">{_code(change.path)}</a>'
            f" ({_STATUS[change.status]})</li>"
        )
    out.append("</ul></nav>")
    for change in changes:
        anchor = _anchor(change.path)
        status = _STATUS[change.status]
        out.append(f'<section id="{anchor}">')
        out.append(
            f'<h2>{_code(change.path)} <span class="stage-change-status">'
            f"({status})</span>"
            f'<a class="headerlink" href="#{anchor}" title="Link to this heading">'
            "#</a></h2>"
        )
        if change.old_mode and change.new_mode and change.old_mode != change.new_mode:
            executable = change.new_mode == "100755"
            out.append(
                "<p>The file becomes "
                + ("executable" if executable else "not executable")
                + ".</p>"
            )
        if change.hunks:
            out.append(
                f'<div class="stage-diff" tabindex="0" role="region" '
                f'aria-label="Changes to {esc(change.path)}"><pre>'
                f"{_diff_html(change)}</pre></div>"
            )
        elif change.status in ("added", "deleted"):
            out.append("<p>The file is empty.</p>")
        out.append("</section>")
    out.append("</section>")
    return "\n".join(out)


def _download_href(app, pagename, path):
    """The link from *pagename* to the ``_downloads/`` copy of *path*."""
    for filename, (_, dest) in app.env.dlfiles.items():
        if Path(app.srcdir, filename).resolve() == Path(path).resolve():
            return posixpath.relpath(
                f"_downloads/{dest}", posixpath.dirname(pagename) or "."
            )
    return None


def collect_changes_pages(app):
    """A page per part with an earlier stage: that part's changes."""
    builder = app.builder
    for docname, stages in sorted(getattr(app.env, "stages_used", {}).items()):
        for used in stages.values():
            if "patch" not in used:
                continue
            pagename = used["changes_page"]
            previous_dir, stage_dir = (
                Path(used["previous_dir"]),
                Path(used["stage_dir"]),
            )
            try:
                changes = stagediff.file_changes(previous_dir, stage_dir)
            except (OSError, stagediff.PatchError):
                continue  # the page's directive reports it when read again
            patch_href = _download_href(app, pagename, used["patch"])
            title = app.env.titles[docname].astext()
            body = changes_body(
                used,
                changes,
                patch_href,
                title,
                builder.get_relative_uri(pagename, docname),
                used["folder"],
            )
            context = {
                "title": f"Changes in part {used['part']}",
                "body": body,
                "parents": [
                    {
                        "link": builder.get_relative_uri(pagename, docname),
                        "title": title,
                    }
                ],
            }
            yield pagename, context, "page.html"


def setup(app):
    app.add_config_value("stages_dir", "", "env", types=[str])
    app.add_config_value("stages_archive_folder", "community", "env", types=[str])
    app.add_directive("stage", StageDirective)
    app.connect("config-inited", resolve_stages_dir)
    app.connect("env-purge-doc", purge_doc)
    app.connect("env-merge-info", merge_info)
    app.connect("env-get-outdated", outdated_by_stage)
    app.connect("doctree-resolved", link_changes_pages)
    app.connect("html-collect-pages", collect_changes_pages)
    return {
        "version": __version__,
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
