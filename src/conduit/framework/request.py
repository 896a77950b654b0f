"""`Request`: the framework's provider-agnostic request, checked when it is made.

It is a translation, not a second request builder: its options are a core
`ChatOptions`, its cache key is the `Cache` interceptor's own (`cache_key`), and
`to_openai()`, `to_anthropic()`, `to_google()`, `to_ollama()` and `to_perplexity()`
return what each provider adapter's own payload builder makes of it.

Example:
    >>> request = Request(model="openai/gpt-4o-mini", messages=[], temperature=0.2)
    Traceback (most recent call last):
    ...
    conduit.errors.ValidationError: Request.messages: give at least one message...
    >>> request = Request.from_query_input("Hi", model="openai/gpt-4o-mini", max_tokens=20)
    >>> request.to_openai()
    {'model': 'gpt-4o-mini', 'messages': [{'role': 'user', 'content': 'Hi'}], 'max_completion_tokens': 20}
"""  # noqa: E501 - a doctest output line

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from conduit.batch import Verbosity
from conduit.errors import ValidationError
from conduit.schema import ChatOptions, Message, MessagesInput, normalize_messages
from conduit.schema.base import SchemaModel

__all__ = ["Request"]

_OPTION_FIELDS = frozenset({"top_p", "stop", "seed", "tools", "tool_choice"})


