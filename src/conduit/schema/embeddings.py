"""What an embedder returns."""

from __future__ import annotations

from pydantic import Field

from conduit.schema.base import SchemaModel
from conduit.schema.responses import Usage

__all__ = ["Embeddings"]


class Embeddings(SchemaModel):
    """Vectors for a list of inputs, in input order.

    Example:
        >>> e = Embeddings(vectors=[[0.1, 0.2]], model="m")
        >>> len(e), e[0]
        (1, [0.1, 0.2])
    """

    vectors: list[list[float]]
    model: str = ""
    usage: Usage = Field(default_factory=Usage)

    def __len__(self) -> int:
        return len(self.vectors)

    def __getitem__(self, index: int) -> list[float]:
        return self.vectors[index]
