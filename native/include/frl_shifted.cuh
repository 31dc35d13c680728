// Shared by the shifted convolutions' kernels (masked_conv.cu, shifted_mma.cu).
#pragma once

// A pixel of a batch of H×W planes: valid where its index is below the batch's end; its image n and position (i, j);
// and where a tap reads its input, (yy, xx), inside the plane or not (shifted_by).
struct ShiftedPixel {
    int n, i, j, yy, xx;
    bool valid, inside;
};

// The pixel seen from a tap that reads dy rows and dx columns away: (yy, xx) = (i + dy, j + dx).
__device__ __forceinline__ ShiftedPixel shifted_by(ShiftedPixel s, int H, int W, int dy, int dx) {
    s.yy = s.i + dy;
    s.xx = s.j + dx;
    s.inside = s.valid && s.yy >= 0 && s.yy < H && s.xx >= 0 && s.xx < W;
    return s;
}

// Pixel pix (none where pix ≥ end) as a tap that reads dy rows and dx columns away sees it.
__device__ __forceinline__ ShiftedPixel shifted_pixel(long long pix, long long end, int H, int W, int dy, int dx) {
    ShiftedPixel s{0, 0, 0, 0, 0, pix < end, false};
    if (s.valid) {
        const int HW = H * W;
        s.n = (int)(pix / HW);
        const int r = (int)(pix - (long long)s.n * HW);
        s.i = r / W;
        s.j = r - s.i * W;
    }
    return shifted_by(s, H, W, dy, dx);
}
