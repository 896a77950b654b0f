"""Multimodal input and output.

Input: `ImageMessage` / `AudioMessage` (and the `ImageBlock` / `AudioBlock` constructors
they use) turn files, base64 and URLs into content blocks, converting images to PNG or
JPEG and scaling them to the provider's limits (`IMAGE_LIMITS`; Pillow, the `images`
extra). Output: `generate_image()` and `speak()` return a `MediaResponse` with the bytes
and their media type.

Example:
    >>> from conduit.media import ImageMessage, generate_image_sync
    >>> picture = generate_image_sync("fake/image", "a boat", size="8x8")
    >>> picture
    MediaResponse(media_type='image/png', bytes=..., model='image')
    >>> message = ImageMessage.from_base64(picture.to_block().data, "What is this?")
    >>> [block.type for block in message.blocks]
    ['text', 'image']
"""

from conduit.core.media import (
    BaseImageModel,
    BaseSpeechModel,
    ImageModel,
    OutputType,
    SpeechModel,
    check_output,
)
from conduit.media.api import (
    generate_image,
    generate_image_sync,
    generate_media,
    generate_media_sync,
    image_model,
    speak,
    speak_sync,
    speech_model,
)
from conduit.media.messages import AudioMessage, ImageMessage
from conduit.schema import ImageOptions, MediaResponse, SpeechOptions
from conduit.schema.audio import audio_format
from conduit.schema.image_limits import IMAGE_LIMITS, ImageLimits, image_limits
from conduit.schema.images import PreparedImage, prepare_image

__all__ = [
    "AudioMessage",
    "BaseImageModel",
    "BaseSpeechModel",
    "IMAGE_LIMITS",
    "ImageLimits",
    "ImageMessage",
    "ImageModel",
    "ImageOptions",
    "MediaResponse",
    "OutputType",
    "PreparedImage",
    "SpeechModel",
    "SpeechOptions",
    "audio_format",
    "check_output",
    "generate_image",
    "generate_image_sync",
    "generate_media",
    "generate_media_sync",
    "image_limits",
    "image_model",
    "prepare_image",
    "speak",
    "speak_sync",
    "speech_model",
]