class Request(SchemaModel):
    """One request: the model, the messages and the generation settings.

    - `model`: `"provider/name"` or a bare catalog name.
    - `messages`: `Messages`, a list of messages (or dicts, or strings as user messages).
    - `temperature`, `max_tokens`: checked as `ChatOptions` checks them.
    - `response_model`: a Pydantic model (or a `Parser`) for a structured answer.
    - `output_type`: `"text"`, `"image"` or `"audio"`.
    - `client_params`: more options: `top_p`, `stop`, `seed`, ... and provider-specific
      parameters, which are sent as they are.

    Example:
        >>> from conduit.schema import user
        >>> Request(model="gpt-4o-mini", messages=[user("Hi")], temperature=3)
        Traceback (most recent call last):
        ...
        conduit.errors.ValidationError: Request: ChatOptions.temperature: Input should be less than or equal to 2...
    """  # noqa: E501 - a doctest output line

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=False)

    model: str = Field(min_length=1)
    messages: list[Message]
    temperature: float | None = None
    stream: bool = False
    verbose: Verbosity = Verbosity.PROGRESS
    response_model: Any = None
    max_tokens: int | None = None
    output_type: Literal["text", "image", "audio"] = "text"
    client_params: dict[str, Any] | None = None

    @field_validator("messages", mode="before")
    @classmethod
    def _messages(cls, value: Any) -> list[Message]:
        if isinstance(value, list | tuple) and not value:
            raise ValueError("give at least one message")
        return normalize_messages(value)

    @field_validator("verbose", mode="before")
    @classmethod
    def _verbose(cls, value: Any) -> Verbosity:
        return Verbosity.from_input(value)

    @model_validator(mode="after")
    def _options_are_valid(self) -> Request:
        try:
            self.options()
        except ValidationError as exc:
            raise ValueError(exc.message) from None
        return self

    @classmethod
    def from_query_input(cls, query_input: MessagesInput, **kwargs: Any) -> Request:
        """A request for `query_input` (a string, a message or a list of messages);
        `kwargs` are the other fields (`model=` at least).

        Example:
            >>> Request.from_query_input("Hi", model="fake/echo").messages[0].role
            'user'
        """
        return cls(messages=normalize_messages(query_input), **kwargs)

    # -- what it means to the core ---------------------------------------------------

    @property
    def ref(self) -> str:
        """The model as `provider/name` (the one resolver, `conduit.api.resolve_ref`)."""
        from conduit.api import resolve_ref

        return resolve_ref(self.model)

    @property
    def wire_model(self) -> str:
        """The model's name as a provider's API wants it (no provider prefix)."""
        if "/" in self.model:
            return self.model.split("/", 1)[1]
        try:
            return self.ref.split("/", 1)[1]
        except ValidationError:
            return self.model

    def options(self) -> ChatOptions:
        """The request's settings as core `ChatOptions` (the response model as a
        `response_format`; `client_params` that are not options go in `extra`).

        Example:
            >>> Request.from_query_input("Hi", model="fake/echo", client_params={"seed": 7,
            ...     "logprobs": True}).options().extra
            {'logprobs': True}
        """
        params = dict(self.client_params or {})
        fields = {k: params.pop(k) for k in list(params) if k in _OPTION_FIELDS}
        if self.response_model is not None:
            from conduit.structured import as_parser

            fields["response_format"] = as_parser(self.response_model).response_format
        return ChatOptions(
            temperature=self.temperature, max_tokens=self.max_tokens, extra=params, **fields
        )

    def generate_cache_key(self) -> str:
        """The key the response cache files this request under (the `Cache`
        interceptor's own `cache_key`: model, messages and options).

        Example:
            >>> a = Request.from_query_input("Hi", model="fake/echo")
            >>> a.generate_cache_key() == Request.from_query_input("Hi", model="fake/echo").generate_cache_key()
            True
        """  # noqa: E501 - a doctest line
        from conduit.interceptors.cache import cache_key

        return cache_key(self.ref, self.messages, self.options())

    def to_cache_dict(self) -> dict[str, Any]:
        """A JSON-ready dict that `from_cache_dict` turns back into this request (a
        response model by class name: see `Parser`'s registry).

        Example:
            >>> again = Request.from_cache_dict(Request.from_query_input(
            ...     "Hi", model="fake/echo", temperature=0.5).to_cache_dict())
            >>> again.temperature, again.messages[0].text
            (0.5, 'Hi')
        """
        data = self.model_dump(mode="json", exclude={"response_model", "messages"})
        data["messages"] = [_cache_message(m) for m in self.messages]
        from conduit.structured import Parser

        model = self.response_model
        schema = model.schema if isinstance(model, Parser) else model
        data["response_model"] = getattr(schema, "__name__", None) if model is not None else None
        return data

    @classmethod
    def from_cache_dict(cls, cache_dict: dict[str, Any]) -> Request:
        """The request `to_cache_dict` stored."""
        from conduit.media.messages import FrameworkMessage
        from conduit.schema.responses import RESPONSE_MODELS

        data = dict(cache_dict)
        name = data.pop("response_model", None)
        data["messages"] = [
            FrameworkMessage.from_cache_dict(m) if "message_type" in m else Message.parse(m)
            for m in data.get("messages", [])
        ]
        if name is not None:
            found = next((m for m in reversed(RESPONSE_MODELS) if m.__name__ == name), None)
            if found is None:
                raise ValidationError(
                    f"response model {name!r} is not registered: make a Parser({name}) first"
                )
            data["response_model"] = found
        return cls(**data)

    # -- what each provider's adapter sends ------------------------------------------

    def to_openai(self) -> dict[str, Any]:
        """The OpenAI Chat Completions body (the OpenAI adapter's `build_chat_payload`)."""
        from conduit.providers.openai.request import build_chat_payload

        return build_chat_payload(
            self.wire_model, self.messages, self.options(), stream=self.stream
        )

    def to_perplexity(self) -> dict[str, Any]:
        """Perplexity's body: the OpenAI adapter's, with the Perplexity provider entry's
        own settings (`max_tokens` as the field name).

        Example:
            >>> Request.from_query_input("Hi", model="perplexity/sonar",
            ...                          max_tokens=9).to_perplexity()["max_tokens"]
            9
        """
        from conduit.providers.openai.request import build_chat_payload
        from conduit.providers.registry import get_provider

        field = get_provider("perplexity").options.get("max_tokens_field", "max_tokens")
        return build_chat_payload(
            self.wire_model,
            self.messages,
            self.options(),
            stream=self.stream,
            max_tokens_field=field,
        )

    def to_anthropic(self) -> dict[str, Any]:
        """The Anthropic Messages body (the Anthropic adapter's `build_messages_payload`).

        Example:
            >>> from conduit.schema import system, user
            >>> body = Request(model="anthropic/claude-haiku-4-5",
            ...                messages=[system("Be brief."), user("Hi")]).to_anthropic()
            >>> body["system"], body["messages"]
            ('Be brief.', [{'role': 'user', 'content': 'Hi'}])
        """
        from conduit.providers.anthropic.request import build_messages_payload

        return build_messages_payload(
            self.wire_model, self.messages, self.options(), stream=self.stream
        )

    def to_google(self) -> dict[str, Any]:
        """The Gemini `generateContent` body (the Gemini adapter's
        `build_generate_payload`; the model is in Gemini's URL, not the body).

        Example:
            >>> Request.from_query_input("Hi", model="gemini/gemini-2.5-flash").to_google()
            {'contents': [{'role': 'user', 'parts': [{'text': 'Hi'}]}]}
        """
        from conduit.providers.gemini.request import build_generate_payload

        return build_generate_payload(self.messages, self.options())

    def to_ollama(self) -> dict[str, Any]:
        """The Ollama `/api/chat` body (the Ollama adapter's `build_chat_payload`).

        Example:
            >>> Request.from_query_input("Hi", model="ollama/llama3.2").to_ollama()["model"]
            'llama3.2'
        """
        from conduit.providers.ollama.request import build_chat_payload

        return build_chat_payload(
            self.wire_model, self.messages, self.options(), stream=self.stream
        )


def _cache_message(message: Message) -> dict[str, Any]:
    from conduit.media.messages import as_framework_message

    return as_framework_message(message).to_cache_dict()
