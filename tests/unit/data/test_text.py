"""Vocabulary, tokenising with <eos>, batchify and BPTT windows (noisyexp.data.text)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from noisyexp.core.errors import DataError
from noisyexp.data import text
from noisyexp.data.text import (
    EOS,
    Vocabulary,
    batchify,
    char_tokens,
    get_window,
    iter_windows,
    num_windows,
    read_text,
    word_tokens,
)


def test_all_names_exist_once() -> None:
    assert len(set(text.__all__)) == len(text.__all__)
    for name in text.__all__:
        assert hasattr(text, name)


def test_word_tokens_end_every_line_with_eos() -> None:
    assert word_tokens(" the cat \n sat  on\tit \n") == [
        "the", "cat", EOS, "sat", "on", "it", EOS,
    ]  # fmt: skip


def test_word_tokens_count_blank_lines_and_an_unterminated_last_line() -> None:
    # 3 lines: "a", "" (blank), "b c" without a final newline
    assert word_tokens("a\n\nb c") == ["a", EOS, EOS, "b", "c", EOS]


def test_word_tokens_split_lines_only_on_newline() -> None:
    # a form feed inside a line is whitespace, not a line end
    assert word_tokens("a\x0cb\n") == ["a", "b", EOS]


def test_char_tokens_mark_spaces_with_underscore_and_line_ends_with_eos() -> None:
    assert char_tokens(" ab  c \nd <unk>\n") == [
        "a", "b", "_", "c", EOS, "d", "_", "<", "u", "n", "k", ">", EOS,
    ]  # fmt: skip


def test_vocabulary_numbers_symbols_in_order_of_first_appearance() -> None:
    vocab = Vocabulary(["b", "a", "b", "c"])
    assert len(vocab) == 3
    assert vocab.id_to_symbol == ["b", "a", "c"]
    assert vocab.add("a") == 1
    assert vocab.add("d") == 3
    assert vocab.encode(["c", "b", "d"]).tolist() == [2, 0, 3]
    assert vocab.decode([3, 1]) == ["d", "a"]
    assert "a" in vocab and "z" not in vocab


def test_vocabulary_encode_maps_unknown_symbols_only_when_asked() -> None:
    vocab = Vocabulary(["x", "<unk>"])
    assert vocab.encode(["x", "new"], unknown="<unk>").tolist() == [0, 1]
    with pytest.raises(KeyError):
        vocab.encode(["new"])


def test_batchify_lays_the_stream_out_in_contiguous_columns() -> None:
    stream = torch.arange(26)  # 26 = 4 columns x 6 rows + 2 dropped
    data = batchify(stream, 4)
    assert data.shape == (6, 4)
    assert data.dtype == torch.long
    for column in range(4):
        assert data[:, column].tolist() == list(range(6 * column, 6 * column + 6))


def test_batchify_rejects_a_stream_without_one_input_target_pair_per_column() -> None:
    with pytest.raises(DataError, match="too short"):
        batchify(torch.arange(7), 4)


@pytest.mark.parametrize(
    ("rows", "bptt", "drop_last", "expected"),
    [(6, 2, True, 2), (6, 2, False, 3), (7, 2, True, 3), (7, 2, False, 3), (2, 5, False, 1)],
)
def test_num_windows_counts_full_or_all_windows(
    rows: int, bptt: int, drop_last: bool, expected: int
) -> None:
    assert num_windows(rows, bptt, drop_last=drop_last) == expected


def test_get_window_targets_are_the_inputs_one_step_later() -> None:
    data = batchify(torch.arange(26), 4)  # (6, 4)
    inputs, targets = get_window(data, 1, 2)
    assert inputs.tolist() == [[2, 8, 14, 20], [3, 9, 15, 21]]
    assert targets.tolist() == [[3, 9, 15, 21], [4, 10, 16, 22]]


def test_get_window_shortens_the_last_window() -> None:
    data = batchify(torch.arange(26), 4)  # rows 0..5; window 2 of bptt 2 has one step left
    inputs, targets = get_window(data, 2, 2)
    assert inputs.tolist() == [[4, 10, 16, 22]]
    assert targets.tolist() == [[5, 11, 17, 23]]


def test_iter_windows_scores_every_target_once_without_drop_last() -> None:
    data = batchify(torch.arange(33), 3)  # (11, 3): 10 targets per column
    targets = torch.cat([t for _, t in iter_windows(data, 3, drop_last=False)])
    assert targets.shape == (10, 3)
    assert torch.equal(targets, data[1:])


def test_iter_windows_drops_the_partial_window_for_training() -> None:
    data = batchify(torch.arange(33), 3)  # 10 targets per column, bptt 3: 3 full windows
    windows = list(iter_windows(data, 3, drop_last=True))
    assert [w[0].size(0) for w in windows] == [3, 3, 3]


def test_read_text_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="missing"):
        read_text(tmp_path / "nope.txt")


def test_read_text_reports_a_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"ok \xff\xfe\n")
    with pytest.raises(DataError, match="not UTF-8"):
        read_text(path)
