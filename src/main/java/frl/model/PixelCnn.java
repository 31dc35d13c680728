package frl.model;

import frl.autograd.Layout;
import frl.autograd.Pointwise;
import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.UnaryOp;
import frl.backend.Rng;
import frl.backend.Shift;
import frl.nn.Biased;
import frl.nn.Module;
import frl.nn.Nin;
import frl.nn.ShiftedConv2d;
import frl.nn.ShiftedConvTranspose2d;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * PixelCNN++ (Salimans et al. 2017) as the common PyTorch port lays it out: a down stream u (pixels above) and a
 * down-right stream ul (pixels above and to the left), each a stack of gated residual blocks with concat-ELU at
 * three resolutions, the up pass's outputs fed to the down pass as skips; weight-normalised shifted convolutions
 * keep each pixel's parameters a function of the pixels before it in raster order. The output is a discretised
 * logistic mixture per pixel ({@link LogisticMixture}), whose channels condition on the earlier ones, so the NLL is
 * exact: no noise, one pass. Training may drop out each gated block's input to conv_out (the paper: rate 0.5); the
 * masks come with the training noise ({@link #trainingNoise}).
 */
public final class PixelCnn extends DensityModel {
    private final PixelCnnConfig config;
    private final Backend backend;
    private final ShiftedConv2d uInit, ulInitDown, ulInitRight;
    private final List<List<GatedPair>> up = new ArrayList<>(), down = new ArrayList<>();
    private final List<ShiftedConv2d> downsizeU = new ArrayList<>(), downsizeUl = new ArrayList<>();
    private final List<ShiftedConvTranspose2d> upsizeU = new ArrayList<>(), upsizeUl = new ArrayList<>();
    private final Nin ninOut;

    public PixelCnn(Backend be, PixelCnnConfig config, Rng rng) {
        this.config = config;
        this.backend = be;
        int f = config.filters(), in = config.channels() + 1;
        uInit = addModule("u_init", new ShiftedConv2d(be, rng, in, f, 2, 3, Shift.DOWN, 1, true));
        ulInitDown = addModule("ul_init_down", new ShiftedConv2d(be, rng, in, f, 1, 3, Shift.DOWN, 1, true));
        ulInitRight = addModule("ul_init_right", new ShiftedConv2d(be, rng, in, f, 2, 1, Shift.DOWN_RIGHT, 1, true));
        for (int stage = 0; stage < 3; stage++) {
            List<GatedPair> blocks = new ArrayList<>();
            for (int r = 0; r < config.resnets(); r++) blocks.add(pair(be, rng, "up" + stage + "_" + r, 0));
            up.add(blocks);
            if (stage < 2) {
                downsizeU.add(addModule("downsize_u" + stage, new ShiftedConv2d(be, rng, f, f, 2, 3, Shift.DOWN, 2, false)));
                downsizeUl.add(addModule("downsize_ul" + stage, new ShiftedConv2d(be, rng, f, f, 2, 2, Shift.DOWN_RIGHT, 2, false)));
            }
        }
        for (int stage = 0; stage < 3; stage++) {
            List<GatedPair> blocks = new ArrayList<>();
            for (int r = 0; r < config.resnets() + (stage == 0 ? 0 : 1); r++) blocks.add(pair(be, rng, "down" + stage + "_" + r, 1));
            down.add(blocks);
            if (stage < 2) {
                upsizeU.add(addModule("upsize_u" + stage, new ShiftedConvTranspose2d(be, rng, f, f, 2, 3, Shift.DOWN)));
                upsizeUl.add(addModule("upsize_ul" + stage, new ShiftedConvTranspose2d(be, rng, f, f, 2, 2, Shift.DOWN_RIGHT)));
            }
        }
        ninOut = addModule("nin_out", new Nin(be, rng, f, config.outputChannels()));
    }

    /** The u block (2×3, skips from {@code uSkips} maps) and the ul block (2×2, one more skip: u) of one stage position. */
    private GatedPair pair(Backend be, Rng rng, String name, int uSkips) {
        int f = config.filters();
        GatedResnet u = addModule(name + "_u", new GatedResnet(be, rng, f, 2, 3, Shift.DOWN, uSkips));
        GatedResnet ul = addModule(name + "_ul", new GatedResnet(be, rng, f, 2, 2, Shift.DOWN_RIGHT, uSkips + 1));
        return new GatedPair(u, ul);
    }

    private record GatedPair(GatedResnet u, GatedResnet ul) {}

    /** x + a·sigmoid(b), [a, b] = conv_out(concat_elu(conv_input(concat_elu(x)) + nin_skip(concat_elu(skip)))). */
    static final class GatedResnet extends Module {
        private final ShiftedConv2d in, out;
        private final Nin skip;

        GatedResnet(Backend be, Rng rng, int filters, int kh, int kw, Shift shift, int skips) {
            in = addModule("conv_input", new ShiftedConv2d(be, rng, 2 * filters, filters, kh, kw, shift, 1, false));
            skip = skips > 0 ? addModule("nin_skip", new Nin(be, rng, 2 * skips * filters, filters)) : null;
            out = addModule("conv_out", new ShiftedConv2d(be, rng, 2 * filters, 2 * filters, kh, kw, shift, 1, false));
        }

        /**
         * With {@code mask} (0 or 1/(1 − rate) per element of conv_out's input) its dropout; null: none. The convolutions'
         * biases are added by the ops that read their outputs (the skip's sum, the gate), not in passes of their own.
         */
        Var forward(Var x, Var skipFrom, Tensor mask) {
            Var h = skip == null ? in.forwardOfConcatElu(x) : biasedSum(in.unbiasedOfConcatElu(x), in.bias(), skip, Pointwise.concatElu(skipFrom));
            Var y = mask == null ? out.unbiasedOfConcatElu(h) : out.unbiased(Pointwise.mul(Pointwise.concatElu(h), Var.constant(mask)));
            Var block = Pointwise.gate(y, out.bias(), x);
            if (!block.requiresGrad()) y.freeValue();   // only the gate's backward reads it
            return block;
        }

        /** pa + q(b), pa a layer's output before its bias, each bias added by the sum; pa and q(b) are freed at once (no backward reads them). */
        private static Var biasedSum(Var pa, Var biasA, Biased q, Var b) {
            Var qb = q.unbiased(b), sum = Pointwise.biasedSum(pa, biasA, qb, q.bias());
            pa.freeValue();
            qb.freeValue();
            return sum;
        }
    }

    /** Hands out each gated block's dropout mask [N, 2F, h, w] from masks [N, total] in the order the blocks run; none when null. */
    private final class Masks {
        private final Tensor all;
        private int at;

        Masks(Tensor all) { this.all = all; }

        Tensor next(Shape block) {
            if (all == null) return null;
            int size = 2 * config.filters() * block.dim(2) * block.dim(3);
            Tensor m = backend.narrow(all, 1, at, size).reshape(block.dim(0), 2 * config.filters(), block.dim(2), block.dim(3));
            at += size;
            return m;
        }

        void requireUsedUp() {
            if (all != null && at != all.dim(1)) throw new IllegalStateException("PixelCNN++: " + at + " of " + all.dim(1) + " mask values per image used");
        }
    }

    /** Values of dropout mask per image: conv_out's input (2F channels) of every gated block, at its resolution. */
    int maskValuesPerImage() {
        long side = config.imageSize(), values = 0;
        for (int stage = 0; stage < 3; stage++) {
            values += 2L * config.resnets() * (side >> stage) * (side >> stage);                                  // up: u and ul
            values += 2L * (config.resnets() + (stage == 0 ? 0 : 1)) * (side >> (2 - stage)) * (side >> (2 - stage));   // down
        }
        return Math.toIntExact(values * 2 * config.filters());
    }

    /** The mixture parameters [N, outputChannels, H, W] for x [N, C, H, W] in [−1, 1]. */
    public Var network(Var x) { return network(x, null); }

    /** The same, with dropout masks [N, maskValuesPerImage] (or null) as {@link #trainingNoise} draws them. */
    Var network(Var x, Tensor dropoutMasks) {
        Shape s = x.shape();
        Masks masks = new Masks(dropoutMasks);
        Var in = Layout.concat(1, x, Var.constant(backend.full(Shape.of(s.dim(0), 1, s.dim(2), s.dim(3)), 1)));
        List<Var> us = new ArrayList<>(), uls = new ArrayList<>();
        us.add(uInit.forward(in));
        uls.add(Pointwise.add(ulInitDown.forward(in), ulInitRight.forward(in)));
        for (int stage = 0; stage < 3; stage++) {
            for (GatedPair p : up.get(stage)) {
                Var u = p.u().forward(us.getLast(), null, masks.next(us.getLast().shape()));
                uls.add(p.ul().forward(uls.getLast(), u, masks.next(u.shape())));
                us.add(u);
            }
            if (stage < 2) {
                us.add(downsizeU.get(stage).forward(us.getLast()));
                uls.add(downsizeUl.get(stage).forward(uls.getLast()));
            }
        }
        Var u = us.removeLast(), ul = uls.removeLast();
        for (int stage = 0; stage < 3; stage++) {
            for (GatedPair p : down.get(stage)) {
                u = p.u().forward(u, us.removeLast(), masks.next(u.shape()));
                ul = p.ul().forward(ul, Layout.concat(1, u, uls.removeLast()), masks.next(ul.shape()));
            }
            if (stage < 2) {
                u = upsizeU.get(stage).forward(u);
                ul = upsizeUl.get(stage).forward(ul);
            }
        }
        masks.requireUsedUp();
        return ninOut.forward(Pointwise.elu(ul));
    }

    @Override public PixelCnnConfig config() { return config; }

    /** The likelihood is exact: one unused value per image (the trainer and scorer draw noise for every model). */
    @Override public Shape noiseShape(int n) { return Shape.of(n, 1); }

    @Override public Tensor noise(Backend be, int n, Rng rng) { return be.uniform(noiseShape(n), 0, 1, rng); }

    /**
     * With dropout, the masks of every gated block [n, maskValuesPerImage]: u ~ U(0, 1) kept where u &gt; rate and
     * scaled by 1/(1 − rate) as torch's Dropout does, exactly 0 or the scale ({@link #step}). Backend
     * ops only: a recorded step replays with the masks copied in as noise.
     */
    @Override public Tensor trainingNoise(Backend be, int n, Rng rng, double dropout) {
        if (dropout == 0) return noise(be, n, rng);
        if (!(dropout > 0 && dropout < 1)) throw new IllegalArgumentException("PixelCNN++: dropout rate must be within [0, 1), got " + dropout);
        try (Tensor u = be.uniform(trainingNoiseShape(n, dropout), 0, 1, rng)) {   // freed as soon as the masks are drawn
            return step(be, u, dropout, 1 / (1 - dropout));
        }
    }

    /**
     * {@code high} where v &gt; threshold, else 0, from backend ops: the difference scaled far past float range,
     * clamp((v − threshold)·2¹⁰⁰, 0, high). The scale is a power of two, so its products are exact: for thresholds
     * of 2⁻³⁶ or more in size, a float v ≠ threshold differs from it by 2⁻⁵⁹ or more, and the result is exactly 0 or
     * {@code high} (up to 2⁴¹): the dropout masks.
     */
    private static Tensor step(Backend be, Tensor v, double threshold, double high) {
        try (Tensor scaled = be.affine(v, 0x1p100, -threshold * 0x1p100)) {   // freed now, not with the caller's scope
            return be.unary(UnaryOp.CLAMP, scaled, 0, high);
        }
    }

    @Override public Shape trainingNoiseShape(int n, double dropout) { return dropout == 0 ? noiseShape(n) : Shape.of(n, maskValuesPerImage()); }

    /** −log p(b) per image in nats, shape [N], of bytes b [N, C, H, W], with dropout masks (or null). */
    private Var nll(Var targets, Tensor dropoutMasks) {
        Var x = Pointwise.affine(targets, 1 / 127.5, -1);
        return LogisticMixture.nll(x, network(x, dropoutMasks), config.mixtures());
    }

    /**
     * The mean NLL in nats over the batch (from the bytes; x is not used); part "bpd", in bits per sub-pixel. Noise as
     * {@link #trainingNoise} draws it with dropout carries the masks; other noise is not used.
     */
    @Override public LossParts loss(Var x, Var targets, Tensor noise, double beta) {
        return meanNll(nll(targets, noise.dim(1) == maskValuesPerImage() ? noise : null), targets.shape());
    }

    /** The NLL per image [N], once for every sample. */
    @Override public Tensor logWeightTerms(Tensor x, Tensor targets, Tensor noise) {
        try (Var.NoGrad _ = Var.noGrad(); Scope _ = Scope.open()) {
            return Scope.keep(nll(Var.constant(targets), null).value());
        }
    }

    /** The negated NLL [N] in each of the K rows: the likelihood is exact, computed once. */
    @Override public double[][] logWeightsOf(float[] terms, int k, int n) {
        double[] w = new double[n];
        for (int i = 0; i < n; i++) w[i] = -terms[i];
        double[][] out = new double[k][];
        for (int j = 0; j < k; j++) out[j] = w.clone();
        return out;
    }

    /**
     * Raster order, one pass of the network per pixel: a component from the mixture weights, then each channel from its
     * logistic (location conditioned on the channels drawn before it), clamped to [−1, 1] and rounded to a byte.
     */
    @Override public byte[] sample(int n, double temperature, Rng rng) {
        if (requireTemperature("sampling temperature", temperature) != 1)
            throw new IllegalArgumentException("PixelCNN++ draws its pixels with no latent to cool: sample it at temperature 1, got " + temperature);
        int c = config.channels(), side = config.imageSize(), m = config.mixtures(), p = config.outputChannels(), hw = side * side;
        double[] canvas = new double[n * c * hw];
        try (Var.NoGrad _ = Var.noGrad()) {
            for (int q = 0; q < hw; q++) {
                double[] params;
                try (Scope _ = Scope.open()) {
                    Tensor out = network(Var.constant(backend.fromHost(Shape.of(n, c, side, side), canvas))).value();
                    params = backend.narrow(backend.narrow(out.reshape(n, p, hw), 2, q, 1), 0, 0, n).toDoubles();   // [n, p]
                }
                for (int i = 0; i < n; i++) drawPixel(params, i * p, canvas, i * c * hw + q, hw, c, m, rng);
            }
        }
        byte[] bytes = new byte[canvas.length];
        for (int i = 0; i < canvas.length; i++) bytes[i] = (byte) Math.round((canvas[i] + 1) * 127.5);
        return bytes;
    }

    /** One pixel's channels (at canvas[at + ch·stride]) from its parameters at params[from..]. */
    private static void drawPixel(double[] params, int from, double[] canvas, int at, int stride, int c, int m, Rng rng) {
        int k = 0;
        double best = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < m; j++) {   // Gumbel-max: a component with probability softmax(logits)
            double g = params[from + j] - Math.log(-Math.log(1e-12 + (1 - 2e-12) * rng.nextDouble()));
            if (g > best) { best = g; k = j; }
        }
        for (int ch = 0, pair = 0; ch < c; ch++) {
            double mean = params[from + m * (1 + ch) + k];
            for (int j = 0; j < ch; j++, pair++) mean += params[from + m * (1 + 2 * c + pair) + k] * canvas[at + j * stride];
            double scale = Math.exp(Math.max(params[from + m * (1 + c + ch) + k], -7));
            double u = 1e-5 + (1 - 2e-5) * rng.nextDouble();
            canvas[at + ch * stride] = Math.max(-1, Math.min(1, mean + scale * (Math.log(u) - Math.log1p(-u))));
        }
    }
}
