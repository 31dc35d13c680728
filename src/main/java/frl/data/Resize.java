package frl.data;

/**
 * Bilinear resize of 8-bit images, bit-exact with Pillow's {@code Image.resize(size, BILINEAR)} (which is
 * what torchvision's {@code Resize} does to a PIL image), following Pillow's {@code Resample.c}:
 * <ul>
 * <li>separable: a horizontal pass, rounded to 8 bits, then a vertical pass (each only if that size changes);
 * <li>output pixel i samples around centre (i + 0.5)·in/out with the triangle filter of support
 *     max(in/out, 1) — so downscaling is antialiased and upscaling is plain half-pixel-centre bilinear —
 *     taps clipped to the image and the weights renormalised (edge pixels are not extended);
 * <li>weights in fixed point with 22 fraction bits, rounding by adding half before the shift, clamped to
 *     0..255.
 * </ul>
 * One instance holds the taps for one (H, W) → (outH, outW) and is safe to share between threads.
 */
public final class Resize {
    private static final int PRECISION_BITS = 32 - 8 - 2;

    /** Taps for one axis: output i reads inputs [start[i], start[i] + len[i]) with weights w[i·ksize + j]. */
    private record Taps(int[] start, int[] len, int[] weight, int ksize) {}

    private final int inH, inW, outH, outW;
    private final Taps rows, cols;

    public Resize(int inH, int inW, int outH, int outW) {
        if (inH <= 0 || inW <= 0 || outH <= 0 || outW <= 0)
            throw new IllegalArgumentException("Resize: sizes must be positive, got " + inH + "x" + inW + " -> "
                    + outH + "x" + outW);
        this.inH = inH;
        this.inW = inW;
        this.outH = outH;
        this.outW = outW;
        this.rows = taps(inH, outH);
        this.cols = taps(inW, outW);
    }

    /** Pillow's precompute_coeffs + normalize_coeffs_8bpc for the bilinear filter. */
    private static Taps taps(int in, int out) {
        double scale = (double) in / out, filterScale = Math.max(scale, 1.0), support = filterScale;
        double invScale = 1.0 / filterScale;
        int ksize = (int) Math.ceil(support) * 2 + 1;
        int[] start = new int[out], len = new int[out], weight = new int[out * ksize];
        double[] w = new double[ksize];
        for (int i = 0; i < out; i++) {
            double center = (i + 0.5) * scale, sum = 0;
            int min = Math.max((int) (center - support + 0.5), 0);
            int max = Math.min((int) (center + support + 0.5), in) - min;
            for (int j = 0; j < max; j++) {
                double t = Math.abs((j + min - center + 0.5) * invScale);
                w[j] = t < 1 ? 1 - t : 0;
                sum += w[j];
            }
            for (int j = 0; j < max; j++) {
                double v = sum != 0 ? w[j] / sum : w[j];
                weight[i * ksize + j] = (int) (v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS));
            }
            start[i] = min;
            len[i] = max;
        }
        return new Taps(start, len, weight, ksize);
    }

    private static int clip8(int v) {
        if (v >= 1 << PRECISION_BITS << 8) return 255;
        return v <= 0 ? 0 : v >> PRECISION_BITS;
    }

    /** Resizes one image of {@code c} channels (CHW bytes at srcOff) into dst at dstOff. */
    public void apply(byte[] src, int srcOff, int c, byte[] dst, int dstOff) {
        boolean horizontal = inW != outW, vertical = inH != outH;
        byte[] mid = horizontal && vertical ? new byte[inH * outW] : null;
        for (int ch = 0; ch < c; ch++) {
            int s = srcOff + ch * inH * inW, d = dstOff + ch * outH * outW;
            if (!horizontal && !vertical) {
                System.arraycopy(src, s, dst, d, inH * inW);
            } else if (!vertical) {
                horizontalPass(src, s, dst, d);
            } else if (!horizontal) {
                verticalPass(src, s, inW, dst, d);
            } else {
                horizontalPass(src, s, mid, 0);
                verticalPass(mid, 0, outW, dst, d);
            }
        }
    }

    private void horizontalPass(byte[] src, int s, byte[] dst, int d) {
        for (int y = 0; y < inH; y++)
            for (int x = 0; x < outW; x++) {
                int acc = 1 << (PRECISION_BITS - 1), base = s + y * inW + cols.start[x];
                for (int j = 0; j < cols.len[x]; j++) acc += (src[base + j] & 0xff) * cols.weight[x * cols.ksize + j];
                dst[d + y * outW + x] = (byte) clip8(acc);
            }
    }

    private void verticalPass(byte[] src, int s, int w, byte[] dst, int d) {
        for (int y = 0; y < outH; y++)
            for (int x = 0; x < w; x++) {
                int acc = 1 << (PRECISION_BITS - 1), base = s + rows.start[y] * w + x;
                for (int j = 0; j < rows.len[y]; j++) acc += (src[base + j * w] & 0xff) * rows.weight[y * rows.ksize + j];
                dst[d + y * w + x] = (byte) clip8(acc);
            }
    }
}
