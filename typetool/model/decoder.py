"""Inference: constrained beam search over the type grammar, returning top-k types with per-token log-probs.

Does: encodes usage slices, runs the T5 encoder once per batch and a cached decoder step per token, masks
every step to the tokens `grammar.TypeGrammar` allows (well-formed types over builtin, training-vocabulary
and per-example scope names), renormalizes the log-softmax over the allowed tokens, and keeps the `num_beams`
best hypotheses by summed log-prob (no length penalty). Two implementations of that search: `_beam_search`
(the default: live beams only, per-example cross-attention keys/values, output layer and softmax over the
allowed tokens only, memoized grammar) and the plain `_beam_search_reference` (`predict(..., reference=True)`),
which it matches (same candidates, log-probs equal up to float32 rounding, ~1e-6). Each `Candidate` carries
its tokens, their log-probs and character spans in the canonical type string, so prediction sets can charge
tokens to type-tree nodes. Also: teacher-forced constrained `score` of given types (for calibration, e.g.
log p(t | empty context)), and unconstrained greedy decoding used for validation during training.
Does not: calibrate scores, build prediction sets, or normalize types (`typetool.typeexpr`); train.
"""

from __future__ import annotations

import copy
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from tokenizers import Tokenizer
from transformers import T5ForConditionalGeneration
from transformers.modeling_outputs import BaseModelOutput
from transformers.models.t5.modeling_t5 import T5DenseActDense

from typetool.model.config import ModelSettings
from typetool.model.grammar import NAME_RE, Context, State, TypeGrammar, TypeVocab
from typetool.model.linker import LINKER_BEAM, BeamSite, Linker, rerank_many
from typetool.model.tokenizer import EOS, EOS_ID, PAD_ID, encode_inputs, encode_targets, py_or_ts
from typetool.settings import check_precision

NEG_INF = float("-inf")


@dataclass
class Candidate:
    """One predicted type. `score` is the sequence log-prob, the sum of `token_logprobs` (EOS included)."""

    type: str
    score: float
    token_logprobs: list[float]
    tokens: list[str]  # the type's tokens, then "</s>"
    offsets: list[tuple[int, int]]  # each token's [start, end) in `type`; separators own their spaces; EOS: empty

    @property
    def prob(self) -> float:
        return math.exp(self.score)


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)

# transformers renamed the decoder cache argument and output field (`past_key_values` -> `cache`) within 5.x
CACHE_FIELD = ("cache" if "cache" in inspect.signature(T5ForConditionalGeneration.forward).parameters
               else "past_key_values")


def cache_kw(cache: Any) -> dict[str, Any]:
    """The keyword that passes a decoder cache to the model's forward, in this transformers version."""
    return {CACHE_FIELD: cache}


def cache_of(out: Any) -> Any:
    """The decoder cache in a model output, in this transformers version."""
    return getattr(out, CACHE_FIELD)


def as_link(c: Candidate, logprob: float) -> Candidate:
    """`c` scored as a name link: `logprob` (the measured precision of links) on its first token, the rest
    certain, so its prediction set keeps or drops the linked name as a whole."""
    lps = [logprob] + [0.0] * (len(c.token_logprobs) - 1)
    return Candidate(c.type, logprob, lps, c.tokens, c.offsets)


def rescored(c: Candidate, logprob: float) -> Candidate:
    """`c` with its score set to `logprob` by a later stage (linker, consistency), the change charged to its
    first token (the head of the type tree), so the prediction sets still read its tokens."""
    lps = list(c.token_logprobs)
    lps[0] += logprob - c.score
    return Candidate(c.type, logprob, lps, c.tokens, c.offsets)


def pad_batch(seqs: list[list[int]], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), PAD_ID, dtype=torch.long)  # [B, S]
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s, dtype=torch.long)
    return ids.to(device), (ids != PAD_ID).long().to(device)


@torch.inference_mode()
def greedy_ids(model: T5ForConditionalGeneration, input_ids: torch.Tensor, attention_mask: torch.Tensor,
               max_len: int) -> list[list[int]]:
    """Unconstrained greedy decoding; token ids up to (not including) EOS."""
    B = input_ids.shape[0]
    enc = model.get_encoder()(input_ids=input_ids, attention_mask=attention_mask)
    dec = torch.full((B, 1), PAD_ID, dtype=torch.long, device=input_ids.device)  # [B, 1]
    ended = torch.zeros(B, dtype=torch.bool, device=input_ids.device)  # [B]
    steps: list[torch.Tensor] = []
    cache = None
    for _ in range(max_len):
        out = model(encoder_outputs=enc, attention_mask=attention_mask, decoder_input_ids=dec, use_cache=True,
                    **cache_kw(cache))
        cache = cache_of(out)
        nxt = out.logits[:, -1].argmax(-1).masked_fill(ended, EOS_ID)  # [B]
        steps.append(nxt)
        ended |= nxt == EOS_ID
        dec = nxt[:, None]
        if bool(ended.all()):
            break
    seqs = torch.stack(steps, 1).tolist()  # [B, T]
    return [s[:s.index(EOS_ID)] if EOS_ID in s else s for s in seqs]


