package frl.nn;

import frl.autograd.Layout;
import frl.autograd.Norm;
import frl.autograd.Pointwise;
import frl.autograd.Var;
import frl.backend.Backend;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;

/**
 * torch.nn.BatchNorm2d (affine, tracking running stats). Training: normalise with the batch statistics and
 * fold them into running_mean / running_var with {@code r ← (1−momentum)·r + momentum·batch}, the variance
 * taken unbiased (·n/(n−1)), and count num_batches_tracked. Eval: y = (x − mean)/√(var + eps)·γ + β with
 * the running statistics, composed from broadcast ops so γ and β still get gradients.
 * num_batches_tracked is stored in the backend's dtype (exact up to 2^24 batches in float32).
 */
public final class BatchNorm2d extends Layer {
    public final Parameter weight;
    public final Parameter bias;
    private final Tensor runningMean, runningVar, numBatchesTracked;
    private final double eps, momentum;
    private final int channels;

    public BatchNorm2d(Backend be, int channels) { this(be, channels, 1e-5, 0.1); }

    public BatchNorm2d(Backend be, int channels, double eps, double momentum) {
        if (channels < 1 || !(eps > 0) || !(momentum >= 0 && momentum <= 1))
            throw new IllegalArgumentException("BatchNorm2d: need channels ≥ 1, eps > 0, momentum in [0, 1]; got " + channels + ", " + eps + ", " + momentum);
        this.channels = channels;
        this.eps = eps;
        this.momentum = momentum;
        weight = registerParameter("weight", Parameter.full(be, Shape.of(channels), 1));
        bias = registerParameter("bias", Parameter.full(be, Shape.of(channels), 0));
        runningMean = registerBuffer("running_mean", Scope.unscoped(() -> be.full(Shape.of(channels), 0)));
        runningVar = registerBuffer("running_var", Scope.unscoped(() -> be.full(Shape.of(channels), 1)));
        numBatchesTracked = registerBuffer("num_batches_tracked", Scope.unscoped(() -> be.full(Shape.of(), 0)));
    }

    public Tensor runningMean() { return runningMean; }

    public Tensor runningVar() { return runningVar; }

    public Tensor numBatchesTracked() { return numBatchesTracked; }

    @Override public Var forward(Var x) {
        requireInput(x);
        return isTraining() ? trainForward(x, false) : evalForward(x);
    }

    /**
     * relu(forward(x)): one op (Norm.batchNormRelu) where this layer trains and the backend fuses the two
     * (Backend#fusesBatchNormRelu), else the two ops. The same values either way (Sequential takes this for a
     * BatchNorm2d followed by a ReLU).
     */
    public Var forwardRelu(Var x) {
        if (!isTraining() || !x.backend().fusesBatchNormRelu()) return Pointwise.relu(forward(x));
        requireInput(x);
        return trainForward(x, true);
    }

    private void requireInput(Var x) {
        if (x.shape().rank() != 4 || x.shape().dim(1) != channels)
            throw new IllegalArgumentException("BatchNorm2d(" + channels + "): expected input [N," + channels + ",H,W], got " + x.shape());
    }

    private Var trainForward(Var x, boolean relu) {
        long n = x.shape().numel() / channels;
        if (n < 2) throw new IllegalArgumentException("BatchNorm2d: training needs more than one value per channel, input is " + x.shape());
        Norm.Result r = relu ? Norm.batchNormRelu(x, weight, bias, eps) : Norm.batchNorm(x, weight, bias, eps);
        x.backend().batchNormRunningStats(runningMean, runningVar, numBatchesTracked, r.mean().value(), r.var().value(), momentum, n / (n - 1.0));
        return r.y();
    }

    private Var evalForward(Var x) {
        Var invStd = Pointwise.div(weight, Pointwise.sqrt(Pointwise.affine(Var.constant(runningVar), 1, eps)));
        Var shift = Pointwise.sub(bias, Pointwise.mul(Var.constant(runningMean), invStd));
        Var y = Pointwise.mul(x, Layout.reshape(invStd, 1, channels, 1, 1));
        return Pointwise.add(y, Layout.reshape(shift, 1, channels, 1, 1));
    }
}
