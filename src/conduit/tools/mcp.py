"""The tools of a Model Context Protocol server, as Conduit tools (extra `mcp`).

`MCPClient.stdio(command, args)` starts a server as a subprocess and talks to it over
its stdin/stdout; `MCPClient.http(url)` connects to one over streamable HTTP. Inside
`async with`, `await client.tools()` lists the server's tools as `MCPTool`s, which an
agent runs like any other tool: arguments are checked against the tool's input schema
(with `jsonschema`, which `mcp` brings), the call goes to the server, and the content it
returns becomes the text the model reads. A result the server flags `isError` becomes an
`Error:` result for the model, like any tool failure. Uses the official `mcp` package:
`pip install 'conduit[mcp]'`.

Example:
    >>> client = MCPClient.stdio("python", ["my_server.py"], prefix="files_")
    >>> tool = MCPTool(client, "read", "Read a file", {"type": "object",
    ...                "properties": {"path": {"type": "string"}}, "required": ["path"]})
    >>> tool.name, tool.definition.description
    ('files_read', 'Read a file')
    >>> tool.validate({"path": 3})
    Traceback (most recent call last):
    ...
    conduit.errors.ValidationError: files_read.path: 3 is not of type 'string'...
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Any

import orjson

from conduit.errors import ConduitError, MissingDependencyError, ToolExecutionError, ValidationError
from conduit.schema import Tool

__all__ = ["MCPClient", "MCPTool"]

_INSTALL = "pip install 'conduit[mcp]'"


def _require_mcp() -> Any:
    try:
        import mcp
    except ImportError:
        raise MissingDependencyError(f"MCP support needs the `mcp` package: {_INSTALL}") from None
    return mcp


class MCPTool:
    """One tool of an MCP server, runnable by an agent (an `ExecutableTool`).

    `name` is the server's name for it with the client's `prefix`; calls use the
    server's own name. The input schema goes to the model as the server wrote it (not
    strict: MCP schemas need not fit strict mode).
    """

    def __init__(
        self,
        client: MCPClient,
        server_name: str,
        description: str | None,
        input_schema: Mapping[str, Any] | None,
    ) -> None:
        self.client = client
        self.server_name = server_name
        schema = dict(input_schema or {"type": "object", "properties": {}})
        self._definition = Tool(
            name=f"{client.prefix}{server_name}", description=description or "", parameters=schema
        )
        self._validator: Any = None

    @property
    def name(self) -> str:
        """The name the model calls the tool by (prefix included)."""
        return self._definition.name

    @property
    def definition(self) -> Tool:
        """The tool as data, for `ChatOptions.tools`."""
        return self._definition

    @property
    def timeout(self) -> float | None:
        """Seconds a call may take (the client's setting)."""
        return self.client.timeout

    @property
    def requires_approval(self) -> bool:
        """Whether calls need approval (the client's setting)."""
        return self.client.requires_approval

    def validate(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The arguments, checked against the tool's input schema."""
        if self._validator is None:
            try:
                import jsonschema  # type: ignore[import-untyped,unused-ignore]
            except ImportError:  # pragma: no cover - mcp depends on jsonschema
                return arguments
            cls = jsonschema.validators.validator_for(self._definition.parameters)
            self._validator = cls(self._definition.parameters)
        problems = [
            f"{self.name}{''.join(f'.{p}' for p in error.absolute_path)}: {error.message}"
            for error in self._validator.iter_errors(arguments)
        ]
        if problems:
            raise ValidationError("; ".join(problems))
        return arguments

    async def invoke(self, validated: Any) -> str:
        """Call the tool on the server; its content as text."""
        return await self.client.call(self.server_name, validated)

    def __repr__(self) -> str:
        return f"MCPTool({self.name!r})"


def _content_text(block: Any) -> str:
    kind = getattr(block, "type", None)
    if kind == "text":
        return str(block.text)
    if kind == "resource":
        resource = block.resource
        text = getattr(resource, "text", None)
        return str(text) if text is not None else f"[resource {resource.uri}]"
    if kind == "resource_link":
        return f"[resource {block.uri}]"
    return f"[{kind} {getattr(block, 'mime_type', '')}]".replace(" ]", "]")


class MCPClient:
    """A connection to one MCP server; use it as `async with client: ...`.

    `prefix` goes before each tool's name (to tell two servers' tools apart);
    `timeout` (seconds) and `requires_approval` apply to each of its tools.
    """

    def __init__(
        self,
        connect: Callable[[], AbstractAsyncContextManager[Any]],
        *,
        prefix: str = "",
        timeout: float | None = None,
        requires_approval: bool = False,
    ) -> None:
        self._connect = connect
        self.prefix = prefix
        self.timeout = timeout
        self.requires_approval = requires_approval
        self._stack: AsyncExitStack | None = None
        self._session: Any = None

    @classmethod
    def stdio(
        cls,
        command: str,
        args: Sequence[str] = (),
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        **settings: Any,
    ) -> MCPClient:
        """A server started as a subprocess, spoken to over stdin/stdout."""

        def connect() -> AbstractAsyncContextManager[Any]:
            mcp = _require_mcp()
            params = mcp.StdioServerParameters(
                command=command, args=list(args), env=dict(env) if env else None, cwd=cwd
            )
            return mcp.stdio_client(params)  # type: ignore[no-any-return]

        return cls(connect, **settings)

    @classmethod
    def http(
        cls, url: str, *, headers: Mapping[str, str] | None = None, **settings: Any
    ) -> MCPClient:
        """A server at `url`, spoken to over streamable HTTP (`headers` on every request,
        e.g. authorization)."""

        def connect() -> AbstractAsyncContextManager[Any]:
            _require_mcp()
            from mcp.client.streamable_http import streamable_http_client

            if headers:
                from mcp.shared._httpx_utils import create_mcp_http_client

                return _with_client(
                    streamable_http_client, url, create_mcp_http_client(headers=dict(headers))
                )
            return streamable_http_client(url)

        return cls(connect, **settings)

    async def __aenter__(self) -> MCPClient:
        mcp = _require_mcp()
        stack = AsyncExitStack()
        try:
            streams = await stack.enter_async_context(self._connect())
            session = await stack.enter_async_context(mcp.ClientSession(streams[0], streams[1]))
            await session.initialize()
        except BaseException:
            await stack.aclose()
            raise
        self._stack, self._session = stack, session
        return self

    async def __aexit__(self, *exc: object) -> None:
        stack, self._stack, self._session = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    def _require_session(self) -> Any:
        if self._session is None:
            raise ConduitError("the MCP client is not connected; use it in `async with`")
        return self._session

    async def tools(self) -> list[MCPTool]:
        """The server's tools (all pages of its list)."""
        session = self._require_session()
        found: list[MCPTool] = []
        cursor: str | None = None
        while True:
            if cursor is None:
                page = await session.list_tools()
            else:  # pragma: no cover - the test server's list fits one page
                from mcp.types import PaginatedRequestParams

                page = await session.list_tools(params=PaginatedRequestParams(cursor=cursor))
            found.extend(MCPTool(self, t.name, t.description, t.input_schema) for t in page.tools)
            cursor = page.next_cursor
            if not cursor:
                return found

    async def call(self, name: str, arguments: dict[str, Any]) -> str:
        """Call the server's tool `name`; its content as text. A result flagged as an
        error raises `ToolExecutionError` with the server's message."""
        result = await self._require_session().call_tool(name, arguments)
        parts = [_content_text(block) for block in result.content]
        if not parts and result.structured_content is not None:
            parts.append(orjson.dumps(result.structured_content).decode())
        text = "\n".join(parts)
        if result.is_error:
            raise ToolExecutionError(f"{self.prefix}{name} failed: {text}")
        return text


@contextlib.asynccontextmanager
async def _with_client(factory: Any, url: str, client: Any) -> Any:
    async with client, factory(url, http_client=client) as streams:
        yield streams
