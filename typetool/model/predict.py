"""Inference: constrained beam search over the type grammar, returning top-k types with per-token log-probs.

Does: encodes usage slices, runs the T5 encoder once per batch and a cached decoder step per token, masks
every step to the tokens `grammar.TypeGrammar` allows (well-formed types over builtin, training-vocabulary
and per-example scope names), renormalizes the log-softmax over the allowed tokens, and keeps the `num_beams`
best hypotheses by summed log-prob (no length penalty). Each `Candidate` carries its tokens, their
log-probs and character spans in the canonical type string, so prediction sets can charge tokens to type-tree
nodes. Also: teacher-forced constrained `score` of given types (for calibration, e.g. log p(t | empty
context)), and unconstrained greedy decoding used for validation during training.
Does not: calibrate scores, build prediction sets, or normalize types (`typetool.typeexpr`); train.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from tokenizers import Tokenizer
from transformers import T5ForConditionalGeneration
from transformers.modeling_outputs import BaseModelOutput

from typetool.model.config import ModelSettings
from typetool.model.grammar import NAME_RE, Context, State, TypeGrammar, TypeVocab
from typetool.model.tokenizer import EOS, EOS_ID, PAD_ID, encode_inputs, encode_targets, py_or_ts

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
        out = model(encoder_outputs=enc, attention_mask=attention_mask, decoder_input_ids=dec, cache=cache,
                    use_cache=True)
        cache = out.cache
        nxt = out.logits[:, -1].argmax(-1).masked_fill(ended, EOS_ID)  # [B]
        steps.append(nxt)
        ended |= nxt == EOS_ID
        dec = nxt[:, None]
        if bool(ended.all()):
            break
    seqs = torch.stack(steps, 1).tolist()  # [B, T]
    return [s[:s.index(EOS_ID)] if EOS_ID in s else s for s in seqs]


class Predictor:
    """A loaded model with its tokenizer and grammar; `predict` is the entry point."""

    def __init__(self, model: T5ForConditionalGeneration, tokenizer: Tokenizer, vocab: TypeVocab,
                 settings: ModelSettings, device: str = "cpu") -> None:
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()  # type: ignore[arg-type]
        self.tokenizer = tokenizer
        self.vocab = vocab
        self.settings = settings
        self.grammar = TypeGrammar(tokenizer, vocab, settings.min_name_count)

    def context(self, text: str, scope: list[str], generic: list[str] | None = None) -> Context:
        return self.grammar.context(py_or_ts(text), scope, generic or ())

    def _order(self, inputs: list[str]) -> tuple[list[list[int]], list[int]]:
        ids = encode_inputs(self.tokenizer, inputs, self.settings.max_input_len)
        return ids, sorted(range(len(ids)), key=lambda i: len(ids[i]))  # similar lengths share a batch

    @torch.inference_mode()
    def predict(self, inputs: list[str], scope_names: list[list[str]] | None = None, top_k: int = 5,
                batch_size: int = 64, num_beams: int | None = None) -> list[list[Candidate]]:
        """The `top_k` best well-formed types for each input, best first."""
        scope_names = scope_names if scope_names is not None else [[] for _ in inputs]
        if len(scope_names) != len(inputs):
            raise ValueError("scope_names must have one list per input")
        K = max(top_k, num_beams or self.settings.num_beams)
        ids, order = self._order(inputs)
        results: list[list[Candidate]] = [[] for _ in inputs]
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            x, mask = pad_batch([ids[i] for i in rows], self.device)
            ctxs = [self.context(inputs[i], scope_names[i]) for i in rows]
            for i, cands in zip(rows, self._beam_search(x, mask, ctxs, K, top_k)):
                results[i] = cands
        return results

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

    def _beam_search(self, x: torch.Tensor, mask: torch.Tensor, ctxs: list[Context], K: int,
                     top_k: int) -> list[list[Candidate]]:
        B, V, L = x.shape[0], self.model.config.vocab_size, self.settings.max_target_len
        enc = self.model.get_encoder()(input_ids=x, attention_mask=mask).last_hidden_state  # [B, S, D]
        # step 0 is the same for every beam: run it on B rows, then copy the caches (cross-attention K/V too)
        dec = torch.full((B, 1), PAD_ID, dtype=torch.long, device=self.device)  # [B, 1]
        out = self.model(encoder_outputs=BaseModelOutput(last_hidden_state=enc), attention_mask=mask,
                         decoder_input_ids=dec, use_cache=True)
        rep = torch.arange(B, device=self.device).repeat_interleave(K)  # [B*K]
        cache = out.cache
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
                                 cache=cache, use_cache=True)
                cache, step_logits = out.cache, out.logits[:, -1]
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
                ctx, s, total = self.context(inputs[i], scope_names[i], generic[i]), State(), 0.0
                for t, tok in enumerate(targets[i]):
                    allow = self._allowed_mask([s], [ctx], L - t)[0]  # [V]
                    if not bool(allow[tok]):
                        total = NEG_INF
                        break
                    total += float(torch.log_softmax(logits[k, t].masked_fill(~allow, NEG_INF), -1)[tok])
                    if tok != EOS_ID:
                        s = self.grammar.advance(s, tok, ctx)
                out_scores[i] = total
        return out_scores
