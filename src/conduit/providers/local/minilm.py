"""A BERT sentence encoder in numpy: all-MiniLM-L6-v2 without torch.

sentence-transformers runs this model as BERT → mean pooling → L2 normalisation
(the model's `modules.json`). The same three steps here, on the weights from
`model.safetensors` and the tokenizer from `tokenizer.json`, match its vectors to a
cosine of 0.9999+ (`tests/providers/local/test_embeddings.py`) at a fraction of the
install size and load time.

Example:
    >>> from conduit.providers.local.files import minilm_dir
    >>> encoder = BertEncoder.load(minilm_dir())  # doctest: +SKIP
    >>> encoder.encode(["hello"]).shape  # doctest: +SKIP
    (1, 384)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Array = NDArray[np.float32]

__all__ = ["BertEncoder"]

# erf by Abramowitz & Stegun 7.1.26 (max error 1.5e-7, below float32's resolution):
# BERT's GELU is the exact, erf-based one, and numpy has no erf of its own.
_P = 0.3275911
_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def _gelu(x: Array) -> Array:
    """0.5·x·(1 + erf(x/√2)), computed in place where it can be."""
    import numpy as np

    z = np.abs(x)
    z *= np.float32(1 / np.sqrt(2))
    t = z * np.float32(_P)
    t += 1
    np.reciprocal(t, out=t)
    poly = t * np.float32(_A[4])
    for a in (_A[3], _A[2], _A[1], _A[0]):
        poly += np.float32(a)
        poly *= t
    np.square(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    poly *= z  # poly = 1 - erf(|x|/√2)
    np.negative(poly, out=poly)
    poly += 1
    np.copysign(poly, x, out=poly)  # erf(x/√2)
    poly += 1
    poly *= x
    poly *= np.float32(0.5)
    return poly


def _layer_norm(x: Array, weight: Array, bias: Array, eps: float) -> Array:
    import numpy as np

    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = np.mean(centred * centred, axis=-1, keepdims=True)
    out: Array = centred / np.sqrt(var + np.float32(eps)) * weight + bias
    return out


@dataclass(slots=True)
class _Layer:
    qkv_w: Array  # (hidden, 3 * hidden): query, key and value in one matmul
    qkv_b: Array
    out_w: Array
    out_b: Array
    ln1_w: Array
    ln1_b: Array
    up_w: Array
    up_b: Array
    down_w: Array
    down_b: Array
    ln2_w: Array
    ln2_b: Array


class BertEncoder:
    """Tokenize, run BERT, mean-pool over real tokens, L2-normalise."""

    def __init__(
        self,
        tokenizer: Any,
        weights: dict[str, Array],
        config: dict[str, Any],
        *,
        max_length: int,
    ) -> None:
        import numpy as np

        self._tokenizer = tokenizer
        self.max_length = max_length
        self.hidden = int(config["hidden_size"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.dimensions = self.hidden

        def w(name: str) -> Array:
            return np.ascontiguousarray(weights[name], dtype=np.float32)

        def linear_t(name: str) -> Array:  # stored (out, in); we multiply x @ W.T
            return np.ascontiguousarray(weights[name].T, dtype=np.float32)

        self._word = w("embeddings.word_embeddings.weight")
        self._position = w("embeddings.position_embeddings.weight")
        self._token_type = w("embeddings.token_type_embeddings.weight")[0]
        self._emb_ln = (w("embeddings.LayerNorm.weight"), w("embeddings.LayerNorm.bias"))
        self._layers: list[_Layer] = []
        for i in range(int(config["num_hidden_layers"])):
            p = f"encoder.layer.{i}."
            att = p + "attention.self."
            self._layers.append(
                _Layer(
                    qkv_w=np.concatenate(
                        [linear_t(att + n + ".weight") for n in ("query", "key", "value")], axis=1
                    ),
                    qkv_b=np.concatenate([w(att + n + ".bias") for n in ("query", "key", "value")]),
                    out_w=linear_t(p + "attention.output.dense.weight"),
                    out_b=w(p + "attention.output.dense.bias"),
                    ln1_w=w(p + "attention.output.LayerNorm.weight"),
                    ln1_b=w(p + "attention.output.LayerNorm.bias"),
                    up_w=linear_t(p + "intermediate.dense.weight"),
                    up_b=w(p + "intermediate.dense.bias"),
                    down_w=linear_t(p + "output.dense.weight"),
                    down_b=w(p + "output.dense.bias"),
                    ln2_w=w(p + "output.LayerNorm.weight"),
                    ln2_b=w(p + "output.LayerNorm.bias"),
                )
            )

    @classmethod
    def load(cls, model_dir: Path) -> BertEncoder:
        """Load from a sentence-transformers folder (`config.json`, `model.safetensors`,
        `tokenizer.json`, optional `sentence_bert_config.json`)."""
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((model_dir / "config.json").read_text("utf-8"))
        st_config_path = model_dir / "sentence_bert_config.json"
        st_config = (
            json.loads(st_config_path.read_text("utf-8")) if st_config_path.is_file() else {}
        )
        max_length = int(st_config.get("max_seq_length", config["max_position_embeddings"]))
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        # tokenizer.json pads every input to 128; sentence-transformers instead pads each
        # batch to its longest text and truncates at max_seq_length. Do the same.
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=max_length)
        return cls(
            tokenizer,
            load_file(str(model_dir / "model.safetensors")),
            config,
            max_length=max_length,
        )

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for `text` (special tokens included, after truncation)."""
        return len(self._tokenizer.encode(text).ids)

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> Array:
        """One L2-normalised vector per text, in input order.

        Texts are batched by length so little compute goes to padding.
        """
        import numpy as np

        encodings = self._tokenizer.encode_batch(list(texts))
        out = np.empty((len(encodings), self.hidden), dtype=np.float32)
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            width = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.float32)
            for row, i in enumerate(chunk):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            out[chunk] = self._forward(ids, mask)
        return out

    def _forward(self, ids: NDArray[np.int64], mask: Array) -> Array:
        import numpy as np

        batch, width = ids.shape
        heads, head_dim, hidden = self.heads, self.hidden // self.heads, self.hidden
        # Activations stay 2-D (tokens by features): one BLAS call per linear layer.
        x = (self._word[ids] + self._position[:width] + self._token_type).reshape(-1, hidden)
        x = _layer_norm(x, *self._emb_ln, self.eps)
        # Padding keys get a large negative score, so softmax gives them no weight.
        key_bias = ((1 - mask) * np.float32(-1e9))[:, None, None, :]
        scale = np.float32(1 / np.sqrt(head_dim))
        for layer in self._layers:
            qkv = x @ layer.qkv_w
            qkv += layer.qkv_b
            qkv = qkv.reshape(batch, width, 3, heads, head_dim).transpose(2, 0, 3, 1, 4)
            scores = qkv[0] @ qkv[1].transpose(0, 1, 3, 2)
            scores *= scale
            scores += key_bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ qkv[2]).transpose(0, 2, 1, 3).reshape(-1, hidden)
            attended = context @ layer.out_w
            attended += layer.out_b
            attended += x
            x = _layer_norm(attended, layer.ln1_w, layer.ln1_b, self.eps)
            up = x @ layer.up_w
            up += layer.up_b
            down = _gelu(up) @ layer.down_w
            down += layer.down_b
            down += x
            x = _layer_norm(down, layer.ln2_w, layer.ln2_b, self.eps)
        # Mean pooling over real tokens, then unit length (modules.json: Pooling, Normalize).
        tokens = x.reshape(batch, width, hidden)
        summed = np.einsum("bth,bt->bh", tokens, mask)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: Array = pooled / np.maximum(norms, 1e-12)
        return result
