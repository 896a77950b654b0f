"""Deployment: checked input, stable ids, lazy models from the one resolver, costs, reprs."""

from __future__ import annotations

from typing import Any

import pytest

from conduit.api.resolve import cached_embedder, cached_model
from conduit.catalog import cost_of
from conduit.errors import AuthenticationError, NotFoundError, ValidationError
from conduit.providers.fake import FunctionModel
from conduit.routing import Deployment, Router
from conduit.schema import Prices, Usage


def test_a_string_is_resolved_when_made_and_built_on_first_use() -> None:
    deployment = Deployment("gpt-4o-mini", connection={"api_key": "sk-test"})
    assert deployment.ref == "openai/gpt-4o-mini"
    model = deployment.chat_model
    assert model is deployment.chat_model  # kept
    assert model is cached_model("gpt-4o-mini", api_key="sk-test")  # the one cache


def test_unknown_models_fail_when_made() -> None:
    with pytest.raises(NotFoundError, match="unknown provider"):
        Deployment("nobody/x")
    with pytest.raises(NotFoundError, match="unknown model"):
        Deployment("gpt-4o-mni")


def test_a_missing_key_fails_the_call_not_the_deployment() -> None:
    deployment = Deployment("openai/gpt-4o-mini")  # the tests see no OPENAI_API_KEY
    with pytest.raises(AuthenticationError):
        _ = deployment.chat_model


def test_a_model_object_is_used_as_it_is() -> None:
    model = FunctionModel(lambda messages, options: "hi")
    deployment = Deployment(model)
    assert deployment.chat_model is model
    assert deployment.ref == "fake/function"
    with pytest.raises(ValidationError, match="connection settings apply to a model string"):
        Deployment(model, connection={"api_key": "k"})
    with pytest.raises(ValidationError, match="holds a chat model object"):
        _ = deployment.embedder


def test_embedders_come_from_the_one_cache() -> None:
    assert Deployment("fake/hash").embedder is cached_embedder("fake/hash")


@pytest.mark.parametrize("name", ["rpm", "tpm", "weight"])
@pytest.mark.parametrize("value", [True, float("nan"), float("inf"), -1, 0, "5", None])
def test_bad_rates_are_refused_naming_the_argument(name: str, value: Any) -> None:
    fields: dict[str, Any] = {name: value}
    if value is None:
        assert getattr(Deployment("fake/echo", **fields), name) is None
        return
    with pytest.raises(ValidationError, match=rf"^{name} must be"):
        Deployment("fake/echo", **fields)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"order": True}, "order must be"),
        ({"order": 1.5}, "order must be"),
        ({"id": ""}, "id must be"),
        ({"id": 3}, "id must be"),
        ({"prices": {"input": 1}}, "prices must be"),
        ({"connection": [("api_key", "k")]}, "connection must be"),
        ({"connection": {"timeout": float("nan")}}, r"connection\['timeout'\]"),
        ({"connection": {"timeout": -1}}, r"connection\['timeout'\]"),
        ({"connection": {"max_retries": -1}}, r"connection\['max_retries'\]"),
        ({"connection": {"max_retries": True}}, r"connection\['max_retries'\]"),
    ],
)
def test_bad_fields_are_refused_naming_the_argument(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Deployment("fake/echo", **fields)


def test_a_model_must_be_a_string_or_a_chat_model() -> None:
    with pytest.raises(ValidationError, match="model must be a model string or a ChatModel"):
        Deployment(42)  # type: ignore[arg-type]


def test_numbers_are_stored_as_checked() -> None:
    deployment = Deployment("fake/echo", rpm=60, tpm=1000, weight=2, order=1)
    assert (deployment.rpm, deployment.tpm, deployment.weight, deployment.order) == (
        60.0,
        1000.0,
        2.0,
        1,
    )


def test_repr_shows_setting_names_never_values() -> None:
    deployment = Deployment(
        "openai/gpt-4o-mini",
        id="east",
        connection={"api_key": "sk-secret-123", "headers": {"Authorization": "Bearer tok"}},
        rpm=10,
    )
    text = repr(deployment)
    assert "sk-secret-123" not in text
    assert "Bearer" not in text
    assert "'api_key'" in text
    assert "rpm=10.0" in text
    router = Router({"g": [deployment]})
    assert "sk-secret-123" not in repr(router)
    assert "sk-secret-123" not in repr(router.deployments("g"))


def test_cost_uses_the_deployments_prices_else_the_catalogs() -> None:
    usage = Usage(input_tokens=1000, output_tokens=500)
    own = Deployment("openai/gpt-4o-mini", prices=Prices(input=10.0, output=20.0))
    assert own.cost(usage) == pytest.approx((1000 * 10 + 500 * 20) / 1e6)
    catalog = Deployment("openai/gpt-4o-mini")
    assert catalog.cost(usage) == cost_of("openai/gpt-4o-mini", usage)
    assert catalog.cost(usage) is not None
    assert Deployment(FunctionModel(lambda m, o: "x")).cost(usage) is None


def test_router_names_deployments_stably() -> None:
    router = Router(
        {
            "chat": ["fake/echo", "fake/echo", Deployment("fake/echo", id="mine")],
            "other": ["fake/echo"],
        }
    )
    assert [d.id for d in router.deployments("chat")] == [
        "chat/fake/echo",
        "chat/fake/echo#2",
        "mine",
    ]
    assert [d.id for d in router.deployments("other")] == ["other/fake/echo"]
    with pytest.raises(ValidationError, match="used twice"):
        router.add_deployment("other", Deployment("fake/echo", id="mine"))
