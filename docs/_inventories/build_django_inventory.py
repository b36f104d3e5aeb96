"""Rebuild docs/_inventories/django.inv from Django's own documentation.

The site links to docs.djangoproject.com through intersphinx, and reads the
inventory (objects.inv) from this directory so that building it never needs
the network. docs.djangoproject.com cannot be reached from every machine
that builds the site, but Django's sdist on PyPI contains the sources of
those docs, so this script builds the inventory from them:

1. get the sdist: ``pip download`` it from PyPI, or take the tarball given
   with ``--sdist``;
2. extract it and build its docs/ with Sphinx's ``dirhtml`` builder, which
   gives the URLs the same shape as on docs.djangoproject.com
   (``ref/settings/#std-setting-TASKS``), using Django's own docs/conf.py and
   docs/_ext, and the Sphinx of the running interpreter;
3. check that the entries the tutorial links to are there, and copy
   objects.inv to django.inv next to this script.

Usage (``make django-inventory`` runs the first form in the project's venv):

    python docs/_inventories/build_django_inventory.py
    python docs/_inventories/build_django_inventory.py --version 6.1.3
    python docs/_inventories/build_django_inventory.py --sdist django-6.1.3.tar.gz

Only the standard library and Sphinx are needed. Django's own docs build
emits warnings (mostly references into Python's docs, whose inventory it
cannot fetch offline); they do not change the inventory and are only counted.
"""

import argparse
import ast
import importlib.metadata
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path

from sphinx.util.inventory import InventoryFile

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "django.inv"

# Extensions of Django's docs/conf.py that are left out of the build. Neither
# adds anything to objects.inv:
# - intersphinx would try to download Python's, Sphinx's and psycopg's
#   inventories (and wait for the network to time out when there is none);
# - linkcode only adds "[source]" links to GitHub (and parses Django's code
#   for each of them, which is slow).
# Sphinx's -D option cannot empty a dictionary such as intersphinx_mapping,
# but it can replace the list of extensions, so that is what we do.
LEFT_OUT_EXTENSIONS = {"sphinx.ext.intersphinx", "sphinx.ext.linkcode"}

# Entries the tutorial links to, as (object type, name). If one of them is
# missing the inventory is not copied: a renamed page or API would otherwise
# only show up later as broken links in the site's own build. The object type
# of a :djadmin: target is "std:django-admin" (the directive's name).
NEEDED = [
    ("py:module", "django.tasks"),
    ("py:function", "django.tasks.task"),
    ("py:class", "django.tasks.Task"),
    ("py:class", "django.tasks.TaskResult"),
    ("py:class", "django.tasks.TaskResultStatus"),
    ("py:attribute", "django.tasks.TaskResult.status"),
    ("std:setting", "TASKS"),
    ("std:doc", "topics/tasks"),
    ("std:doc", "ref/tasks"),
    ("std:django-admin", "startproject"),
    ("std:django-admin", "startapp"),
    ("std:django-admin", "migrate"),
    ("std:django-admin", "shell"),
    ("std:django-admin", "runserver"),
]


class Failure(Exception):
    """An error worth a one-line message and a non-zero exit status."""


def download_sdist(version, directory):
    """Download Django's sdist from PyPI with pip; return the tarball's path."""
    command = [
        sys.executable, "-m", "pip", "download",
        "--no-deps", "--no-binary", ":all:",
        # Fail quickly rather than retry for minutes when offline.
        "--retries", "1", "--timeout", "30",
        f"django=={version}", "-d", str(directory),
    ]  # fmt: skip
    print(f"Downloading Django {version}'s sdist with pip...")
    if subprocess.run(command).returncode != 0:
        raise Failure(
            f"pip could not download django=={version} (see its output above); "
            "offline, pass a downloaded sdist with --sdist"
        )
    # The file is "django-X.tar.gz" (older releases: "Django-X.tar.gz").
    tarballs = [p for p in directory.iterdir() if p.name.lower().endswith(".tar.gz")]
    if len(tarballs) != 1:
        raise Failure(f"expected one .tar.gz from pip in {directory}, got {tarballs}")
    return tarballs[0]


def extract_docs(sdist, directory):
    """Extract the sdist; return the path of its docs/ directory."""
    try:
        with tarfile.open(sdist, "r:gz") as tar:
            # Django's docs/conf.py imports the django package next to docs/
            # (for the release number), so extract the whole sdist.
            tar.extractall(directory, filter="data")
    except (OSError, tarfile.TarError) as error:
        raise Failure(f"cannot extract {sdist}: {error}") from error
    confs = list(directory.glob("*/docs/conf.py"))
    if len(confs) != 1:
        raise Failure(f"{sdist} does not look like Django's sdist (no */docs/conf.py)")
    return confs[0].parent


