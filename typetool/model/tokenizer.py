"""The subword tokenizer shared by usage slices (model input) and type strings (model output).

Does: trains a BPE `tokenizers.Tokenizer` on slice and type texts, with a pre-tokenizer that splits on
whitespace and isolates every punctuation character (and `...`), so type punctuation `[ ] , | ( ) .` is always
its own token and names are runs of `\\w` tokens; encodes model inputs (truncated, EOS-terminated) and targets.
Does not: decode model output back to text (types are rendered from tokens by `grammar.TypeGrammar.render`);
keep whitespace (the model input does not need it; type text is re-spaced canonically).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

from typetool.languages import key_of_input, languages

PAD, EOS, UNK = "<pad>", "</s>", "<unk>"
# ids 0..2, then each language's slice tag `<key>` in registry order (`<py>` 3, `<ts>` 4); T5 uses pad (0) as
# the decoder start token
SPECIALS = [PAD, EOS, UNK, *(f"<{language.key}>" for language in languages())]
ELLIPSIS = "..."
PAD_ID, EOS_ID, UNK_ID = 0, 1, 2
_ALPHABET = [chr(c) for c in range(33, 127)]  # every printable ASCII char is a token: identifiers never <unk>


def new_tokenizer() -> Tokenizer:
    tok = Tokenizer(models.BPE(unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(),
        pre_tokenizers.Split(Regex(r"\.\.\.|[^\w\s]"), behavior="isolated"),
    ])
    return tok


def train_tokenizer(texts: Iterable[str], vocab_size: int = 8000, min_frequency: int = 2) -> Tokenizer:
    """BPE over `texts` (slices and type strings); the special tokens get the first ids and `...` one token."""
    tok = new_tokenizer()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=SPECIALS,
                                  initial_alphabet=_ALPHABET, show_progress=False)
    tok.train_from_iterator(texts, trainer)
    if tok.token_to_id(ELLIPSIS) is None:
        tok.add_tokens([ELLIPSIS])
    assert [tok.token_to_id(s) for s in SPECIALS[:3]] == [PAD_ID, EOS_ID, UNK_ID]
    return tok


def load_tokenizer(path: Path) -> Tokenizer:
    return Tokenizer.from_file(str(path))


def encode_inputs(tok: Tokenizer, texts: list[str], max_len: int) -> list[list[int]]:
    """Input ids: the text's tokens cut to `max_len - 1`, then EOS (as T5 was trained)."""
    return [e.ids[: max_len - 1] + [EOS_ID] for e in tok.encode_batch(texts, add_special_tokens=False)]


def encode_targets(tok: Tokenizer, types: list[str]) -> list[list[int]]:
    """Target ids: the type's tokens then EOS, uncut (callers drop targets longer than their limit)."""
    return [e.ids + [EOS_ID] for e in tok.encode_batch(types, add_special_tokens=False)]


def py_or_ts(text: str) -> str:
    """The key of the language whose tag (`<py>`, `<ts>`) an input starts with (`languages.key_of_input`)."""
    return key_of_input(text)


def corpus_texts(records: Iterable[dict[str, str]]) -> Iterator[str]:
    for r in records:
        yield r["input"]
        yield r["target"]
