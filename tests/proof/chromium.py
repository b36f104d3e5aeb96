"""The browser every page test and the screenshot script drive.

Debian's Chromium, never a browser that playwright downloads: these
machines reach no download site. ``PROOF_CHROMIUM`` names another binary
(CI on GitHub uses the runner's Google Chrome).
"""

import os
from pathlib import Path

CHROMIUM = Path(os.environ.get("PROOF_CHROMIUM", "/usr/bin/chromium"))

# Running as root in a container without a GPU or a network needs these.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch(playwright, extra_args=()):
    """Start Chromium headless, or fail saying how to install it."""
    if not CHROMIUM.is_file():
        raise RuntimeError(
            f"no browser at {CHROMIUM}: "
            "apt-get install chromium (or set PROOF_CHROMIUM)"
        )
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, *extra_args]
    )
