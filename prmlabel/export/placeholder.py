"""The step tag of the OpenRLHF and Math-Shepherd exports (``--placeholder``), checked against a tokenizer.

OpenRLHF's ProcessRewardDataset looks the tag up with ``tokenizer.encode(tag, add_special_tokens=False)``,
asserts that this is one id, and puts the i-th label on the i-th position of that id in the tokenized
input. So the tag must be one token on its own *and* that same token where the export writes it (after a
space, at the end of a step). Math-Shepherd's readers find the tag the same way. ``ки`` (Math-Shepherd's
tag) is one token in Mistral's tokenizer but two in SmolLM2's, Qwen's and Llama 3's; and byte-level BPE
merges the space before a tag like ``§`` into another token than ``§`` alone, so both are checked.

``--tokenizer NAME_OR_PATH`` loads with transformers' AutoTokenizer where transformers is installed
(what OpenRLHF uses), else with the ``tokenizers`` library from a ``tokenizer.json`` (a file, a folder
holding one, or a Hub model's, through the local Hub cache with ``HF_HUB_OFFLINE=1``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prmlabel.export.steptext import PLACEHOLDER, tagged_text

# Tried in order when the chosen tag is not one token; then the tokenizer's own added tokens.
CANDIDATES = ("ки", "<step>", "<|step|>", "§", "¶", "∎", "Ð")
REWARD_TOKENS = ("+", "-")  # OpenRLHF's --reward_tokens + - (hard labels are these tokens' ids)
SAMPLE_QUESTION = "What is 2 + 3, doubled?"
SAMPLE_STEPS = ["2 + 3 = 5", "5 * 2 = 10", "The answer is 10."]


@dataclass
class LoadedTokenizer:
    name: str
    encode: Callable[[str], list[int]]  # without special tokens, as OpenRLHF calls it
    to_text: Callable[[list[int]], list[str]]  # the token strings, for messages
    added: list[str]  # added (special) tokens, in id order
    reserved: set[str]  # bos/eos/pad/unk/... and chat-template markers: never suggested


def load_tokenizer(name: str) -> LoadedTokenizer:
    try:
        import transformers
    except ImportError:
        return _load_tokenizers(name)
    if Path(name).is_file():  # a tokenizer.json: AutoTokenizer takes folders and Hub names only
        return _load_tokenizers(name)
    try:
        tok = transformers.AutoTokenizer.from_pretrained(name)
    except (OSError, ValueError) as exc:
        raise ValueError(f"--tokenizer {name}: transformers could not load it ({exc})") from exc
    added = [t for _, t in sorted((i, t) for t, i in tok.get_added_vocab().items())]
    reserved = {str(t) for t in tok.all_special_tokens if t not in getattr(tok, "additional_special_tokens", [])}
    template = tok.chat_template if isinstance(tok.chat_template, str) else ""
    reserved |= {t for t in added if t in template}
    return LoadedTokenizer(
        name, lambda text: list(tok.encode(text, add_special_tokens=False)), tok.convert_ids_to_tokens, added, reserved
    )


def _load_tokenizers(name: str) -> LoadedTokenizer:
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise ValueError("--tokenizer needs transformers or tokenizers: pip install tokenizers") from exc
    path = Path(name)
    file = path if path.is_file() else path / "tokenizer.json"
    if not file.is_file():
        if path.exists() or name.count("/") != 1:
            raise ValueError(f"--tokenizer {name}: no tokenizer.json there (give a file, a folder or a Hub model name)")
        from huggingface_hub import hf_hub_download

        file = Path(hf_hub_download(name, "tokenizer.json"))
    tok = Tokenizer.from_file(str(file))
    added = [t.content for _, t in sorted(tok.get_added_tokens_decoder().items())]
    reserved: set[str] = set()
    config = file.with_name("tokenizer_config.json")
    if config.is_file():
        settings = json.loads(config.read_text(encoding="utf-8"))
        for key in ("bos_token", "eos_token", "pad_token", "unk_token", "sep_token", "cls_token", "mask_token"):
            value = settings.get(key)
            value = value.get("content") if isinstance(value, dict) else value
            if isinstance(value, str):
                reserved.add(value)
        template = settings.get("chat_template") or ""
        if not isinstance(template, str):
            template = ""
        template_file = file.with_name("chat_template.jinja")
        if template_file.is_file():
            template += template_file.read_text(encoding="utf-8")
        reserved |= {t for t in added if t in template}
    return LoadedTokenizer(
        name,
        lambda text: tok.encode(text, add_special_tokens=False).ids,
        lambda ids: [tok.id_to_token(i) for i in ids],
        added,
        reserved,
    )


def problem(tok: LoadedTokenizer, placeholder: str) -> str | None:
    """Why ``placeholder`` does not work as a tag in ``tok`` (None when it does)."""
    ids = tok.encode(placeholder)
    if len(ids) != 1:
        return f"is {len(ids)} tokens {tok.to_text(ids)}, and OpenRLHF needs one"
    text = tagged_text(SAMPLE_QUESTION, SAMPLE_STEPS, [placeholder] * len(SAMPLE_STEPS))
    found = tok.encode(text).count(ids[0])
    if found != len(SAMPLE_STEPS):
        return (
            f"is one token alone ({ids[0]}) but not where the export writes it (after a space, ending a step): "
            f"{found} of {len(SAMPLE_STEPS)} tags found in {text!r}"
        )
    return None


def alternative(tok: LoadedTokenizer) -> str | None:
    """A tag that is one token in ``tok``: the short list first, then an added token no template uses."""
    spare = [t for t in tok.added if t not in tok.reserved]
    for candidate in [*CANDIDATES, *reversed(spare)]:
        if candidate not in REWARD_TOKENS and problem(tok, candidate) is None:
            return candidate
    return None


def check_placeholder(placeholder: str, tokenizer: str | None, fmt: str) -> None:
    """Refuse an empty or spaced tag; with ``tokenizer``, refuse a tag (or +/-) that is not one token."""
    if not placeholder or placeholder != placeholder.strip() or "\n" in placeholder:
        raise ValueError(f"--placeholder {placeholder!r} must be non-empty, without spaces around it or newlines")
    if placeholder in REWARD_TOKENS:
        raise ValueError(f"--placeholder {placeholder!r} is a reward token (+/-); pick another, e.g. {PLACEHOLDER}")
    if tokenizer is None:
        return
    tok = load_tokenizer(tokenizer)
    why = problem(tok, placeholder)
    if why is not None:
        other = alternative(tok)
        hint = f" One token there: --placeholder '{other}'." if other else " No single-token tag was found to suggest."
        raise ValueError(f"--format {fmt}: in --tokenizer {tokenizer}, --placeholder {placeholder!r} {why}.{hint}")
    for reward in REWARD_TOKENS:
        ids = tok.encode(reward)
        if len(ids) != 1:
            raise ValueError(
                f"--format {fmt}: the label {reward!r} is {len(ids)} tokens in {tokenizer}; it must be one"
            )
