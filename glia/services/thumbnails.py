"""Thumbnail logic with Pillow: which size answers a request, and rendering it.

Only the spec's pre-defined sizes are ever generated (plus, where the original cannot be
served as it is, one static copy at the original's size), so a client cannot fill the
disk by asking for every width from 1 to 10,000. The functions here are pure image work
on a file path; they block, so the media service runs them through a :class:`Decoder`,
on worker threads and — for the memory-hungry decoding of pixels — a bounded number at
once (a 20-megapixel image takes ~80 MB decoded; without a bound, a handful of requests
on the unauthenticated legacy endpoint could take the server's memory).

The pixel limit is checked on the header's dimensions before anything that could decode
pixels: reading EXIF from a PNG, for one, loads the whole image in Pillow.

Decoding is limited to JPEG, PNG, GIF and WebP: every decoder Pillow may run on uploaded
bytes is attack surface, and those four cover what clients send as images.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from PIL import Image, ImageOps

CROP, SCALE = "crop", "scale"
METHODS = (CROP, SCALE)


@dataclass(frozen=True)
class Size:
    width: int
    height: int
    method: str


#: The sizes the spec says servers SHOULD produce.
SIZES = (Size(32, 32, CROP), Size(96, 96, CROP), Size(320, 240, SCALE),
         Size(640, 480, SCALE), Size(800, 600, SCALE))

#: Declared content types we try to thumbnail.
THUMBNAILABLE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp",
                                 "image/apng"})
#: Types a client may be handed as they are when it asked for an animated thumbnail.
ANIMATED_TYPES = frozenset({"image/gif", "image/webp", "image/png", "image/apng"})
#: Types a still original may be served as as its own thumbnail.
STILL_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})

_FORMATS = ("JPEG", "PNG", "GIF", "WEBP")
#: EXIF orientations that turn the picture by 90 degrees (width and height swap).
_SWAPPING_ORIENTATIONS = frozenset({5, 6, 7, 8})
_EXIF_ORIENTATION = 0x0112


class ThumbnailError(Exception):
    """The file cannot be decoded as an image we thumbnail."""


class ImageTooLarge(ThumbnailError):
    """More pixels than the configured limit: not decoded (decompression bombs)."""


@dataclass(frozen=True)
class ImageInfo:
    #: Size as displayed (after the EXIF orientation is applied).
    width: int
    height: int
    #: Pillow's format name: JPEG, PNG, GIF or WEBP.
    format: str
    animated: bool


@dataclass(frozen=True)
class Choice:
    """How to answer a thumbnail request: the original file itself, or a generated
    thumbnail of ``size``."""

    original: bool
    size: Size | None = None


@dataclass(frozen=True)
class Rendered:
    data: bytes
    content_type: str
    width: int
    height: int


def _open(path: str) -> Image.Image:
    with warnings.catch_warnings():
        # Our own pixel limit is checked right after; Pillow's warning adds nothing.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(path, formats=_FORMATS)


def probe(path: str, max_pixels: int) -> ImageInfo:
    """Read an image's header: size, format, animation. Decodes no pixels, and refuses
    an image over ``max_pixels`` before looking at anything else."""
    try:
        with _open(path) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise ImageTooLarge()
            animated = bool(getattr(image, "is_animated", False))
            fmt = image.format or ""
            orientation = _header_orientation(image)
    except ThumbnailError:
        raise
    except Image.DecompressionBombError as e:
        raise ImageTooLarge() from e
    except Exception as e:
        # Untrusted bytes: Pillow's decoders raise all sorts (OSError, SyntaxError,
        # ValueError, struct.error …) for a broken file; each means "not an image".
        raise ThumbnailError(str(e)) from e
    if width < 1 or height < 1:
        raise ThumbnailError("empty image")
    if orientation in _SWAPPING_ORIENTATIONS:
        width, height = height, width
    return ImageInfo(width, height, fmt, animated)


def _header_orientation(image: Image.Image) -> int | None:
    """The EXIF orientation, if the header holds it. A PNG whose EXIF chunk comes after
    the pixels would need every pixel decoded to find it (Pillow's ``getexif`` does
    exactly that), so such a PNG counts as having none here."""
    if image.format == "PNG" and "exif" not in image.info:
        return None
    try:
        value = image.getexif().get(_EXIF_ORIENTATION)
    except Exception:  # broken EXIF is common: treat it as absent
        return None
    return value if isinstance(value, int) else None


class Decoder:
    """Runs :func:`probe` and :func:`render` off the event loop. Renders (which decode
    every pixel) run on a pool of their own of ``max_concurrent`` threads, so at most
    that many images are decoded at once in this process and the others wait their
    turn: memory stays bounded however many requests arrive. (A pool of its own, not
    the shared one, also keeps the allocator's per-thread arenas few: memory a render
    freed on one thread is reused by the next render there.)"""

    def __init__(self, max_pixels: int, max_concurrent: int) -> None:
        self._max_pixels = max_pixels
        self._pool = ThreadPoolExecutor(max_concurrent, thread_name_prefix="thumbnail")

    async def probe(self, path: str) -> ImageInfo:
        return await asyncio.to_thread(probe, path, self._max_pixels)

    async def render(self, path: str, size: Size) -> Rendered:
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, render, path, size, self._max_pixels)


def output_size(width: int, height: int, box_width: int, box_height: int,
                method: str) -> tuple[int, int]:
    """The size a thumbnail of a ``width`` x ``height`` image has for a box, never
    upscaled. ``scale`` fits the whole image inside the box; ``crop`` gives the box's
    aspect ratio, as large as the box or the image allows."""
    if method == SCALE:
        if width <= box_width and height <= box_height:
            return width, height
        if box_width * height < box_height * width:
            return box_width, max(1, box_width * height // width)
        return max(1, box_height * width // height), box_height
    if width >= box_width and height >= box_height:
        return box_width, box_height
    ratio = min(width / box_width, height / box_height)
    return max(1, int(box_width * ratio)), max(1, int(box_height * ratio))


def choose(info: ImageInfo, content_type: str, width: int, height: int, method: str,
           animated: bool) -> Choice:
    """Pick the answer to a request for a ``width`` x ``height`` thumbnail.

    The spec's rules: never upscale; never smaller than asked unless the image is; an
    image no larger than asked is returned as it is; ``animated=false`` (or absent) must
    never get an animated image. We serve no animated thumbnails, so ``animated=true``
    on an animated original gets the original. Otherwise the smallest pre-defined size
    that is at least what a thumbnail made exactly to the request would be wins,
    preferring the requested method; when none is large enough, the original (or a
    still copy at its size) is the answer.
    """
    if animated and info.animated and content_type in ANIMATED_TYPES:
        return Choice(original=True)
    still_original_ok = content_type in STILL_TYPES and not info.animated
    full = Choice(original=True) if still_original_ok else \
        Choice(original=False, size=Size(info.width, info.height, SCALE))
    if info.width <= width and info.height <= height:
        return full
    want_w, want_h = output_size(info.width, info.height, width, height, method)
    fitting = []
    for size in SIZES:
        out_w, out_h = output_size(info.width, info.height, size.width, size.height,
                                   size.method)
        if out_w >= want_w and out_h >= want_h:
            fitting.append((size.method != method, out_w * out_h, size))
    if not fitting:
        return full
    return Choice(original=False, size=min(fitting, key=lambda f: (f[0], f[1]))[2])


def render(path: str, size: Size, max_pixels: int) -> Rendered:
    """Generate one thumbnail: the first frame, EXIF orientation applied; JPEG for JPEG
    sources, PNG (which keeps transparency) for everything else."""
    try:
        with _open(path) as image:
            if image.size[0] * image.size[1] > max_pixels:
                raise ImageTooLarge()
            source_format = image.format
            _draft(image, size)
            image.seek(0)
            # In place: a copy of the decoded pixels would double the memory a render
            # takes (exif_transpose copies even an image that needs no turning).
            ImageOps.exif_transpose(image, in_place=True)
            return _resize_and_encode(image, size, source_format == "JPEG")
    except ThumbnailError:
        raise
    except Image.DecompressionBombError as e:
        raise ImageTooLarge() from e
    except Exception as e:  # untrusted bytes: see probe()
        raise ThumbnailError(str(e)) from e


def _draft(image: Image.Image, size: Size) -> None:
    """Let the JPEG decoder downscale while decoding (much faster, less memory) to no
    less than what the thumbnail needs."""
    if image.format != "JPEG":
        return
    width, height = image.size
    box_w, box_h = size.width, size.height
    with contextlib.suppress(Exception):  # broken EXIF: as in probe()
        if image.getexif().get(_EXIF_ORIENTATION) in _SWAPPING_ORIENTATIONS:
            box_w, box_h = box_h, box_w  # the box is upright; the stored pixels are not
    need_w, need_h = output_size(width, height, box_w, box_h, size.method)
    if size.method == CROP:
        # Cropping scales the image to cover the box first.
        scale = max(need_w / width, need_h / height)
        need_w, need_h = int(width * scale) + 1, int(height * scale) + 1
    image.draft("RGB", (need_w, need_h))


def _resize_and_encode(image: Image.Image, size: Size, jpeg: bool) -> Rendered:
    if image.mode not in ("RGB", "RGBA"):
        transparent = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        image = image.convert("RGBA" if transparent and not jpeg else "RGB")
    width, height = image.size
    out_w, out_h = output_size(width, height, size.width, size.height, size.method)
    if size.method == SCALE or (out_w, out_h) == (width, height):
        region = (0.0, 0.0, float(width), float(height))
    else:
        # The largest centred region with the box's aspect ratio.
        if width * out_h > height * out_w:
            crop_w, crop_h = height * out_w / out_h, float(height)
        else:
            crop_w, crop_h = float(width), width * out_h / out_w
        left, top = (width - crop_w) / 2, (height - crop_h) / 2
        region = (left, top, left + crop_w, top + crop_h)
    if (out_w, out_h) == (width, height) and region == (0.0, 0.0, float(width), float(height)):
        result = image
    else:
        result = image.resize((out_w, out_h), Image.Resampling.LANCZOS, box=region)
    buffer = io.BytesIO()
    if jpeg:
        result.convert("RGB").save(buffer, "JPEG", quality=80)
        content_type = "image/jpeg"
    else:
        result.save(buffer, "PNG")
        content_type = "image/png"
    return Rendered(buffer.getvalue(), content_type, out_w, out_h)
