package frl.nn;

import frl.autograd.Pointwise;
import frl.autograd.Reduce;
import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.BinaryOp;
import frl.backend.UnaryOp;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;

/**
 * Glow's activation normalisation: y = (x + bias)·exp(logs) per channel, log-determinant H·W·Σ logs. The
 * first forward pass initialises bias and logs from its batch so that y has zero mean and unit variance per
 * channel (data-dependent init); the {@code initialized} buffer carries that fact through checkpoints.
 */
public final class ActNorm extends Module implements Flow {
    /** Glow's guard against a constant channel: logs = −log(std + 1e-6). */
    private static final double STD_FLOOR = 1e-6;
    public final Parameter bias;
    public final Parameter logs;
    private final Tensor initializedFlag;
    private final int channels;
    private boolean initialized;

    public ActNorm(Backend be, int channels) {
        if (channels < 1) throw new IllegalArgumentException("ActNorm: need channels ≥ 1, got " + channels);
        this.channels = channels;
        bias = registerParameter("bias", Parameter.full(be, Shape.of(1, channels, 1, 1), 0));
        logs = registerParameter("logs", Parameter.full(be, Shape.of(1, channels, 1, 1), 0));
        initializedFlag = registerBuffer("initialized", Scope.unscoped(() -> be.full(Shape.of(1), 0)));
    }

    @Override public Result forward(Var x) {
        ensureInitialized(x.value());
        Var y = Pointwise.mul(Pointwise.add(x, bias), Pointwise.exp(logs));
        return new Result(y, logdet(x.shape()));
    }

    /** H·W·Σ logs, shape [1] (the sum accumulates in double on every backend). */
    Var logdet(Shape xShape) {
        return Pointwise.scale(Reduce.sumAll(logs), (double) xShape.dim(2) * xShape.dim(3));
    }

    @Override public Tensor reverse(Tensor y) {
        requireInput(y.shape());
        Backend be = Backends.of(y);
        Tensor invScale = be.unary(UnaryOp.EXP, be.affine(logs.value(), -1, 0), 0, 0);
        return be.binary(BinaryOp.SUB, be.binary(BinaryOp.MUL, y, invScale), bias.value());
    }

    /**
     * On the first call (in either mode, as Glow does) sets bias = −mean and logs = −log(std + 1e-6) of x per
     * channel. Reads the flag from the device once, so a loaded checkpoint is not re-initialised.
     */
    void ensureInitialized(Tensor x) {
        requireInput(x.shape());
        if (isInitialized()) return;
        Backend be = Backends.of(x);
        Shape perChannel = Shape.of(1, channels, 1, 1);
        double n = (double) x.numel() / channels;
        try (Scope _ = Scope.open()) {
            Tensor mean = be.affine(be.sumTo(x, perChannel), 1 / n, 0);
            Tensor centred = be.binary(BinaryOp.SUB, x, mean);
            Tensor var = be.affine(be.sumTo(be.unary(UnaryOp.SQUARE, centred, 0, 0), perChannel), 1 / n, 0);
            Tensor std = be.affine(be.unary(UnaryOp.SQRT, var, 0, 0), 1, STD_FLOOR);
            be.copyInto(be.affine(mean, -1, 0), bias.value());
            be.copyInto(be.unary(UnaryOp.NEG, be.unary(UnaryOp.LOG, std, 0, 0), 0, 0), logs.value());
            be.fill(initializedFlag, 1);
        }
        initialized = true;
    }

    /** Whether bias and logs hold data-dependent values; the flag is read from the device until it says so. */
    public boolean isInitialized() {
        if (!initialized) initialized = initializedFlag.item() != 0;
        return initialized;
    }

    private void requireInput(Shape s) {
        if (s.rank() != 4 || s.dim(1) != channels)
            throw new IllegalArgumentException("ActNorm(" + channels + "): expected [N," + channels + ",H,W], got " + s);
    }
}
