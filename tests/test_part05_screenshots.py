"""The screenshot script of part 5 still works, and makes every image shown.

tools/screenshots.py (`make screenshots`) regenerates the PNG files that
docs/tutorial/part05.txt shows. This test runs it, as a contributor would,
into a temporary folder, and checks that it writes every image the page
refers to, each a valid PNG of the size the script promises; and that the
committed images are those files, in that size, so that a page never shows
a screenshot the script no longer makes.
"""

import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from proof.chromium import CHROMIUM
from proof.paths import PARTS_DIR, ROOT
from proof.processes import clean_env

sys.path.insert(0, str(ROOT / "tools"))
import screenshots  # noqa: E402

PAGE = PARTS_DIR / "part05.txt"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def shown_images():
    """The files of the page's image and figure directives."""
    return re.findall(
        r"^\.\. (?:image|figure):: (_images/\S+)$", PAGE.read_text(), re.M
    )


def png_size(path):
    """(width, height) of a PNG file, after checking that it is one.

    Every chunk's CRC is checked, and the image data must inflate, so a
    truncated or corrupt file fails here.
    """
    data = Path(path).read_bytes()
    assert data.startswith(PNG_SIGNATURE), f"{path} is not a PNG file"
    position, chunks, image = len(PNG_SIGNATURE), [], b""
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(
            ">I", data[position + 8 + length : position + 12 + length]
        )
        assert zlib.crc32(kind + body) == crc, f"{path}: bad CRC in a {kind!r} chunk"
        chunks.append(kind)
        if kind == b"IDAT":
            image += body
        position += 12 + length
    assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND", f"{path}: {chunks}"
    zlib.decompress(image)
    return struct.unpack(">II", data[16:24])


def test_the_page_shows_only_images_the_script_makes():
    shown = shown_images()
    assert shown, "part 5 shows no screenshot"
    assert {Path(p).name for p in shown} == set(screenshots.SCREENSHOTS)
    for path in shown:
        committed = PARTS_DIR / path
        assert committed.is_file(), f"{committed} is missing: run make screenshots"
        assert png_size(committed) == screenshots.SCREENSHOTS[committed.name], committed


def test_the_script_makes_every_image(tmp_path):
    if not CHROMIUM.is_file():
        pytest.skip(f"no browser at {CHROMIUM}: apt-get install chromium")
    pytest.importorskip("playwright", reason="`make venv` installs playwright")
    out = tmp_path / "images"
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "screenshots.py"), "--out", str(out)],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(screenshots.SCREENSHOTS)
    for path in shown_images():
        made = out / Path(path).name
        assert png_size(made) == screenshots.SCREENSHOTS[made.name], made
    assert done.stdout.split() == [str(out / name) for name in screenshots.SCREENSHOTS]
