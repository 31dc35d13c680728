package frl.freq;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class FrequencyFilterTest {
    private static float[] image(SplittableRandom rng, int c, int h, int w) {
        float[] img = new float[c * h * w];
        for (int i = 0; i < img.length; i++) img[i] = rng.nextInt(256) / 255f;
        return img;
    }

    private static float[] fft(FilterSpec f, float[] img, int c, int h, int w) {
        float[] out = new float[h * w];
        new FrequencyFilter(f).apply(img, 0, c, h, w, out, 0);
        return out;
    }

    private static float[] direct(HighPass hp, float[] img, int c, int h, int w) {
        float[] out = new float[h * w];
        hp.apply(img, 0, c, h, w, out, 0);
        return out;
    }

    /** NMSE of the high-pass part: Σ(a − b)² / Σ(b − ½)², so the ½ offset of x_H does not hide errors. */
    static double nmseHf(float[] got, double[] want) {
        double e = 0, s = 0;
        for (int i = 0; i < want.length; i++) {
            e += (got[i] - want[i]) * (got[i] - want[i]);
            s += (want[i] - 0.5) * (want[i] - 0.5);
        }
        return s == 0 ? e : e / s;
    }

    static double[] doubles(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }

    static double maxAbs(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    @Test
    void gaussianThroughTheDftIsHighPass() {
        SplittableRandom rng = new SplittableRandom(11);
        for (int[] s : new int[][] {{1, 1, 1}, {3, 7, 5}, {1, 17, 33}, {3, 4, 9}, {1, 32, 32}}) {
            for (int k : new int[] {1, 3, 5, 7, 9, 11, 15}) {
                int c = s[0], h = s[1], w = s[2];
                float[] img = image(rng, c, h, w);
                float[] want = direct(new HighPass(k), img, c, h, w), got = fft(FilterSpec.gaussian(k), img, c, h, w);
                String at = c + "x" + h + "x" + w + " k=" + k;
                // both in double, rounded to float once: at most one float ulp of x_H apart (ulp(1) = 1.2e-7)
                assertTrue(maxAbs(got, want) <= 1.2e-7, "max |diff| " + maxAbs(got, want) + " at " + at);
                assertTrue(nmseHf(got, doubles(want)) <= 1e-12, "NMSE " + nmseHf(got, doubles(want)) + " at " + at);
            }
        }
    }

    @Test
    void largeGaussianThroughTheDftIsTheDirectFilterWithItsTaps() {
        SplittableRandom rng = new SplittableRandom(12);
        for (double sigma : new double[] {2.5, 6}) {
            FilterSpec f = FilterSpec.gaussianSigma(sigma);
            assertEquals(2 * (int) Math.ceil(3 * sigma) + 1, f.kernelSize());
            for (int[] s : new int[][] {{1, 1, 1}, {3, 20, 13}, {1, 32, 32}}) {
                int c = s[0], h = s[1], w = s[2];
                float[] img = image(rng, c, h, w);
                float[] want = direct(new HighPass(f.taps()), img, c, h, w), got = fft(f, img, c, h, w);
                assertTrue(maxAbs(got, want) <= 1.2e-7, "max |diff| " + maxAbs(got, want) + " sigma " + sigma);
            }
        }
    }

    @Test
    void explicitSigmaTapsAreOpenCvsFormula() {
        double[] t = FilterSpec.gaussian(5, 1.5).taps();
        double sum = 0;
        for (int i = 0; i < 5; i++) sum += Math.exp(-(i - 2) * (i - 2) / (2 * 1.5 * 1.5));
        for (int i = 0; i < 5; i++) assertEquals(Math.exp(-(i - 2) * (i - 2) / (2 * 1.5 * 1.5)) / sum, t[i], 1e-16);
        assertArrayEquals(HighPass.gaussianKernel(5), FilterSpec.gaussian(5).taps(), "sigma 0: OpenCV's table");
        assertArrayEquals(HighPass.gaussianKernel(13), FilterSpec.gaussian(13).taps(), "sigma 0: OpenCV's default sigma");
    }

    /** Ideal and Butterworth through the separable table DFT vs a brute-force 2-D DFT with unreduced angles. */
    @Test
    void frequencyDefinedFiltersMatchABruteForce2dDft() {
        SplittableRandom rng = new SplittableRandom(13);
        FilterSpec[] specs = {FilterSpec.ideal(0.2, 0), FilterSpec.ideal(0.3, 3), FilterSpec.butterworth(0.15, 2, 0),
            FilterSpec.butterworth(0.25, 1, 4), FilterSpec.butterworth(0.1, 5, 1)};
        for (FilterSpec f : specs)
            for (int[] s : new int[][] {{1, 5, 7}, {3, 6, 4}, {1, 9, 9}, {1, 1, 3}}) {
                int c = s[0], h = s[1], w = s[2];
                float[] img = image(rng, c, h, w);
                double[] g = new double[h * w];
                HighPass.gray(img, 0, c, h * w, g);
                double[] want = bruteForce(f, g, h, w);
                float[] got = fft(f, img, c, h, w);
                double[] wantXh = new double[h * w];
                for (int p = 0; p < h * w; p++) wantXh[p] = (want[p] + 1) / 2;
                double nmse = nmseHf(got, wantXh);
                assertTrue(nmse <= 1e-13, "NMSE " + nmse + " " + f + " at " + c + "x" + h + "x" + w);
                assertArrayEquals(want, new FrequencyFilter(f).highPass(g, h, w), 1e-12, f + " in double");
            }
    }

    private static double[] bruteForce(FilterSpec f, double[] g, int h, int w) {
        int hp = f.paddedSize(h), wp = f.paddedSize(w);
        double[] gain = f.transfer(hp, wp), re = new double[hp * wp], im = new double[hp * wp], out = new double[h * w];
        for (int u = 0; u < hp; u++)
            for (int v = 0; v < wp; v++) {
                double sr = 0, si = 0;
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++) {
                        double a = -2 * Math.PI * ((double) u * y / hp + (double) v * x / wp);
                        sr += g[y * w + x] * Math.cos(a);
                        si += g[y * w + x] * Math.sin(a);
                    }
                re[u * wp + v] = sr * gain[u * wp + v];
                im[u * wp + v] = si * gain[u * wp + v];
            }
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double s = 0;
                for (int u = 0; u < hp; u++)
                    for (int v = 0; v < wp; v++) {
                        double a = 2 * Math.PI * ((double) u * y / hp + (double) v * x / wp);
                        s += re[u * wp + v] * Math.cos(a) - im[u * wp + v] * Math.sin(a);
                    }
                out[y * w + x] = s / ((double) hp * wp);
            }
        return out;
    }

    @Test
    void idealWithZeroCutoffRemovesTheMeanOfThePaddedPlane() {
        SplittableRandom rng = new SplittableRandom(14);
        int h = 6, w = 5, pad = 2;
        float[] img = image(rng, 1, h, w);
        double sum = 0;
        for (float v : img) sum += v;
        double mean = sum / ((h + pad) * (w + pad));
        float[] got = fft(FilterSpec.ideal(0, pad), img, 1, h, w);
        for (int p = 0; p < h * w; p++) assertEquals((img[p] - mean + 1) / 2, got[p], 1e-7);
    }

    @Test
    void gainsAtKnownPoints() {
        int n = 8;
        double[] b = FilterSpec.butterworth(0.25, 3, 0).transfer(n, n);
        assertEquals(0, b[0], 0, "DC");
        assertEquals(0.5, b[2], 1e-15, "D = D0 = 2/8");
        assertEquals(0.5, b[6 * n], 1e-15, "negative frequency u = -2");
        assertEquals(1 / (1 + Math.pow(0.25 * 0.25 / (0.5 * 0.5 + 0.5 * 0.5), 3)), b[4 * n + 4], 1e-15, "corner, D = 0.707");
        double[] i = FilterSpec.ideal(0.25, 0).transfer(n, n);
        assertEquals(0, i[2], 0, "D = cutoff is kept out (gain 1 only where D > cutoff)");
        assertEquals(1, i[3], 0);
        assertEquals(0, i[n + 1], 0, "D = 0.177");
        double[] gs = FilterSpec.gaussian(5).transfer(12, 10);
        assertEquals(0, gs[0], 1e-15, "a normalised blur passes DC: 1 - 1");
        for (int u = 0; u < 12; u++)
            for (int v = 0; v < 10; v++) assertEquals(gs[u * 10 + v], gs[((12 - u) % 12) * 10 + (10 - v) % 10], 1e-15, "even");
    }

    @Test
    void paddedSizes() {
        assertEquals(36, FilterSpec.gaussian(5).paddedSize(32), "34 -> the next even 7-smooth: 36");
        assertEquals(36, FilterSpec.gaussian(3).paddedSize(32));
        assertEquals(32, FilterSpec.gaussian(1).paddedSize(32));
        assertEquals(30, FilterSpec.gaussian(5).paddedSize(28));
        assertEquals(2, FilterSpec.gaussian(1).paddedSize(1));
        assertEquals(35, FilterSpec.ideal(0.1, 3).paddedSize(32));
        assertEquals(32, FilterSpec.butterworth(0.1, 2, 0).paddedSize(32));
    }

    @Test
    void specValidation() {
        assertThrows(IllegalArgumentException.class, () -> FilterSpec.gaussian(4));
        assertThrows(IllegalArgumentException.class, () -> FilterSpec.butterworth(0, 2, 0));
        assertThrows(IllegalArgumentException.class, () -> FilterSpec.butterworth(0.1, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> FilterSpec.ideal(-0.1, 0));
        assertThrows(IllegalArgumentException.class, () -> FilterSpec.ideal(0.1, -1));
        assertThrows(IllegalArgumentException.class, () -> FilterSpec.gaussianSigma(0));
        assertThrows(IllegalStateException.class, () -> FilterSpec.ideal(0.1, 0).taps());
        assertThrows(IllegalArgumentException.class, () -> fft(FilterSpec.ideal(0.1, 0), new float[8], 2, 2, 2));
    }
}
