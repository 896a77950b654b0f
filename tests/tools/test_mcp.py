"""MCP servers' tools as Conduit tools, against a real MCP server started here (stdio
and streamable HTTP on 127.0.0.1)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from conduit.agent import tool_loop
from conduit.errors import ConduitError, MissingDependencyError, ValidationError
from conduit.providers.fake import FunctionModel
from conduit.schema import ChatOptions, FunctionCall, Message, ToolCall
from conduit.tools import ExecutableTool, execute_tool_calls
from conduit.tools.mcp import MCPClient, MCPTool

SERVER = str(Path(__file__).with_name("mcp_server.py"))


def _call(name: str, arguments: dict[str, object], id: str = "c1") -> ToolCall:
    return ToolCall(id=id, function=FunctionCall.from_arguments(name, arguments))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def http_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log = (tmp_path_factory.mktemp("mcp") / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, SERVER, "http", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("the MCP test server did not start")
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}/mcp"
    process.terminate()
    process.wait(timeout=10)
    log.close()


async def _exercise(client: MCPClient) -> None:
    async with client:
        tools = await client.tools()
        by_name = {t.name: t for t in tools}
        assert set(by_name) == {"t_add", "t_shout", "t_explode"}
        add = by_name["t_add"]
        assert isinstance(add, ExecutableTool)
        assert add.definition.parameters["required"] == ["a", "b"]
        assert add.definition.description == "Add two integers."
        outcomes = await execute_tool_calls(
            [
                _call("t_add", {"a": 2, "b": 3}, "1"),
                _call("t_shout", {"text": "hi"}, "2"),
                _call("t_explode", {}, "3"),
                _call("t_add", {"a": "x"}, "4"),
            ],
            tools,
        )
        assert [o.status for o in outcomes] == ["ok", "ok", "error", "invalid_arguments"]
        assert outcomes[0].content == "5"
        assert outcomes[1].content == "HI"
        assert "the tool exploded" in outcomes[2].content
        assert outcomes[2].content.startswith("Error: t_explode failed")
        assert "'x' is not of type 'integer'" in outcomes[3].content


async def test_stdio_server() -> None:
    await _exercise(MCPClient.stdio(sys.executable, [SERVER, "stdio"], prefix="t_"))


async def test_streamable_http_server(http_url: str) -> None:
    await _exercise(MCPClient.http(http_url, prefix="t_"))
    await _exercise(MCPClient.http(http_url, prefix="t_", headers={"X-Test": "1"}))


async def test_agent_uses_mcp_tools(http_url: str) -> None:
    def script(messages: list[Message], options: ChatOptions) -> Any:
        assert options.tools is not None
        assert {t.name for t in options.tools} == {"add", "shout", "explode"}
        if messages[-1].role == "tool":
            return f"The answer is {messages[-1].text}."
        return _call("add", {"a": 20, "b": 22})

    async with MCPClient.http(http_url) as client:
        result = await tool_loop(FunctionModel(script), "20 + 22?", await client.tools())
    assert result.text == "The answer is 42."


async def test_not_connected() -> None:
    client = MCPClient.stdio(sys.executable, [SERVER, "stdio"])
    with pytest.raises(ConduitError, match="not connected"):
        await client.tools()
    await client.__aexit__(None, None, None)  # closing what never opened is fine


async def test_connection_failure_cleans_up() -> None:
    client = MCPClient.stdio(sys.executable, ["-c", "import sys; sys.exit(3)"])
    with pytest.raises(BaseException):  # noqa: B017 - whatever the SDK raises
        async with client:
            pass


def test_tool_from_descriptor() -> None:
    client = MCPClient.stdio("x", requires_approval=True, timeout=5)
    tool = MCPTool(client, "noargs", None, None)
    assert tool.definition.parameters == {"type": "object", "properties": {}}
    assert tool.requires_approval
    assert tool.timeout == 5
    assert tool.validate({}) == {}
    with pytest.raises(ValidationError):
        MCPTool(client, "n", "", {"type": "object", "required": ["a"]}).validate({})
    assert repr(tool) == "MCPTool('noargs')"


def test_content_rendering() -> None:
    from types import SimpleNamespace as NS

    from conduit.tools.mcp import _content_text

    assert _content_text(NS(type="text", text="hi")) == "hi"
    assert _content_text(NS(type="image", mime_type="image/png")) == "[image image/png]"
    assert _content_text(NS(type="resource_link", uri="file:///a")) == "[resource file:///a]"
    assert _content_text(NS(type="resource", resource=NS(text="body", uri="u"))) == "body"
    assert _content_text(NS(type="resource", resource=NS(text=None, uri="u"))) == "[resource u]"


def test_missing_dependency(monkeypatch: pytest.MonkeyPatch) -> None:
    from conduit.tools import mcp as module

    monkeypatch.setitem(sys.modules, "mcp", None)
    with pytest.raises(MissingDependencyError, match=r"conduit\[mcp\]"):
        module._require_mcp()
