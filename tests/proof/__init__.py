"""The machinery that proves the tutorial's pages against its stages.

- ``paths``: where things are.
- ``sphinx_build``: one build of the site per test run, warnings collected.
- ``blocks``: every code block of the built pages, with file and line.
- ``normalize``: the placeholders for ids, times and addresses.
- ``compare``: whether real output matches a page's, with explicit elision.
- ``fragments``: a file as the reader has it, from the parts a page showed.
- ``session``: a Python shell kept open across a page's ``pycon`` blocks.
- ``replay``: follows a part step by step, as a reader would.
- ``steps``: a console block as the steps a reader takes, and their page lines.
- ``terminals``: long-running commands, each in a terminal of the reader's.
- ``standins``: the table of what the replay runs where a command cannot
  run as written.
- ``reader``, ``reader_actions/partNN.py``: the reader's steps in the browser.
- ``changes``: which lines changed between two stages, and which a page shows.
- ``processes``: the children's environment, ports, and the run's processes,
  which end with the run however it ends.
"""
