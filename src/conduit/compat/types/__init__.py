"""`litellm.types`: the type modules LiteLLM users import (`litellm.types.utils`,
`litellm.types.router`).

Example:
    >>> from conduit.compat.types.utils import ModelResponse
    >>> ModelResponse().object
    'chat.completion'
"""

__all__: list[str] = []
