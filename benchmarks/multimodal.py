"""What preparing an image costs: `prepare_image` on typical inputs, per provider.

Cases: a phone photo (4032 x 3024 JPEG), a 4K screenshot (3840 x 2160 PNG), a GIF and
a small PNG that already fits (sent unchanged). The floor is the least any converter must
do for the same input: decode it with Pillow (`Image.open` + `load`); the rest is
Conduit's own work (scaling and encoding). Each figure is the median over rounds.

Usage::

    .venv/bin/python benchmarks/multimodal.py           # ~20 s
    .venv/bin/python benchmarks/multimodal.py --quick
"""

from __future__ import annotations

import argparse
import io
import platform
import statistics
import time
from collections.abc import Callable

from PIL import Image

from conduit.media import prepare_image


def _image(fmt: str, size: tuple[int, int]) -> bytes:
    across = Image.linear_gradient("L").resize(size)
    down = Image.linear_gradient("L").transpose(Image.Transpose.ROTATE_90).resize(size)
    image = Image.merge("RGB", (across, down, across))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def _median_ms(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _decode(raw: bytes) -> None:
    with Image.open(io.BytesIO(raw)) as image:
        image.load()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    rounds = 3 if parser.parse_args().quick else 9
    cases = {
        "photo 4032x3024 JPEG": _image("JPEG", (4032, 3024)),
        "screenshot 3840x2160 PNG": _image("PNG", (3840, 2160)),
        "GIF 800x600": _image("GIF", (800, 600)),
        "PNG 512x512 (fits)": _image("PNG", (512, 512)),
    }
    print(f"Python {platform.python_version()}, Pillow {Image.__version__}, median of {rounds}")
    print(f"{'input':<26} {'bytes':>9} {'provider':<10} {'decode':>8} {'prepare':>8} {'out':>22}")
    for label, raw in cases.items():
        floor = _median_ms(lambda raw=raw: _decode(raw), rounds)
        for provider in ("openai", "anthropic", "gemini"):
            out = prepare_image(raw, provider=provider)
            took = _median_ms(lambda raw=raw, p=provider: prepare_image(raw, provider=p), rounds)
            shape = f"{out.media_type[6:]} {out.width}x{out.height} {len(out.data) // 1000}kB"
            figures = f"{floor:>6.1f}ms {took:>6.1f}ms {shape:>22}"
            print(f"{label:<26} {len(raw):>9} {provider:<10} {figures}")


if __name__ == "__main__":
    main()
