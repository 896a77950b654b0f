"""Prompt templates: Jinja2 in a sandbox, strict about variables, loadable from a folder.

Example:
    >>> from conduit.prompts import Prompt
    >>> Prompt("Translate to {{ language }}: {{ text }}").render(language="French", text="hi")
    'Translate to French: hi'
"""

from conduit.prompts.loader import DEFAULT_SUFFIXES, DirectoryLoader, PromptLoader
from conduit.prompts.template import (
    Prompt,
    PromptError,
    UnsafeTemplateError,
    check_safe,
    environment,
)

__all__ = [
    "DEFAULT_SUFFIXES",
    "DirectoryLoader",
    "Prompt",
    "PromptError",
    "PromptLoader",
    "UnsafeTemplateError",
    "check_safe",
    "environment",
]
