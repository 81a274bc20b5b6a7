"""scripts/sync_readme.py pastes generated files between README markers, and nowhere else."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "sync_readme", Path(__file__).resolve().parent.parent / "scripts" / "sync_readme.py"
)
sync_readme = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(sync_readme)


def test_block_is_replaced_and_the_rest_kept(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("top\n<!-- BEGIN t -->\nold\n<!-- END t -->\nbottom\n")
    (tmp_path / "a.md").write_text("| a |\n")
    (tmp_path / "b.md").write_text("| b |\n")
    files = f"{tmp_path / 'a.md'},{tmp_path / 'b.md'}"
    assert sync_readme.main([f"t={files}", "--readme", str(readme)]) == 0
    assert readme.read_text() == "top\n<!-- BEGIN t -->\n| a |\n\n| b |\n<!-- END t -->\nbottom\n"


def test_unknown_block_is_an_error():
    with pytest.raises(ValueError, match="nope"):
        sync_readme.replace_block("no markers here", "nope", "x")


def test_missing_file_fails_without_touching_the_readme(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("<!-- BEGIN t -->\nold\n<!-- END t -->\n")
    assert sync_readme.main([f"t={tmp_path / 'missing.md'}", "--readme", str(readme)]) == 2
    assert "old" in readme.read_text()


def test_the_readme_holds_the_activation_docs_verbatim():
    root = Path(__file__).resolve().parent.parent
    assert (root / "docs" / "activations.md").read_text().strip() in (
        root / "README.md"
    ).read_text()
