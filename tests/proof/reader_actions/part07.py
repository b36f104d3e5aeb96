"""What the reader has and does in part 7 (see proof/reader.py)."""


def make_the_command_packages(reader):
    """The folders that hold the app's management commands, as packages."""
    commands = reader.project / "testimonials" / "management" / "commands"
    commands.mkdir(parents=True)
    (commands.parent / "__init__.py").write_text("")
    (commands / "__init__.py").write_text("")
