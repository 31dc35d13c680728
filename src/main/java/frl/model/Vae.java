package frl.model;

import frl.autograd.Layout;
import frl.autograd.Loss;
import frl.autograd.Pointwise;
import frl.autograd.Reduce;
import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.Rng;
import frl.nn.BatchNorm2d;
import frl.nn.Conv2d;
import frl.nn.ConvTranspose2d;
import frl.nn.Module;
import frl.nn.Parameter;
import frl.nn.ReLU;
import frl.nn.Sequential;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The DCGAN VAE of the Likelihood-Regret / FRL reference code with a 256-way categorical decoder per
 * sub-pixel. Module names match the reference ({@code encoder.main.input-conv.weight}, ...), so a PyTorch
 * state dict converted to safetensors loads one to one.
 */
public final class Vae extends DensityModel {
    private static final double HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

    private final Backend backend;
    private final VaeConfig config;
    private final Encoder encoder;
    private final Decoder decoder;

    public Vae(Backend be, VaeConfig config, Rng rng) {
        this.backend = be;
        this.config = config;
        this.encoder = addModule("encoder", new Encoder(be, config, rng));
        this.decoder = addModule("decoder", new Decoder(be, config, rng));
        referenceInit(be, rng);
    }

    @Override public VaeConfig config() { return config; }

    /** The latent ε of the reparametrisation: [n, nz, 1, 1]. */
    @Override public Shape noiseShape(int n) { return Shape.of(n, config.nz(), 1, 1); }

    /** ε, standard normal. */
    @Override public Tensor noise(Backend be, int n, Rng rng) { return be.normal(noiseShape(n), 0, 1, rng); }

    Decoder decoder() { return decoder; }

    /** The reference's weights_init: conv weights N(0, 0.02), batch-norm weights N(1, 0.02) and biases 0. */
    private void referenceInit(Backend be, Rng rng) {
        for (var e : namedParameters().entrySet()) {
            String name = e.getKey();
            Parameter p = e.getValue();
            boolean norm = name.contains("BN") || name.contains("batchnorm");
            boolean headBias = name.endsWith("bias") && !norm;
            if (headBias) continue; // conv1/conv2 biases keep PyTorch's default init, as in the reference
            try (Scope s = Scope.open()) {
                Tensor v = name.endsWith("bias") ? be.full(p.shape(), 0) : be.normal(p.shape(), norm ? 1 : 0, 0.02, rng);
                be.copyInto(v, p.value());
            }
        }
    }

    /**
     * x: [N,C,H,W] in [0,1]; targets: [N,C,H,W] class indices 0..255; eps: [N,nz,1,1] standard normal noise.
     * loss = Σ cross-entropy / N + β · mean KL(q(z|x) ‖ N(0,1)); parts "rec" and "kl", both averaged over the batch.
     */
    @Override
    public LossParts loss(Var x, Var targets, Tensor eps, double beta) {
        int n = x.shape().dim(0);
        Encoder.Posterior q = encoder.forward(x);
        Var z = q.sample(Var.constant(eps));
        Var ce = decoder.pixelNll(z, decoder.targetsFor(targets));
        Var rec = Pointwise.scale(Reduce.sumAll(ce), 1.0 / n);
        Var kl = Pointwise.scale(Reduce.sumAll(klTerms(q)), -0.5 / n);
        Var loss = Pointwise.add(rec, Pointwise.scale(kl, beta));
        Map<String, Var> parts = new LinkedHashMap<>();
        parts.put("rec", rec);
        parts.put("kl", kl);
        return new LossParts(loss, parts);
    }

    /**
     * Copies of the encoder, one per image, fitted together through this model's decoder: Likelihood Regret fits an
     * encoder to each image, and the decoder, the bulk of the work, then runs once for a batch of them.
     */
    public EncoderCopies encoderCopies(int n) { return new EncoderCopies(n); }

    /**
     * n encoders in eval mode, each loaded with the model's encoder as it was when they were made (kept aside, and put
     * back into the model on close). They are not part of the model: not in its state dict, not trained by its optimizer.
     */
    public final class EncoderCopies implements AutoCloseable {
        private final Encoder original;
        private final List<Encoder> copies = new ArrayList<>();

