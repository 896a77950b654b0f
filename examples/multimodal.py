"""Images and audio in and out, offline.

An image of any format goes to a model as PNG or JPEG scaled to the provider's limits;
`generate_image` and `speak` return bytes you can save. The fake models stand in for
`openai/gpt-image-1.5` and `openai/gpt-4o-mini-tts`: swap the strings to use them.

Run: python examples/multimodal.py
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from PIL import Image

from conduit import FunctionModel, Message
from conduit.media import ImageMessage, generate_image, speak
from conduit.schema import ImageBlock


def describe(messages: list[Message], options: object) -> str:
    """A stand-in vision model: reports the images it was given."""
    images = [b for b in messages[-1].blocks if isinstance(b, ImageBlock)]
    return f"I got {len(images)} image(s): " + ", ".join(i.media_type for i in images)


def screenshot_message(folder: Path) -> Message:
    Image.new("RGB", (2560, 1440), "darkgreen").save(folder / "screenshot.webp")
    return ImageMessage.from_image_file(
        folder / "screenshot.webp", "What is on this screen?", provider="anthropic"
    )


async def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="conduit-multimodal-"))

    # In: a big WEBP screenshot, converted and scaled for Anthropic's limits. Decoding
    # and resizing take CPU time, so they run in a thread, not on the event loop.
    message = await asyncio.to_thread(screenshot_message, folder)
    print((await FunctionModel(describe).chat([message])).text)

    # Out: an image and some speech, saved next to it.
    picture = await generate_image("fake/image", "a green field at noon", size="320x180")
    voice = await speak("fake/speech", "Here is your picture.", format="wav")
    print("saved", picture.save(folder / "field").name, f"({len(picture)} bytes)")
    print("saved", voice.save(folder / "voice").name, f"({voice.media_type})")


if __name__ == "__main__":
    asyncio.run(main())
