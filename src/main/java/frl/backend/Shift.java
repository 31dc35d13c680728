package frl.backend;

/**
 * The causal padding of PixelCNN++'s shifted convolutions (stride 1, output as large as the input). The input is
 * zero-padded by kh−1 rows on top and by {@link #left}/{@link #right} columns, then cross-correlated without
 * further padding, so output pixel (i, j) sees only rows ≤ i, and for {@link #DOWN_RIGHT} only columns ≤ j.
 */
public enum Shift {
    /** down_shifted_conv2d: kh−1 rows on top, (kw−1)/2 columns each side (kw odd, typically 2×3). */
    DOWN,
    /** down_right_shifted_conv2d: kh−1 rows on top, kw−1 columns on the left (typically 2×2). */
    DOWN_RIGHT;

    /** Zero rows above the image. */
    public int top(int kh) { return kh - 1; }

    /** Zero columns left of the image. */
    public int left(int kw) { return this == DOWN ? (kw - 1) / 2 : kw - 1; }

    /** Zero columns right of the image. */
    public int right(int kw) { return this == DOWN ? (kw - 1) / 2 : 0; }
}
