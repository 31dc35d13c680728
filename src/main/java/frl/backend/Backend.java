package frl.backend;

import frl.tensor.Device;
import frl.tensor.DType;
import frl.tensor.Shape;
import frl.tensor.Tensor;

/**
 * The primitive op set every model is built from. Tensors are dense row-major; image tensors NCHW.
 * Each differentiable op has its backward twin here, or is differentiated by composing others
 * (stated on the op). Every method returns a new tensor owned by the innermost open scope, unless
 * it says "in place". Arguments are validated with errors that name the op, the shapes and the axis.
 */
public interface Backend {
    String name();

    Device device();

    /** The element type this backend computes in. */
    DType dtype();

    /**
     * The memory this backend's tensors live in, in bytes: here the host's (MemTotal of /proc/meminfo), or
     * Long.MAX_VALUE where that cannot be read; the CUDA backend gives its GPU's.
     */
    default long memoryBytes() { return HostMemory.totalBytes(); }

    /** Waits until every op queued so far has finished (a no-op where ops run synchronously); for timing. */
    default void synchronize() {}

    /** A clock on this backend's stream, or null where ops run at once (then host time is device time). */
    default DeviceClock clock() { return null; }

    /**
     * Records a step's device work for replay (see {@link StepGraph} for what the step may do). Nothing runs
     * until the first replay. Here each replay runs the step; the CUDA backend records a CUDA graph.
     */
    default StepGraph capture(Runnable step) { return StepGraph.rerun(step); }

    // ---- creation and transfer ------------------------------------------------------------------

    @NotDifferentiable("allocation") Tensor empty(Shape shape);

    @NotDifferentiable("allocation") Tensor full(Shape shape, double value);

    /** An uninitialised float64 tensor of this backend: values its kernels read in double (optimizer factors). */
    @NotDifferentiable("allocation") Tensor empty64(Shape shape);

    /** A tensor of this backend holding the given values (converted to {@link #dtype()}). */
    Tensor fromHost(Shape shape, double[] values);

    /** A tensor of this backend holding the given values (converted to {@link #dtype()}). */
    Tensor fromHost(Shape shape, float[] values);

    /** Fills a tensor in place. */
    @NotDifferentiable("in-place initialisation") void fill(Tensor t, double value);

    /** Copies {@code src} into {@code dst} in place (same number of elements). */
    @NotDifferentiable("in-place copy") void copyInto(Tensor src, Tensor dst);

    /**
     * copyInto(src[i], dst[i]) for every i, in as few launches as a backend can: a backward pass copies its parameters'
     * first gradients into their buffers in one call at its end (PixelCNN++ has 369; a launch each cost a GPU 1.45 ms
     * of a 62.7 ms step). By default each in turn.
     */
    @NotDifferentiable("in-place copy") default void copyAll(Tensor[] src, Tensor[] dst) {
        Shapes.requirePairs("copyAll", src, dst);
        for (int i = 0; i < src.length; i++) copyInto(src[i], dst[i]);
    }

    // ---- elementwise ----------------------------------------------------------------------------

    /** f(x) elementwise; a, b are the op's parameters (see {@link UnaryOp}). */
    Tensor unary(UnaryOp op, Tensor x, double a, double b);