        private EncoderCopies(int n) {
            if (n < 1) throw new IllegalArgumentException("need at least one encoder copy, got " + n);
            Rng unused = new Rng(0);   // every copy is overwritten by the original's state
            try {
                original = new Encoder(backend, config, unused);
                original.loadStateDict(encoder.stateDict(), true);
                for (int i = 0; i < n; i++) copies.add(new Encoder(backend, config, unused));
                for (int i = 0; i < n; i++) reset(i);
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }

        public int size() { return copies.size(); }

        /** The parameters of copies 0..n−1. */
        public List<Parameter> parameters(int n) {
            List<Parameter> out = new ArrayList<>();
            for (Encoder e : copies.subList(0, n)) out.addAll(e.parameters());
            return out;
        }

        /** Copy i takes the original encoder's weights and batch-norm statistics again. */
        public void reset(int i) {
            copies.get(i).loadStateDict(original.stateDict(), true);
            copies.get(i).eval();
        }

        /** The model's encoder takes copy i's weights (to score with it); {@link #close} puts the original back. */
        public void install(int i) { encoder.loadStateDict(copies.get(i).stateDict(), true); }

        /**
         * Σ over the n images of x of each image's training loss (β = 1) through its own copy: cross-entropy summed over
         * its sub-pixels + KL. x and targets [n, C, H, W], eps [n, nz, 1, 1]; copy i sees image i alone, so its gradient
         * is that of image i's loss.
         */
        public Var loss(Var x, Var targets, Tensor eps) {
            int n = x.shape().dim(0);
            if (n > copies.size()) throw new IllegalArgumentException(n + " images for " + copies.size() + " encoder copies");
            Var[] mu = new Var[n], logvar = new Var[n];
            for (int i = 0; i < n; i++) {
                Encoder.Posterior qi = copies.get(i).forward(Layout.narrow(x, 0, i, 1));
                mu[i] = qi.mu();
                logvar[i] = qi.logvar();
            }
            Encoder.Posterior q = new Encoder.Posterior(Layout.concat(0, mu), Layout.concat(0, logvar));
            Var ce = Reduce.sumAll(decoder.pixelNll(q.sample(Var.constant(eps)), decoder.targetsFor(targets)));
            return Pointwise.add(ce, Pointwise.scale(Reduce.sumAll(klTerms(q)), -0.5));
        }

        /** Puts the original encoder back into the model and frees the copies. */
        @Override public void close() {
            try (Encoder o = original) {
                if (o != null) encoder.loadStateDict(o.stateDict(), true);
            } finally {
                copies.forEach(Encoder::close);
            }
        }
    }

    /** 1 + logvar − μ² − exp(logvar), per latent dimension. */
    private static Var klTerms(Encoder.Posterior q) {
        return Pointwise.sub(Pointwise.sub(Pointwise.affine(q.logvar(), 1, 1), Pointwise.square(q.mu())), Pointwise.exp(q.logvar()));
    }

    /**
     * The importance-weighted terms' parts, with eps [K, N, nz] given: Σ −½·logvar per image [N], then per sample
     * k [N, 3] = (Σ CE, Σ z², Σ ε²), flat.
     */
    @Override public Tensor logWeightTerms(Tensor x, Tensor targets, Tensor eps) {
        int k = eps.dim(0), n = x.dim(0), nz = config.nz();
        try (Var.NoGrad ng = Var.noGrad(); Scope s = Scope.open()) {
            Encoder.Posterior q = encoder.forward(Var.constant(x));
            Backend be = q.mu().backend();
            Var laidOut = decoder.targetsFor(Var.constant(targets));
            Tensor[] parts = new Tensor[k + 1];
            parts[0] = Reduce.sumTo(Pointwise.scale(q.logvar(), -0.5), Shape.of(n, 1, 1, 1)).value().reshape(n);
            for (int j = 0; j < k; j++) {
                try (Scope step = Scope.open()) {
                    Var e = Var.constant(be.narrow(eps, 0, j, 1).reshape(n, nz, 1, 1));
                    Var z = q.sample(e);
                    Var ce = decoder.pixelNll(z, laidOut);
                    parts[j + 1] = Scope.keep(be.concat(new Tensor[] {
                            Decoder.perImage(ce, n).value(),
                            Reduce.sumTo(Pointwise.square(z), Shape.of(n, 1, 1, 1)).value().reshape(n, 1),
                            Reduce.sumTo(Pointwise.square(e), Shape.of(n, 1, 1, 1)).value().reshape(n, 1)}, 1).reshape(3 * n));
                }
            }
            return Scope.keep(be.concat(parts, 0));
        }
    }

