"""scripts/sync_readme.py pastes generated files between markers of any markdown file, and nowhere
else; a missing source or block changes no file at all."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

import pytest

from noisyexp.layers import dropin

ROOT = Path(__file__).resolve().parents[2]
_SPEC = importlib.util.spec_from_file_location("sync_readme", ROOT / "scripts" / "sync_readme.py")
sync_readme = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(sync_readme)

PAGE = "top\n<!-- BEGIN t -->\nold\n<!-- END t -->\nmiddle <!-- BEGIN t --> in prose\nbottom\n"


def test_block_is_replaced_and_the_rest_kept(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("top\n<!-- BEGIN t -->\nold\n<!-- END t -->\nbottom\n")
    (tmp_path / "a.md").write_text("| a |\n")
    (tmp_path / "b.md").write_text("| b |\n")
    files = f"{tmp_path / 'a.md'},{tmp_path / 'b.md'}"
    assert sync_readme.main([f"t={files}", "--readme", str(readme)]) == 0
    assert readme.read_text() == "top\n<!-- BEGIN t -->\n| a |\n\n| b |\n<!-- END t -->\nbottom\n"


def test_a_block_of_another_file_is_named_before_a_colon(tmp_path):
    readme, page = tmp_path / "README.md", tmp_path / "docs" / "page.md"
    page.parent.mkdir()
    readme.write_text("<!-- BEGIN t -->\nkept\n<!-- END t -->\n")
    page.write_text("# Page\n\n<!-- BEGIN t -->\n<!-- END t -->\n\nafter\n")
    (tmp_path / "a.md").write_text("pasted\n\n\n")
    args = [f"{page}:t={tmp_path / 'a.md'}", "--readme", str(readme)]
    assert sync_readme.main(args) == 0
    assert page.read_text() == "# Page\n\n<!-- BEGIN t -->\npasted\n<!-- END t -->\n\nafter\n"
    assert readme.read_text() == "<!-- BEGIN t -->\nkept\n<!-- END t -->\n"


def test_only_marker_lines_count_and_each_block_once():
    with pytest.raises(ValueError, match="one <!-- BEGIN t --> line"):
        sync_readme.replace_block(PAGE, "t", "new")  # a second BEGIN, inside a sentence
    with pytest.raises(ValueError, match="one <!-- BEGIN t --> line"):
        sync_readme.replace_block("<!-- END t -->\nx\n<!-- BEGIN t -->\n", "t", "new")
    text = "a\n<!-- BEGIN u -->\nold\n<!-- END u -->\n<!-- BEGIN v -->\nv\n<!-- END v -->\n"
    replaced = sync_readme.replace_block(text, "u", "new\n")
    assert replaced == text.replace("\nold\n", "\nnew\n")
    assert sync_readme.block_names(replaced) == ["u", "v"]


def test_unknown_block_is_an_error():
    with pytest.raises(ValueError, match="nope"):
        sync_readme.replace_block("no markers here", "nope", "x")


def test_missing_file_fails_without_touching_the_readme(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("<!-- BEGIN t -->\nold\n<!-- END t -->\n")
    assert sync_readme.main([f"t={tmp_path / 'missing.md'}", "--readme", str(readme)]) == 2
    assert "old" in readme.read_text()


def test_a_failing_block_leaves_every_file_as_it_was(tmp_path, capsys):
    first, second = tmp_path / "first.md", tmp_path / "second.md"
    first.write_text("<!-- BEGIN t -->\nold\n<!-- END t -->\n")
    second.write_text("no block here\n")
    (tmp_path / "a.md").write_text("new\n")
    source = tmp_path / "a.md"
    assert sync_readme.main([f"{first}:t={source}", f"{second}:t={source}"]) == 2
    assert first.read_text() == "<!-- BEGIN t -->\nold\n<!-- END t -->\n"
    assert second.read_text() == "no block here\n"
    assert "has no <!-- BEGIN t -->" in capsys.readouterr().err


def test_generated_needs_the_bench_file(capsys):
    assert sync_readme.main(["--generated"]) == 2
    assert "--bench" in capsys.readouterr().err


def test_the_generated_plan_covers_the_readme_and_the_docs(tmp_path):
    plan = sync_readme.generated_blocks(tmp_path / "tables", tmp_path / "c.md", tmp_path / "b.md")
    assert plan[ROOT / "README.md"] == {"claims": [tmp_path / "c.md"]}
    assert plan[ROOT / "docs" / "speed.md"] == {"bench": [tmp_path / "b.md"]}
    results = plan[ROOT / "docs" / "results.md"]
    assert list(results) == sync_readme.paper_table_ids()
    assert all(files == [tmp_path / "tables" / f"{name}.md"] for name, files in results.items())


def test_the_unit_docs_show_the_tested_drop_in_example_verbatim():
    lines = []
    for line in dropin.__doc__.split("::\n", 1)[1].splitlines():
        if line and not line.startswith("    "):
            break
        lines.append(line)
    example = textwrap.dedent("\n".join(lines)).strip()
    assert "NoisyLSTM(" in example
    assert f"```python\n{example}\n```" in (ROOT / "docs" / "units.md").read_text()
