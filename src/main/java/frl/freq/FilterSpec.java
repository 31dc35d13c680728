package frl.freq;

/**
 * A high-pass filter for the x_H channel, shared by the CPU twins ({@link HighPass}, {@link FrequencyFilter})
 * and the GPU paths (frl.backend.cuda.CudaFrequency). Every kind gives x_H = (hp(g) + 1) / 2 of the gray
 * plane g, with g zero outside the image:
 * <ul>
 *   <li>GAUSSIAN: hp(g) = g − blur(g), blur the separable Gaussian with OpenCV's {@code getGaussianKernel(k, σ)}
 *       taps (σ ≤ 0: OpenCV's default for k, the table for k ≤ 9 — exactly {@link HighPass}). Its DFT form
 *       zero-pads each side to {@link #paddedSize}, which is ≥ n + k/2, so the circular convolution equals the
 *       zero-padded linear one on the image, and multiplies by 1 − K̂(u)K̂(v), K̂ the DFT of the taps
 *       centred on index 0.</li>
 *   <li>IDEAL: the plane zero-padded by {@code pad} rows and columns (bottom, right) to hp × wp, then the gain
 *       1 where D > cutoff, else 0; D = √(fu² + fv²) in cycles per pixel, fu = u/hp for u ≤ hp/2 and
 *       (u − hp)/hp above (likewise fv), so the cutoff means the same whatever the padded size.</li>
 *   <li>BUTTERWORTH: the same padding and D, gain 1 / (1 + (cutoff/D)^(2·order)), 0 at D = 0.</li>
 * </ul>
 * Every gain is real and even (G(u,v) = G(−u,−v)), so a real plane stays real.
 *
 * @param kernelSize GAUSSIAN: taps (odd); otherwise 0
 * @param sigma GAUSSIAN: σ, or ≤ 0 for OpenCV's default for kernelSize; otherwise 0
 * @param cutoff IDEAL, BUTTERWORTH: D0 in cycles per pixel (0 to √0.5)
 * @param order BUTTERWORTH: n ≥ 1
 * @param pad IDEAL, BUTTERWORTH: zero rows/columns appended before the DFT (0 = the image taken as periodic)
 */
public record FilterSpec(Kind kind, int kernelSize, double sigma, double cutoff, int order, int pad) {
    public enum Kind { GAUSSIAN, IDEAL, BUTTERWORTH }

    public FilterSpec {
        if (kind == null) throw new IllegalArgumentException("FilterSpec: kind is null");
        switch (kind) {
            case GAUSSIAN -> {
                if (kernelSize <= 0 || kernelSize % 2 == 0)
                    throw new IllegalArgumentException("FilterSpec: Gaussian kernel size must be odd and positive, got " + kernelSize);
                if (!Double.isFinite(sigma)) throw new IllegalArgumentException("FilterSpec: Gaussian sigma must be finite, got " + sigma);
                if (pad != 0) throw new IllegalArgumentException("FilterSpec: a Gaussian's padding follows from its radius, pad must be 0, got " + pad);
            }
            case IDEAL, BUTTERWORTH -> {
                if (!(cutoff >= 0 && cutoff <= 1) || (kind == Kind.BUTTERWORTH && cutoff == 0))
                    throw new IllegalArgumentException("FilterSpec: " + kind + " cutoff must be in " + (kind == Kind.IDEAL ? "[0" : "(0")
                            + ", 1] cycles per pixel, got " + cutoff);
                if (kind == Kind.BUTTERWORTH && order < 1) throw new IllegalArgumentException("FilterSpec: Butterworth order must be ≥ 1, got " + order);
                if (pad < 0) throw new IllegalArgumentException("FilterSpec: pad must be ≥ 0, got " + pad);
            }
        }
    }

    /** FRL's filter: OpenCV's getGaussianKernel(k, 0), as {@link HighPass}. */
    public static FilterSpec gaussian(int k) { return new FilterSpec(Kind.GAUSSIAN, k, 0, 0, 0, 0); }

    /** A Gaussian of k taps and standard deviation σ (pixels). */
    public static FilterSpec gaussian(int k, double sigma) { return new FilterSpec(Kind.GAUSSIAN, k, sigma, 0, 0, 0); }

    /** A Gaussian of standard deviation σ with 2⌈3σ⌉ + 1 taps. */
    public static FilterSpec gaussianSigma(double sigma) {
        if (!(sigma > 0) || sigma > 1e6) throw new IllegalArgumentException("FilterSpec: sigma must be positive, got " + sigma);
        return gaussian(2 * (int) Math.ceil(3 * sigma) + 1, sigma);
    }

    public static FilterSpec ideal(double cutoff, int pad) { return new FilterSpec(Kind.IDEAL, 0, 0, cutoff, 0, pad); }

    public static FilterSpec butterworth(double cutoff, int order, int pad) { return new FilterSpec(Kind.BUTTERWORTH, 0, 0, cutoff, order, pad); }

    /** The 1-D taps of a GAUSSIAN (the direct path's kernel). */
    public double[] taps() {
        if (kind != Kind.GAUSSIAN) throw new IllegalStateException("FilterSpec: " + kind + " is defined in frequency only, it has no taps");
        return HighPass.gaussianKernel(kernelSize, sigma);
    }

    /**
     * The DFT length along a side of n pixels: IDEAL, BUTTERWORTH n + pad; GAUSSIAN the smallest even
     * 2^a·3^b·5^c·7^d ≥ n + k/2 (even and 7-smooth: fast for cuFFT's real transforms).
     */
    public int paddedSize(int n) {
        if (n <= 0) throw new IllegalArgumentException("FilterSpec: side must be positive, got " + n);
        if (kind != Kind.GAUSSIAN) return Math.addExact(n, pad);
        for (int m = Math.addExact(n, kernelSize / 2); ; m++) if (m % 2 == 0 && smooth7(m)) return m;
    }

    private static boolean smooth7(int m) {
        for (int p : new int[] {2, 3, 5, 7}) while (m % p == 0) m /= p;
        return m == 1;
    }

    /** The real gain G(u, v) on the full hp × wp DFT grid, row-major [u][v]. */
    public double[] transfer(int hp, int wp) {
        double[] t = new double[hp * wp];
        if (kind == Kind.GAUSSIAN) {
            double[] kh = kernelDft(hp), kw = kernelDft(wp);
            for (int u = 0; u < hp; u++)
                for (int v = 0; v < wp; v++) t[u * wp + v] = 1 - kh[u] * kw[v];
            return t;
        }
        double c2 = cutoff * cutoff;
        for (int u = 0; u < hp; u++) {
            double fu = (u <= hp / 2 ? u : u - hp) / (double) hp;
            for (int v = 0; v < wp; v++) {
                double fv = (v <= wp / 2 ? v : v - wp) / (double) wp, d2 = fu * fu + fv * fv;
                t[u * wp + v] = kind == Kind.IDEAL ? (d2 > c2 ? 1 : 0) : d2 == 0 ? 0 : 1 / (1 + Math.pow(c2 / d2, order));
            }
        }
        return t;
    }

    /** K̂(u) = Σ_j K[j]·cos(2π u (j − r) / n): the DFT of the (symmetric) taps centred on index 0, real. */
    private double[] kernelDft(int n) {
        double[] k = taps(), out = new double[n];
        int r = k.length / 2;
        for (int u = 0; u < n; u++) {
            double s = 0;
            for (int j = 0; j < k.length; j++) {
                long m = Math.floorMod((long) u * (j - r), (long) n);
                s += k[j] * Math.cos(2 * Math.PI * m / n);
            }
            out[u] = s;
        }
        return out;
    }
}
