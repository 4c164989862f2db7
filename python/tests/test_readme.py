"""The README's "Quick start: Python" code, run as written against the installed package."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def quick_start_blocks() -> list[str]:
    """The Python code blocks of the README's "Quick start: Python" section."""
    text = README.read_text()
    section = text.split("\n## Quick start: Python\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_the_readme_has_the_three_line_test_and_the_examples() -> None:
    blocks = quick_start_blocks()
    assert len(blocks) == 3
    assert len(blocks[0].strip().splitlines()) == 3


@pytest.mark.parametrize("index", [0, 1])
def test_the_readme_tests_pass(pytester: pytest.Pytester, index: int) -> None:
    block = quick_start_blocks()[index]
    pytester.makepyfile(block)
    result = pytester.runpytest()
    result.assert_outcomes(passed=block.count("\ndef test_") + block.startswith("def test_"))


def test_the_readme_script_runs(tmp_path: Path) -> None:
    script = tmp_path / "quick_start.py"
    script.write_text(quick_start_blocks()[2])
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True
    )
    assert "'vm': 'vm-1001'" in out.stdout
    assert "GET /api/vcenter/vm -> 200 [vm.list]" in out.stdout
