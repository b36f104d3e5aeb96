"""One full build of the site, as ``make html`` does it, for the proof.

The build writes into _build/proof/ so that it never disturbs a running
``make livehtml``. It always starts from a fresh environment (``-E``):
an incremental build would stay silent about warnings of unchanged pages.

Under pytest-xdist, each worker process asks for the site, and the first one
builds it while the others wait on a lock in the build folder; they then
read what the build reported from site.json, written for this run alone
(xdist gives the run's workers a common id, PYTEST_XDIST_TESTRUNUID).
"""

import fcntl
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

from .paths import BUILD, DOCS, ROOT


@dataclass
class Build:
    returncode: int
    warnings: list
    output: str
    html: object
    doctrees: object


@cache
def build_site():
    """The site, built once per run, even when the run's workers all ask."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if not run:
        return _build()
    BUILD.mkdir(parents=True, exist_ok=True)
    record = BUILD / "site.json"
    with open(BUILD / "site.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            saved = json.loads(record.read_text())
        except (OSError, ValueError):
            saved = {}
        if saved.get("run") == run:
            build = Build(**saved["build"])
        else:
            record.unlink(missing_ok=True)
            build = _build()
            record.write_text(
                json.dumps({"run": run, "build": asdict(build)}, default=str)
            )
    build.html, build.doctrees = Path(build.html), Path(build.doctrees)
    return build


def _build():
    html = BUILD / "html"
    doctrees = BUILD / "doctrees"
    warnings_file = BUILD / "warnings.txt"
    BUILD.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "sphinx",
        "-c",
        str(ROOT),
        "-E",
        "-n",
        "-W",
        "--keep-going",
        "-q",
        "-b",
        "html",
        "-d",
        str(doctrees),
        "-w",
        str(warnings_file),
        str(DOCS),
        str(html),
    ]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, check=False
    )
    warnings = [line for line in warnings_file.read_text().splitlines() if line.strip()]
    return Build(
        returncode=done.returncode,
        warnings=warnings,
        output=done.stdout + done.stderr,
        html=html,
        doctrees=doctrees,
    )


def build_small_site(root):
    """Build root/docs into root/html in this process, incrementally (no -E).

    For the checkers' small sites, made in a test's temporary folder.
    Returns (the Sphinx application, the warnings as text).
    """
    import io

    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace

    warnings = io.StringIO()
    # The namespace undoes what each build registers in docutils.
    with docutils_namespace():
        app = Sphinx(
            srcdir=root / "docs",
            confdir=root / "docs",
            outdir=root / "html",
            doctreedir=root / "doctrees",
            buildername="html",
            status=None,
            warning=warnings,
            freshenv=False,
        )
        app.build()
    return app, warnings.getvalue()


def write_small_site(root, page, extensions, conf="", name="index.rst"):
    """A small site in root/docs: one page, *page* (reStructuredText), built
    with *extensions* of docs/_ext and the lines *conf* in its conf.py."""
    docs = root / "docs"
    docs.mkdir()
    (docs / "conf.py").write_text(
        f"extensions = {list(extensions)!r}\nroot_doc = "
        f'"{name.rsplit(".", 1)[0]}"\nhtml_theme = "basic"\n{conf}'
    )
    (docs / name).write_text(page)
    return docs


def write_stage_site(root, page):
    """A small site whose page may use the ``stage`` directive over the
    stages in root/project."""
    return write_small_site(root, page, ["stages"], 'stages_dir = "../project"\n')
