from __future__ import annotations

import pytest

from conduit.errors import ValidationError
from conduit.memory import Messages, check_turn_order
from conduit.schema import FunctionCall, ToolCall, assistant, system, tool_result, user


def call(cid: str) -> ToolCall:
    return ToolCall(id=cid, function=FunctionCall(name="f"))


def test_turn_order_rules() -> None:
    ok = [system("s"), user("q"), assistant(tool_calls=[call("a"), call("b")]),
          tool_result("b", "2"), tool_result("a", "1"), assistant("done")]  # fmt: skip
    check_turn_order(ok)
    check_turn_order([user("q"), assistant(tool_calls=[call("a")])])  # still waiting
    bad = {
        "only come first": [user("q"), system("s")],
        "answers no call": [user("q"), assistant(tool_calls=[call("a")]), tool_result("x", "")],
        "answered twice": [
            user("q"), assistant(tool_calls=[call("a")]), tool_result("a", ""),
            tool_result("a", ""),
        ],
        "must follow": [user("q"), assistant("no calls"), tool_result("a", "")],
    }  # fmt: skip
    for message, messages in bad.items():
        with pytest.raises(ValidationError, match=message):
            check_turn_order(messages)
    with pytest.raises(ValidationError, match="must follow"):
        check_turn_order([tool_result("a", "")])


def test_list_behaviour_and_checks_on_every_change() -> None:
    chat = Messages([user("a"), {"role": "assistant", "content": "b"}])
    chat.append(user("c"))
    chat.insert(0, system("s"))
    assert [m.text for m in chat] == ["s", "a", "b", "c"]
    assert chat[1].text == "a"
    assert len(chat) == 4
    assert isinstance(chat[1:], Messages)
    assert [m.text for m in chat[1:]] == ["a", "b", "c"]
    chat[2] = assistant("B")
    chat[2:3] = [assistant("bb")]
    del chat[3]
    assert [m.text for m in chat] == ["s", "a", "bb"]
    with pytest.raises(ValidationError):
        chat.insert(1, system("late"))
    with pytest.raises(ValidationError):
        chat[1] = system("x")
    with pytest.raises(ValidationError):
        chat.append(tool_result("z", ""))
    chat.extend([user("d")])
    assert chat == list(chat.to_list())
    assert chat != Messages()
    assert (chat == 3) is False
    assert "Messages([" in repr(chat)
    with pytest.raises(ValidationError, match="holds Message objects"):
        Messages([3])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        hash(chat)


def test_deleting_a_call_orphans_its_result() -> None:
    chat = Messages([user("q"), assistant(tool_calls=[call("a")]), tool_result("a", "1")])
    with pytest.raises(ValidationError, match="must follow"):
        del chat[1]
    assert len(chat) == 3


def test_helpers() -> None:
    chat = Messages()
    assert chat.last() is None
    assert chat.system_message is None
    chat.add_new("user", "hi")
    chat.add_new("assistant", "", tool_calls=[call("a")])
    chat.add_new("tool", "42", tool_call_id="a")
    assert chat.last().role == "tool"
    assert chat.last("user").text == "hi"
    assert chat.last("system") is None
    assert [m.text for m in chat.get_by_role("user")] == ["hi"]
    chat.system_message = "Be brief."
    assert chat.system_message.text == "Be brief."
    assert chat[0].role == "system"
    chat.system_message = system("Be kind.")
    assert chat.get_by_role("system") == [system("Be kind.")]
    assert len(chat) == 4
    chat.system_message = None
    assert chat.system_message is None
    assert len(chat) == 3
    with pytest.raises(ValidationError, match="must be a system message"):
        chat.system_message = user("no")


def test_json_round_trip() -> None:
    chat = Messages([system("s"), user("q"), assistant(tool_calls=[call("a")]),
                     tool_result("a", "1"), assistant("done")])  # fmt: skip
    again = Messages.from_json(chat.to_json())
    assert again == chat
    assert Messages.from_json(chat.to_json().encode()) == chat
    with pytest.raises(ValidationError, match="not JSON"):
        Messages.from_json("{")
    with pytest.raises(ValidationError, match="array"):
        Messages.from_json("{}")
    with pytest.raises(ValidationError, match="only come first"):
        Messages.from_json('[{"role":"user","content":"a"},{"role":"system","content":"s"}]')