def encode(enc: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The last hidden state [B, S, D] of the T5 encoder stack `enc` (`model.get_encoder()`), computed as it
    computes it in eval mode (same operations, same results), but with the attention mask that folds the
    relative position bias and the padding built once rather than once per layer. In the stack's dtype."""
    B, S = input_ids.shape
    h = enc.embed_tokens(input_ids)  # [B, S, D]
    blocks = list(enc.block)
    att0 = blocks[0].layer[0].SelfAttention
    bias = att0.compute_bias(S, S, device=h.device)  # [1, H, S, S]
    if bool(attention_mask.all()):
        attn_mask = bias.contiguous()
    else:
        keep = attention_mask.bool()[:, None, None, :].expand(B, 1, S, S)
        attn_mask = torch.where(keep, bias, torch.finfo(bias.dtype).min).contiguous()  # [B, H, S, S]
    H, dk = att0.n_heads, att0.key_value_proj_dim
    F = torch.nn.functional
    for block in blocks:
        sa_layer, ff_layer = block.layer
        sa = sa_layer.SelfAttention
        n = sa_layer.layer_norm(h)
        qkv = F.linear(n, torch.cat([sa.q.weight, sa.k.weight, sa.v.weight]))  # one product, same values
        q, k, v = (m.view(B, S, H, dk).transpose(1, 2) for m in torch.split(qkv, H * dk, dim=-1))  # [B, H, S, dk]
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, scale=1.0)
        h = h + sa.o(a.transpose(1, 2).contiguous().reshape(B, S, H * dk).contiguous())
        ff = ff_layer.DenseReluDense
        if isinstance(ff, T5DenseActDense) and isinstance(ff.act, torch.nn.ReLU):
            h = h + ff.wo(torch.relu_(ff.wi(ff_layer.layer_norm(h))))  # T5LayerFF, without the relu copy
        else:
            h = ff_layer(h)
    return enc.final_layer_norm(h)  # type: ignore[no-any-return]


_BIG_ROW = 256  # beams allowing more tokens than this (a type starts: every name's first token) form their own group


def _slots(ex: list[int], B: int) -> tuple[list[int], int, list[list[int]]]:
    """For beams grouped by example: each beam's index within its example, the most beams of one example, and
    each example's beams."""
    rows_of: list[list[int]] = [[] for _ in range(B)]
    slot: list[int] = []
    for r, b in enumerate(ex):
        slot.append(len(rows_of[b]))
        rows_of[b].append(r)
    return slot, max(len(rs) for rs in rows_of), rows_of


class _Allowed:
    """The tokens one beam may emit next: their ids (a token may repeat), and a bool [V] row made on demand."""

    __slots__ = ("_V", "_row", "count", "ids")

    def __init__(self, ids: torch.Tensor, vocab_size: int) -> None:
        self.ids, self.count, self._V = ids, int(ids.shape[0]), vocab_size
        self._row: torch.Tensor | None = None

    def row(self) -> torch.Tensor:
        if self._row is None:
            self._row = torch.zeros(self._V, dtype=torch.bool)
            self._row[self.ids] = True
        return self._row


class _AllowedCache:
    """`TypeGrammar.allowed` per (example, state, remaining), memoized for one batch (states repeat across beams
    and steps)."""

    def __init__(self, grammar: TypeGrammar, ctxs: list[Context], vocab_size: int) -> None:
        self.grammar, self.ctxs, self.V = grammar, ctxs, vocab_size
        self.memo: dict[tuple[int, State, int], _Allowed] = {}
        self.none = torch.zeros(0, dtype=torch.long)

    def get(self, b: int, s: State, remaining: int) -> _Allowed:
        key = (b, s, remaining)
        hit = self.memo.get(key)
        if hit is None:
            parts = self.grammar.allowed(s, self.ctxs[b], remaining)
            ids = parts[0] if len(parts) == 1 else torch.cat(parts) if parts else self.none
            hit = self.memo[key] = _Allowed(ids, self.V)
        return hit


