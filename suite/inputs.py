"""Input batches: synthetic tensors by default, or images from a local folder."""

import os
from typing import Any, List, Tuple

import numpy as np

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".webp")
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


class InputError(ValueError):
    pass


def synthetic(batch_size: int, shape: Tuple[int, ...], layout: str = "NCHW", seed: int = 0) -> np.ndarray:
    """Standard-normal float32 of (batch, C, H, W), or NHWC when the backend wants it."""
    c, h, w = shape
    dims = (batch_size, c, h, w) if layout == "NCHW" else (batch_size, h, w, c)
    return np.random.RandomState(seed).standard_normal(dims).astype(np.float32)


def list_images(folder: str) -> List[str]:
    if not os.path.isdir(folder):
        raise InputError("input_dir %r is not a folder" % folder)
    found = []
    for root, _, files in os.walk(folder):
        for name in files:
            if name.lower().endswith(IMAGE_EXTS):
                found.append(os.path.join(root, name))
    if not found:
        raise InputError("input_dir %r holds no images (%s)" % (folder, ", ".join(IMAGE_EXTS)))
    return sorted(found)


def load_image(path: str, shape: Tuple[int, ...]) -> np.ndarray:
    """Resize the short side to H/0.875, centre-crop HxW, scale to [0,1], ImageNet-normalise; CHW float32."""
    try:
        from PIL import Image
    except ImportError:
        raise InputError("reading images needs Pillow, which this image does not have; use synthetic input") from None
    _, h, w = shape
    with Image.open(path) as f:
        im: Any = f.convert("RGB")
        scale = (h / 0.875) / min(im.size)
        im = im.resize((max(w, int(round(im.size[0] * scale))), max(h, int(round(im.size[1] * scale)))),
                       getattr(Image, "BILINEAR", 2))
        left = (im.size[0] - w) // 2
        top = (im.size[1] - h) // 2
        im = im.crop((left, top, left + w, top + h))
        a = np.asarray(im, dtype=np.float32) / 255.0
    a = (a - IMAGENET_MEAN) / IMAGENET_STD
    return np.ascontiguousarray(a.transpose(2, 0, 1))


def from_folder(folder: str, batch_size: int, shape: Tuple[int, ...], layout: str = "NCHW") -> np.ndarray:
    """The first batch_size images of the folder (sorted, cycled if fewer)."""
    paths = list_images(folder)
    chw = [load_image(paths[i % len(paths)], shape) for i in range(batch_size)]
    batch = np.stack(chw)
    return batch if layout == "NCHW" else np.ascontiguousarray(batch.transpose(0, 2, 3, 1))