    /** log p(x|z_k) + log p(z_k) − log q(z_k|x) from the parts logWeightTerms lays out. */
    @Override public double[][] logWeightsOf(float[] terms, int k, int n) {
        int nz = config.nz();
        double[][] w = new double[k][n];
        for (int j = 0; j < k; j++) {
            int at = n + 3 * n * j;
            for (int i = 0; i < n; i++) {
                double logPz = -0.5 * terms[at + 3 * i + 1] - nz * HALF_LOG_2PI;
                double logQz = -0.5 * terms[at + 3 * i + 2] - nz * HALF_LOG_2PI + terms[i];
                w[j][i] = -terms[at + 3 * i] + logPz - logQz;
            }
        }
        return w;
    }

    /** z ~ N(0, I), then every sub-pixel from its 256-way categorical. No tape; the caller sets eval mode. */
    @Override public byte[] sample(int n, double temperature, Rng rng) {
        requireTemperature("sampling temperature", temperature);
        int c = config.channels(), hw = config.imageSize() * config.imageSize();
        byte[] out = new byte[n * c * hw];
        try (Var.NoGrad ng = Var.noGrad(); Scope s = Scope.open()) {
            Var z = Var.constant(backend.normal(Shape.of(n, config.nz(), 1, 1), 0, temperature, rng));
            float[] logits = decoder.logits(z).value().toFloats();   // [n, c, 256, h·w]
            double[] p = new double[256];
            for (int img = 0; img < n * c; img++) {
                int base = img * 256 * hw;
                for (int q = 0; q < hw; q++) {
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int k = 0; k < 256; k++) max = Math.max(max, logits[base + k * hw + q]);
                    for (int k = 0; k < 256; k++) sum += p[k] = Math.exp(logits[base + k * hw + q] - max);
                    double u = rng.nextDouble() * sum;
                    int k = 0;
                    while (k < 255 && (u -= p[k]) > 0) k++;
                    out[img * hw + q] = (byte) k;
                }
            }
        }
        return out;
    }

    /** The encoder: stride-2 4×4 convs with batch norm and ReLU, then two 4×4 heads for μ and log σ². */
    static final class Encoder extends Module {
        record Posterior(Var mu, Var logvar) {
            /** z = μ + exp(logvar / 2) · ε (the reparametrisation). */
            Var sample(Var eps) { return Pointwise.add(mu, Pointwise.mul(Pointwise.exp(Pointwise.scale(logvar, 0.5)), eps)); }
        }

        private final Sequential main;
        private final Conv2d conv1, conv2;

        Encoder(Backend be, VaeConfig c, Rng rng) {
            main = addModule("main", new Sequential());
            main.add("input-conv", new Conv2d(be, rng, c.channels(), c.ngf(), 4, 2, 1, false));
            main.add("input-BN", new BatchNorm2d(be, c.ngf()));
            main.add("input-relu", new ReLU());
            for (int i = 0; i < c.depth() - 3; i++) {
                int in = c.ngf() << i, out = c.ngf() << (i + 1);
                main.add("pyramid:" + in + "-" + out + ":conv", new Conv2d(be, rng, in, out, 4, 2, 1, false));
                main.add("pyramid:" + out + ":batchnorm", new BatchNorm2d(be, out));
                main.add("pyramid:" + out + ":relu", new ReLU());
            }
            int top = c.ngf() << (c.depth() - 3);
            conv1 = addModule("conv1", new Conv2d(be, rng, top, c.nz(), 4, 1, 0, true));
            conv2 = addModule("conv2", new Conv2d(be, rng, top, c.nz(), 4, 1, 0, true));
        }

