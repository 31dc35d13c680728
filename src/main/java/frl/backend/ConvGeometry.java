package frl.backend;

/** Stride and zero padding of a 2-D convolution (no dilation, no groups). */
public record ConvGeometry(int strideH, int strideW, int padH, int padW) {
    public ConvGeometry {
        if (strideH < 1 || strideW < 1) throw new IllegalArgumentException("stride must be ≥ 1, got " + strideH + "×" + strideW);
        if (padH < 0 || padW < 0) throw new IllegalArgumentException("padding must be ≥ 0, got " + padH + "×" + padW);
    }

    public static ConvGeometry of(int stride, int pad) { return new ConvGeometry(stride, stride, pad, pad); }

    public int outH(int h, int kh) { return checked((h + 2 * padH - kh) / strideH + 1, h, kh, "height"); }

    public int outW(int w, int kw) { return checked((w + 2 * padW - kw) / strideW + 1, w, kw, "width"); }

    private static int checked(int out, int in, int k, String what) {
        if (out < 1) throw new IllegalArgumentException("convolution " + what + ": input " + in + " with kernel " + k + " gives no output");
        return out;
    }
}
