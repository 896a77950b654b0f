"""Azure OpenAI, AWS Bedrock and Vertex AI, offline: each model answers from a local
stand-in (a `MockTransport`), so the example runs with no account and no network.

Run: python examples/cloud_platforms.py
"""

from __future__ import annotations

import asyncio
from typing import Any

from conduit.providers.azure import AzureOpenAIChatModel
from conduit.providers.bedrock import BedrockChatModel
from conduit.providers.vertex import VertexGeminiChatModel
from conduit.transport import HTTPRequest, MockTransport, json_response


def azure_answer(request: HTTPRequest) -> Any:
    return json_response(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": "gpt-4o",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Hello from Azure"},
                    "finish_reason": "stop",
                }
            ],
        }
    )


def bedrock_answer(request: HTTPRequest) -> Any:
    return json_response(
        {
            "output": {
                "message": {"role": "assistant", "content": [{"text": "Hello from Bedrock"}]}
            },
            "stopReason": "end_turn",
            "usage": {"inputTokens": 3, "outputTokens": 3, "totalTokens": 6},
        }
    )


def vertex_answer(request: HTTPRequest) -> Any:
    return json_response(
        {
            "candidates": [
                {
                    "content": {"role": "model", "parts": [{"text": "Hello from Vertex"}]},
                    "finishReason": "STOP",
                }
            ],
            "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 3},
        }
    )


class Token:
    """Stands in for google-auth credentials."""

    token, expiry = "ya29.example", None


async def main() -> None:
    models = [
        AzureOpenAIChatModel(
            "gpt4o-prod",
            azure_endpoint="https://contoso.openai.azure.com",
            api_version="2024-10-21",
            api_key="example-key",
            transport=MockTransport(azure_answer),
        ),
        BedrockChatModel(
            "us.amazon.nova-lite-v1:0",
            region="us-east-1",
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="example-secret",
            transport=MockTransport(bedrock_answer),
        ),
        VertexGeminiChatModel(
            "gemini-2.5-flash",
            project="my-project",
            location="us-central1",
            credentials=Token(),
            transport=MockTransport(vertex_answer),
        ),
    ]
    for model in models:
        response = await model.chat("Hi")
        print(f"{model.model_info.ref}: {response.text}")


if __name__ == "__main__":
    asyncio.run(main())
