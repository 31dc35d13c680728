package frl.ood;

import frl.backend.Backend;
import frl.backend.Rng;
import frl.data.ImageSet;
import frl.freq.Complexity;
import frl.model.Batches;
import frl.model.ModelSpec;
import frl.model.Vae;
import frl.tensor.Scope;
import frl.tensor.Shape;

import java.util.function.IntConsumer;

/**
 * Per-image scores of a set: the IWAE negative log-likelihood of a model (nats, K importance samples, in
 * chunks so the 256-way logits stay bounded) and the PNG complexity L(x) of the image channels (bits).
 * FRL: S(x) = NLL(x_F) − r·L(x); Input Complexity: the same with a model of x alone. Higher = more OOD.
 */
public final class Scorer {
    private final Backend backend;
    private final ModelSpec spec;
    private final Vae model;
    private final Batches batches;
    private final int samples, chunk;

    public Scorer(Backend backend, ModelSpec spec, Vae model, int samples, int chunk) {
        if (samples < 1 || chunk < 1) throw new IllegalArgumentException("need K ≥ 1 samples and chunk ≥ 1, got " + samples + " and " + chunk);
        this.backend = backend;
        this.spec = spec;
        this.model = model;
        this.batches = spec.batches();
        this.samples = samples;
        this.chunk = chunk;
    }

    /** IWAE NLL per image in nats; {@code done} hears how many images are finished. Deterministic for a seed. */
    public synchronized double[] nll(ImageSet set, long seed, IntConsumer done) {
        if (set.channels() != spec.imageChannels() || set.height() != spec.vae().imageSize() || set.width() != spec.vae().imageSize())
            throw new IllegalArgumentException("set " + set.name() + " has images " + set.channels() + "×" + set.height() + "×" + set.width()
                    + ", the model expects " + spec.imageChannels() + "×" + spec.vae().imageSize() + "×" + spec.vae().imageSize());
        model.eval();
        Rng rng = new Rng(seed);
        double[] out = new double[set.size()];
        for (int from = 0; from < set.size(); from += chunk) {
            int n = Math.min(chunk, set.size() - from);
            try (Scope s = Scope.open()) {
                Batches.Batch b = batches.of(backend, set, from, n);
                var eps = backend.normal(Shape.of(samples, n, spec.vae().nz()), 0, 1, rng);
                double[] nll = Vae.nllFromTerms(model.iwaeTerms(b.x(), b.targets(), eps));
                System.arraycopy(nll, 0, out, from, n);
            }
            done.accept(from + n);
        }
        return out;
    }

    /** L(x): bits of the level-9 PNG of each image's 8-bit channels. */
    public static double[] complexity(ImageSet set) {
        long[] bits = Complexity.bits(set);
        double[] out = new double[bits.length];
        for (int i = 0; i < bits.length; i++) out[i] = bits[i];
        return out;
    }

    /** nll − r · L, elementwise. */
    public static double[] minusComplexity(double[] nll, double[] complexity, double r) {
        double[] s = new double[nll.length];
        for (int i = 0; i < s.length; i++) s[i] = nll[i] - r * complexity[i];
        return s;
    }
}