class _StepDecoder:
    """The T5 decoder run one token at a time over a changing set of beams, equivalent to the model's cached
    forward: self-attention keys/values are plain tensors that follow each beam's parent; each example's
    cross-attention keys/values are computed once and shared by its beams, which attend as extra query positions
    of the example (no copy per beam); the output is the final hidden state (scaled as the model scales it
    before its output layer), so the caller computes logits for just the tokens it needs."""

    def __init__(self, model: T5ForConditionalGeneration, enc: torch.Tensor, mask: torch.Tensor,
                 max_len: int) -> None:
        cfg = model.config
        dec = model.decoder
        self.blocks: list[Any] = list(dec.block)  # T5Block: layer = (self-attention, cross-attention, FF)
        self.embed, self.final_norm = dec.embed_tokens, dec.final_layer_norm
        self.H, self.dk = int(cfg.num_heads), int(cfg.d_kv)
        self.scale = float(model.model_dim) ** -0.5 if cfg.scale_decoder_outputs else 1.0
        B, S = enc.shape[:2]
        self.cross: list[tuple[torch.Tensor, torch.Tensor]] = []
        for block in self.blocks:
            att = block.layer[1].EncDecAttention
            k = att.k(enc).view(B, S, self.H, self.dk).transpose(1, 2).contiguous()  # [B, H, S, dk]
            v = att.v(enc).view(B, S, self.H, self.dk).transpose(1, 2).contiguous()  # [B, H, S, dk]
            self.cross.append((k, v))
        self.cross_mask = torch.zeros(B, 1, 1, S, dtype=enc.dtype, device=enc.device).masked_fill(
            mask[:, None, None, :] == 0, torch.finfo(enc.dtype).min)  # [B, 1, 1, S]
        att0 = self.blocks[0].layer[0].SelfAttention
        self.bias = att0.compute_bias(max_len, max_len, device=enc.device)  # [1, H, L, L]; row t: query at t
        self.past: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.device = enc.device

    def step(self, tokens: list[int], src: list[int] | None, ex: list[int], slot: list[int], width: int,
             t: int) -> torch.Tensor:
        """Feed each beam its token (position `t`); `src`: each beam's parent among the previous step's beams.
        Returns the beams' final hidden states [N, D]."""
        N, H, dk, dev = len(tokens), self.H, self.dk, self.device
        B = self.cross_mask.shape[0]
        sdpa = torch.nn.functional.scaled_dot_product_attention
        h = self.embed(torch.tensor(tokens, device=dev))  # [N, D]
        parent = torch.tensor(src, device=dev) if src is not None else None
        qb, qs = torch.tensor(ex, device=dev), torch.tensor(slot, device=dev)
        bias = self.bias[:, :, t:t + 1, :t + 1].contiguous()  # [1, H, 1, t+1]
        past: list[tuple[torch.Tensor, torch.Tensor]] = []
        for i, block in enumerate(self.blocks):
            sa_layer, ca_layer, ff_layer = block.layer
            sa = sa_layer.SelfAttention
            n = sa_layer.layer_norm(h)
            q = sa.q(n).view(N, 1, H, dk).transpose(1, 2)  # [N, H, 1, dk]
            k = sa.k(n).view(N, 1, H, dk).transpose(1, 2)
            v = sa.v(n).view(N, 1, H, dk).transpose(1, 2)
            if parent is not None:
                pk, pv = self.past[i]
                k = torch.cat([pk.index_select(0, parent), k], dim=-2)  # [N, H, t+1, dk]
                v = torch.cat([pv.index_select(0, parent), v], dim=-2)
            past.append((k, v))
            a = sdpa(q, k, v, attn_mask=bias, scale=1.0)  # [N, H, 1, dk]
            h = h + sa.o(a.transpose(1, 2).reshape(N, H * dk))
            ca = ca_layer.EncDecAttention
            n = ca_layer.layer_norm(h)
            qp = torch.zeros(B, width, H * dk, dtype=h.dtype, device=dev)
            qp[qb, qs] = ca.q(n)
            ck, cv = self.cross[i]
            a = sdpa(qp.view(B, width, H, dk).transpose(1, 2), ck, cv, attn_mask=self.cross_mask, scale=1.0)
            h = h + ca.o(a.transpose(1, 2).reshape(B, width, H * dk)[qb, qs])  # [N, D]
            h = ff_layer(h)
        self.past = past
        h = self.final_norm(h)
        return h * self.scale if self.scale != 1.0 else h  # type: ignore[no-any-return]


