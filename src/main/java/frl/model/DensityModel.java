package frl.model;

import frl.autograd.Pointwise;
import frl.autograd.Reduce;
import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.Rng;
import frl.nn.Module;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A likelihood model of 8-bit images: trained on a loss in nats per image, scored by importance-weighted terms
 * whose log-mean-exp is the log-likelihood. Each takes noise of its own kind (the VAE's latent ε, Glow's
 * dequantisation), drawn by {@link #noise} so that the caller decides which draws an image gets.
 */
public abstract sealed class DensityModel extends Module permits Vae, Glow, PixelCnn {
    public abstract ModelConfig config();

    /** The shape of the noise for n images, one sample each. */
    public abstract Shape noiseShape(int n);

    /** Noise values one image takes per sample. */
    public int noisePerImage() { return Math.toIntExact(noiseShape(1).numel()); }

    /** Noise for n images (one sample each) from consecutive draws of rng, as {@link #loss} takes it. */
    public abstract Tensor noise(Backend be, int n, Rng rng);

    /**
     * A training batch's loss, averaged over the batch, and the parts the progress line shows, by name. The parts are
     * read only when asked for, so a GPU step is not stalled by a copy to the host before its backward.
     */
    public record LossParts(Var loss, Map<String, Var> parts) {
        public double part(String name) { return parts.get(name).value().item(); }
    }

    /**
     * The loss of a model whose NLL per image [N] is exact or a bound in nats: its mean over the batch, and part "bpd",
     * the same in bits per sub-pixel of targets [N, C, H, W].
     */
    protected static LossParts meanNll(Var nllPerImage, Shape targets) {
        int n = targets.dim(0);
        Var loss = Pointwise.scale(Reduce.sumAll(nllPerImage), 1.0 / n);
        Map<String, Var> parts = new LinkedHashMap<>();
        parts.put("bpd", Pointwise.scale(loss, 1 / (Math.log(2) * (targets.numel() / n))));
        return new LossParts(loss, parts);
    }

    /**
     * A training step's noise for n images: {@link #noise}, and where the model has dropout (PixelCNN++) its masks at
     * this rate, drawn with the noise so that a recorded step replays fresh ones and a resumed run draws the same.
     */
    public Tensor trainingNoise(Backend be, int n, Rng rng, double dropout) {
        if (dropout != 0) throw new IllegalArgumentException(getClass().getSimpleName() + " has no dropout (PixelCNN++ has), got a rate of " + dropout);
        return noise(be, n, rng);
    }

    /** The shape of {@link #trainingNoise}'s tensor. */
    public Shape trainingNoiseShape(int n, double dropout) { return noiseShape(n); }

    /** x: [N,C,H,W] in [0,1]; targets: the same sub-pixels as 8-bit values 0..255; noise as {@link #noise} (or, training, {@link #trainingNoise}) draws it. */
    public abstract LossParts loss(Var x, Var targets, Tensor noise, double beta);

    /**
     * Log importance weights [K][N] of N images, with noise [K, N, noisePerImage] given: −log of their mean
     * exponential ({@link #nllFromTerms}) is each image's NLL in nats. No tape; the caller sets eval mode.
     */
    public final double[][] logWeights(Tensor x, Tensor targets, Tensor noise) {
        try (Scope _ = Scope.open()) {
            return logWeightsOf(logWeightTerms(x, targets, noise).toFloats(), noise.dim(0), targets.dim(0));
        }
    }

    /**
     * The device work of {@link #logWeights}: one tensor of floats, in the caller's scope, made by backend ops alone (no
     * copy to the host, no wait), so that a scoring pass can be recorded as a graph ({@link frl.nn.RecordedPass}).
     * No tape; the caller sets eval mode.
     */
    public abstract Tensor logWeightTerms(Tensor x, Tensor targets, Tensor noise);

    /** The log importance weights [K][N] from {@link #logWeightTerms}' floats, for K samples of N images (the host's part). */
    public abstract double[][] logWeightsOf(float[] terms, int k, int n);

    /** Draws n images as bytes [n, channels, size, size] (the HF channel too, for an FRL model). */
    public byte[] sample(int n, Rng rng) { return sample(n, 1, rng); }

    /**
     * As {@link #sample(int, Rng)}, with the latents drawn at {@code temperature} times the prior's spread (a VAE's
     * z, every Glow level's latent; Glow's samples are usually shown at 0.7, and 0 decodes the priors' means).
     * PixelCNN++ has no latent and takes only 1.
     */
    public abstract byte[] sample(int n, double temperature, Rng rng);

    /** The temperature checked: finite and ≥ 0 (else an error naming it {@code what}: a flag, say). */
    public static double requireTemperature(String what, double temperature) {
        if (!(temperature >= 0 && temperature < Double.POSITIVE_INFINITY))
            throw new IllegalArgumentException(what + " must be finite and ≥ 0, got " + temperature);
        return temperature;
    }

    /** −log (1/K) Σ_k exp(w_k) per image, in nats, computed stably in double. */
    public static double[] nllFromTerms(double[][] w) {
        int k = w.length, n = w[0].length;
        double[] nll = new double[n];
        for (int i = 0; i < n; i++) {
            double max = Double.NEGATIVE_INFINITY, s = 0;
            for (double[] row : w) max = Math.max(max, row[i]);
            for (double[] row : w) s += Math.exp(row[i] - max);
            nll[i] = -(max + Math.log(s / k));
        }
        return nll;
    }
}