def django_extensions(conf_py):
    """Return the list assigned to ``extensions`` in Django's docs/conf.py.

    The file is parsed, not run: running it would import that copy of Django
    into this process.
    """
    for node in ast.parse(conf_py.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "extensions"
            for target in node.targets
        ):
            return ast.literal_eval(node.value)
    raise Failure(f"no 'extensions = [...]' found in {conf_py}")


def build_inventory(docs, directory):
    """Build Django's docs with dirhtml; return the path of objects.inv."""
    extensions = [
        name
        for name in django_extensions(docs / "conf.py")
        if name not in LEFT_OUT_EXTENSIONS
    ]
    output = directory / "html"
    log = directory / "sphinx.log"
    command = [
        sys.executable, "-m", "sphinx",
        "-b", "dirhtml",
        "-j", "auto",  # read and write in parallel: about twice as fast
        "-q",  # only warnings and errors
        "-D", "extensions=" + ",".join(extensions),
        str(docs), str(output),
    ]  # fmt: skip
    print(f"Building Django's docs with Sphinx (dirhtml), extensions: {extensions}")
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as stream:
        # Run from the temporary directory so that the django imported by
        # Django's conf.py is the one from the sdist.
        result = subprocess.run(
            command, cwd=directory, stdout=stream, stderr=subprocess.STDOUT
        )
    seconds = time.monotonic() - started
    output_lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    inventory = output / "objects.inv"
    if result.returncode != 0 or not inventory.is_file():
        print("\n".join(output_lines[-25:]), file=sys.stderr)
        raise Failure(
            f"Sphinx failed to build Django's docs (exit status "
            f"{result.returncode}); its last lines are above"
        )
    warnings = sum("WARNING:" in line for line in output_lines)
    print(f"Built in {seconds:.0f} s, with {warnings} warnings from Django's docs.")
    return inventory


def read_inventory(path):
    """Return (header lines, {object type: set of names}) of an objects.inv."""
    with path.open("rb") as stream:
        header = [stream.readline().decode().strip() for _ in range(3)]
        stream.seek(0)
        # load() returns {type: {name: item}} in every recent Sphinx.
        data = InventoryFile.load(stream, "", lambda base, uri: uri)
    return header, {kind: set(entries) for kind, entries in data.items()}


def check_inventory(path):
    """Print what the inventory holds; fail if a NEEDED entry is missing."""
    header, entries = read_inventory(path)
    # The header's 2nd and 3rd lines are "# Project: Django", "# Version: 6.1".
    project, version = (line.partition(": ")[2] for line in header[1:])
    counts = Counter({kind: len(names) for kind, names in entries.items()})
    print(f"Inventory of {project} {version}'s docs: {counts.total()} entries")
    for kind, count in sorted(counts.items()):
        print(f"  {kind:20} {count:5}")
    missing = [
        f"{kind} {name}"
        for kind, name in NEEDED
        if name not in entries.get(kind, ())
    ]
    if missing:
        raise Failure("entries the tutorial needs are missing: " + ", ".join(missing))
    print(f"All {len(NEEDED)} entries the tutorial needs are present.")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--version",
        help="Django release to download (default: the installed Django's)",
    )
    source.add_argument(
        "--sdist", type=Path, help="use this Django sdist (.tar.gz) instead"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="django-inventory-") as temporary:
        directory = Path(temporary)
        if args.sdist:
            if not args.sdist.is_file():
                raise Failure(f"no such file: {args.sdist}")
            sdist = args.sdist.resolve()
        else:
            version = args.version
            if version is None:
                try:
                    version = importlib.metadata.version("django")
                except importlib.metadata.PackageNotFoundError:
                    raise Failure(
                        "Django is not installed in this Python; "
                        "pass --version or --sdist"
                    ) from None
            (directory / "sdist").mkdir()
            sdist = download_sdist(version, directory / "sdist")
        print(f"Using {sdist.name}")
        docs = extract_docs(sdist, directory / "source")
        inventory = build_inventory(docs, directory)
        check_inventory(inventory)
        shutil.copyfile(inventory, OUTPUT)
    print(f"Wrote {OUTPUT}")


if __name__ == "__main__":
    try:
        main()
    except Failure as error:
        sys.exit(f"error: {error}")
