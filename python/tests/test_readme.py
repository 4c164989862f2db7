"""The READMEs' Python code, run as written against the installed package.

That is the project README's "Quick start: Python" and the package's own README.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
PACKAGE_README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(text: str) -> list[str]:
    """The Python code blocks of a Markdown text."""
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def quick_start_blocks() -> list[str]:
    """The Python code blocks of the README's "Quick start: Python" section."""
    text = README.read_text()
    section = text.split("\n## Quick start: Python\n", 1)[1].split("\n## ", 1)[0]
    return python_blocks(section)


def passes(pytester: pytest.Pytester, block: str) -> None:
    pytester.makepyfile(block)
    result = pytester.runpytest()
    result.assert_outcomes(passed=block.count("\ndef test_") + block.startswith("def test_"))


def runs(tmp_path: Path, block: str) -> str:
    script = tmp_path / "example.py"
    script.write_text(block)
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True
    )
    return out.stdout


def test_the_readme_has_the_three_line_test_and_the_examples() -> None:
    blocks = quick_start_blocks()
    assert len(blocks) == 3
    assert len(blocks[0].strip().splitlines()) == 3


@pytest.mark.parametrize("index", [0, 1])
def test_the_readme_tests_pass(pytester: pytest.Pytester, index: int) -> None:
    passes(pytester, quick_start_blocks()[index])


def test_the_readme_script_runs(tmp_path: Path) -> None:
    out = runs(tmp_path, quick_start_blocks()[2])
    assert "'vm': 'vm-1001'" in out
    assert "GET /api/vcenter/vm -> 200 [vm.list]" in out


def test_the_package_readme_test_passes_and_its_script_runs(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    test, script = python_blocks(PACKAGE_README.read_text())
    passes(pytester, test)
    out = runs(tmp_path, script)
    assert "GET /api/vcenter/vm -> 200 [vm.list]" in out
