package frl.model;

import frl.autograd.Layout;
import frl.autograd.Pointwise;
import frl.autograd.Reduce;
import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.BinaryOp;
import frl.backend.Rng;
import frl.backend.UnaryOp;
import frl.nn.ActNormInvConv;
import frl.nn.AffineCoupling;
import frl.nn.Flow;
import frl.nn.Module;
import frl.nn.Parameter;
import frl.nn.ZeroConv2d;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;

/**
 * Multi-scale Glow (Kingma & Dhariwal 2018) over dequantised 8-bit images: x = (b + u)/256 − 0.5 with u uniform
 * in [0, 1) per sub-pixel. Each level squeezes, runs {@code depth} steps (actnorm, LU 1×1 conv, affine coupling)
 * and, but for the last, splits half of the channels off to a Gaussian whose mean and scale a zero-initialised
 * conv of the other half gives; the last level's latent has a learned per-channel Gaussian. The discrete NLL of b
 * in nats is −log p(x) + D·log 256, D the sub-pixels of an image: the same unit as the VAE's.
 */
public final class Glow extends DensityModel {
    private static final double HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI), LOG_BINS = Math.log(256);
    private final GlowConfig config;
    private final Backend backend;
    private final List<List<Step>> levels = new ArrayList<>();
    private final List<ZeroConv2d> splitPriors = new ArrayList<>();
    private final Parameter topMean, topLogs;

    public Glow(Backend be, GlowConfig config, Rng rng) {
        this.config = config;
        this.backend = be;
        for (int l = 0; l < config.levels(); l++) {
            int c = config.levelChannels(l);
            List<Step> steps = new ArrayList<>();
            for (int k = 0; k < config.depth(); k++) steps.add(addModule("level" + l + "-step" + k, new Step(be, c, config.hidden(), rng)));
            levels.add(steps);
            if (l < config.levels() - 1) splitPriors.add(addModule("level" + l + "-prior", new ZeroConv2d(be, c / 2, c)));
        }
        Shape top = Shape.of(1, config.levelChannels(config.levels() - 1), 1, 1);
        topMean = registerParameter("top-mean", Parameter.full(be, top, 0));
        topLogs = registerParameter("top-logs", Parameter.full(be, top, 0));
    }

    /** One flow step: actnorm and the invertible 1×1 convolution (run as one), then the affine coupling. */
    static final class Step extends Module implements Flow {
        private final ActNormInvConv mix;
        private final AffineCoupling coupling;

        Step(Backend be, int channels, int hidden, Rng rng) {
            mix = addModule("mix", new ActNormInvConv(be, channels, rng));
            coupling = addModule("coupling", new AffineCoupling(be, channels, hidden, rng));
        }

        @Override public Result forward(Var x) {
            Result a = mix.forward(x), b = coupling.forward(a.y());
            return new Result(b.y(), Pointwise.add(b.logdet(), a.logdet()));   // [N] + [1]
        }

        @Override public Tensor reverse(Tensor y) { return mix.reverse(coupling.reverse(y)); }
    }

    @Override public GlowConfig config() { return config; }

    /** The dequantisation u of every sub-pixel: [n, C, H, W]. */
    @Override public Shape noiseShape(int n) { return Shape.of(n, config.channels(), config.imageSize(), config.imageSize()); }

    /** u, uniform in [0, 1). */
    @Override public Tensor noise(Backend be, int n, Rng rng) { return be.uniform(noiseShape(n), 0, 1, rng); }

    /** The latents from the first level's split to the top, and per image log p of them and log |det ∂z/∂x|. */
    public record Encoded(List<Var> latents, Var logPrior, Var logdet) {}

    /** Maps dequantised images x [N, C, H, W] (in [−0.5, 0.5]) to their latents. */
    public Encoded encode(Var x) {
        List<Var> latents = new ArrayList<>();
        Var h = x, logPrior = null, logdet = null;
        for (int l = 0; l < levels.size(); l++) {
            h = Layout.squeeze(h, 2);
            for (Step s : levels.get(l)) {
                Flow.Result r = s.forward(h);
                h = r.y();
                logdet = logdet == null ? r.logdet() : Pointwise.add(logdet, r.logdet());
            }
            Var z = h, logp;
            if (l < levels.size() - 1) {
                int half = h.shape().dim(1) / 2;
                Var[] parts = Layout.split(h, 1, half, half);
                Var[] meanLogs = Layout.split(splitPriors.get(l).forward(parts[0]), 1, half, half);
                z = parts[1];
                h = parts[0];
                logp = gaussianLogDensity(z, meanLogs[0], meanLogs[1]);
            } else {
                logp = gaussianLogDensity(z, topMean, topLogs);
            }
            latents.add(z);
            logPrior = logPrior == null ? logp : Pointwise.add(logPrior, logp);
        }
        return new Encoded(latents, logPrior, logdet);
    }

    /** Σ log N(z; mean, exp(logs)²) per image, shape [N]; mean and logs broadcast against z [N, C, H, W]. */
    static Var gaussianLogDensity(Var z, Var mean, Var logs) {
        int n = z.shape().dim(0);
        Var centred = Pointwise.sub(z, mean);
        Var scaled = Pointwise.mul(Pointwise.square(centred), Pointwise.exp(Pointwise.scale(logs, -2)));
        Var perElement = Pointwise.add(Pointwise.scale(scaled, 0.5), logs);
        Var sum = Layout.reshape(Reduce.sumTo(perElement, Shape.of(n, 1, 1, 1)), n);
        return Pointwise.affine(sum, -1, -HALF_LOG_2PI * z.shape().numel() / n);
    }

    /** x = (b + u)/256 − 0.5 from targets b [N, C, H, W] and u of the same shape. */
    private static Var dequantise(Var targets, Tensor u) {
        return Pointwise.affine(Pointwise.add(targets, Var.constant(u.reshape(targets.shape()))), 1.0 / 256, -0.5);
    }

    /** −log p(x) + D·log 256 per image, shape [N]. */
    private Var nll(Var targets, Tensor u) {
        Encoded e = encode(dequantise(targets, u));
        long d = targets.shape().numel() / targets.shape().dim(0);
        return Pointwise.affine(Pointwise.add(e.logPrior(), e.logdet()), -1, d * LOG_BINS);
    }

    /** The mean NLL in nats over the batch (x is not used: Glow sees the bytes); part "bpd", the same in bits per sub-pixel. */
    @Override public LossParts loss(Var x, Var targets, Tensor noise, double beta) { return meanNll(nll(targets, noise), targets.shape()); }

    /**
     * The NLLs −log p(x + u_k) + D·log 256 [K·N] for K dequantisations u_k [K, N, D]; their negations are an
     * importance-weighted bound on log P(b).
     */
    @Override public Tensor logWeightTerms(Tensor x, Tensor targets, Tensor noise) {
        int k = noise.dim(0);
        Tensor[] nll = new Tensor[k];   // [N] per dequantisation
        try (Var.NoGrad _ = Var.noGrad(); Scope _ = Scope.open()) {
            Var b = Var.constant(targets);
            for (int j = 0; j < k; j++) {
                try (Scope _ = Scope.open()) {
                    nll[j] = Scope.keep(nll(b, backend.narrow(noise, 0, j, 1)).value());
                }
            }
            return Scope.keep(k == 1 ? nll[0] : backend.concat(nll, 0));
        }
    }

    /** The negated NLLs, [K][N]. */
    @Override public double[][] logWeightsOf(float[] terms, int k, int n) {
        double[][] w = new double[k][n];
        for (int j = 0; j < k; j++) for (int i = 0; i < n; i++) w[j][i] = -terms[j * n + i];
        return w;
    }

    /** Latents from the priors at the temperature, mapped back through every level; sub-pixels rounded down to bytes. */
    @Override public byte[] sample(int n, double temperature, Rng rng) {
        requireTemperature("sampling temperature", temperature);
        try (Var.NoGrad _ = Var.noGrad(); Scope _ = Scope.open()) {
            int top = levels.size() - 1, side = config.imageSize() >> levels.size();
            Tensor z = draw(topMean.value(), topLogs.value(), Shape.of(n, config.levelChannels(top), side, side), temperature, rng);
            double[] v = decode(z, (l, h) -> {
                Tensor meanLogs = splitPriors.get(l).forward(Var.constant(h)).value();
                int half = h.dim(1);
                return draw(backend.narrow(meanLogs, 1, 0, half), backend.narrow(meanLogs, 1, half, half), h.shape(), temperature, rng);
            }).toDoubles();
            byte[] out = new byte[v.length];
            for (int i = 0; i < v.length; i++) out[i] = (byte) Math.max(0, Math.min(255, Math.floor((v[i] + 0.5) * 256)));
            return out;
        }
    }

    /** The inverse of {@link #encode}: the images [N, C, H, W] whose latents these are (first level's split first). */
    public Tensor decode(List<Tensor> latents) {
        if (latents.size() != levels.size()) throw new IllegalArgumentException(levels.size() + " levels, " + latents.size() + " latents");
        try (Var.NoGrad _ = Var.noGrad()) {
            return decode(latents.getLast(), (l, h) -> latents.get(l));
        }
    }

    /**
     * Maps the top latent back level by level; at each split the latent that was split off comes from
     * {@code splitLatent} (level, the level's other half as decoded so far). No tape.
     */
    private Tensor decode(Tensor top, BiFunction<Integer, Tensor, Tensor> splitLatent) {
        Tensor h = top;
        for (int l = levels.size() - 1; l >= 0; l--) {
            if (l < levels.size() - 1) h = backend.concat(new Tensor[] {h, splitLatent.apply(l, h)}, 1);
            List<Step> steps = levels.get(l);
            for (int k = steps.size() - 1; k >= 0; k--) h = steps.get(k).reverse(h);
            h = backend.depthToSpace(h, 2);
        }
        return h;
    }

    /** mean + exp(logs)·ε with ε ~ N(0, temperature²) of the given shape. */
    private Tensor draw(Tensor mean, Tensor logs, Shape shape, double temperature, Rng rng) {
        Tensor eps = backend.normal(shape, 0, temperature, rng);
        return backend.binary(BinaryOp.ADD, backend.binary(BinaryOp.MUL, eps, backend.unary(UnaryOp.EXP, logs, 0, 0)), mean);
    }
}
