package frl.backend.cuda;

import static org.junit.jupiter.api.Assertions.*;

import frl.backend.Backend;
import frl.freq.FilterSpec;
import frl.freq.FrequencyFilter;
import frl.freq.FrlInput;
import frl.freq.HighPass;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The HF channel on the GPU against its CPU twins. The direct path must be {@link HighPass} bit for bit
 * (double sums in HighPass's order). The cuFFT path works in float32, so it is held to
 * NMSE_HF = Σ(got − want)² / Σ(want − ½)² ≤ 1e-7 (the ½ offset of x_H taken out, so the error is measured
 * against the high-pass signal itself; expect ~1e-13) and max |got − want| ≤ 1e-5 on x_H. Each case prints
 * its numbers.
 */
@Tag("gpu")
class CudaFrequencyTest {
    private static final double FFT_NMSE = 1e-7, FFT_MAX_ABS = 1e-5;

    private static float[] images(SplittableRandom rng, int n, int c, int h, int w) {
        float[] x = new float[n * c * h * w];
        for (int i = 0; i < x.length; i++) x[i] = rng.nextInt(256) / 255f;
        return x;
    }

    /** HighPass (or FrequencyFilter) image by image: [n, 1, h, w]. */
    private interface PlaneFilter { void apply(float[] src, int srcOff, int c, int h, int w, float[] dst, int dstOff); }

    private static float[] cpu(PlaneFilter f, float[] x, int n, int c, int h, int w) {
        float[] out = new float[n * h * w];
        for (int i = 0; i < n; i++) f.apply(x, i * c * h * w, c, h, w, out, i * h * w);
        return out;
    }

    private static double nmseHf(float[] got, float[] want) {
        double e = 0, s = 0;
        for (int i = 0; i < want.length; i++) {
            e += ((double) got[i] - want[i]) * ((double) got[i] - want[i]);
            s += (want[i] - 0.5) * (want[i] - 0.5);
        }
        return s == 0 ? e : e / s;
    }

    private static double maxAbs(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs((double) a[i] - b[i]));
        return m;
    }

    private static void assertBitwise(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what + ": length");
        int bad = 0, first = -1;
        for (int i = 0; i < want.length; i++)
            if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i])) {
                if (first < 0) first = i;
                bad++;
            }
        if (bad > 0) {
            int f = first;
            fail(what + ": " + bad + " of " + want.length + " values differ from the CPU; first at " + f + ": cuda " + got[f]
                    + " vs cpu " + want[f] + "; max |diff| " + maxAbs(got, want) + ", NMSE_HF " + nmseHf(got, want));
        }
    }

    private static void assertFft(float[] want, float[] got, String what) {
        double nmse = nmseHf(got, want), max = maxAbs(got, want);
        System.out.printf("CudaFrequencyTest %-60s NMSE_HF %.3e  max|diff| %.3e%n", what, nmse, max);
        assertTrue(nmse <= FFT_NMSE, what + ": NMSE_HF " + nmse + " > " + FFT_NMSE);
        assertTrue(max <= FFT_MAX_ABS, what + ": max |diff| " + max + " > " + FFT_MAX_ABS);
    }

    private static final int[][] SHAPES = { // n, c, h, w
        {64, 1, 32, 32}, {64, 3, 32, 32}, {7, 1, 28, 28}, {1, 1, 1, 1}, {5, 3, 17, 33}, {3, 1, 33, 17},
        {2, 1, 5, 200}, {4, 3, 2, 3}, {2, 3, 64, 64}, {1, 1, 40, 1},
        {1700, 1, 32, 32}, {2500, 3, 5, 7}};   // more images than the streaming kernel has resident blocks: each walks several

    @Test
    void directPathIsHighPassBitForBit() {
        Backend cuda = GpuTests.cudaOrSkip();
        SplittableRandom rng = new SplittableRandom(1);
        for (int[] s : SHAPES) {
            int n = s[0], c = s[1], h = s[2], w = s[3];
            float[] x = images(rng, n, c, h, w);
            for (int k : new int[] {1, 3, 5, 7, 9, 11, 13, 15, 17, 31})
                for (Way way : ways()) {
                    try (Scope scope = Scope.open()) {
                        Tensor xd = cuda.fromHost(Shape.of(n, c, h, w), x);
                        Tensor y = way.run("highPass", xd, HighPass.gaussianKernel(k), false);
                        assertEquals(Shape.of(n, 1, h, w), y.shape());
                        HighPass hp = new HighPass(k);
                        assertBitwise(cpu(hp::apply, x, n, c, h, w), y.toFloats(), "highPass " + n + "x" + c + "x" + h + "x" + w + " k=" + k
                                + " (" + way.by(c, h, w, k) + ")");
                    }
                }
        }
    }

    /** A direct-path kernel and its order of sums: each test runs every combination. */
    private record Way(CudaFrequency.Direct kernel, boolean exactSums) {
        Tensor run(String op, Tensor x, double[] taps, boolean withInput) {
            return CudaFrequency.direct(op, x, taps, withInput, kernel, exactSums);
        }

        String by(int c, int h, int w, int k) {
            String by = kernel == CudaFrequency.Direct.TILE && CudaFrequency.tilePath(c, h, w, k) ? "tile kernel"
                    : kernel == CudaFrequency.Direct.WARP && CudaFrequency.warpPath(c, h, w, k) ? "warp kernel"
                    : kernel != CudaFrequency.Direct.BLOCK && CudaFrequency.streamPath(h, w, k) ? "streaming kernel"
                    : CudaFrequency.sharedPath(h, w, k) ? "shared-memory kernel" : "global passes";
            return exactSums ? by + ", exact sums where they hold" : by;
        }
    }

    private static java.util.List<Way> ways() {
        var ways = new java.util.ArrayList<Way>();
        for (CudaFrequency.Direct kernel : CudaFrequency.Direct.values())
            for (boolean exact : new boolean[] {false, true}) ways.add(new Way(kernel, exact));
        return ways;
    }

    /**
     * The exact sums are taken image by image: in one batch, 8-bit images (in [0,1] and in [-1,1]) beside images the
     * kernels must sum in order, with ±2^40 beside a pixel (above the bound: there the order shows in the floats,
     * see HighPassTest) or with values under 2^-8. Both kernels, more images than resident blocks, and a plane for
     * the one-block-per-image kernel only.
     */
    @Test
    void exactSumsAreTakenImageByImage() {
        Backend cuda = GpuTests.cudaOrSkip();
        SplittableRandom rng = new SplittableRandom(4);
        for (int[] s : new int[][] {{2000, 32, 32}, {300, 28, 28}, {40, 40, 40}}) {
            int n = s[0], h = s[1], w = s[2], plane = h * w;
            float[] x = images(rng, n, 1, h, w);
            for (int i = 0; i < n; i++) {
                int at = i * plane + rng.nextInt(1, plane - 1);
                switch (i % 4) {
                    case 1 -> { for (int p = 0; p < plane; p++) x[i * plane + p] = 2 * x[i * plane + p] - 1; }
                    case 2 -> { x[at - 1] = 0x1p40f; x[at] = 0.3f; x[at + 1] = -0x1p40f; }
                    case 3 -> x[at] = (float) rng.nextDouble(1e-7, 0x1p-8);
                    default -> { }
                }
            }
            for (int k : new int[] {3, 5, 7, 9}) {
                float[] want = cpu(new HighPass(k)::apply, x, n, 1, h, w);
                for (Way way : ways())
                    try (Scope scope = Scope.open()) {
                        Tensor y = way.run("highPass", cuda.fromHost(Shape.of(n, 1, h, w), x), HighPass.gaussianKernel(k), false);
                        assertBitwise(want, y.toFloats(), "mixed batch " + n + "x1x" + h + "x" + w + " k=" + k + " (" + way.by(1, h, w, k) + ")");
                    }
            }
        }
    }

    @Test
    void anEmptyBatchGivesAnEmptyChannel() {
        Backend cuda = GpuTests.cudaOrSkip();
        try (Scope scope = Scope.open()) {
            assertEquals(Shape.of(0, 1, 32, 32), CudaFrequency.highPass(cuda.fromHost(Shape.of(0, 1, 32, 32), new float[0]), 5).shape());
            assertEquals(Shape.of(0, 2, 32, 32), CudaFrequency.frlInput(cuda.fromHost(Shape.of(0, 1, 32, 32), new float[0]), 5).shape());
        }
    }

    @Test
    void directPathOnALargeBatch() {
        Backend cuda = GpuTests.cudaOrSkip();
        int n = 4096, c = 1, h = 32, w = 32;
        float[] x = images(new SplittableRandom(2), n, c, h, w);
        float[] want = cpu(new HighPass(5)::apply, x, n, c, h, w);
        for (Way way : ways())
            try (Scope scope = Scope.open()) {
                Tensor y = way.run("highPass", cuda.fromHost(Shape.of(n, c, h, w), x), HighPass.gaussianKernel(5), false);
                assertBitwise(want, y.toFloats(), "highPass 4096x1x32x32 k=5 (" + way.by(c, h, w, 5) + ")");
            }
    }

    @Test
    void frlInputIsFrlInputBuildBitForBit() {
        Backend cuda = GpuTests.cudaOrSkip();
        SplittableRandom rng = new SplittableRandom(3);
        for (int[] s : new int[][] {{64, 1, 28, 28}, {64, 3, 32, 32}, {3, 3, 64, 64}, {1, 1, 1, 1}}) {
            int n = s[0], c = s[1], h = s[2], w = s[3];
            float[] x = images(rng, n, c, h, w);
            float[] want = new float[n * (c + 1) * h * w];
            new FrlInput(5).build(x, n, c, h, w, want);
            try (Scope scope = Scope.open()) {
                Tensor xd = cuda.fromHost(Shape.of(n, c, h, w), x);
                for (Way way : ways()) {
                    Tensor xf = way.run("frlInput", xd, HighPass.gaussianKernel(5), true);
                    assertEquals(Shape.of(n, c + 1, h, w), xf.shape());
                    assertBitwise(want, xf.toFloats(), "frlInput " + n + "x" + c + "x" + h + "x" + w + " (" + way.by(c, h, w, 5) + ")");
                }
                // the FFT path builds the same x_F: image channels exact, x_H to float rounding
                float[] fft = CudaFrequency.frlInputFft(xd, FilterSpec.gaussian(5)).toFloats();
                int img = c * h * w, outSize = img + h * w;
                float[] hfWant = new float[n * h * w], hfGot = new float[n * h * w];
                for (int i = 0; i < n; i++) {
                    for (int p = 0; p < img; p++)
                        assertEquals(Float.floatToRawIntBits(want[i * outSize + p]), Float.floatToRawIntBits(fft[i * outSize + p]), "frlInputFft image channels");
                    System.arraycopy(want, i * outSize + img, hfWant, i * h * w, h * w);
                    System.arraycopy(fft, i * outSize + img, hfGot, i * h * w, h * w);
                }
                assertFft(hfWant, hfGot, "frlInputFft " + n + "x" + c + "x" + h + "x" + w + " x_H");
            }
        }
    }

    @Test
    void fftGaussianMatchesTheDirectPath() {
        Backend cuda = GpuTests.cudaOrSkip();
        SplittableRandom rng = new SplittableRandom(4);
        for (int[] s : new int[][] {{64, 1, 32, 32}, {64, 3, 28, 28}, {5, 3, 17, 33}, {1, 1, 1, 1}, {2, 1, 64, 48}}) {
            int n = s[0], c = s[1], h = s[2], w = s[3];
            float[] x = images(rng, n, c, h, w);
            for (int k : new int[] {1, 3, 5, 9, 11, 15}) {
                try (Scope scope = Scope.open()) {
                    Tensor xd = cuda.fromHost(Shape.of(n, c, h, w), x);
                    FilterSpec f = FilterSpec.gaussian(k);
                    float[] direct = CudaFrequency.highPass(xd, k).toFloats(), fft = CudaFrequency.highPassFft(xd, f).toFloats();
                    String at = n + "x" + c + "x" + h + "x" + w + " k=" + k + " fft " + f.paddedSize(h) + "x" + f.paddedSize(w);
                    assertFft(direct, fft, "gaussian fft vs direct " + at);
                    assertFft(cpu(new FrequencyFilter(f)::apply, x, n, c, h, w), fft, "gaussian fft vs cpu FrequencyFilter " + at);
                }
            }
        }
    }

    @Test
    void largeGaussiansByBothPaths() {
        Backend cuda = GpuTests.cudaOrSkip();
        SplittableRandom rng = new SplittableRandom(5);
        int n = 16, c = 3, h = 32, w = 32;
        float[] x = images(rng, n, c, h, w);
        for (double sigma : new double[] {3, 8}) {
            FilterSpec f = FilterSpec.gaussianSigma(sigma); // k = 19, 49: the global passes
            try (Scope scope = Scope.open()) {
                Tensor xd = cuda.fromHost(Shape.of(n, c, h, w), x);
                float[] direct = CudaFrequency.highPass(xd, f).toFloats();
                assertBitwise(cpu(new HighPass(f.taps())::apply, x, n, c, h, w), direct, "highPass sigma " + sigma + " k=" + f.kernelSize());
                assertFft(direct, CudaFrequency.highPassFft(xd, f).toFloats(), "gaussian sigma " + sigma + " fft vs direct");
            }
        }
    }

    @Test
    void idealAndButterworthMatchTheCpuTwin() {
        Backend cuda = GpuTests.cudaOrSkip();
        SplittableRandom rng = new SplittableRandom(6);
        FilterSpec[] specs = {FilterSpec.ideal(0.2, 0), FilterSpec.ideal(0.15, 8), FilterSpec.ideal(0, 0),
            FilterSpec.butterworth(0.1, 2, 0), FilterSpec.butterworth(0.25, 4, 5)};
        for (int[] s : new int[][] {{16, 1, 32, 32}, {8, 3, 28, 28}, {3, 1, 17, 33}}) {
            int n = s[0], c = s[1], h = s[2], w = s[3];
            float[] x = images(rng, n, c, h, w);
            for (FilterSpec f : specs) {
                try (Scope scope = Scope.open()) {
                    float[] got = CudaFrequency.highPassFft(cuda.fromHost(Shape.of(n, c, h, w), x), f).toFloats();
                    assertFft(cpu(new FrequencyFilter(f)::apply, x, n, c, h, w), got, f.kind() + " " + f.cutoff() + " pad " + f.pad()
                            + " " + n + "x" + c + "x" + h + "x" + w);
                }
            }
        }
    }

    /** Batches split into several FFT chunks (limit lowered) give the same result; plans stay cached and bounded. */
    @Test
    void fftChunksAndPlanCache() {
        Backend cuda = GpuTests.cudaOrSkip();
        int n = 17, c = 3, h = 32, w = 32;
        float[] x = images(new SplittableRandom(7), n, c, h, w);
        FilterSpec f = FilterSpec.gaussian(5);
        long saved = CudaFrequency.maxFftFloats;
        try (Scope scope = Scope.open()) {
            Tensor xd = cuda.fromHost(Shape.of(n, c, h, w), x);
            float[] whole = CudaFrequency.frlInputFft(xd, f).toFloats();
            CudaFrequency.maxFftFloats = 5L * 36 * 36; // chunks of 5, 5, 5, 2 images
            // cuFFT may pick other algorithms for another batch count: equal to float rounding, not bitwise
            float[] split = CudaFrequency.frlInputFft(xd, f).toFloats();
            assertFft(whole, split, "frlInputFft in chunks of 5 images vs one batch");
            float[] again = CudaFrequency.frlInputFft(xd, f).toFloats(); // the same cached plans: deterministic
            assertBitwise(split, again, "frlInputFft again with the cached plans");
            assertTrue(CudaFrequency.cachedPlans() <= 8, "plan cache bounded: " + CudaFrequency.cachedPlans());
            for (int b = 1; b <= 10; b++) CudaFrequency.highPassFft(cuda.fromHost(Shape.of(b, 1, 8, 8), new float[b * 64]), f);
            assertTrue(CudaFrequency.cachedPlans() <= 8, "plan cache bounded after evictions: " + CudaFrequency.cachedPlans());
            assertFft(whole, CudaFrequency.frlInputFft(xd, f).toFloats(), "frlInputFft after plan evictions");
        } finally {
            CudaFrequency.maxFftFloats = saved;
        }
    }

    @Test
    void rejectsWhatHighPassRejects() {
        Backend cuda = GpuTests.cudaOrSkip();
        try (Scope scope = Scope.open()) {
            Tensor two = cuda.fromHost(Shape.of(1, 2, 4, 4), new float[32]);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CudaFrequency.highPass(two, 3));
            assertTrue(e.getMessage().contains("expected 1 (gray) or 3 (RGB) channels"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> CudaFrequency.highPassFft(two, FilterSpec.gaussian(3)));
            Tensor rank3 = cuda.fromHost(Shape.of(1, 4, 4), new float[16]);
            assertThrows(IllegalArgumentException.class, () -> CudaFrequency.highPass(rank3, 3));
            Tensor ok = cuda.fromHost(Shape.of(1, 1, 4, 4), new float[16]);
            assertThrows(IllegalArgumentException.class, () -> CudaFrequency.highPass(ok, 4));
            assertThrows(IllegalArgumentException.class, () -> CudaFrequency.highPass(ok, FilterSpec.ideal(0.1, 0)));
        }
    }

    /**
     * CudaFrequency sizes the streaming kernel's grid by the blocks per SM its launch bounds ask for
     * (HF_STREAM_BLOCKS in frequency.cu): a tripwire for a change to one side only. Runs without a GPU.
     */
    @Test void theStreamingGridFollowsTheKernelsLaunchBounds() throws java.io.IOException {
        String src = java.nio.file.Files.readString(java.nio.file.Path.of("src/main/cuda/frequency.cu"));
        var m = java.util.regex.Pattern.compile("#define HF_STREAM_BLOCKS\\(C3, K\\) (\\(.*\\))\\s*//").matcher(src);
        assertTrue(m.find(), "no HF_STREAM_BLOCKS(C3, K) in frequency.cu");
        assertEquals("((K) <= 7 && !(C3) ? 6 : (K) <= 9 ? 4 : 3)", m.group(1).trim(),
                "HF_STREAM_BLOCKS changed: change CudaFrequency.streamBlocksPerSm with it, then this line");
        int[][] expected = {{1, 6, 4}, {3, 6, 4}, {5, 6, 4}, {7, 6, 4}, {9, 4, 4}, {11, 3, 3}, {13, 3, 3}, {15, 3, 3}}; // k, C = 1, C = 3
        for (int[] e : expected) {
            assertEquals(e[1], CudaFrequency.streamBlocksPerSm(1, e[0]), "k " + e[0] + ", one channel");
            assertEquals(e[2], CudaFrequency.streamBlocksPerSm(3, e[0]), "k " + e[0] + ", three channels");
        }
    }

    /** Which launches may sum exactly: one channel, symmetric dyadic taps, the switch on. Runs without a GPU. */
    @Test void exactSumsNeedOneChannelSymmetricDyadicTapsAndTheSwitch() {
        double[] k5 = HighPass.gaussianKernel(5);
        assertEquals(Float.floatToRawIntBits(0x1p12f), CudaFrequency.exactSumsBits(1, k5, true));
        assertEquals(0, CudaFrequency.exactSumsBits(1, k5, false), "switch off");
        assertEquals(0, CudaFrequency.exactSumsBits(3, k5, true), "BT.601 gray rounds");
        assertEquals(0, CudaFrequency.exactSumsBits(1, HighPass.gaussianKernel(11), true), "taps not dyadic");
        assertEquals(0, CudaFrequency.exactSumsBits(1, new double[] {0.25, 0.5, 0.125, 0.125, 0}, true), "not symmetric: the kernel folds");
        assertEquals(Float.floatToRawIntBits(0x1p16f), CudaFrequency.exactSumsBits(1, new double[] {-0.25, 0.5, -0.25}, true));
    }

    /** CudaFrequency sizes the warp kernel's grid by HF_WARP_BLOCKS in frequency.cu: a tripwire for a change to one side only. Runs without a GPU. */
    @Test void theWarpGridFollowsTheKernelsLaunchBounds() throws java.io.IOException {
        String src = java.nio.file.Files.readString(java.nio.file.Path.of("src/main/cuda/frequency.cu"));
        var m = java.util.regex.Pattern.compile("#define HF_WARP_BLOCKS\\(K\\) (\\(.*\\))\\s*//").matcher(src);
        assertTrue(m.find(), "no HF_WARP_BLOCKS(K) in frequency.cu");
        assertEquals("((K) <= 5 ? 3 : 2)", m.group(1).trim(), "HF_WARP_BLOCKS changed: change CudaFrequency.warpBlocksPerSm with it, then this line");
        for (int k = 1; k <= 15; k += 2) assertEquals(k <= 5 ? 3 : 2, CudaFrequency.warpBlocksPerSm(k), "k " + k);
        assertTrue(CudaFrequency.warpPath(1, 32, 32, 5) && CudaFrequency.warpPath(1, 28, 28, 15) && CudaFrequency.warpPath(1, 1, 1, 1));
        assertFalse(CudaFrequency.warpPath(3, 32, 32, 5), "three channels");
        assertFalse(CudaFrequency.warpPath(1, 33, 32, 5), "33 rows");
        assertFalse(CudaFrequency.warpPath(1, 32, 40, 5), "40 columns: one lane each");
        assertFalse(CudaFrequency.warpPath(1, 32, 32, 17), "k 17");
    }

    /** The microbenchmark entry point runs and reports its numbers (a small batch: this is a smoke test). */
    @Test
    void benchRuns() {
        GpuTests.cudaOrSkip();
        var r = FrequencyBench.run(1024, 5, 3);
        System.out.println("CudaFrequencyTest bench(1024): " + r);
        for (String key : new String[] {"copy_GBps", "direct_GBps", "direct_stream_GBps", "fft_GBps", "direct_over_copy"})
            assertTrue(((Number) r.get(key)).doubleValue() > 0, key + " in " + r);
    }
}
