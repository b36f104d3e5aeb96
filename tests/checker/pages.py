"""Small part pages for the checkers: one block, written where a test wants it."""

from proof.blocks import Block

DIRECTIVES = {"console": ".. console::", "pycon": ".. code-block:: pycon"}


def page_block(tmp_path, text, kind="console", terminal=None):
    """The Block of a page tmp_path/partXX.txt that shows *text* in one block.

    The block's content starts on the page's line 5, so a problem on its
    first line is reported as ``partXX.txt:5``.
    """
    page = tmp_path / "partXX.txt"
    body = text.rstrip("\n").replace("\n", "\n    ")
    page.write_text(f"Title\n\n{DIRECTIVES[kind]}\n\n    {body}\n")
    return Block(
        docname="tutorial/partXX",
        source=str(page),
        line=3,
        kind=kind,
        language=kind,
        text=text,
        attributes={"terminal": terminal} if terminal else {},
    )
