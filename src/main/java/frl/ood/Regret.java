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
 * The encoder is fitted in place and put back after every image, so the model is unchanged afterwards.
 */
public final class Regret {
    /** Steps per image and Adam's settings: the reference's 100 steps at lr 2e-4, weight decay 5e-5. */
    public record Config(int steps, double lr, double weightDecay) {
        public Config {
            if (steps < 1) throw new IllegalArgumentException("likelihood regret needs ≥ 1 fitting step per image, got " + steps);
            if (!(lr > 0) || !(weightDecay >= 0)) throw new IllegalArgumentException("need lr > 0 and weight decay ≥ 0, got " + lr + " and " + weightDecay);
        }

        public static Config reference() { return new Config(100, 2e-4, 5e-5); }

        public Config withSteps(int n) { return new Config(n, lr, weightDecay); }
    }

    /** The fitting noise's stream is this far from the scorer's (seed + this), so the two never share draws. */
    private static final long FIT_STREAM = 0x5E6E7L;

    private final Backend backend;
    private final Vae model;
    private final Scorer scorer;
    private final Batches batches;
    private final Config config;

    /** @param scorer the IWAE scorer of the model whose encoder is fitted (it scores the NLL after fitting). */
    public Regret(Scorer scorer, Config config) {
        this.backend = scorer.backend();
        this.model = scorer.model();
        this.scorer = scorer;
        this.batches = scorer.spec().batches();
        this.config = config;
    }

    public Config config() { return config; }

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
        List<Parameter> encoder = model.encoderParameters(), decoder = model.parameters();
        decoder.removeAll(encoder);
        Tensor[] saved = new Tensor[encoder.size()];
        try {
            for (Parameter p : decoder) p.freeze(true);   // the decoder's weight gradients would be thrown away
            for (int p = 0; p < saved.length; p++) saved[p] = copyOf(encoder.get(p).value());
            double[] out = new double[set.size()];
            for (int i = 0; i < set.size(); i++) {
                fit(set, i, seed, first + i, encoder);
                double after = scorer.nll(set.slice(i, i + 1), seed, first + i, total, d -> {})[0];
                out[i] = nllBefore[i] - after;
                for (int p = 0; p < saved.length; p++) backend.copyInto(saved[p], encoder.get(p).value());
                done.accept(i + 1);
            }
            return out;
        } finally {
            for (Parameter p : decoder) p.freeze(false);
            for (int p = 0; p < saved.length; p++) {
                if (saved[p] == null) continue;
                backend.copyInto(saved[p], encoder.get(p).value());   // also when fitting failed half-way
                saved[p].close();
            }
            model.zeroGrad();
        }
    }

    /** Fits the encoder to image i of the set (image {@code index} of the whole): Adam steps on its loss, a fresh z each step. */
    private void fit(ImageSet set, int i, long seed, long index, List<Parameter> encoder) {
        int nz = model.config().nz();
        model.eval();
        try (Scope s = Scope.open(); Adam adam = new Adam(encoder, new Backend.AdamConfig(config.lr(), 0.9, 0.999, 1e-8, config.weightDecay()))) {
            Batches.Batch b = batches.of(backend, set, i, 1);
            Var x = Var.constant(b.x()), targets = Var.constant(b.targets());
            Rng noise = Rng.atNormal(seed + FIT_STREAM, index * config.steps() * nz);
            for (int step = 0; step < config.steps(); step++) {
                try (Scope stepScope = Scope.open()) {
                    model.zeroGrad();
                    Tensor eps = backend.normal(Shape.of(1, nz, 1, 1), 0, 1, noise);
                    model.loss(x, targets, eps, 1.0).loss().backward();
                    adam.step();
                }
            }
        }
    }

    private Tensor copyOf(Tensor t) {
        Tensor c = Scope.unscoped(() -> backend.empty(t.shape()));
        backend.copyInto(t, c);
        return c;
    }
}
