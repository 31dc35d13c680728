package frl.freq;

/**
 * FRL's high-frequency channel x_H = (g − blur(g) + 1) / 2 of one image, where g is the BT.601 gray
 * (0.299 R + 0.587 G + 0.114 B; a 1-channel image is its own g) of the image as floats in [0,1], and blur
 * is the separable k×k Gaussian of OpenCV's {@code getGaussianKernel(k, 0)} with ZERO padding (pixels
 * outside the image count as 0, so a flat image gets x_H above 1/2 along its border).
 * <p>
 * The kernel follows OpenCV 4.x: for k ≤ 9 a fixed table (k = 1: [1]; 3: [1,2,1]/4; 5: [1,4,6,4,1]/16;
 * 7: [2,7,14,18,14,7,2]/64; 9: [4,13,30,51,60,51,30,13,4]/256, checked against cv2 4.6); from k = 11 on
 * exp(−x²/(2σ²)) normalised, σ = 0.3((k−1)/2 − 1) + 0.8. (OpenCV 3.x had the table only up to 7 and used
 * the formula, σ = 1.7, for k = 9.) Sums run in double; results are stored as float.
 */
public final class HighPass {
    private static final double[][] TABLE = {
        {1},
        {1 / 4.0, 2 / 4.0, 1 / 4.0},
        {1 / 16.0, 4 / 16.0, 6 / 16.0, 4 / 16.0, 1 / 16.0},
        {2 / 64.0, 7 / 64.0, 14 / 64.0, 18 / 64.0, 14 / 64.0, 7 / 64.0, 2 / 64.0},
        {4 / 256.0, 13 / 256.0, 30 / 256.0, 51 / 256.0, 60 / 256.0, 51 / 256.0, 30 / 256.0, 13 / 256.0, 4 / 256.0},
    };

    private final int k;
    private final double[] kernel;

    public HighPass(int k) {
        this.k = k;
        this.kernel = gaussianKernel(k);
    }

    /** The same channel with other 1-D taps (odd count; applied as a correlation, like the Gaussian's). */
    public HighPass(double[] taps) {
        if (taps.length % 2 == 0) throw new IllegalArgumentException("HighPass: kernel size must be odd and positive, got " + taps.length);
        this.k = taps.length;
        this.kernel = taps.clone();
    }

    public int kernelSize() { return k; }

    /** The 1-D taps this filter uses. */
    public double[] kernel() { return kernel.clone(); }

    /** OpenCV's getGaussianKernel(k, 0): the 1-D taps, summing to 1. */
    public static double[] gaussianKernel(int k) { return gaussianKernel(k, 0); }

    /**
     * OpenCV's getGaussianKernel(k, sigma) in double: for sigma ≤ 0 the table (k ≤ 9) or the formula with
     * σ = 0.3((k−1)/2 − 1) + 0.8; for sigma > 0 the formula with that σ.
     */
    public static double[] gaussianKernel(int k, double sigma) {
        if (k <= 0 || k % 2 == 0) throw new IllegalArgumentException("HighPass: kernel size must be odd and positive, got " + k);
        if (sigma <= 0 && k / 2 < TABLE.length) return TABLE[k / 2].clone();
        if (sigma <= 0) sigma = 0.3 * ((k - 1) / 2.0 - 1) + 0.8;
        double sum = 0;
        double[] t = new double[k];
        for (int i = 0; i < k; i++) {
            double x = i - (k - 1) / 2.0;
            t[i] = Math.exp(-x * x / (2 * sigma * sigma));
            sum += t[i];
        }
        for (int i = 0; i < k; i++) t[i] /= sum;
        return t;
    }

