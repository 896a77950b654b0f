"""A real `conduit serve` process, with the official `openai` (Responses API) and
`anthropic` (Messages API) packages as its clients, synchronous this time, in front of
the scripted upstream: the ledger has every request, and a stored response outlives the
process (a second process on the same database continues it)."""

from __future__ import annotations

from pathlib import Path

import anthropic
import openai

from conduit.storage.events import EventFilter
from conduit.storage.keys import new_key
from conduit.storage.keys_sqlite import SQLiteKeyStore
from conduit.storage.ledger import open_ledger
from tests.server.conftest import model_list
from tests.support.openai_server import REPLY, OpenAITestServer

HI = [{"role": "user", "content": "Hi there"}]


async def test_both_sdks_against_conduit_serve(upstream: OpenAITestServer, tmp_path: Path) -> None:
    from tests.server.live import GatewayProcess

    database = str(tmp_path / "g.sqlite3")
    store = SQLiteKeyStore(database)
    key, secret = new_key(name="team")
    await store.add(key, secret)
    await store.aclose()
    config = {
        "model_list": model_list(upstream.base_url),
        "router_settings": {"num_retries": 0},
        "server": {"database": database},
    }
    gateway = GatewayProcess(tmp_path, config)
    try:
        with openai.OpenAI(base_url=gateway.url, api_key=secret, max_retries=0) as c:
            assert c.models.retrieve("chat").id == "chat"
            first = c.responses.create(model="chat", input="Hi there", max_output_tokens=50)
            assert first.output_text == REPLY
            with c.responses.stream(model="chat", input="Hi", previous_response_id=first.id) as s:
                streamed = s.get_final_response()
            assert streamed.output_text == REPLY
        with anthropic.Anthropic(base_url=gateway.root, api_key=secret, max_retries=0) as a:
            message = a.messages.create(model="chat", max_tokens=50, messages=HI)
            assert message.content[0].type == "text"
            assert message.content[0].text == REPLY
            with a.messages.stream(model="chat", max_tokens=50, messages=HI) as events:
                assert events.get_final_message().stop_reason == "end_turn"
            assert a.messages.count_tokens(model="chat", messages=HI).input_tokens > 0
    finally:
        gateway.stop()
    assert "Traceback" not in gateway.output()
    # Another process on the same database reads and continues the stored response.
    again = GatewayProcess(tmp_path, config, name="again")
    try:
        with openai.OpenAI(base_url=again.url, api_key=secret, max_retries=0) as c:
            assert c.responses.retrieve(streamed.id).output_text == REPLY
            later = c.responses.create(model="chat", input="More", previous_response_id=streamed.id)
            assert later.previous_response_id == streamed.id
    finally:
        again.stop()
    ledger = open_ledger(database)
    try:
        found = await ledger.events(EventFilter(key_id=key.id))
    finally:
        await ledger.aclose()
    assert sorted(e.status for e in found) == [200] * 5
    assert all(e.model == "chat" and e.output_tokens > 0 for e in found)
