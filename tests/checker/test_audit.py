"""The audit's syntax check of illustrative blocks can fail."""

import pytest

from proof.audit import syntax_problem


@pytest.mark.parametrize(
    "language, text",
    [
        ("python", "def f(:"),
        ("json", "{'a': 1}"),
        ("toml", "a = "),
        ("yaml", "a: [b"),
        ("ini", "no section"),
    ],
)
def test_syntax_problem_catches_broken_illustrations(language, text):
    assert syntax_problem(language, text)


def test_syntax_problem_accepts_valid_illustrations():
    assert syntax_problem("ini", "[Unit]\nDescription=worker\n") is None
    assert syntax_problem("python", "x = 1") is None
    assert syntax_problem("text", "anything (") is None