class TypeDecoder:
    """A loaded model with its tokenizer and grammar; `predict` is the entry point."""

    def __init__(self, model: T5ForConditionalGeneration, tokenizer: Tokenizer, vocab: TypeVocab,
                 settings: ModelSettings, device: str = "cpu", linker: Linker | None = None,
                 precision: str = "fp32") -> None:
        self.device = resolve_device(device)
        self.linker = linker  # the learned name linker (`linker.py`); without it, the rule of `name_rule.py`
        # how candidate types are compared when the linker merges them with its links (the type string as
        # decoded, unless the caller knows the language's normalization: `TypePredictor` sets it)
        self.canonical: Callable[[str, str], str] = lambda t, _language: t
        self._contexts: dict[tuple[str, tuple[str, ...]], Context] = {}
        self._decodable_memo: dict[tuple[int, str], tuple[Context, Candidate | None]] = {}
        self.model = model.to(self.device).eval()  # type: ignore[arg-type]
        self.tokenizer = tokenizer
        self.vocab = vocab
        self.settings = settings
        self.grammar = TypeGrammar(tokenizer, vocab, settings.min_name_count)
        self.precision = "fp32"
        self._bf16_encoder: Any = None
        self.set_precision(precision)

    def set_precision(self, precision: str) -> None:
        """The encoder's arithmetic in the default search: "fp32" (what the model was calibrated with), or
        "bf16" (a bfloat16 copy of the encoder: on CPUs with native bfloat16, e.g. AVX512-BF16 or AMX, the
        encoder runs about 1.8x and the whole search about 1.3x as fast; its hidden states differ from fp32 by
        about 1%, so a few predictions differ, and the calibration, fitted in fp32, holds only approximately).
        The decoder, the output layer and every score stay float32; the reference search and `score` are
        always fp32."""
        check_precision(precision)
        self.precision = precision
        self._bf16_encoder = None

    def _encoder(self) -> Any:
        if self.precision == "fp32":
            return self.model.get_encoder()
        if self._bf16_encoder is None:
            # plain tensors without gradients, though `predict` (inference mode) is where it is first needed
            with torch.inference_mode(False), torch.no_grad():
                enc = copy.deepcopy(self.model.get_encoder()).to(torch.bfloat16).eval()
            self._bf16_encoder = enc.requires_grad_(False)
        return self._bf16_encoder

    def context(self, text: str, scope: list[str], generic: list[str] | None = None) -> Context:
        """The decoding context of one example, memoized by (language, scope names) when `generic` is empty:
        the slots of one function share their scope names, which may be a few hundred."""
        if generic:
            return self.grammar.context(py_or_ts(text), scope, generic)
        key = (py_or_ts(text), tuple(scope))
        ctx = self._contexts.get(key)
        if ctx is None:
            if len(self._contexts) >= 4096:
                self._contexts.clear()
                self._decodable_memo.clear()  # its entries keep their contexts alive
            ctx = self._contexts[key] = self.grammar.context(key[0], scope)
        return ctx

    def _order(self, inputs: list[str]) -> tuple[list[list[int]], list[int]]:
        ids = encode_inputs(self.tokenizer, inputs, self.settings.max_input_len)
        return ids, sorted(range(len(ids)), key=lambda i: len(ids[i]))  # similar lengths share a batch

    @torch.inference_mode()
    def predict(self, inputs: list[str], scope_names: list[list[str]] | None = None, top_k: int = 5,
                batch_size: int = 64, num_beams: int | None = None, reference: bool = False,
                keep: int | None = None) -> list[list[Candidate]]:
        """The `top_k` best well-formed types for each input, best first. `reference`: decode with the plain
        `_beam_search_reference` (every beam slot through the model's own forward, full-vocabulary softmax), which
        the default search must match; for tests and benchmarks. `keep`: with the learned linker, return up to
        this many of its reranked candidates (at least `top_k`) while the beam stays as wide as for `top_k`
        (the consistency stage reads them)."""
        scope_names = scope_names if scope_names is not None else [[] for _ in inputs]
        if len(scope_names) != len(inputs):
            raise ValueError("scope_names must have one list per input")
        want = max(top_k, keep or 0)
        if self.linker is not None:
            top_k = max(top_k, LINKER_BEAM)  # the combiner was fitted on this many beam candidates
        K = max(top_k, num_beams or self.settings.num_beams)
        ids, order = self._order(inputs)
        results: list[list[Candidate]] = [[] for _ in inputs]
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            x, mask = pad_batch([ids[i] for i in rows], self.device)
            ctxs = [self.context(inputs[i], scope_names[i]) for i in rows]
            search = self._beam_search if not reference and self._fast_search_ok() else self._beam_search_reference
            for i, cands in zip(rows, search(x, mask, ctxs, K, top_k)):
                results[i] = cands
        if self.linker is not None:
            self._link(inputs, scope_names, results, want, self.linker)
        elif self.settings.link_logprob is not None:
            self._add_links(inputs, scope_names, results, top_k, self.settings.link_logprob)
        return results

    def _link(self, inputs: list[str], scope_names: list[list[str]], results: list[list[Candidate]], top_k: int,
              linker: Linker) -> None:
        """Rerank each example's beam together with its linked classes (`linker.rerank`). A beam candidate keeps
        its tokens, and the change of its score is charged to its first token (the head of the type tree); a
        linked class the beam lacks becomes a candidate scored as a whole on its first token (`as_link`), if the
        grammar allows it."""
        sites: list[BeamSite] = []
        canons: list[Callable[[str], str]] = []
        beams: list[dict[str, Candidate]] = []
        for i, (text, scope) in enumerate(zip(inputs, scope_names)):
            language = py_or_ts(text)

            def canon(t: str, language: str = language) -> str:
                return self.canonical(t, language)

            beam: dict[str, Candidate] = {}
            for cand in results[i]:  # best first: a type the normalization merges keeps its best spelling
                beam.setdefault(canon(cand.type), cand)
            sites.append(BeamSite(text, scope, [(t, cand.score) for t, cand in beam.items()]))
            canons.append(canon)
            beams.append(beam)
        for i, reranked in enumerate(rerank_many(linker, sites, canons)):
            text, scope, beam = inputs[i], scope_names[i], beams[i]
            ranked: list[Candidate] = []
            for t, score in reranked:
                c = beam.get(t)
                if c is not None:
                    ranked.append(rescored(c, score))
                else:
                    link = self._decodable(t, text, scope)
                    if link is not None:
                        ranked.append(as_link(link, score))
                if len(ranked) == top_k:
                    break
            results[i] = ranked

    def linked(self, inputs: list[str], scope_names: list[list[str]]) -> list[Candidate | None]:
        """The name-linked type of each input (`name_rule.linked_type`) as a candidate with token log-probs 0
        (the model is not run: a link's score is its measured precision, `as_link`); None where there is no link
        or the decoding grammar would not produce it."""
        from typetool.model.name_rule import linked_type

        out: list[Candidate | None] = [None] * len(inputs)
        for i, (text, scope) in enumerate(zip(inputs, scope_names)):
            link = linked_type(text, scope)
            if link is not None:
                out[i] = self._decodable(link, text, scope)
        return out

    def decodable(self, type_text: str, text: str, scope: list[str]) -> Candidate | None:
        """`type_text` as a candidate of input `text` (token log-probs 0) when the decoding grammar could produce
        it there (its names known or in scope), else None: how a later stage adds a type the search did not find."""
        return self._decodable(type_text, text, scope)

    def _decodable(self, type_text: str, text: str, scope: list[str]) -> Candidate | None:
        """`type_text` as a candidate of the input `text` with token log-probs 0 (the model is not run), or None
        when the decoding grammar would not produce it there."""
        ctx = self.context(text, scope)
        key = (id(ctx), type_text)
        hit = self._decodable_memo.get(key)
        if hit is not None and hit[0] is ctx:  # the context is kept alive with its entry: its id stays its own
            return hit[1]
        target = encode_targets(self.tokenizer, [type_text])[0]
        cand = self._candidate(0.0, tuple(target[:-1]), (0.0,) * len(target)) if self._grammar_allows(
            ctx, target) else None
        if len(self._decodable_memo) >= 65536:
            self._decodable_memo.clear()
        self._decodable_memo[key] = (ctx, cand)
        return cand

    def _grammar_allows(self, ctx: Context, target: list[int]) -> bool:
        """Whether the search could emit `target` (EOS included) under `ctx`."""
        return self._grammar_states(ctx, target) is not None

    def _grammar_masks(self, ctx: Context, target: list[int]) -> list[torch.Tensor] | None:
        """The allowed-token mask [V] at each step of decoding `target` (EOS included) under `ctx`, as the
        search applies them; None when the grammar or the length limit excludes `target`."""
        states = self._grammar_states(ctx, target)
        if states is None:
            return None
        L = self.settings.max_target_len
        return [self._allowed_mask([s], [ctx], L - t)[0] for t, s in enumerate(states)]

    def _grammar_states(self, ctx: Context, target: list[int]) -> list[State] | None:
        """The grammar state before each token of `target` (EOS included) under `ctx`, or None when the
        grammar or the length limit excludes `target`."""
        L = self.settings.max_target_len
        if len(target) > L:
            return None
        s, states = State(), []
        for t, tok in enumerate(target):
            if not any(bool((part == tok).any()) for part in self.grammar.allowed(s, ctx, L - t)):
                return None
            states.append(s)
            if tok != EOS_ID:
                s = self.grammar.advance(s, tok, ctx)
        return states

    def _add_links(self, inputs: list[str], scope_names: list[list[str]], results: list[list[Candidate]],
                   top_k: int, logprob: float) -> None:
        """Each linked type joins its example's candidates, scored `logprob`, in score order (ahead on ties)."""
        for i, c in enumerate(self.linked(inputs, scope_names)):
            if c is not None:
                c = as_link(c, logprob)
                ranked = sorted([c, *(d for d in results[i] if d.type != c.type)], key=lambda d: -d.score)
                results[i] = ranked[:top_k]

    def _allowed_mask(self, states: list[State | None], ctxs: list[Context], remaining: int) -> torch.Tensor:
        """bool [N, V]: the tokens each row may emit next (dead rows: EOS only)."""
        V = self.model.config.vocab_size
        memo: dict[tuple[int, State], list[torch.Tensor]] = {}
        eos = torch.tensor([EOS_ID])
        flat: list[torch.Tensor] = []
        for r, (s, ctx) in enumerate(zip(states, ctxs)):
            if s is None:
                parts = [eos]
            else:
                key = (id(ctx), s)
                if key not in memo:
                    memo[key] = self.grammar.allowed(s, ctx, remaining)
                parts = memo[key]
            flat.extend(p + r * V for p in parts)
        allow = torch.zeros(len(states) * V, dtype=torch.bool)
        allow[torch.cat(flat)] = True
        return allow.view(len(states), V).to(self.device)

    def _fast_search_ok(self) -> bool:
        """`_beam_search` reimplements the T5 decoder step and the output layer from the model's weights; it
        matches the model's own forward only for a plain eval-mode T5 with SDPA attention and no forward hooks
        (a hook on `lm_head`, say, would be skipped), so anything else takes the reference search."""
        m = self.model
        hooked = any(mod._forward_hooks or mod._forward_pre_hooks for mod in m.modules())
        hooks = torch.nn.modules.module
        global_hooks = hooks._global_forward_hooks or hooks._global_forward_pre_hooks
        return (isinstance(m, T5ForConditionalGeneration) and not m.training and not hooked and not global_hooks
                and m.config._attn_implementation == "sdpa" and isinstance(m.lm_head, torch.nn.Linear)
                and m.lm_head.bias is None)

    def _beam_search(self, x: torch.Tensor, mask: torch.Tensor, ctxs: list[Context], K: int,
                     top_k: int) -> list[list[Candidate]]:
        """The search of `_beam_search_reference`, done cheaper: only live beams run the decoder (no dead filler
        rows), the output layer and softmax cover only the tokens some beam may emit, each example's
        cross-attention keys/values are shared by its beams, allowed masks and grammar moves are memoized per
        (example, state), and each beam keeps only its best 2K tokens before the per-example merge."""
        B, L = x.shape[0], self.settings.max_target_len
        enc = encode(self._encoder(), x, mask).float()  # [B, S, D]
        dec = _StepDecoder(self.model, enc, mask, L)
        allowed = _AllowedCache(self.grammar, ctxs, self.model.config.vocab_size)
        moves: dict[tuple[int, State, int], State] = {}
        C = 2 * K  # candidates kept per beam: enough, as the example keeps 2K over all its beams
        # live beams, grouped by example in score order: example, token to feed, score, state, history
        ex, toks, scores = list(range(B)), [PAD_ID] * B, [0.0] * B
        states = [State()] * B
        hist: list[tuple[tuple[int, ...], tuple[float, ...]]] = [((), ())] * B
        src: list[int] | None = None  # each live beam's parent among the previous step's beams
        finished: list[list[tuple[float, tuple[int, ...], tuple[float, ...]]]] = [[] for _ in range(B)]
        done = [False] * B
        for t in range(L):
            slot, width, rows_of = _slots(ex, B)
            h = dec.step(toks, src, ex, slot, width, t)  # [N, D]
            tot, tok, lp = self._expand(h, allowed, ex, states, scores, L - t, C)  # each [N, C]
            grid = torch.full((B, width * C), NEG_INF, device=self.device)  # [B, width*C]
            idx_b, idx_s = torch.tensor(ex, device=self.device), torch.tensor(slot, device=self.device)
            grid.view(B, width, C)[idx_b, idx_s] = tot
            top, idx = grid.topk(min(2 * K, width * C), dim=1)  # [B, 2K]
            top_l, idx_l, tok_l, lp_l = top.tolist(), idx.tolist(), tok.tolist(), lp.tolist()
            new_ex: list[int] = []
            new_src: list[int] = []
            new_toks: list[int] = []
            new_scores: list[float] = []
            new_states: list[State] = []
            new_hist: list[tuple[tuple[int, ...], tuple[float, ...]]] = []
            for b in sorted(set(ex)):
                live = 0
                for score, j in zip(top_l[b], idx_l[b]):
                    if score == NEG_INF or live == K:
                        break
                    r = rows_of[b][j // C]
                    tk, p = tok_l[r][j % C], lp_l[r][j % C]
                    ids, lps = hist[r]
                    if tk == EOS_ID:
                        finished[b].append((score, ids, lps + (p,)))
                        continue
                    key = (b, states[r], tk)
                    nxt = moves.get(key)
                    if nxt is None:
                        nxt = moves[key] = self.grammar.advance(states[r], tk, ctxs[b])
                    new_ex.append(b)
                    new_src.append(r)
                    new_toks.append(tk)
                    new_scores.append(score)
                    new_states.append(nxt)
                    new_hist.append((ids + (tk,), lps + (p,)))
                    live += 1
                finished[b].sort(key=lambda f: -f[0])
                del finished[b][top_k:]
                best_live = new_scores[-live] if live else NEG_INF
                done[b] = live == 0 or (len(finished[b]) >= top_k and best_live <= finished[b][-1][0])
                if done[b]:  # drop its live beams
                    for lst in (new_ex, new_src, new_toks, new_scores, new_states, new_hist):
                        del lst[len(lst) - live:]
            if all(done) or not new_ex:
                break
            ex, src, toks, scores, states, hist = new_ex, new_src, new_toks, new_scores, new_states, new_hist
        return [[self._candidate(*f) for f in fin] for fin in finished]

    def _expand(self, h: torch.Tensor, allowed: _AllowedCache, ex: list[int], states: list[State],
                scores: list[float], remaining: int, C: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Each beam's best `C` continuations under the grammar: total scores, token ids and the tokens'
        renormalized log-probs, each [N, C] (-inf totals pad beams with fewer allowed tokens). Beams are split
        into those with many allowed tokens (a type starts) and the rest, so that the output layer runs only on
        the union of each group's allowed tokens."""
        N = len(ex)
        rows = [allowed.get(b, s, remaining) for b, s in zip(ex, states)]
        tot = torch.full((N, C), NEG_INF, device=self.device)
        tok = torch.full((N, C), EOS_ID, dtype=torch.long, device=self.device)
        lp = torch.full((N, C), NEG_INF, device=self.device)
        score_t = torch.tensor(scores, device=self.device)  # [N]
        weight = self.model.lm_head.weight  # [V, D]
        big = [r for r, a in enumerate(rows) if a.count > _BIG_ROW]
        small = [r for r, a in enumerate(rows) if a.count <= _BIG_ROW]
        for group in (big, small):
            if not group:
                continue
            G = len(group)
            if group is big:  # the union of every name's first token and a few more: bool rows
                full = torch.stack([rows[r].row() for r in group])  # [G, V]
                cols = full.any(0).nonzero().squeeze(1)  # [U]
                allow = full.index_select(1, cols).to(self.device)  # [G, U]
            else:  # a few tokens each: their union
                flat = torch.cat([rows[r].ids for r in group])
                cols, inv = torch.unique(flat, return_inverse=True)  # [U], [sum of counts]
                allow = torch.zeros(G, cols.shape[0], dtype=torch.bool)
                allow[torch.arange(G).repeat_interleave(torch.tensor([rows[r].count for r in group])), inv] = True
                allow = allow.to(self.device)
            cols = cols.to(self.device)
            g = torch.tensor(group, device=self.device)  # [G]
            logits = torch.nn.functional.linear(h.index_select(0, g), weight.index_select(0, cols))  # [G, U]
            logp = torch.log_softmax(logits.float().masked_fill(~allow, NEG_INF), -1)
            total = score_t.index_select(0, g)[:, None] + logp  # [G, U]
            c = min(C, cols.shape[0])
            top, i = total.topk(c, dim=1)  # [G, c]
            tot[g, :c] = top
            tok[g, :c] = cols[i]
            lp[g, :c] = logp.gather(1, i)
        return tot, tok, lp

    def _beam_search_reference(self, x: torch.Tensor, mask: torch.Tensor, ctxs: list[Context], K: int,
                               top_k: int) -> list[list[Candidate]]:
        """The plain search that `_beam_search` must reproduce: B*K beam rows (dead ones filled in) through the
        model's own cached forward, a full-vocabulary mask and log-softmax per step, one top-2K per example."""
        B, V, L = x.shape[0], self.model.config.vocab_size, self.settings.max_target_len
        enc = self.model.get_encoder()(input_ids=x, attention_mask=mask).last_hidden_state  # [B, S, D]
        # step 0 is the same for every beam: run it on B rows, then copy the caches (cross-attention K/V too)
        dec = torch.full((B, 1), PAD_ID, dtype=torch.long, device=self.device)  # [B, 1]
        out = self.model(encoder_outputs=BaseModelOutput(last_hidden_state=enc), attention_mask=mask,
                         decoder_input_ids=dec, use_cache=True)
        rep = torch.arange(B, device=self.device).repeat_interleave(K)  # [B*K]
        cache = cache_of(out)
        assert cache is not None
        cache.reorder_cache(rep)
        step_logits = out.logits[:, -1][rep]  # [B*K, V]
        enc_out = BaseModelOutput(last_hidden_state=enc[rep])  # [B*K, S, D]
        enc_mask = mask[rep]  # [B*K, S]
        row_ctx = [c for c in ctxs for _ in range(K)]
        scores = [0.0 if k == 0 else NEG_INF for _ in range(B) for k in range(K)]  # [B*K]
        states: list[State | None] = [State() if k == 0 else None for _ in range(B) for k in range(K)]
        hist: list[tuple[tuple[int, ...], tuple[float, ...]]] = [((), ())] * (B * K)
        finished: list[list[tuple[float, tuple[int, ...], tuple[float, ...]]]] = [[] for _ in range(B)]
        done = [False] * B
        for t in range(L):
            if t > 0:
                out = self.model(encoder_outputs=enc_out, attention_mask=enc_mask, decoder_input_ids=dec,
                                 use_cache=True, **cache_kw(cache))
                cache, step_logits = cache_of(out), out.logits[:, -1]
            allow = self._allowed_mask(states, row_ctx, L - t)  # [B*K, V]
            logp = torch.log_softmax(step_logits.float().masked_fill(~allow, NEG_INF), -1)  # [B*K, V]
            total = torch.tensor(scores, device=self.device)[:, None] + logp  # [B*K, V]
            top, idx = total.view(B, K * V).topk(2 * K, dim=1)  # [B, 2K]
            top_l, idx_l, logp_sel = top.tolist(), idx.tolist(), logp.view(B, K * V).gather(1, idx).tolist()
            src: list[int] = []
            toks: list[int] = []
            new_scores: list[float] = []
            new_states: list[State | None] = []
            new_hist: list[tuple[tuple[int, ...], tuple[float, ...]]] = []
            for b in range(B):
                live = 0
                if not done[b]:
                    for score, j, lp in zip(top_l[b], idx_l[b], logp_sel[b]):
                        if score == NEG_INF or live == K:
                            break
                        r, tok = b * K + j // V, j % V
                        s = states[r]
                        assert s is not None
                        ids, lps = hist[r]
                        if tok == EOS_ID:
                            finished[b].append((score, ids, lps + (lp,)))
                            continue
                        src.append(r)
                        toks.append(tok)
                        new_scores.append(score)
                        new_states.append(self.grammar.advance(s, tok, row_ctx[r]))
                        new_hist.append((ids + (tok,), lps + (lp,)))
                        live += 1
                    finished[b].sort(key=lambda h: -h[0])
                    del finished[b][top_k:]
                    best_live = new_scores[-live] if live else NEG_INF
                    done[b] = live == 0 or (len(finished[b]) >= top_k and best_live <= finished[b][-1][0])
                    if done[b]:  # drop its live beams
                        for lst in (src, toks, new_scores, new_states, new_hist):
                            del lst[len(lst) - live:]
                        live = 0
                for _ in range(K - live):  # dead filler rows
                    src.append(b * K)
                    toks.append(PAD_ID)
                    new_scores.append(NEG_INF)
                    new_states.append(None)
                    new_hist.append(((), ()))
            if all(done):
                break
            scores, states, hist = new_scores, new_states, new_hist
            assert cache is not None
            # beams only move within their example, whose rows share one cross-attention cache: reorder self-attn
            cache.self_attention_cache.reorder_cache(torch.tensor(src, device=self.device))
            dec = torch.tensor(toks, dtype=torch.long, device=self.device)[:, None]  # [B*K, 1]
        return [[self._candidate(*h) for h in fin] for fin in finished]

    def _candidate(self, score: float, ids: tuple[int, ...], lps: tuple[float, ...]) -> Candidate:
        text, spans = self.grammar.render(list(ids))
        tokens = [self.grammar.id_to_token[i] for i in ids] + [EOS]
        return Candidate(text, score, list(lps), tokens, spans + [(len(text), len(text))])

    @torch.inference_mode()
    def score(self, inputs: list[str], types: list[str], scope_names: list[list[str]] | None = None,
              batch_size: int = 64, allow_type_names: bool = True) -> list[float]:
        """Teacher-forced log-prob of each given type under the same constrained, renormalized distribution
        that `predict` searches (-inf where the grammar or the length limit excludes the type). With
        `allow_type_names`, the type's own names join the example's scope names, so a project class scored
        under an empty context (a calibration prior) gets a finite log-prob."""
        scope_names = scope_names if scope_names is not None else [[] for _ in inputs]
        generic: list[list[str]] = [[] for _ in types]
        if allow_type_names:
            scope_names = [list(s) + NAME_RE.findall(t) for s, t in zip(scope_names, types)]
            generic = [[m.group() for m in NAME_RE.finditer(t) if t[m.end():m.end() + 1] == "["] for t in types]
        ids, order = self._order(inputs)
        targets = encode_targets(self.tokenizer, types)
        L = self.settings.max_target_len
        out_scores = [NEG_INF] * len(inputs)
        for start in range(0, len(order), batch_size):
            rows = [i for i in order[start:start + batch_size] if len(targets[i]) <= L]
            if not rows:
                continue
            x, mask = pad_batch([ids[i] for i in rows], self.device)
            y, _ = pad_batch([[PAD_ID] + targets[i][:-1] for i in rows], self.device)  # shifted right
            logits = self.model(input_ids=x, attention_mask=mask, decoder_input_ids=y).logits.float()  # [B, T, V]
            for k, i in enumerate(rows):
                masks = self._grammar_masks(self.context(inputs[i], scope_names[i], generic[i]), targets[i])
                if masks is not None:
                    out_scores[i] = sum(
                        float(torch.log_softmax(logits[k, t].masked_fill(~allow, NEG_INF), -1)[tok])
                        for t, (tok, allow) in enumerate(zip(targets[i], masks)))
        return out_scores
