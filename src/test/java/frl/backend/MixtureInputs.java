package frl.backend;

import frl.tensor.Shape;

import java.util.Random;

/** Inputs for the mixture's tests on every backend: pixels and parameters that reach each of its branches. */
public final class MixtureInputs {
    private MixtureInputs() {}

    /**
     * {x, params}: x [N, C, H, W] from random bytes (a third of them 0, a third 255), params [N, P, H, W] with logits
     * ~ N(0, 4), means and coefficients in [−1, 1] and log-scales in [−9, top] (below −7 they are clamped; near −7 the
     * logistics are narrower than a bin, so far from their bins they have too little mass and take the density).
     */
    public static float[][] of(Random r, Shape xs, int m, double top) {
        int c = xs.dim(1), pc = MixtureMath.parameterChannels(c, m), hw = xs.dim(2) * xs.dim(3);
        float[] x = new float[(int) xs.numel()], p = new float[xs.dim(0) * pc * hw];
        for (int i = 0; i < x.length; i++) x[i] = (float) (new int[] {0, 255, r.nextInt(256)}[r.nextInt(3)] / 127.5 - 1);
        for (int i = 0; i < p.length; i++) {
            int channel = i / hw % pc;
            boolean logScale = channel >= m * (1 + c) && channel < m * (1 + 2 * c);
            p[i] = (float) (logScale ? -9 + (top + 9) * r.nextDouble() : channel < m ? 2 * r.nextGaussian() : -1 + 2 * r.nextDouble());
        }
        return new float[][] {x, p};
    }
}
