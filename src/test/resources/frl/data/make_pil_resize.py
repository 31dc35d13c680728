# Writes the golden outputs of PilResizeGoldenTest with Pillow (9.4.0 was used):
#   /usr/bin/python3 make_pil_resize.py
# Input pixel (c, y, x) = (37x + 91y + 53c + 13((x·y) mod 17)) mod 256; output: CHW bytes of
# Image.resize((outW, outH), Image.BILINEAR), one file per case.
from PIL import Image
import numpy as np

CASES = [(1, 28, 28, 32, 32), (3, 20, 17, 32, 32), (3, 45, 37, 32, 32), (1, 28, 28, 28, 32), (1, 28, 28, 32, 28), (1, 64, 50, 7, 9)]

def pattern(c, h, w):
    ch, y, x = np.meshgrid(np.arange(c), np.arange(h), np.arange(w), indexing="ij")
    return ((37 * x + 91 * y + 53 * ch + 13 * ((x * y) % 17)) % 256).astype(np.uint8)

for c, h, w, oh, ow in CASES:
    a = pattern(c, h, w)
    img = Image.fromarray(a[0]) if c == 1 else Image.fromarray(np.transpose(a, (1, 2, 0)), "RGB")
    out = np.asarray(img.resize((ow, oh), Image.BILINEAR))
    out = out[None] if c == 1 else np.transpose(out, (2, 0, 1))
    open(f"pil_resize_{c}x{h}x{w}_to_{oh}x{ow}.bin", "wb").write(np.ascontiguousarray(out).tobytes())
