// Shared by the shifted convolutions' kernels (masked_conv.cu, shifted_mma.cu).
#pragma once

// Pixel pix of a batch of H×W planes (none where pix ≥ end): its image n and position (i, j), and where a tap that reads
// dy rows and dx columns away finds its input, (yy, xx) = (i + dy, j + dx), inside the plane or not.
struct ShiftedPixel {
    int n, i, j, yy, xx;
    bool valid, inside;
};

__device__ __forceinline__ ShiftedPixel shifted_pixel(long long pix, long long end, int H, int W, int dy, int dx) {
    ShiftedPixel s{0, 0, 0, 0, 0, pix < end, false};
    if (s.valid) {
        const int HW = H * W;
        s.n = (int)(pix / HW);
        const int r = (int)(pix - (long long)s.n * HW);
        s.i = r / W;
        s.j = r - s.i * W;
    }
    s.yy = s.i + dy;
    s.xx = s.j + dx;
    s.inside = s.valid && s.yy >= 0 && s.yy < H && s.xx >= 0 && s.xx < W;
    return s;
}
