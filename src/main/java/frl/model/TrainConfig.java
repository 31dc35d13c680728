package frl.model;

/**
 * How to train: the reference schedule is Adam lr 1e-3, StepLR(30 epochs, ×0.5), batch 64, random
 * horizontal flips, β = 1. {@code maxImages} (0 = no limit) cuts an epoch short for budgeted runs such as
 * the demo. {@code perturb} &gt; 0 trains a Likelihood Ratio background model: each sub-pixel of a training
 * image is replaced by a uniform 8-bit value with that probability (Ren et al. 2019; 0.2 in the reference).
 * {@code dropout} is PixelCNN++'s dropout rate in its gated blocks (0.5 in the paper; 0 = none).
 * {@code warmupSteps} &gt; 0 raises the learning rate linearly over the first steps: step s (from 0) takes
 * (s + 1)/warmupSteps of it (a deep flow's first Adam steps overshoot otherwise; 0 = none).
 */
public record TrainConfig(int epochs, int batch, double lr, double weightDecay, int stepEpochs, double gamma, double beta,
                          boolean flips, long seed, long maxImagesPerEpoch, double perturb, double dropout, int warmupSteps) {
    public TrainConfig {
        if (epochs < 1 || batch < 2) throw new IllegalArgumentException("need epochs ≥ 1 and batch ≥ 2 (batch norm), got " + epochs + " and " + batch);
        if (!(lr > 0)) throw new IllegalArgumentException("learning rate must be > 0, got " + lr);
        if (stepEpochs < 1) throw new IllegalArgumentException("StepLR step must be ≥ 1 epoch, got " + stepEpochs);
        if (maxImagesPerEpoch < 0) throw new IllegalArgumentException("images per epoch: need ≥ 0 (0 = the whole set), got " + maxImagesPerEpoch);
        if (maxImagesPerEpoch > 0 && maxImagesPerEpoch < batch)   // not one step would run
            throw new IllegalArgumentException("images per epoch " + maxImagesPerEpoch + " is fewer than one batch of " + batch);
        if (!(perturb >= 0 && perturb <= 1)) throw new IllegalArgumentException("perturbation rate must be within [0, 1], got " + perturb);
        if (!(dropout >= 0 && dropout < 1)) throw new IllegalArgumentException("dropout rate must be within [0, 1), got " + dropout);
        if (warmupSteps < 0) throw new IllegalArgumentException("warm-up steps: need ≥ 0 (0 = none), got " + warmupSteps);
    }

    /** Without warm-up. */
    public TrainConfig(int epochs, int batch, double lr, double weightDecay, int stepEpochs, double gamma, double beta,
                       boolean flips, long seed, long maxImagesPerEpoch, double perturb, double dropout) {
        this(epochs, batch, lr, weightDecay, stepEpochs, gamma, beta, flips, seed, maxImagesPerEpoch, perturb, dropout, 0);
    }

    /** Without dropout or warm-up. */
    public TrainConfig(int epochs, int batch, double lr, double weightDecay, int stepEpochs, double gamma, double beta,
                       boolean flips, long seed, long maxImagesPerEpoch, double perturb) {
        this(epochs, batch, lr, weightDecay, stepEpochs, gamma, beta, flips, seed, maxImagesPerEpoch, perturb, 0);
    }

    public static TrainConfig reference(int epochs, long seed) {
        return new TrainConfig(epochs, 64, 1e-3, 0, 30, 0.5, 1.0, true, seed, 0, 0);
    }

    public TrainConfig withMaxImagesPerEpoch(long n) {
        return new TrainConfig(epochs, batch, lr, weightDecay, stepEpochs, gamma, beta, flips, seed, n, perturb, dropout, warmupSteps);
    }

    public TrainConfig withLr(double rate) {
        return new TrainConfig(epochs, batch, rate, weightDecay, stepEpochs, gamma, beta, flips, seed, maxImagesPerEpoch, perturb, dropout, warmupSteps);
    }

    public TrainConfig withPerturb(double rate) {
        return new TrainConfig(epochs, batch, lr, weightDecay, stepEpochs, gamma, beta, flips, seed, maxImagesPerEpoch, rate, dropout, warmupSteps);
    }

    public TrainConfig withDropout(double rate) {
        return new TrainConfig(epochs, batch, lr, weightDecay, stepEpochs, gamma, beta, flips, seed, maxImagesPerEpoch, perturb, rate, warmupSteps);
    }

    /** The share of the learning rate that step {@code step} (from 0, counted over the whole run) takes. */
    public double warmupFactor(long step) { return warmupSteps == 0 ? 1 : Math.min(1, (step + 1.0) / warmupSteps); }
}
