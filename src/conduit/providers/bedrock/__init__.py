"""AWS Bedrock: the Converse and ConverseStream APIs (every model family), SigV4 signing,
the AWS credential chain (`bedrock` extra), the event-stream framing, Titan and Cohere
embeddings.

Example:
    >>> from conduit.providers.bedrock import BedrockChatModel
    >>> BedrockChatModel("amazon.nova-micro-v1:0", region="us-west-2",
    ...     aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret").base_url
    'https://bedrock-runtime.us-west-2.amazonaws.com'
"""

from conduit.providers.bedrock.connection import BedrockConnection, BedrockOptions
from conduit.providers.bedrock.credentials import CredentialSource
from conduit.providers.bedrock.eventstream import EventStreamDecoder, EventStreamError
from conduit.providers.bedrock.model import BedrockChatModel, BedrockEmbedder
from conduit.providers.bedrock.sigv4 import Credentials, sign

__all__ = [
    "BedrockChatModel",
    "BedrockConnection",
    "BedrockEmbedder",
    "BedrockOptions",
    "CredentialSource",
    "Credentials",
    "EventStreamDecoder",
    "EventStreamError",
    "sign",
]
