package frl.nn;

import frl.autograd.Layout;
import frl.autograd.Linear;
import frl.autograd.Pointwise;
import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.BinaryOp;
import frl.backend.ConvGeometry;
import frl.backend.Rng;
import frl.backend.UnaryOp;
import frl.tensor.Shape;
import frl.tensor.Tensor;

/**
 * Glow's affine coupling: the first half of the channels passes through, and a network of it gives the second
 * half a shift t and a scale s = sigmoid(r + 2): y_b = (x_b + t)·s, log-determinant Σ log s per image. The network
 * is 3×3 conv → actnorm → ReLU → 1×1 conv → actnorm → ReLU → {@link ZeroConv2d}, whose output channels are
 * t then r (halves, not Glow's interleaving).
 */
public final class AffineCoupling extends Module implements Flow {
    private static final double INIT_STD = 0.05;
    private static final ConvGeometry SAME = ConvGeometry.of(1, 1), ONE_BY_ONE = ConvGeometry.of(1, 0);
    private final Parameter inWeight, midWeight;
    private final ActNorm inNorm, midNorm;
    private final ZeroConv2d out;
    private final int channels;

    public AffineCoupling(Backend be, int channels, int hidden, Rng rng) {
        if (channels < 2 || channels % 2 != 0) throw new IllegalArgumentException("AffineCoupling: need an even channel count ≥ 2, got " + channels);
        this.channels = channels;
        inWeight = registerParameter("in-conv", Init.normal(be, Shape.of(hidden, channels / 2, 3, 3), INIT_STD, rng));
        inNorm = addModule("in-actnorm", new ActNorm(be, hidden));
        midWeight = registerParameter("mid-conv", Init.normal(be, Shape.of(hidden, hidden, 1, 1), INIT_STD, rng));
        midNorm = addModule("mid-actnorm", new ActNorm(be, hidden));
        out = addModule("out", new ZeroConv2d(be, hidden, channels));
    }

    /** The network's output [N, C, H, W] for the passed-through half: shift, then the scale's pre-activation. */
    private Var network(Var xa) {
        Var h = convActNormRelu(xa, inWeight, inNorm, SAME);
        h = convActNormRelu(h, midWeight, midNorm, ONE_BY_ONE);
        return out.forward(h);
    }

    /**
     * A convolution, the actnorm after it and a ReLU: (conv(x, w) + b)·s, s = exp(logs) per output channel, is conv(x, w·s)
     * with bias b·s, and the conv, the bias and the ReLU are one op (Linear#conv2dBiasRelu). This saves the five passes
     * over the hidden map (and four of their gradients' six) that the actnorm, the bias and the ReLU would take after the
     * conv. The actnorm's data-dependent init first sees the unfolded convolution's output, as Glow's does.
     */
    static Var convActNormRelu(Var x, Var w, ActNorm norm, ConvGeometry g) {
        if (!norm.isInitialized())
            try (Var.NoGrad _ = Var.noGrad()) {
                Var probe = Linear.conv2d(x, w, null, g);
                norm.ensureInitialized(probe.value());
                probe.freeValue();   // else the first step holds a second hidden map per coupling to its end
            }
        int c = w.shape().dim(0);
        Var scale = Pointwise.exp(norm.logs);
        Var folded = Pointwise.mul(w, Layout.reshape(scale, c, 1, 1, 1));
        return Linear.conv2dBiasRelu(x, folded, Layout.reshape(Pointwise.mul(norm.bias, scale), c), g);
    }

    @Override public Result forward(Var x) {
        requireInput(x.shape());
        Var[] halves = Layout.split(x, 1, channels / 2, channels / 2);
        Result b = affine(halves[1], network(halves[0]));
        return new Result(Layout.concat(1, halves[0], b.y()), b.logdet());
    }

    /**
     * The coupling's affine map of the second half x_b by the network output h = [t, r]: (x_b + t)·sigmoid(r + 2),
     * and Σ log sigmoid(r + 2) = −Σ softplus(−r − 2) per image, shape [N]; one op each (Backend#coupling,
     * Backend#couplingLogdet), each with a one-pass backward, where the composed map took about ten passes each way.
     */
    static Result affine(Var xb, Var h) { return new Result(Pointwise.coupling(xb, h), Pointwise.couplingLogdet(h)); }

    @Override public Tensor reverse(Tensor y) {
        requireInput(y.shape());
        Backend be = Backends.of(y);
        int half = channels / 2;
        Tensor ya = be.narrow(y, 1, 0, half), yb = be.narrow(y, 1, half, half);
        try (Var.NoGrad _ = Var.noGrad()) {
            Tensor h = network(Var.constant(ya)).value();
            Tensor scale = be.unary(UnaryOp.SIGMOID, be.affine(be.narrow(h, 1, half, half), 1, 2), 0, 0);
            Tensor xb = be.binary(BinaryOp.SUB, be.binary(BinaryOp.DIV, yb, scale), be.narrow(h, 1, 0, half));
            return be.concat(new Tensor[] {ya, xb}, 1);
        }
    }

    private void requireInput(Shape s) {
        if (s.rank() != 4 || s.dim(1) != channels)
            throw new IllegalArgumentException("AffineCoupling(" + channels + "): expected [N," + channels + ",H,W], got " + s);
    }
}
