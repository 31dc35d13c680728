package frl.freq;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class HighPassTest {
    private static float[] apply(int k, float[] img, int c, int h, int w) {
        float[] out = new float[h * w];
        new HighPass(k).apply(img, 0, c, h, w, out, 0);
        return out;
    }

    /** The definition, one pixel at a time: every sum from 0 over the taps in ascending order, in double. */
    private static float[] onePixelAtATime(double[] kernel, float[] img, int c, int h, int w) {
        int k = kernel.length, r = k / 2, plane = h * w;
        double[] g = new double[plane], tmp = new double[plane];
        for (int p = 0; p < plane; p++) g[p] = c == 1 ? img[p] : 0.299 * img[p] + 0.587 * img[plane + p] + 0.114 * img[2 * plane + p];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double s = 0;
                for (int j = 0; j < k; j++) if (x + j - r >= 0 && x + j - r < w) s += kernel[j] * g[y * w + x + j - r];
                tmp[y * w + x] = s;
            }
        float[] out = new float[plane];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double s = 0;
                for (int j = 0; j < k; j++) if (y + j - r >= 0 && y + j - r < h) s += kernel[j] * tmp[(y + j - r) * w + x];
                out[y * w + x] = (float) ((g[y * w + x] - s + 1) / 2);
            }
        return out;
    }

    /** The vectorisable loop order changes no bit: the CUDA twin is held to the same sums. */
    @Test
    void equalsTheOnePixelDefinitionBitForBit() {
        SplittableRandom r = new SplittableRandom(3);
        int[][] sizes = {{32, 32}, {5, 17}, {3, 2}, {1, 9}, {28, 28}};
        for (int k : new int[] {1, 3, 5, 9, 13})
            for (int[] hw : sizes)
                for (int c : new int[] {1, 3}) {
                    float[] img = new float[c * hw[0] * hw[1]];
                    for (int i = 0; i < img.length; i++) img[i] = r.nextInt(256) / 255f;
                    assertArrayEquals(onePixelAtATime(HighPass.gaussianKernel(k), img, c, hw[0], hw[1]), apply(k, img, c, hw[0], hw[1]),
                            "k " + k + ", " + c + "x" + hw[0] + "x" + hw[1]);
                }
    }

    @Test
    void kernelTableMatchesOpenCv() {
        assertArrayEquals(new double[] {1}, HighPass.gaussianKernel(1));
        assertArrayEquals(new double[] {0.25, 0.5, 0.25}, HighPass.gaussianKernel(3));
        assertArrayEquals(new double[] {1 / 16.0, 4 / 16.0, 6 / 16.0, 4 / 16.0, 1 / 16.0}, HighPass.gaussianKernel(5));
        assertArrayEquals(new double[] {0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125}, HighPass.gaussianKernel(7));
        // cv2.getGaussianKernel(9, 0) in OpenCV 4.6: a table, not the sigma = 1.7 formula
        assertArrayEquals(new double[] {0.015625, 0.05078125, 0.1171875, 0.19921875, 0.234375, 0.19921875, 0.1171875, 0.05078125,
                0.015625}, HighPass.gaussianKernel(9));
    }

    @Test
    void largeKernelsFollowTheSigmaFormulaLikeOpenCv() {
        // cv2.getGaussianKernel(k, 0, ktype=cv2.CV_64F) from OpenCV 4.6
        double[] k11 = {0.00881222929256229, 0.02714357714347937, 0.06511405659938269, 0.12164907301380962, 0.1769983568313557,
            0.20056541423882085, 0.1769983568313557, 0.12164907301380962, 0.06511405659938269, 0.02714357714347937, 0.00881222929256229};
        double[] k13 = {0.00579887770151019, 0.01640132200467247, 0.03839869855917626, 0.07441438546819701, 0.1193713316000055,
            0.15850607862252303, 0.17421861208783126, 0.15850607862252303, 0.1193713316000055, 0.07441438546819701,
            0.03839869855917626, 0.01640132200467247, 0.00579887770151019};
        assertArrayEquals(k11, HighPass.gaussianKernel(11), 1e-15);
        assertArrayEquals(k13, HighPass.gaussianKernel(13), 1e-15);
        double sum = 0;
        for (double v : HighPass.gaussianKernel(31)) sum += v;
        assertEquals(1, sum, 1e-14);
        assertThrows(IllegalArgumentException.class, () -> new HighPass(4));
        assertThrows(IllegalArgumentException.class, () -> new HighPass(0));
    }

    @Test
    void singleBrightPixelByHand() {
        float[] img = new float[25];
        img[2 * 5 + 2] = 1;
        float[] xh = apply(3, img, 1, 5, 5);
        // blur of a unit impulse is the 2-D kernel [1,2,1]ᵀ[1,2,1]/16 around it
        assertEquals((1 - 4 / 16.0 + 1) / 2, xh[2 * 5 + 2], 1e-7);   // 0.875
        assertEquals((0 - 2 / 16.0 + 1) / 2, xh[2 * 5 + 1], 1e-7);   // 0.4375
        assertEquals((0 - 1 / 16.0 + 1) / 2, xh[1 * 5 + 1], 1e-7);   // 0.46875
        assertEquals(0.5, xh[0], 1e-7);
        assertEquals(0.5, xh[4 * 5 + 2], 1e-7);
    }

    @Test
    void constantImageSeesTheZeroPaddingAtItsBorder() {
        float v = 0.6f;
        float[] img = new float[16];
        java.util.Arrays.fill(img, v);
        float[] xh = apply(3, img, 1, 4, 4);
        assertEquals(0.5, xh[1 * 4 + 1], 1e-7, "interior: blur = v");
        assertEquals((v - 0.75 * v + 1) / 2, xh[1], 1e-7, "edge: a quarter of the vertical taps fall outside");
        assertEquals((v - 0.5625 * v + 1) / 2, xh[0], 1e-7, "corner: 3/4 · 3/4 of the mass inside");
        assertEquals(xh[0], xh[15], 0, "corners alike");
    }

    @Test
    void rgbUsesBt601Gray() {
        float[] img = new float[3 * 9];
        for (int p = 0; p < 9; p++) {
            img[p] = 1f;          // R
            img[9 + p] = 0.5f;    // G
            img[18 + p] = 0f;     // B
        }
        double g = 0.299 + 0.587 * 0.5;
        float[] xh = apply(3, img, 3, 3, 3);
        assertEquals(0.5, xh[4], 1e-7);
        assertEquals((g - 0.75 * g + 1) / 2, xh[1], 1e-7);
        float[] gray = new float[9];
        java.util.Arrays.fill(gray, (float) g);
        assertArrayEquals(apply(3, gray, 1, 3, 3), xh, 1e-7f);
        assertThrows(IllegalArgumentException.class, () -> apply(3, new float[18], 2, 3, 3));
    }

    /** Separable passes against a direct 2-D float64 convolution (only float storage differs), odd shapes, k up to 11. */
    @Test
    void matchesDirectConvolutionInDouble() {
        SplittableRandom rng = new SplittableRandom(5);
        for (int[] s : new int[][] {{1, 1, 1}, {3, 7, 5}, {1, 17, 33}, {3, 4, 9}}) {
            for (int k : new int[] {3, 5, 7, 11}) {
                int c = s[0], h = s[1], w = s[2];
                float[] img = new float[c * h * w];
                for (int i = 0; i < img.length; i++) img[i] = rng.nextInt(256) / 255f;
                float[] got = apply(k, img, c, h, w);
                double[] kern = HighPass.gaussianKernel(k);
                double err = 0, ref2 = 0;
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++) {
                        double blur = 0;
                        for (int i = 0; i < k; i++)
                            for (int j = 0; j < k; j++) {
                                int yy = y + i - k / 2, xx = x + j - k / 2;
                                if (yy >= 0 && yy < h && xx >= 0 && xx < w) blur += kern[i] * kern[j] * gray(img, c, h * w, yy * w + xx);
                            }
                        double want = (gray(img, c, h * w, y * w + x) - blur + 1) / 2;
                        err += (got[y * w + x] - want) * (got[y * w + x] - want);
                        ref2 += want * want;
                    }
                assertTrue(err / ref2 <= 1e-12, "NMSE " + err / ref2 + " at " + c + "x" + h + "x" + w + " k=" + k);
            }
        }
    }

    private static double gray(float[] img, int c, int plane, int p) {
        return c == 1 ? img[p] : 0.299 * img[p] + 0.587 * img[plane + p] + 0.114 * img[2 * plane + p];
    }

    /**
     * The GPU's order where {@link HighPass#exactSumsBelow} holds (frequency.cu, hf_tap_sum): symmetric taps folded,
     * t_R·w_R + Σ_j t_j·(w_j + w_(k−1−j)) by FMAs, pixels outside the image as zeros, then (g − blur)·½ + ½ by an
     * FMA. Returned before the cast to float.
     */
    private static double[] foldedSums(double[] t, float[] img, int h, int w) {
        int k = t.length, r = k / 2;
        double[] rows = new double[h * w], out = new double[h * w];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                final int xx = x, yy = y;
                rows[y * w + x] = folded(t, j -> xx + j - r >= 0 && xx + j - r < w ? img[yy * w + xx + j - r] : 0);
            }
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                final int xx = x, yy = y;
                double blur = folded(t, j -> yy + j - r >= 0 && yy + j - r < h ? rows[(yy + j - r) * w + xx] : 0);
                out[y * w + x] = Math.fma(img[y * w + x] - blur, 0.5, 0.5);
            }
        return out;
    }

    private static double folded(double[] t, java.util.function.IntToDoubleFunction v) {
        int k = t.length, r = k / 2;
        double s = t[r] * v.applyAsDouble(r);
        for (int j = 0; j < r; j++) s = Math.fma(t[j], v.applyAsDouble(j) + v.applyAsDouble(k - 1 - j), s);
        return s;
    }

    /** (g − blur(g) + 1) / 2 of a gray image in exact decimal arithmetic. */
    private static java.math.BigDecimal[] exactValues(double[] t, float[] img, int h, int w) {
        int k = t.length, r = k / 2;
        var rows = new java.math.BigDecimal[h * w];
        var out = new java.math.BigDecimal[h * w];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                var s = java.math.BigDecimal.ZERO;
                for (int j = 0; j < k; j++)
                    if (x + j - r >= 0 && x + j - r < w) s = s.add(new java.math.BigDecimal(t[j]).multiply(new java.math.BigDecimal(img[y * w + x + j - r])));
                rows[y * w + x] = s;
            }
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                var s = java.math.BigDecimal.ZERO;
                for (int j = 0; j < k; j++)
                    if (y + j - r >= 0 && y + j - r < h) s = s.add(new java.math.BigDecimal(t[j]).multiply(rows[(y + j - r) * w + x]));
                out[y * w + x] = new java.math.BigDecimal(img[y * w + x]).subtract(s).add(java.math.BigDecimal.ONE)
                        .divide(java.math.BigDecimal.valueOf(2));
            }
        return out;
    }

    /** Gray values at the edges of exactSumsBelow's domain: 0, ±floor, just under ±bound, and random ones between. */
    private static float[] edgeImage(SplittableRandom rng, float bound, int n) {
        float floor = HighPass.EXACT_SUMS_FLOOR, top = Math.nextDown(bound);
        float[] img = new float[n];
        for (int i = 0; i < n; i++) {
            float v = switch (rng.nextInt(5)) {
                case 0 -> 0f;
                case 1 -> floor;
                case 2 -> top;
                case 3 -> Math.nextDown(Math.scalb(1f, rng.nextInt(-7, Math.getExponent(bound) + 1))); // a full mantissa
                default -> (float) Math.exp(rng.nextDouble(Math.log(floor), Math.log(top)));
            };
            img[i] = rng.nextBoolean() ? v : -v;
        }
        return img;
    }

    @Test
    void exactSumsHoldForTheTablesOnly() {
        float[] want = {0x1p20f, 0x1p16f, 0x1p12f, 0x1p8f, 0x1p4f};
        for (int k = 1; k <= 9; k += 2) assertEquals(want[k / 2], HighPass.exactSumsBelow(HighPass.gaussianKernel(k)), "k " + k);
        assertEquals(0f, HighPass.exactSumsBelow(HighPass.gaussianKernel(11)), "k 11: taps from exp, not dyadic");
        assertEquals(0f, HighPass.exactSumsBelow(new double[] {0.5, 0.5, 0.5}), "magnitudes sum to 1.5");
        assertEquals(0x1p16f, HighPass.exactSumsBelow(new double[] {-0.25, 0.5, -0.25}), "a dyadic high-pass");
        assertEquals(0f, HighPass.exactSumsBelow(new double[] {0x1p-11, 1 - 0x1p-10, 0x1p-11}), "needs 2^-11");
        assertEquals(0x1p0f, HighPass.exactSumsBelow(new double[] {0x1p-10, 1 - 0x1p-9, 0x1p-10}), "2^-10 is the finest step");
    }

    /**
     * The claim behind the GPU's exact sums: on exactSumsBelow's domain apply() rounds only at its cast, so the
     * folded order gives the exact value (checked in BigDecimal) and apply's bits.
     */
    @Test
    void foldedSumsAreExactAndGiveApplysBitsOnTheDomain() {
        SplittableRandom rng = new SplittableRandom(11);
        int[][] sizes = {{32, 32}, {28, 28}, {5, 17}, {1, 1}, {9, 2}};
        for (int k = 1; k <= 9; k += 2) {
            double[] taps = HighPass.gaussianKernel(k);
            float bound = HighPass.exactSumsBelow(taps);
            for (int[] hw : sizes)
                for (int trial = 0; trial < 3; trial++) {
                    int h = hw[0], w = hw[1];
                    float[] img = new float[h * w];
                    if (trial == 0) for (int i = 0; i < img.length; i++) img[i] = rng.nextInt(256) / 255f;
                    else img = edgeImage(rng, bound, h * w);
                    if (trial == 2) java.util.Arrays.fill(img, 0, img.length / 2, Math.nextDown(bound)); // the largest sums
                    double[] folded = foldedSums(taps, img, h, w);
                    java.math.BigDecimal[] exact = exactValues(taps, img, h, w);
                    float[] want = apply(k, img, 1, h, w);
                    for (int p = 0; p < h * w; p++) {
                        String at = "k " + k + ", " + h + "x" + w + ", trial " + trial + ", pixel " + p;
                        assertEquals(0, new java.math.BigDecimal(folded[p]).compareTo(exact[p]), at + ": folded sum not exact");
                        assertEquals(Float.floatToRawIntBits(want[p]), Float.floatToRawIntBits((float) folded[p]), at);
                    }
                }
        }
    }

    /** Below the floor a value has finer steps than 2^-31, and the sums round: the domain's floor is needed. */
    @Test
    void belowTheFloorTheSumsRound() {
        float[] img = {1 - 0x1p-24f, 0x1p-40f * (1 + 0x1p-23f), 1 - 0x1p-24f};
        double[] taps = HighPass.gaussianKernel(5);
        double[] folded = foldedSums(taps, img, 1, 3);
        java.math.BigDecimal[] exact = exactValues(taps, img, 1, 3);
        assertNotEquals(0, new java.math.BigDecimal(folded[1]).compareTo(exact[1]), "a sum spanning 2^0 to 2^-67 cannot be exact in double");
    }

    /**
     * Above the bound the order shows in the floats: ±2^40 beside a pixel swallow its low bits in apply's sums
     * (1.1e12 + 0.375·g), while folded they cancel first. A GPU test sends such an image to check the fallback.
     */
    @Test
    void aboveTheBoundTheOrderShowsInTheFloats() {
        float[] img = {0x1p40f, 0.3f, -0x1p40f};
        float[] want = apply(5, img, 1, 1, 3);
        double[] folded = foldedSums(HighPass.gaussianKernel(5), img, 1, 3);
        assertTrue(Math.abs(want[1] - (float) folded[1]) > 1e-6, "apply " + want[1] + " vs folded " + (float) folded[1]);
    }

    @Test
    void byteTargetFloorsAndClamps() {
        assertEquals(127, HighPass.toByte(0.5f));
        assertEquals(223, HighPass.toByte(0.875f));
        assertEquals(255, HighPass.toByte(1f));
        assertEquals(255, HighPass.toByte(1.3f));
        assertEquals(0, HighPass.toByte(0f));
        assertEquals(0, HighPass.toByte(-0.01f));
    }
}
