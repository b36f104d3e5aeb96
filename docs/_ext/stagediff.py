"""The changes between two stages, as a patch a reader can apply.

``build_patch(before, after)`` returns the bytes of a patch in Git's format
(``diff --git`` headers, full blob ids, ``new file mode``, ``deleted file
mode``, ``old mode``/``new mode``), which both ``git apply`` and GNU
``patch -p1`` apply inside the folder holding *before*, turning it into
*after*. Which files count is ``stages.stage_files``: generated noise never
appears. The bytes depend only on the two file sets (paths, contents and the
executable bit): the files are sorted, and no header carries a date.

Text only: a file that holds a NUL byte or is not UTF-8 raises
``PatchError`` naming it, and so does a path that either tool would read
differently (spaces, quotes, backslashes, non-ASCII characters).
"""

import difflib
import hashlib
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import stages

CONTEXT = 3  # lines of context around each change, as ``git diff``
NO_NEWLINE = "\\ No newline at end of file\n"
NULL_ID = "0" * 40
_SAFE_PATH = re.compile(r"[A-Za-z0-9_.+@=-]+(/[A-Za-z0-9_.+@=-]+)*")


class PatchError(Exception):
    """A stage holds something a patch cannot carry."""


@dataclass
class FileChange:
    """One file of a patch: its status and its hunks, in patch syntax."""

    path: str
    status: str  # "added", "deleted", "changed" or "mode"
    old_mode: str = ""
    new_mode: str = ""
    hunks: list = field(default_factory=list)  # each: header line + body

    def text(self):
        return "".join(self.hunks)


def _mode(path):
    return "100755" if path.stat().st_mode & stat.S_IXUSR else "100644"


def _blob_id(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _read_text(folder, relative):
    data = (folder / relative).read_bytes()
    try:
        if b"\0" in data:
            raise UnicodeDecodeError("utf-8", data, 0, 1, "NUL byte")
        return data, data.decode("utf-8")
    except UnicodeDecodeError:
        raise PatchError(
            f"{folder / relative} is not a UTF-8 text file: a patch of the "
            f"stages can only carry text."
        ) from None


def split_lines(text):
    """Lines with their ``\\n``; only ``\\n`` ends a line, as in a patch."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _hunks(old_text, new_text):
    old, new = split_lines(old_text), split_lines(new_text)
    hunks, current = [], []
    diff = difflib.unified_diff(old, new, n=CONTEXT, lineterm="\n")
    for line in diff:
        if line.startswith(("--- ", "+++ ")) and not current and not hunks:
            continue  # difflib's own file header: Git's is written instead
        if line.startswith("@@"):
            if current:
                hunks.append("".join(current))
            current = [line]
            continue
        current.append(line if line.endswith("\n") else line + "\n" + NO_NEWLINE)
    if current:
        hunks.append("".join(current))
    return hunks


def file_changes(before, after):
    """The FileChange of every file that differs, sorted by path."""
    before, after = Path(before), Path(after)
    old_files, new_files = (
        set(stages.stage_files(before)),
        set(stages.stage_files(after)),
    )
    changes = []
    for relative in sorted(old_files | new_files):
        if not _SAFE_PATH.fullmatch(relative):
            raise PatchError(
                f"{relative!r}: a path with spaces, quotes or non-ASCII "
                f"characters does not survive both git apply and patch."
            )
        if relative not in new_files:
            _, text = _read_text(before, relative)
            changes.append(
                FileChange(
                    relative,
                    "deleted",
                    old_mode=_mode(before / relative),
                    hunks=_hunks(text, ""),
                )
            )
        elif relative not in old_files:
            _, text = _read_text(after, relative)
            changes.append(
                FileChange(
                    relative,
                    "added",
                    new_mode=_mode(after / relative),
                    hunks=_hunks("", text),
                )
            )
        else:
            old_data, old_text = _read_text(before, relative)
            new_data, new_text = _read_text(after, relative)
            old_mode, new_mode = _mode(before / relative), _mode(after / relative)
            if old_data == new_data and old_mode == new_mode:
                continue
            changes.append(
                FileChange(
                    relative,
                    "changed" if old_data != new_data else "mode",
                    old_mode=old_mode,
                    new_mode=new_mode,
                    hunks=_hunks(old_text, new_text),
                )
            )
    return changes


def _header(change, before, after):
    path = change.path
    lines = [f"diff --git a/{path} b/{path}\n"]
    old_id = new_id = NULL_ID
    if change.status != "added":
        old_id = _blob_id((before / path).read_bytes())
    if change.status != "deleted":
        new_id = _blob_id((after / path).read_bytes())
    if change.status == "added":
        lines.append(f"new file mode {change.new_mode}\n")
        lines.append(f"index {old_id}..{new_id}\n")
    elif change.status == "deleted":
        lines.append(f"deleted file mode {change.old_mode}\n")
        lines.append(f"index {old_id}..{new_id}\n")
    else:
        if change.old_mode != change.new_mode:
            lines.append(f"old mode {change.old_mode}\n")
            lines.append(f"new mode {change.new_mode}\n")
        if change.hunks:
            same = f" {change.new_mode}" if change.old_mode == change.new_mode else ""
            lines.append(f"index {old_id}..{new_id}{same}\n")
    if change.hunks:
        lines.append(
            "--- /dev/null\n" if change.status == "added" else f"--- a/{path}\n"
        )
        lines.append(
            "+++ /dev/null\n" if change.status == "deleted" else f"+++ b/{path}\n"
        )
    return "".join(lines)


def build_patch(before, after, changes=None):
    """The bytes of the patch that turns folder *before* into *after*."""
    before, after = Path(before), Path(after)
    if changes is None:
        changes = file_changes(before, after)
    text = "".join(_header(c, before, after) + c.text() for c in changes)
    return text.encode("utf-8")
