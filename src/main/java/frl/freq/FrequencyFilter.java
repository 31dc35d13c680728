package frl.freq;

/**
 * The DFT form of x_H = (hp(g) + 1) / 2 for any {@link FilterSpec}: g (BT.601 gray, as {@link HighPass})
 * at the top left of a zero hp × wp plane ({@link FilterSpec#paddedSize}), a 2-D DFT, times the filter's gain,
 * the inverse DFT scaled by 1/(hp·wp), the h × w top left. Plain O(n²)-per-line DFTs in double: the oracle
 * for the GPU's cuFFT path, not a fast path. For a GAUSSIAN it equals {@link HighPass} up to double rounding.
 * Thread-safe.
 */
public final class FrequencyFilter {
    private final FilterSpec spec;

    public FrequencyFilter(FilterSpec spec) {
        if (spec == null) throw new IllegalArgumentException("FrequencyFilter: spec is null");
        this.spec = spec;
    }

    public FilterSpec spec() { return spec; }

    /** x_H of one image: c (1 or 3) planes of h×w floats at src[srcOff], CHW; writes h×w floats to dst[dstOff]. */
    public void apply(float[] src, int srcOff, int c, int h, int w, float[] dst, int dstOff) {
        int plane = h * w;
        double[] g = new double[plane];
        HighPass.gray(src, srcOff, c, plane, g);
        double[] hp = highPass(g, h, w);
        for (int p = 0; p < plane; p++) dst[dstOff + p] = (float) ((hp[p] + 1) / 2);
    }

    /** hp(g) of an h × w plane (row-major), in double. */
    public double[] highPass(double[] g, int h, int w) {
        int hp = spec.paddedSize(h), wp = spec.paddedSize(w);
        double[] re = new double[hp * wp], im = new double[hp * wp];
        for (int y = 0; y < h; y++) System.arraycopy(g, y * w, re, y * wp, w);
        dft2(re, im, hp, wp, -1);
        double[] gain = spec.transfer(hp, wp);
        for (int i = 0; i < re.length; i++) {
            re[i] *= gain[i];
            im[i] *= gain[i];
        }
        dft2(re, im, hp, wp, +1);
        double[] out = new double[h * w];
        double scale = 1.0 / ((double) hp * wp);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) out[y * w + x] = re[y * wp + x] * scale;
        return out;
    }

    /** In-place 2-D DFT of an hp × wp complex plane, X(u,v) = Σ x(y,x)·e^{sign·2πi(uy/hp + vx/wp)} (unscaled). */
    static void dft2(double[] re, double[] im, int hp, int wp, int sign) {
        for (int y = 0; y < hp; y++) dft(re, im, y * wp, 1, wp, sign);
        for (int x = 0; x < wp; x++) dft(re, im, x, wp, hp, sign);
    }

    /** In-place naive DFT of n complex values at off, off + stride, ...: X[k] = Σ_j x[j]·e^{sign·2πi·kj/n}. */
    static void dft(double[] re, double[] im, int off, int stride, int n, int sign) {
        double[] cos = new double[n], sin = new double[n], outRe = new double[n], outIm = new double[n];
        for (int m = 0; m < n; m++) {
            cos[m] = Math.cos(2 * Math.PI * m / n);
            sin[m] = sign * Math.sin(2 * Math.PI * m / n);
        }
        for (int k = 0; k < n; k++) {
            double sr = 0, si = 0;
            for (int j = 0; j < n; j++) {
                int m = (int) ((long) k * j % n);
                double xr = re[off + j * stride], xi = im[off + j * stride];
                sr += xr * cos[m] - xi * sin[m];
                si += xr * sin[m] + xi * cos[m];
            }
            outRe[k] = sr;
            outIm[k] = si;
        }
        for (int k = 0; k < n; k++) {
            re[off + k * stride] = outRe[k];
            im[off + k * stride] = outIm[k];
        }
    }
}