    /**
     * x_H of one image: c (1 or 3) planes of h×w floats in [0,1] at src[srcOff], CHW; writes h×w floats
     * in [0,1] to dst[dstOff].
     */
    public void apply(float[] src, int srcOff, int c, int h, int w, float[] dst, int dstOff) {
        int plane = h * w, r = k / 2;
        double[] g = new double[plane], rows = new double[plane], acc = new double[w];
        gray(src, srcOff, c, plane, g);
        // Each pixel's sums run over the taps in ascending order, starting from 0, exactly as the one-pixel-at-a-time
        // definition (and the CUDA twin) add them; looping over taps outside and pixels inside lets the JIT
        // vectorise across pixels without changing a bit.
        for (int y = 0; y < h; y++) {
            int row = y * w;
            for (int j = 0; j < k; j++) {
                double tap = kernel[j];
                int shift = j - r;
                for (int x = Math.max(0, -shift), end = Math.min(w, w - shift); x < end; x++) rows[row + x] += tap * g[row + x + shift];
            }
        }
        for (int y = 0; y < h; y++) {
            java.util.Arrays.fill(acc, 0);
            for (int j = Math.max(0, r - y), end = Math.min(k, h + r - y); j < end; j++) {
                double tap = kernel[j];
                int from = (y + j - r) * w;
                for (int x = 0; x < w; x++) acc[x] += tap * rows[from + x];
            }
            for (int x = 0; x < w; x++) dst[dstOff + y * w + x] = (float) ((g[y * w + x] - acc[x] + 1) / 2);
        }
    }

    /** Nonzero magnitudes below this are not multiples of 2^-31 as floats: {@link #exactSumsBelow} excludes them. */
    public static final float EXACT_SUMS_FLOOR = 0x1p-8f;

    /**
     * Where {@link #apply} rounds nowhere but at its final cast, so that any order of exact operations gives its
     * bits: for one-channel images whose values are all 0 or of magnitude in [{@link #EXACT_SUMS_FLOOR}, bound),
     * the returned bound, 2^(20−2s), where every tap is a multiple of 2^-s (s ≤ 10) and their magnitudes sum to
     * at most 1 (OpenCV's tables for k ≤ 9: bound 2^16, 2^12, 2^8, 2^4 for k = 3, 5, 7, 9). Else 0: the taps of
     * the larger Gaussians are not dyadic.
     * <p>
     * Why: such a value is a multiple of 2^-31, so every product and partial sum of the horizontal pass is a
     * multiple of 2^-(31+s), of the vertical pass 2^-(31+2s), all of magnitude below the bound; g − blur + 1
     * stays below 2^(21−2s) + 1. Each is then a whole number of its unit under 2^53: a double holds it exactly.
     */
    public static float exactSumsBelow(double[] taps) {
        for (int s = 0; s <= 10; s++) {
            long sum = 0;
            boolean whole = true;
            for (double t : taps) {
                double a = Math.scalb(t, s);
                whole &= a == Math.rint(a) && Math.abs(a) <= 1 << s;
                sum += whole ? (long) Math.abs(a) : 0;
            }
            if (whole) return sum <= 1L << s ? Math.scalb(1f, 20 - 2 * s) : 0f;
        }
        return 0f;
    }

    /** BT.601 gray of c = 1 or 3 planes. */
    static void gray(float[] src, int off, int c, int plane, double[] g) {
        requireChannels(c);
        if (c == 1) {
            for (int p = 0; p < plane; p++) g[p] = src[off + p];
        } else if (c == 3) {
            for (int p = 0; p < plane; p++)
                g[p] = 0.299 * src[off + p] + 0.587 * src[off + plane + p] + 0.114 * src[off + 2 * plane + p];
        }
    }

    /** The channel counts x_H is defined for: 1 (gray) or 3 (RGB). */
    public static void requireChannels(int c) {
        if (c != 1 && c != 3) throw new IllegalArgumentException("HighPass: expected 1 (gray) or 3 (RGB) channels, got " + c);
    }

    /** The 8-bit target of an x_H value: floor(255·x_H), clamped to 0..255. */
    public static int toByte(float xh) {
        return Math.clamp((long) Math.floor(255.0 * xh), 0, 255);
    }
}