        Posterior forward(Var x) {
            Var h = main.forward(x);
            return new Posterior(conv1.forward(h), conv2.forward(h));
        }
    }

    /** The decoder: a 4×4 transposed conv from z, stride-2 transposed convs, then channels × 256 logits. */
    static final class Decoder extends Module {
        private final Sequential main;
        private final ConvTranspose2d last;
        private final VaeConfig c;

        Decoder(Backend be, VaeConfig c, Rng rng) {
            this.c = c;
            main = addModule("main", new Sequential());
            int cngf = (c.ngf() / 2) << (c.depth() - 2);
            main.add("initial:" + c.nz() + "-" + cngf + ":convt", new ConvTranspose2d(be, rng, c.nz(), cngf, 4, 1, 0, 0, false));
            main.add("initial:" + cngf + ":batchnorm", new BatchNorm2d(be, cngf));
            main.add("initial:" + cngf + ":relu", new ReLU());
            for (int size = 4; size < c.imageSize() / 2; size *= 2, cngf /= 2) {
                main.add("pyramid:" + cngf + "-" + cngf / 2 + ":convt", new ConvTranspose2d(be, rng, cngf, cngf / 2, 4, 2, 1, 0, false));
                main.add("pyramid:" + cngf / 2 + ":batchnorm", new BatchNorm2d(be, cngf / 2));
                main.add("pyramid:" + cngf / 2 + ":relu", new ReLU());
            }
            last = new ConvTranspose2d(be, rng, cngf, c.channels() * 256, 4, 2, 1, 0, false);
            main.add("final:" + cngf + "-" + c.channels() + ":convt", last);
        }

        /** Logits [N, C, 256, H, W]: classes on axis 2, as the reference's view. */
        Var logits(Var z) {
            Var out = main.forward(z);
            return Layout.reshape(out, out.shape().dim(0), c.channels(), 256, c.imageSize(), c.imageSize());
        }

        /**
         * −log p(x|z) per sub-pixel, for targets as {@link #targetsFor} gives them. Where the backend convolves in
         * phases, that is [R, C, N·Q] in the last layer's sub-pixel phases (R = 4 phases of Q pixels, see
         * {@link frl.backend.Backend#toPhases}): the losses only sum over pixels, so the 256-way logits, the largest
         * tensor of a step, are computed and differentiated in the layout their GEMMs produce. Else [N, C, H, W].
         */
        Var pixelNll(Var z, Var targets) {
            if (targets.shape().rank() == 4) return Loss.crossEntropy(logits(z), targets, 2);
            // the last layer's output in phases [R, C·256, N, Q] read as logits [R, C, 256, N·Q]
            return Loss.crossEntropyOfPhases(main.forwardUpTo(z, main.size() - 1), last.weight, last.geometry(), targets, 256);
        }

        /** Targets [N, C, H, W] in the layout of {@link #pixelNll}: [R, C, N·Q] where the backend convolves in phases. */
        Var targetsFor(Var targets) {
            if (!targets.backend().convolvesInPhases(last.weight.shape(), last.geometry())) return targets;
            Var p = Layout.toPhases(targets, last.geometry());
            Shape s = p.shape();
            return Layout.reshape(p, s.dim(0), s.dim(1), s.dim(2) * s.dim(3));
        }

        /** Sums {@link #pixelNll} per image: [n, 1]. */
        static Var perImage(Var nll, int n) {
            Shape s = nll.shape();
            if (s.rank() == 4) return Layout.reshape(Reduce.sumTo(nll, Shape.of(n, 1, 1, 1)), n, 1);
            return Layout.reshape(Reduce.sumTo(Layout.reshape(nll, s.dim(0), s.dim(1), n, s.dim(2) / n), Shape.of(1, 1, n, 1)), n, 1);
        }
    }
}
