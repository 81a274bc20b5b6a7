"""``noisyexp translate``: translate new sentences with a trained translation run.

The run's checkpoint holds everything needed: the config (task sizes, tokeniser, act), the
vocabularies (the task's state) and the weights; the corpus is not read again. No argv or stderr
here: the CLI reads the lines and prints the translations.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import torch

from noisyexp.config.act import act_from_dict, build_units
from noisyexp.core.checkpoint import load_checkpoint
from noisyexp.core.errors import CheckpointError, ConfigError
from noisyexp.data.parallel import TokenVocabulary
from noisyexp.models.nmt import NMTModel
from noisyexp.tasks.nmt import NMTConfig, decode, make_tokenizers

__all__ = ["Translator", "load_translator"]


class Translator:
    """A trained model with its tokenisers and vocabularies; :meth:`translate` plain lines."""

    def __init__(
        self, cfg: NMTConfig, model: NMTModel, src_vocab, tgt_vocab, device, tokenizers
    ) -> None:
        self.cfg, self.model, self.device = cfg, model.eval(), device
        self.src_vocab, self.tgt_vocab = src_vocab, tgt_vocab
        self.src_tok, self.tgt_tok = tokenizers[cfg.src], tokenizers[cfg.tgt]

    def translate(self, lines: Iterable[str]) -> list[str]:
        """One detokenised translation per line (an empty line gives an empty line)."""
        lines = list(lines)
        sources = [self.src_vocab.encode(self.src_tok.tokenize(line)) for line in lines]
        outputs = decode(self.model, sources, self.cfg, self.device)
        return [
            self.tgt_tok.detokenize(self.tgt_vocab.decode(ids)) if line.strip() else ""
            for line, ids in zip(lines, outputs, strict=True)
        ]


def load_translator(
    run_dir: Path,
    *,
    checkpoint: str = "best.pt",
    beam_size: int | None = None,
    decoder: str | None = None,
    device: str = "cpu",
) -> Translator:
    """The model of ``run_dir/checkpoints/<checkpoint>`` (``last.pt`` when there is no best).

    Raises:
        CheckpointError: no checkpoint, or not one of a translation run.
        ConfigError: a bad beam size or decoder (from the task's config checks), or no CUDA.
    """
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {device}: CUDA is not available on this machine")
    folder = Path(run_dir) / "checkpoints"
    path = folder / checkpoint
    if not path.is_file() and checkpoint == "best.pt":
        path = folder / "last.pt"
    if not Path(run_dir).is_dir():
        raise CheckpointError(f"{run_dir} is not a run directory")
    payload = load_checkpoint(path)
    config = payload["config"]
    task = dict(config.get("task", {}))
    if task.get("name") != "nmt":
        raise CheckpointError(f"{run_dir} is not a translation run (task={task.get('name')})")
    overrides = {}
    if beam_size is not None:
        overrides["beam_size"] = beam_size
    if decoder is not None:
        overrides["decoder"] = decoder
    try:
        cfg = NMTConfig(**{**task, **overrides})
        units = build_units(act_from_dict(config["act"]))
    except (TypeError, KeyError) as err:
        raise CheckpointError(f"{path}: its config cannot be read ({err})") from None
    state = payload["task"]
    try:
        src_vocab = TokenVocabulary.from_list(state["src_vocab"])
        tgt_vocab = TokenVocabulary.from_list(state["tgt_vocab"])
    except (KeyError, ValueError) as err:
        raise CheckpointError(f"{path} holds no vocabularies ({err})") from None
    torch_device = torch.device(device)
    model = NMTModel(
        len(src_vocab),
        len(tgt_vocab),
        cfg.embedding_size,
        cfg.hidden_size,
        units,
        init_scale=cfg.init_scale,
    )
    try:
        model.load_state_dict(payload["model"])
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise CheckpointError(f"{path} does not fit the model: {first}") from None
    protos = {
        lang: bytes(state[f"sentencepiece_{lang}"].numpy().tobytes())
        for lang in (cfg.src, cfg.tgt)
        if f"sentencepiece_{lang}" in state
    }
    try:
        tokenizers = make_tokenizers(cfg, protos=protos if protos else None)
    except (KeyError, ValueError) as err:
        raise CheckpointError(f"{path} lacks the run's subword models ({err})") from None
    return Translator(cfg, model.to(torch_device), src_vocab, tgt_vocab, torch_device, tokenizers)
