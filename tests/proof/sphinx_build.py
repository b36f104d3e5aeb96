"""One full build of the site, as ``make html`` does it, for the proof.

The build writes into _build/proof/ so that it never disturbs a running
``make livehtml``. It always starts from a fresh environment (``-E``):
an incremental build would stay silent about warnings of unchanged pages.
"""

import subprocess
import sys
from dataclasses import dataclass
from functools import cache

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
