package frl.ood;

import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.Rng;
import frl.data.ImageSet;
import frl.model.Batches;
import frl.model.Vae;
import frl.nn.Adam;
import frl.nn.Parameter;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.util.List;
import java.util.function.IntConsumer;

/**
 * Likelihood Regret (Xiao et al., 2020): for each image, a copy of the VAE's encoder is fitted to that image
 * alone, and the score is how much its NLL falls: regret = NLL before − NLL after (higher = more OOD). As the
 * reference: the model in eval mode (batch norm on its running statistics), Adam (β 0.9 / 0.999, L2 weight
 * decay) on the encoder only, the training loss of one image with β = 1, a fresh z each step; the NLLs are the
 * {@link Scorer}'s IWAE estimates, so "before" is the {@code nll} score and "after" uses the same noise.
 * Several images are fitted at once, each through its own copy of the encoder and all through the one decoder
 * (frozen: its weight gradients are not computed); the model is unchanged afterwards.
 */
public final class Regret {
    /**
     * Steps per image and Adam's settings (the reference's 100 steps at lr 2e-4, weight decay 5e-5), and how many
     * images are fitted at once: each has its own encoder and loss, so that changes only the decoder's rounding.
     */
    public record Config(int steps, double lr, double weightDecay, int batch) {
        public Config {
            if (steps < 1) throw new IllegalArgumentException("likelihood regret needs ≥ 1 fitting step per image, got " + steps);
            if (!(lr > 0) || !(weightDecay >= 0)) throw new IllegalArgumentException("need lr > 0 and weight decay ≥ 0, got " + lr + " and " + weightDecay);
            if (batch < 1) throw new IllegalArgumentException("need ≥ 1 image fitted at a time, got " + batch);
        }

        public static Config reference() { return new Config(100, 2e-4, 5e-5, 16); }

        public Config withSteps(int n) { return new Config(n, lr, weightDecay, batch); }

        public Config withBatch(int n) { return new Config(steps, lr, weightDecay, n); }

        /** For reports: "100 Adam steps per image (lr 2.0E-4, weight decay 5.0E-5), 16 images at a time". */
        public String describe() { return steps + " Adam steps per image (lr " + lr + ", weight decay " + weightDecay + "), " + batch + " images at a time"; }
    }

    /** The fitting noise is drawn with a seed of its own (seed + this), apart from the scorer's stream. */
    private static final long FIT_STREAM = 0x5E6E7L;

    private final Backend backend;
    private final Vae model;
    private final Scorer scorer;
    private final Batches batches;
    private final Config config;

    /** @param scorer the IWAE scorer of the VAE whose encoder is fitted (it scores the NLL after fitting). */
    public Regret(Scorer scorer, Config config) {
        if (!(scorer.model() instanceof Vae vae))
            throw new IllegalArgumentException("Likelihood Regret fits a VAE's encoder to each image; this model is a " + scorer.spec().model().describe());
        this.backend = scorer.backend();
        this.model = vae;
        this.scorer = scorer;
        this.batches = scorer.spec().batches();
        this.config = config;
    }

    /**
     * Regret per image of a set, given its NLL before fitting ({@link Scorer#nll} with the same seed);
     * {@code done} hears how many images are finished. Deterministic for a seed.
     */
    public double[] regret(ImageSet set, long seed, double[] nllBefore, IntConsumer done) { return regret(set, seed, 0, set.size(), nllBefore, done); }

    /**
     * The same for images {@code first}.. of a set of {@code total} that is scored part by part (as {@link Scorer#nll}):
     * each image is fitted and scored with the noise it would get were the whole set scored at once.
     */
    public double[] regret(ImageSet set, long seed, long first, long total, double[] nllBefore, IntConsumer done) {
        if (nllBefore.length != set.size())
            throw new IllegalArgumentException("set " + set.name() + " has " + set.size() + " images but " + nllBefore.length + " NLLs before fitting");
        List<Parameter> fixed = model.parameters();
        double[] out = new double[set.size()];
        try (Vae.EncoderCopies copies = model.encoderCopies(Math.min(config.batch(), set.size()))) {
            for (Parameter p : fixed) p.freeze(true);   // the copies are fitted; the model's weight gradients would be thrown away
            model.eval();   // the decoder's batch norm on its running statistics, as the copies'
            for (int from = 0; from < set.size(); from += copies.size()) {
                int n = Math.min(copies.size(), set.size() - from);
                fit(copies, set, from, n, seed, first + from);
                for (int i = 0; i < n; i++) {
                    copies.install(i);
                    out[from + i] = nllBefore[from + i] - scorer.nll(set.slice(from + i, from + i + 1), seed, first + from + i, total, d -> {})[0];
                    done.accept(from + i + 1);
                }
            }
        } finally {
            for (Parameter p : fixed) p.freeze(false);
            model.zeroGrad();
        }
        return out;
    }

    /**
     * Fits copies 0..n−1 afresh to images from..from+n−1 of the set (images {@code index}.. of the whole): Adam steps
     * on their summed losses, image i's noise of step s from its own stream position (index + i, s).
     */
    private void fit(Vae.EncoderCopies copies, ImageSet set, int from, int n, long seed, long index) {
        int nz = model.config().nz();
        for (int i = 0; i < n; i++) copies.reset(i);
        try (Scope s = Scope.open(); Adam adam = new Adam(copies.parameters(n), new Backend.AdamConfig(config.lr(), 0.9, 0.999, 1e-8, config.weightDecay()))) {
            Batches.Batch b = batches.of(backend, set, from, n);
            Var x = Var.constant(b.x()), targets = Var.constant(b.targets());
            for (int step = 0; step < config.steps(); step++) {
                try (Scope stepScope = Scope.open()) {
                    Tensor[] eps = new Tensor[n];
                    for (int i = 0; i < n; i++)
                        eps[i] = backend.normal(Shape.of(1, nz, 1, 1), 0, 1, Rng.atNormal(seed + FIT_STREAM, ((index + i) * config.steps() + step) * nz));
                    adam.zeroGrad();
                    copies.loss(x, targets, n == 1 ? eps[0] : backend.concat(eps, 0)).backward();
                    adam.step();
                }
            }
        }
    }
}