    /** dy · f'(x) elementwise, given the forward input x and output y. */
    Tensor unaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor dy, double a, double b);

    /** f(a, b) with NumPy broadcasting. Backward: {@link #binaryBackward} then {@link #sumTo}. */
    Tensor binary(BinaryOp op, Tensor a, Tensor b);

    /**
     * dy · ∂f/∂a (wrtA) or dy · ∂f/∂b, in the broadcast output shape (reduce with {@link #sumTo}).
     */
    Tensor binaryBackward(BinaryOp op, Tensor a, Tensor b, Tensor out, Tensor dy, boolean wrtA);

    /** alpha · x + beta elementwise. Its own backward is affine(dy, alpha, 0). */
    Tensor affine(Tensor x, double alpha, double beta);

    /** y += alpha · x, in place (gradient accumulation); x may be y (then y ← (1 + alpha)·y). */
    @NotDifferentiable("in-place accumulation") void axpy(double alpha, Tensor x, Tensor y);

    // ---- reductions and broadcasts --------------------------------------------------------------

    /** Sums x down to a shape it broadcasts from (same rank or fewer, size-1 axes summed). Backward: broadcastTo. */
    Tensor sumTo(Tensor x, Shape shape);

    /** Repeats x along its size-1 (or missing leading) axes. Backward: sumTo. */
    Tensor broadcastTo(Tensor x, Shape shape);

    /** log Σ exp over one axis, kept with size 1. Backward composed: dy · exp(x − out). */
    Tensor logSumExp(Tensor x, int axis);

    // ---- linear algebra -------------------------------------------------------------------------

    /** op(a) · op(b) for 2-D tensors, op = transpose when the flag is set. Backward: matmul again. */
    Tensor matmul(Tensor a, boolean transA, Tensor b, boolean transB);

    /** Cross-correlation of x [N,C,H,W] with w [K,C,kh,kw] (no bias). */
    Tensor conv2d(Tensor x, Tensor w, ConvGeometry g);

    /** Gradient of conv2d wrt its input, of shape {@code xShape}; also the forward of a transposed conv. */
    Tensor conv2dBackwardInput(Tensor dy, Tensor w, Shape xShape, ConvGeometry g);

    /** Gradient of conv2d wrt its weight, of shape {@code wShape}. */
    Tensor conv2dBackwardWeight(Tensor x, Tensor dy, Shape wShape, ConvGeometry g);

    /**
     * PixelCNN++'s shifted (causal) convolution, stride 1: x [N,C,H,W] zero-padded by kh−1 rows on top and by
     * {@link Shift#left}/{@link Shift#right} columns, then cross-correlated with w [K,C,kh,kw] (no bias); the
     * output is [N,K,H,W].
     */
    Tensor shiftedConv2d(Tensor x, Tensor w, Shift s);

    /** Gradient of shiftedConv2d wrt its input, of shape {@code xShape}. */
    Tensor shiftedConv2dBackwardInput(Tensor dy, Tensor w, Shape xShape, Shift s);

    /** Gradient of shiftedConv2d wrt its weight, of shape {@code wShape}. */
    Tensor shiftedConv2dBackwardWeight(Tensor x, Tensor dy, Shape wShape, Shift s);

    /**
     * shiftedConv2d(concatElu(x), w, s), w [K, 2C, kh, kw] for x [N, C, H, W] (PixelCNN++'s gated blocks: each
     * convolution reads a concat-ELU), where a backend's kernel can take elu(±x) as it loads x and never write the
     * 2C channels. For passes that keep no gradients (scoring); training composes the two ops. By default those ops.
     */
    default Tensor shiftedConv2dOfConcatElu(Tensor x, Tensor w, Shift s) {
        try (Tensor c = concatElu(x)) {
            return shiftedConv2d(c, w, s);
        }
    }

    // ---- a strided transposed convolution's output in its sub-pixel phases ------------------------

    /**
     * x [N,C,H,W] cut into the sub-pixel phases of g: [sh·sw, C, N, qh·qw], phase ry·sw + rx holding pixel
     * ((qy0 + a)·sh + ry − padH, (qx0 + b)·sw + rx − padW) at (a, b) row-major ({@link ConvGeometry#subPixelPhases};
     * all phases must be the same size, {@link ConvGeometry#uniformPhases}). A transposed conv whose stride divides
     * its kernel computes each phase as one GEMM, so a loss that only sums over pixels can read its output in this
     * layout and nothing is scattered to NCHW and gathered back. Backward: fromPhases.
     */
    Tensor toPhases(Tensor x, ConvGeometry g);

    /** The inverse of {@link #toPhases}, back to [N,C,H,W] = {@code xShape}. Backward: toPhases. */
    Tensor fromPhases(Tensor phases, Shape xShape, ConvGeometry g);

    /**
     * Whether this backend computes the three phase convolutions below for weights of shape w directly; if not,
     * they are the NCHW op plus a layout change, and a caller that can take either layout should take NCHW.
     */
    default boolean convolvesInPhases(Shape w, ConvGeometry g) { return false; }

    /** toPhases(conv2dBackwardInput(dy, w, xShape, g), g), without the NCHW tensor where the backend can. */
    Tensor conv2dBackwardInputToPhases(Tensor dy, Tensor w, Shape xShape, ConvGeometry g);

    /** conv2d(fromPhases(xPhases, xShape, g), w, g), likewise. */
    Tensor conv2dFromPhases(Tensor xPhases, Tensor w, Shape xShape, ConvGeometry g);

    /** conv2dBackwardWeight(fromPhases(xPhases, xShape, g), dy, wShape, g), likewise. */
    Tensor conv2dBackwardWeightFromPhases(Tensor xPhases, Tensor dy, Shape xShape, Shape wShape, ConvGeometry g);

    /**
     * {conv2dFromPhases(xPhases, w, xShape, g), conv2dBackwardWeightFromPhases(xPhases, dy, xShape, w.shape(), g)}:
     * a transposed convolution's two gradients from its output's gradient in phases, which a backend may compute
     * together (the CUDA backend's 3xTF32 GEMMs then split xPhases once).
     */
    default Tensor[] conv2dFromPhasesWithWeightGrad(Tensor xPhases, Tensor w, Tensor dy, Shape xShape, ConvGeometry g) {
        return new Tensor[] {conv2dFromPhases(xPhases, w, xShape, g), conv2dBackwardWeightFromPhases(xPhases, dy, xShape, w.shape(), g)};
    }

    /**
     * Glow's actnorm then its 1×1 convolution as one op: conv2d((x + bias)·exp(logs), w), x [N,C,H,W], bias and logs
     * [1,C,1,1], w [K,C,1,1]. By default the ops it is made of, in the order the two layers run them.
     */
    default Tensor actNormConv1x1(Tensor x, Tensor bias, Tensor logs, Tensor w) {
        return conv2d(binary(BinaryOp.MUL, binary(BinaryOp.ADD, x, bias), unary(UnaryOp.EXP, logs, 0, 0)), w, ConvGeometry.of(1, 0));
    }

    /** Whether {@link #actNormConv1x1} is one op here (so that Glow's folded layer takes it); no: its parts. */
    default boolean fusesActNormConv1x1() { return false; }

    /**
     * The gradients of {@link #actNormConv1x1} for dy: with a = x + bias, s = exp(logs) and dn = conv2dBackwardInput(dy,
     * w): dx = dn·s, dbias = Σ dx over N, H, W, dlogs = s·Σ dn·a, dw = conv2dBackwardWeight(a·s, dy).
     */
    default ActNormConvGrads actNormConv1x1Backward(Tensor x, Tensor bias, Tensor logs, Tensor w, Tensor dy) {
        ConvGeometry one = ConvGeometry.of(1, 0);
        Tensor a = binary(BinaryOp.ADD, x, bias), s = unary(UnaryOp.EXP, logs, 0, 0), dn = conv2dBackwardInput(dy, w, x.shape(), one);
        Tensor dx = binary(BinaryOp.MUL, dn, s);
        return new ActNormConvGrads(dx, sumTo(dx, bias.shape()), binary(BinaryOp.MUL, sumTo(binary(BinaryOp.MUL, dn, a), logs.shape()), s),
                conv2dBackwardWeight(binary(BinaryOp.MUL, a, s), dy, w.shape(), one));
    }

    record ActNormConvGrads(Tensor dx, Tensor dbias, Tensor dlogs, Tensor dw) {}

    /**
     * relu(z + bias), bias [C] added along axis 1 of z [N, C, ...]: a convolution's bias and the ReLU after it (Glow's
     * coupling network). By default the two ops.
     */
    default Tensor biasRelu(Tensor z, Tensor bias) {
        return unary(UnaryOp.RELU, binary(BinaryOp.ADD, z, bias.reshape(Shapes.channelBias("biasRelu", z.shape(), bias))), 0, 0);
    }

    /**
     * relu(conv2d(x, w) + bias), bias [K] per output channel: a convolution, its bias and the ReLU after it as one op,
     * so a backend can add the bias and clip as it writes the convolution's output (Glow's coupling network). Its
     * gradients are biasReluBackward's, then the convolution's. By default conv2d, then biasRelu.
     */
    default Tensor conv2dBiasRelu(Tensor x, Tensor w, Tensor bias, ConvGeometry g) {
        Tensor z = conv2d(x, w, g);
        Tensor y = biasRelu(z, bias);
        z.close();
        return y;
    }

    /**
     * {dz, dbias} for the gradient dy of y = biasRelu(z, bias): dz = dy where y &gt; 0, else 0, and dbias [C] = Σ dz over
     * every axis but 1. By default ReLU's backward and a sumTo.
     */
    default Tensor[] biasReluBackward(Tensor y, Tensor dy) {
        Tensor dz = unaryBackward(UnaryOp.RELU, y, y, dy, 0, 0);
        return new Tensor[] {dz, sumTo(dz, Shapes.channelAxis(y.shape())).reshape(Shape.of(y.shape().dim(1)))};
    }

    /**
     * elu([x, −x]) along axis 1 (PixelCNN++'s concat-ELU, ELU's alpha 1): [N, 2C, ...] from x [N, C, ...]. By default
     * its three ops.
     */
    default Tensor concatElu(Tensor x) {
        return unary(UnaryOp.ELU, concat(new Tensor[] {x, unary(UnaryOp.NEG, x, 0, 0)}, 1), 1, 0);
    }

    /** dx for the gradient dy of y = concatElu(x): dy₁·elu'(x) − dy₂·elu'(−x), halves along axis 1. By default ELU's backward and two narrows. */
    default Tensor concatEluBackward(Tensor x, Tensor y, Tensor dy) {
        int c = x.shape().dim(1);
        Tensor g = unaryBackward(UnaryOp.ELU, concat(new Tensor[] {x, unary(UnaryOp.NEG, x, 0, 0)}, 1), y, dy, 1, 0);
        return binary(BinaryOp.SUB, narrow(g, 1, 0, c), narrow(g, 1, c, c));
    }

    /**
     * residual + h₁·sigmoid(h₂), [h₁, h₂] = h + bias, h's halves along axis 1 (PixelCNN++'s gated block: h is conv_out's
     * output before its bias [2C], residual the block's input): [N, C, ...] from h [N, 2C, ...]. A null bias or residual
     * is none. By default its ops: the bias add, narrows, sigmoid, product and sum.
     */
    default Tensor gate(Tensor h, Tensor bias, Tensor residual) {
        int c = Shapes.half("gate", h.shape()).dim(1);
        if (residual != null) Shapes.requireHalves("gate (residual vs h)", residual.shape(), h.shape());
        Tensor hb = bias == null ? h : binary(BinaryOp.ADD, h, bias.reshape(Shapes.channelBias("gate", h.shape(), bias)));
        Tensor g = binary(BinaryOp.MUL, narrow(hb, 1, 0, c), unary(UnaryOp.SIGMOID, narrow(hb, 1, c, c), 0, 0));
        return residual == null ? g : binary(BinaryOp.ADD, residual, g);
    }

    /**
     * dh for the gradient dy of gate(h, bias, residual): [dy·s, dy·h₁·s(1 − s)] with [h₁, h₂] = h + bias and s =
     * sigmoid(h₂) (the residual's gradient is dy, the bias's dh summed per channel). By default the ops' backwards.
     */
    default Tensor gateBackward(Tensor h, Tensor bias, Tensor dy) {
        int c = Shapes.half("gateBackward", h.shape()).dim(1);
        Tensor hb = bias == null ? h : binary(BinaryOp.ADD, h, bias.reshape(Shapes.channelBias("gateBackward", h.shape(), bias)));
        Tensor a = narrow(hb, 1, 0, c), b = narrow(hb, 1, c, c), s = unary(UnaryOp.SIGMOID, b, 0, 0);
        Tensor db = unaryBackward(UnaryOp.SIGMOID, b, s, binary(BinaryOp.MUL, dy, a), 0, 0);
        return concat(new Tensor[] {binary(BinaryOp.MUL, dy, s), db}, 1);
    }

    /**
     * (a + biasA) + (b + biasB), each bias [C] along axis 1 of a and b [N, C, ...] (PixelCNN++'s conv_input and
     * nin_skip outputs before their biases): what three adds give, in one pass where a backend fuses it. Its gradient
     * is dy for a and b, dy summed per channel for each bias. By default the three adds.
     */
    default Tensor biasedSum(Tensor a, Tensor biasA, Tensor b, Tensor biasB) {
        Shapes.requireSameShape("biasedSum", a, b);
        Shape channel = Shapes.channelBias("biasedSum", a.shape(), biasA);
        Shapes.channelBias("biasedSum", b.shape(), biasB);
        return binary(BinaryOp.ADD, binary(BinaryOp.ADD, a, biasA.reshape(channel)), binary(BinaryOp.ADD, b, biasB.reshape(channel)));
    }

    /**
     * Glow's affine coupling of x_b [N, C, ...] by h = [t, r] (h's halves along axis 1): (x_b + t)·sigmoid(r + 2). By
     * default its ops.
     */
    default Tensor coupling(Tensor xb, Tensor h) {
        int c = xb.shape().dim(1);
        return binary(BinaryOp.MUL, binary(BinaryOp.ADD, xb, narrow(h, 1, 0, c)), unary(UnaryOp.SIGMOID, affine(narrow(h, 1, c, c), 1, 2), 0, 0));
    }

    /** {dx_b, dh} for the gradient dy of coupling(x_b, h): with s = sigmoid(r + 2), dx_b = dy·s and dh = [dy·s, (dy·(x_b + t))·s(1 − s)]. */
    default Tensor[] couplingBackward(Tensor xb, Tensor h, Tensor dy) {
        int c = xb.shape().dim(1);
        Tensor s = unary(UnaryOp.SIGMOID, affine(narrow(h, 1, c, c), 1, 2), 0, 0), g = binary(BinaryOp.MUL, dy, s);
        Tensor dr = unaryBackward(UnaryOp.SIGMOID, s, s, binary(BinaryOp.MUL, dy, binary(BinaryOp.ADD, xb, narrow(h, 1, 0, c))), 0, 0);
        return new Tensor[] {g, concat(new Tensor[] {g, dr}, 1)};
    }

    /** The coupling's log-determinant per image [N]: Σ log sigmoid(r + 2) = −Σ softplus(−r − 2) over r, h's second half. */
    default Tensor couplingLogdet(Tensor h) {
        int c = h.shape().dim(1) / 2;
        Tensor soft = unary(UnaryOp.SOFTPLUS, unary(UnaryOp.NEG, affine(narrow(h, 1, c, c), 1, 2), 0, 0), 0, 0);
        return affine(sumTo(soft, Shapes.along(h.shape(), 0)), -1, 0).reshape(Shape.of(h.shape().dim(0)));
    }

    /** dh for the gradient dlogdet [N] of couplingLogdet(h): 0 for t, dlogdet·sigmoid(−r − 2) for r. */
    default Tensor couplingLogdetBackward(Tensor h, Tensor dlogdet) {
        int c = h.shape().dim(1) / 2;
        Tensor r = narrow(h, 1, c, c), minus = unary(UnaryOp.NEG, affine(r, 1, 2), 0, 0);
        Tensor dr = binary(BinaryOp.MUL, broadcastTo(dlogdet.reshape(Shapes.along(h.shape(), 0)), r.shape()), unary(UnaryOp.SIGMOID, minus, 0, 0));
        return concat(new Tensor[] {full(r.shape(), 0), dr}, 1);
    }

    // ---- PixelCNN++'s mixture ------------------------------------------------------------------------

    /**
     * −log p(x) per pixel, [N, 1, H, W], under PixelCNN++'s discretised logistic mixture of M components, x [N, C, H, W]
     * in [−1, 1] (byte/127.5 − 1), params [N, P, H, W] ({@link MixtureMath} states the model and the parameters'
     * order). By default MixtureMath on the host.
     */
    default Tensor mixtureNll(Tensor x, Tensor params, int mixtures) {
        Shape out = Shapes.mixtureNll("mixtureNll", x.shape(), params.shape(), mixtures);
        return fromHost(out, MixtureMath.nll(x.shape(), x.toDoubles(), params.toDoubles(), mixtures));
    }

    /** dparams for the gradient dnll [N, 1, H, W] of mixtureNll (x, the data, takes none). By default MixtureMath on the host. */
    default Tensor mixtureNllBackward(Tensor x, Tensor params, int mixtures, Tensor dnll) {
        Shapes.mixtureNllBackward(x.shape(), params.shape(), mixtures, dnll.shape());
        return fromHost(params.shape(), MixtureMath.backward(x.shape(), x.toDoubles(), params.toDoubles(), mixtures, dnll.toDoubles()));
    }

    // ---- normalisation --------------------------------------------------------------------------

    /** Training-mode batch norm over every axis but 1: y, and the batch mean and biased variance [C]. */
    BatchNormResult batchNorm(Tensor x, Tensor gamma, Tensor beta, double eps);

    BatchNormGrads batchNormBackward(Tensor x, Tensor gamma, Tensor mean, Tensor var, double eps, Tensor dy);

    /** Whether {@link #batchNormRelu} is one op here (so that a BatchNorm2d then ReLU in training takes it); no: its two ops. */
    default boolean fusesBatchNormRelu() { return false; }

    /** relu(batchNorm(x)) (UnaryOp.RELU) and the batch statistics: here the two ops, bit for bit; a backend may fuse them. */
    default BatchNormResult batchNormRelu(Tensor x, Tensor gamma, Tensor beta, double eps) {
        BatchNormResult r = batchNorm(x, gamma, beta, eps);
        return new BatchNormResult(unary(UnaryOp.RELU, r.y(), 0, 0), r.mean(), r.var());
    }

    /**
     * batchNormBackward of the gradient through the ReLU whose output is y (ReLU's unaryBackward: dy where its input,
     * so y, is positive, else 0): here the two ops, bit for bit; a backend may fuse them.
     */
    default BatchNormGrads batchNormReluBackward(Tensor x, Tensor gamma, Tensor mean, Tensor var, double eps, Tensor y, Tensor dy) {
        return batchNormBackward(x, gamma, mean, var, eps, unaryBackward(UnaryOp.RELU, y, y, dy, 0, 0));
    }

    /**
     * Folds a batch's statistics into running ones, in place: running ← running − momentum·running + momentum·batch
     * (the variance's batch term times {@code varScale}: n/(n−1) for the unbiased one), and count ← count + 1
     * (BatchNorm2d's num_batches_tracked). Here as the two axpys per statistic and the increment it stands for; CUDA
     * does all of it in one launch, with the same arithmetic (-Dfrl.cuda.bnstats=per-op: these ops).
     */
    @NotDifferentiable("in-place running statistics")
    default void batchNormRunningStats(Tensor runningMean, Tensor runningVar, Tensor count, Tensor mean, Tensor var, double momentum, double varScale) {
        Shapes.batchNormRunningStats(runningMean, runningVar, count, mean, var);
        axpy(-momentum, runningMean, runningMean);
        axpy(momentum, mean, runningMean);
        axpy(-momentum, runningVar, runningVar);
        axpy(momentum * varScale, var, runningVar);
        try (Tensor next = affine(count, 1, 1)) { copyInto(next, count); }
    }

    record BatchNormResult(Tensor y, Tensor mean, Tensor var) {}

    record BatchNormGrads(Tensor dx, Tensor dgamma, Tensor dbeta) {}

    /**
     * Whether {@link #weightNorm} is one op here, so that a weight-normalised layer takes it; no: the layer composes
     * it from elementwise ops on the tape (as the CPU does, for its bits).
     */
    default boolean fusesWeightNorm() { return false; }

    /**
     * Weight normalisation, w = g·v/‖v‖ per row of v [d0, ...] (the norm over every axis but the first), g [d0, 1, ...].
     * By default its ops.
     */
    default Tensor weightNorm(Tensor v, Tensor g) {
        Tensor norm = rowNorms(v);
        return binary(BinaryOp.MUL, v, binary(BinaryOp.DIV, g.reshape(norm.shape()), norm));
    }

    /** ‖v‖ per row of v [d0, ...], shape [d0, 1, ...]: weight normalisation's norms. */
    private Tensor rowNorms(Tensor v) {
        return unary(UnaryOp.SQRT, sumTo(unary(UnaryOp.SQUARE, v, 0, 0), Shapes.along(v.shape(), 0)), 0, 0);
    }

    /**
     * {dv, dg} for the gradient dw of w = weightNorm(v, g): with n = ‖v‖ and d = Σ dw·v per row, dg = d/n and
     * dv = (g/n)·dw − (d·g/n³)·v. By default its ops.
     */
    default Tensor[] weightNormBackward(Tensor v, Tensor g, Tensor dw) {
        Shape row = Shapes.along(v.shape(), 0);
        Tensor n = rowNorms(v), gr = g.reshape(row);
        Tensor d = sumTo(binary(BinaryOp.MUL, dw, v), row);
        Tensor k = binary(BinaryOp.DIV, binary(BinaryOp.MUL, d, gr), binary(BinaryOp.MUL, n, binary(BinaryOp.MUL, n, n)));
        Tensor dv = binary(BinaryOp.SUB, binary(BinaryOp.MUL, dw, binary(BinaryOp.DIV, gr, n)), binary(BinaryOp.MUL, v, k));
        return new Tensor[] {dv, binary(BinaryOp.DIV, d, n).reshape(g.shape())};
    }

    // ---- layout ---------------------------------------------------------------------------------

    /** Joins tensors along one axis; other axes must agree. Backward: narrow. */
    Tensor concat(Tensor[] xs, int axis);

    /** The slice [start, start+length) of one axis. Backward: pad with zeros. */
    Tensor narrow(Tensor x, int axis, int start, int length);

    /** Pads every axis i by before[i] and after[i] elements of {@code value}. Backward: narrow. */
    Tensor pad(Tensor x, int[] before, int[] after, double value);

    /**
     * Glow's squeeze: [N,C,H,W] → [N,C·f²,H/f,W/f], output channel c·f² + i·f + j holds pixel (f·h+i, f·w+j)
     * of channel c. Backward: depthToSpace.
     */
    Tensor spaceToDepth(Tensor x, int f);

    /** The inverse of {@link #spaceToDepth}. Backward: spaceToDepth. */
    Tensor depthToSpace(Tensor x, int f);

    // ---- losses ---------------------------------------------------------------------------------

    /**
     * Softmax cross-entropy with integer class targets, fused (probabilities never stored): logits have the
     * classes on {@code axis}; targets have the logits' shape without that axis and hold class indices.
     * Returns −log softmax(logits)[target] per element.
     */
    Tensor crossEntropy(Tensor logits, Tensor targets, int axis);

    /** dlogits = (softmax(logits) − onehot(target)) · dloss, in one pass. */
    Tensor crossEntropyBackward(Tensor logits, Tensor targets, Tensor dloss, int axis);

    /**
     * crossEntropy(logits, targets, 2) of the logits [R, C, classes, N·Q] that conv2dBackwardInputToPhases(dy, w, xShape,
     * g) gives, viewed with C groups of classes: −log softmax per position, [R, C, N·Q], where no gradient is wanted.
     * By default those two ops; a backend that {@link #fusesCrossEntropyOfPhases} need not store the logits.
     */
    default Tensor crossEntropyOfPhases(Tensor dy, Tensor w, Shape xShape, ConvGeometry g, Tensor targets, int classes) {
        Tensor[] both = crossEntropyOfPhasesAndLogits(dy, w, xShape, g, targets, classes);
        both[1].close();
        return both[0];
    }

    /**
     * {@link #crossEntropyOfPhases} and the logits it scored, for a backward: {the losses, the phases [R, C·classes, N,
     * Q]}. By default those two ops; a backend that {@link #fusesCrossEntropyOfPhases} scores each part of the logits
     * while it is in cache, rather than reading them back.
     */
    default Tensor[] crossEntropyOfPhasesAndLogits(Tensor dy, Tensor w, Shape xShape, ConvGeometry g, Tensor targets, int classes) {
        Tensor phases = conv2dBackwardInputToPhases(dy, w, xShape, g);
        Shape s = phases.shape();
        return new Tensor[] {crossEntropy(phases.reshape(Shape.of(s.dim(0), s.dim(1) / classes, classes, s.dim(2) * s.dim(3))), targets, 2), phases};
    }

    /** Whether {@link #crossEntropyOfPhases} is one op here, which the autograd layer then takes where no gradient is wanted. */
    default boolean fusesCrossEntropyOfPhases() { return false; }

    /**
     * The gradients {d(dy), dw} of Σ dloss · crossEntropy(logits, targets, axis), where the logits are a transposed
     * convolution's output in phases, conv2dBackwardInputToPhases(dy, w, xShape, g), viewed with the classes on axis:
     * crossEntropyBackward, viewed as the phases again, then conv2dFromPhasesWithWeightGrad. One op, so that a backend
     * need not write the logits' gradient as such (the CUDA backend may write it straight as its 3xTF32 GEMMs' parts).
     */
    default Tensor[] crossEntropyOfPhasesBackward(Tensor logits, Tensor targets, Tensor dloss, int axis, Tensor w, Tensor dy, Shape xShape,
                                                  ConvGeometry g) {
        Tensor dlogits = crossEntropyBackward(logits, targets, dloss, axis);
        return conv2dFromPhasesWithWeightGrad(dlogits.reshape(Shapes.phases("crossEntropyOfPhasesBackward", xShape, g)), w, dy, xShape, g);
    }

    // ---- random ---------------------------------------------------------------------------------

    /** Uniform in [lo, hi) from {@link Rng#uniform} at consecutive counters. */
    @NotDifferentiable("random draw") Tensor uniform(Shape shape, double lo, double hi, Rng rng);

    /** mean + std · N(0,1) from {@link Rng#normal} at consecutive indices. */
    @NotDifferentiable("random draw") Tensor normal(Shape shape, double mean, double std, Rng rng);

    // ---- optimizers (in place) ------------------------------------------------------------------

    /**
     * One Adam step (PyTorch semantics: weight decay is added to the gradient; bias-corrected) whose step factors
     * ({@link AdamConfig#factors}) are row {@code row} of {@code factors}, a float64 [rows, 2] tensor of this
     * backend ({@link #empty64}). The factors are read where the update runs, so a recorded step ({@link #capture})
     * replays the update with the factors written for each new step.
     */
    @NotDifferentiable("optimizer update") void adamStep(Tensor param, Tensor grad, Tensor m, Tensor v, AdamConfig c, Tensor factors, int row);

    /** One Adamax step (PyTorch semantics: u = max(β2·u, |g| + eps)); factors as for {@link #adamStep} (the second is unused). */
    @NotDifferentiable("optimizer update") void adamaxStep(Tensor param, Tensor grad, Tensor m, Tensor u, AdamConfig c, Tensor factors, int row);

    /**
     * adamStep (or, with {@code max}, adamaxStep) for several parameters at once: param i with grad i and moments
     * first i, second i, its factors in row rows[i]; all checked before any is updated. The CUDA backend can update
     * them all in one launch instead of one per parameter (-Dfrl.cuda.optimizer=per-tensor: one each).
     */
    @NotDifferentiable("optimizer update")
    default void adamSteps(boolean max, Tensor[] params, Tensor[] grads, Tensor[] first, Tensor[] second, AdamConfig c, Tensor factors, int[] rows) {
        Shapes.requireOptimizerSteps("adamSteps", params, grads, first, second, factors, rows); // all checked first: a bad one updates none
        for (int i = 0; i < params.length; i++) {
            if (max) adamaxStep(params[i], grads[i], first[i], second[i], c, factors, rows[i]);
            else adamStep(params[i], grads[i], first[i], second[i], c, factors, rows[i]);
        }
    }

    /** One Adam step at step count {@code step} (from 1). */
    default void adamStep(Tensor param, Tensor grad, Tensor m, Tensor v, AdamConfig c, long step) {
        double[] factors = c.factors("adamStep", step);
        try (Tensor f = empty64(Shape.of(1, 2)).copyFrom(factors)) { adamStep(param, grad, m, v, c, f, 0); }
    }

    /** One Adamax step at step count {@code step} (from 1). */
    default void adamaxStep(Tensor param, Tensor grad, Tensor m, Tensor u, AdamConfig c, long step) {
        double[] factors = c.factors("adamaxStep", step);
        try (Tensor f = empty64(Shape.of(1, 2)).copyFrom(factors)) { adamaxStep(param, grad, m, u, c, f, 0); }
    }

    record AdamConfig(double lr, double beta1, double beta2, double eps, double weightDecay) {
        public AdamConfig {
            if (!(lr >= 0) || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps >= 0) || !(weightDecay >= 0))
                throw new IllegalArgumentException("Adam/Adamax: invalid hyperparameters lr=" + lr + ", betas=(" + beta1 + ", " + beta2
                        + "), eps=" + eps + ", weight decay=" + weightDecay + " (need lr ≥ 0, 0 ≤ β < 1, eps ≥ 0, weight decay ≥ 0)");
        }

        public AdamConfig withLr(double newLr) { return new AdamConfig(newLr, beta1, beta2, eps, weightDecay); }

        /** The factors of step {@code step} (from 1): lr/(1−β1ᵗ) and √(1−β2ᵗ), in double as every backend uses them. */
        public double[] factors(String op, long step) {
            if (step < 1) throw new IllegalArgumentException(op + ": step counts from 1, got " + step);
            return new double[] {lr / (1 - Math.pow(beta1, step)), Math.sqrt(1 - Math.pow(beta2, step))};
        }
    }
}
