"""The README starts with exactly two commands, and CI runs the second one and nothing else.

A quiet flag added to .ci/run alone, or a test file added to the README's NumPy rerun alone, would
make CI test something other than what a reader runs; these tests catch that drift.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    """The bash code blocks before the README's first section heading."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    head = readme.split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", head, flags=re.S)]


def test_the_readme_starts_with_exactly_two_commands_install_and_run_then_test():
    commands = readme_commands()
    assert len(commands) == 2, commands
    assert all("\n" not in command for command in commands), "each command is one line a reader can paste"
    assert "python app.py" in commands[0]
    assert "python -m pytest" in commands[1]


def test_ci_runs_exactly_the_readmes_test_command_and_nothing_else():
    ci_lines = [line for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]
    # The script's own preamble (strict mode, moving to the repo root) is not a command of its own.
    commands = [line for line in ci_lines if not line.startswith(("set ", "cd "))]
    assert commands == [readme_commands()[1]]
