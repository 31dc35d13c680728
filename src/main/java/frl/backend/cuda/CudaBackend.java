package frl.backend.cuda;

import frl.backend.Backend;
import frl.backend.BinaryOp;
import frl.backend.ConvGeometry;
import frl.backend.Rng;
import frl.backend.Shapes;
import frl.backend.Shift;
import frl.backend.UnaryOp;
import frl.tensor.DType;
import frl.tensor.Device;
import frl.tensor.Shape;
import frl.tensor.Tensor;

/**
 * The CUDA backend: float32 tensors in device memory, every op queued on one stream. cuDNN convolutions,
 * cuBLAS GEMM, hand-written kernels (src/main/cuda) for the rest. Each op family lives in its own class with
 * a CPU twin in frl.backend.cpu; this one only checks devices and dispatches. Construct it only after
 * {@link DriverProbe} found a GPU (see {@link frl.backend.Backends}).
 */
public final class CudaBackend implements Backend {
    /** TF32 tensor-core math for cuDNN and cuBLAS: off unless -Dfrl.cuda.tf32=true. */
    static final boolean TF32 = Boolean.getBoolean("frl.cuda.tf32");
    private static volatile CudaBackend instance;
    private final CudaContext ctx;
    private final CudaClock clock;

    private CudaBackend(CudaContext ctx) {
        this.ctx = ctx;
        this.clock = new CudaClock(ctx);
        // Fail here, with the reason, rather than in the middle of a run: a build without kernels, or a
        // machine without cuBLAS, cuDNN or cuFFT (then --device auto falls back to the CPU).
        ctx.module("pointwise");
        ctx.cublas();
        ctx.cudnn();
        org.bytedeco.javacpp.Loader.load(org.bytedeco.cuda.global.cufft.class);
    }

    /** The backend on device 0, creating the context on first use. */
    public static CudaBackend instance() {
        CudaBackend b = instance;
        if (b == null) {
            synchronized (CudaBackend.class) {
                if (instance == null) instance = new CudaBackend(CudaContext.get());
                b = instance;
            }
        }
        return b;
    }

    public CudaContext context() { return ctx; }

    @Override public String name() { return "cuda"; }

    @Override public Device device() { return Device.CUDA; }

    @Override public long memoryBytes() { return ctx.totalMemory(); }

    @Override public DType dtype() { return DType.F32; }

    @Override public void synchronize() { ctx.synchronize(); }

    @Override public frl.backend.DeviceClock clock() { return clock; }

    /** A CUDA graph of the step (see {@link CudaGraph}); run the step once eagerly first. */
    @Override public frl.backend.StepGraph capture(Runnable step) { return CudaGraph.capture(ctx, step); }

    static Tensor alloc(Shape s) { return Tensor.wrap(new DeviceStorage(CudaContext.get(), s.numel() * 4), s, DType.F32); }

    static Tensor in(String op, Tensor t) {
        if (t.dtype() != DType.F32 || !t.device().equals(Device.CUDA))
            throw new IllegalArgumentException(op + ": the cuda backend takes F32 cuda tensors, got " + t);
        return t;
    }

    /** {@link #in} where the operand may be absent (null). */
    static Tensor optional(String op, Tensor t) { return t == null ? null : in(op, t); }

    @Override public Tensor empty(Shape shape) { return alloc(shape); }

    @Override public Tensor empty64(Shape shape) { return Tensor.wrap(new DeviceStorage(ctx, shape.numel() * 8), shape, DType.F64); }

    /** A tensor of any dtype on this backend's device. */
    private static Tensor on(String op, Tensor t) {
        if (!t.device().equals(Device.CUDA)) throw new IllegalArgumentException(op + ": the cuda backend takes cuda tensors, got " + t);
        return t;
    }

    @Override public Tensor full(Shape shape, double value) {
        Tensor t = alloc(shape);
        CudaPointwise.fill(t, (float) value);
        return t;
    }

    @Override public Tensor fromHost(Shape shape, double[] values) { return alloc(shape).copyFrom(values); }

    @Override public Tensor fromHost(Shape shape, float[] values) { return alloc(shape).copyFrom(values); }

    @Override public void fill(Tensor t, double value) { CudaPointwise.fill(in("fill", t), (float) value); }

    @Override public void copyInto(Tensor src, Tensor dst) {
        Shapes.requireSameSize("copyInto", in("copyInto", src), in("copyInto", dst));
        CudaPointwise.copy(src, dst);
    }

    @Override public void copyAll(Tensor[] src, Tensor[] dst) {
        for (Tensor t : src) in("copyAll", t);
        for (Tensor t : dst) in("copyAll", t);
        CudaPointwise.copyAll(src, dst);
    }

    @Override public Tensor unary(UnaryOp op, Tensor x, double a, double b) { return CudaPointwise.unary(op, in("unary", x), a, b); }

    @Override public Tensor unaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor dy, double a, double b) {
        return CudaPointwise.unaryBackward(op, in("unaryBackward", x), in("unaryBackward", y), in("unaryBackward", dy), a, b);
    }

    @Override public Tensor binary(BinaryOp op, Tensor a, Tensor b) { return CudaPointwise.binary(op, in("binary", a), in("binary", b)); }

    @Override public Tensor binaryBackward(BinaryOp op, Tensor a, Tensor b, Tensor out, Tensor dy, boolean wrtA) {
        return CudaPointwise.binaryBackward(op, in("binaryBackward", a), in("binaryBackward", b), in("binaryBackward", out), in("binaryBackward", dy), wrtA);
    }

    @Override public Tensor affine(Tensor x, double alpha, double beta) { return CudaPointwise.affine(in("affine", x), (float) alpha, (float) beta); }

    @Override public void axpy(double alpha, Tensor x, Tensor y) { CudaPointwise.axpy((float) alpha, in("axpy", x), in("axpy", y)); }

    @Override public Tensor sumTo(Tensor x, Shape shape) { return CudaReduce.sumTo(in("sumTo", x), shape); }

    @Override public Tensor broadcastTo(Tensor x, Shape shape) { return CudaReduce.broadcastTo(in("broadcastTo", x), shape); }

    @Override public Tensor logSumExp(Tensor x, int axis) { return CudaReduce.logSumExp(in("logSumExp", x), axis); }

    @Override public Tensor matmul(Tensor a, boolean transA, Tensor b, boolean transB) {
        return CudaBlas.matmul(in("matmul", a), transA, in("matmul", b), transB);
    }

    @Override public Tensor conv2d(Tensor x, Tensor w, ConvGeometry g) { return CudaConv.conv2d(in("conv2d", x), in("conv2d", w), g); }

    @Override public Tensor conv2dBackwardInput(Tensor dy, Tensor w, Shape xShape, ConvGeometry g) {
        return CudaConv.backwardInput(in("conv2dBackwardInput", dy), in("conv2dBackwardInput", w), xShape, g);
    }

    @Override public Tensor conv2dBackwardWeight(Tensor x, Tensor dy, Shape wShape, ConvGeometry g) {
        return CudaConv.backwardWeight(in("conv2dBackwardWeight", x), in("conv2dBackwardWeight", dy), wShape, g);
    }

    @Override public Tensor toPhases(Tensor x, ConvGeometry g) { return CudaSubPixel.toPhases(in("toPhases", x), g); }

    @Override public Tensor fromPhases(Tensor phases, Shape xShape, ConvGeometry g) { return CudaSubPixel.fromPhases(in("fromPhases", phases), xShape, g); }

    @Override public boolean convolvesInPhases(Shape w, ConvGeometry g) { return CudaSubPixel.convolvesInPhases(w, g); }

    @Override public Tensor conv2dBackwardInputToPhases(Tensor dy, Tensor w, Shape xShape, ConvGeometry g) {
        return CudaConv.backwardInputToPhases(in("conv2dBackwardInputToPhases", dy), in("conv2dBackwardInputToPhases", w), xShape, g);
    }

    @Override public Tensor conv2dFromPhases(Tensor xPhases, Tensor w, Shape xShape, ConvGeometry g) {
        return CudaConv.conv2dFromPhases(in("conv2dFromPhases", xPhases), in("conv2dFromPhases", w), xShape, g);
    }

    @Override public Tensor[] conv2dFromPhasesWithWeightGrad(Tensor xPhases, Tensor w, Tensor dy, Shape xShape, ConvGeometry g) {
        String op = "conv2dFromPhasesWithWeightGrad";
        return CudaConv.conv2dFromPhasesWithWeightGrad(in(op, xPhases), in(op, w), in(op, dy), xShape, g);
    }

    @Override public Tensor conv2dBackwardWeightFromPhases(Tensor xPhases, Tensor dy, Shape xShape, Shape wShape, ConvGeometry g) {
        return CudaConv.backwardWeightFromPhases(in("conv2dBackwardWeightFromPhases", xPhases), in("conv2dBackwardWeightFromPhases", dy), xShape, wShape, g);
    }

    @Override public Tensor shiftedConv2d(Tensor x, Tensor w, Shift s) {
        return CudaShiftedConv.forward(in("shiftedConv2d", x), in("shiftedConv2d", w), s);
    }

    @Override public Tensor shiftedConv2dBackwardInput(Tensor dy, Tensor w, Shape xShape, Shift s) {
        return CudaShiftedConv.backwardInput(in("shiftedConv2dBackwardInput", dy), in("shiftedConv2dBackwardInput", w), xShape, s);
    }

    @Override public Tensor shiftedConv2dBackwardWeight(Tensor x, Tensor dy, Shape wShape, Shift s) {
        return CudaShiftedConv.backwardWeight(in("shiftedConv2dBackwardWeight", x), in("shiftedConv2dBackwardWeight", dy), wShape, s);
    }

    /** Under -Dfrl.cuda.shiftedKernel=mma, the tensor-core forward that reads concatElu(x) as it loads x (or, where faster, the two ops); else the two ops. */
    @Override public Tensor shiftedConv2dOfConcatElu(Tensor x, Tensor w, Shift s) {
        if (!CudaShiftedConv.tensorCores() || !CudaFused.on()) return Backend.super.shiftedConv2dOfConcatElu(x, w, s);
        return CudaShiftedConv.forwardOfConcatElu(in("shiftedConv2dOfConcatElu", x), in("shiftedConv2dOfConcatElu", w), s);
    }

    @Override public BatchNormResult batchNorm(Tensor x, Tensor gamma, Tensor beta, double eps) {
        return CudaNorm.forward(in("batchNorm", x), in("batchNorm", gamma), in("batchNorm", beta), eps);
    }

    /** The running statistics in one launch, not six (-Dfrl.cuda.bnstats=per-op: the axpys; both passed on an H200, 2026-11-27). */
    @Override public void batchNormRunningStats(Tensor runningMean, Tensor runningVar, Tensor count, Tensor mean, Tensor var, double momentum, double varScale) {
        if (CudaFlags.oneOf("frl.cuda.bnstats", "one-launch", "per-op", "one-launch").equals("per-op")) {
            Backend.super.batchNormRunningStats(runningMean, runningVar, count, mean, var, momentum, varScale);
            return;
        }
        String op = "batchNormRunningStats";
        CudaNorm.runningStats(in(op, runningMean), in(op, runningVar), in(op, count), in(op, mean), in(op, var), momentum, varScale);
    }

    @Override public boolean fusesBatchNormRelu() { return CudaNorm.fusedRelu(); }

    @Override public BatchNormResult batchNormRelu(Tensor x, Tensor gamma, Tensor beta, double eps) {
        return CudaNorm.forward(in("batchNormRelu", x), in("batchNormRelu", gamma), in("batchNormRelu", beta), eps, true);
    }

    @Override public BatchNormGrads batchNormReluBackward(Tensor x, Tensor gamma, Tensor mean, Tensor var, double eps, Tensor y, Tensor dy) {
        String op = "batchNormReluBackward";
        return CudaNorm.backward(in(op, x), in(op, gamma), in(op, mean), in(op, var), eps, in(op, y), in(op, dy));
    }

    @Override public BatchNormGrads batchNormBackward(Tensor x, Tensor gamma, Tensor mean, Tensor var, double eps, Tensor dy) {
        return CudaNorm.backward(in("batchNormBackward", x), in("batchNormBackward", gamma), in("batchNormBackward", mean),
                in("batchNormBackward", var), eps, in("batchNormBackward", dy));
    }

    // The layers' fused ops (fused.cu), unless -Dfrl.cuda.fusedOps=composed or a tensor is too large for its indices.

    @Override public Tensor biasRelu(Tensor z, Tensor bias) {
        return CudaFused.applies(z.shape()) ? CudaFused.biasRelu(in("biasRelu", z), in("biasRelu", bias)) : Backend.super.biasRelu(z, bias);
    }

    @Override public Tensor[] biasReluBackward(Tensor y, Tensor dy) {
        Tensor[] g = CudaFused.applies(y.shape()) ? CudaReduce.reluBackwardSumTo(in("biasReluBackward", y), in("biasReluBackward", dy)) : null;
        return g != null ? g : Backend.super.biasReluBackward(y, dy);
    }

    @Override public Tensor concatElu(Tensor x) {
        return CudaFused.applies(x.shape()) ? CudaFused.concatElu(in("concatElu", x)) : Backend.super.concatElu(x);
    }

    @Override public Tensor concatEluBackward(Tensor x, Tensor y, Tensor dy) {
        String op = "concatEluBackward";
        return CudaFused.applies(x.shape()) ? CudaFused.concatEluBackward(in(op, x), in(op, y), in(op, dy)) : Backend.super.concatEluBackward(x, y, dy);
    }

    @Override public Tensor gate(Tensor h, Tensor bias, Tensor residual) {
        if (!CudaFused.applies(Shapes.half("gate", h.shape()))) return Backend.super.gate(h, bias, residual);
        return CudaFused.gate(in("gate", h), optional("gate", bias), optional("gate", residual));
    }

    @Override public Tensor gateBackward(Tensor h, Tensor bias, Tensor dy) {
        if (!CudaFused.applies(dy.shape())) return Backend.super.gateBackward(h, bias, dy);
        return CudaFused.gateBackward(in("gateBackward", h), optional("gateBackward", bias), in("gateBackward", dy));
    }

    @Override public Tensor biasedSum(Tensor a, Tensor biasA, Tensor b, Tensor biasB) {
        if (!CudaFused.applies(a.shape())) return Backend.super.biasedSum(a, biasA, b, biasB);
        String op = "biasedSum";
        return CudaFused.biasedSum(in(op, a), in(op, biasA), in(op, b), in(op, biasB));
    }

    @Override public Tensor coupling(Tensor xb, Tensor h) {
        return CudaFused.applies(xb.shape()) ? CudaFused.coupling(in("coupling", xb), in("coupling", h)) : Backend.super.coupling(xb, h);
    }

    @Override public Tensor[] couplingBackward(Tensor xb, Tensor h, Tensor dy) {
        String op = "couplingBackward";
        return CudaFused.applies(xb.shape()) ? CudaFused.couplingBackward(in(op, xb), in(op, h), in(op, dy)) : Backend.super.couplingBackward(xb, h, dy);
    }

    @Override public Tensor couplingLogdet(Tensor h) {
        return CudaFused.applies(Shapes.half("couplingLogdet", h.shape())) ? CudaFused.couplingLogdet(in("couplingLogdet", h)) : Backend.super.couplingLogdet(h);
    }

    @Override public Tensor couplingLogdetBackward(Tensor h, Tensor dlogdet) {
        String op = "couplingLogdetBackward";
        return CudaFused.applies(Shapes.half(op, h.shape())) ? CudaFused.couplingLogdetBackward(in(op, h), in(op, dlogdet))
                : Backend.super.couplingLogdetBackward(h, dlogdet);
    }

    @Override public boolean fusesWeightNorm() { return CudaFused.on(); }

    @Override public Tensor weightNorm(Tensor v, Tensor g) { return CudaFused.weightNorm(in("weightNorm", v), in("weightNorm", g)); }

    @Override public Tensor[] weightNormBackward(Tensor v, Tensor g, Tensor dw) {
        String op = "weightNormBackward";
        return CudaFused.weightNormBackward(in(op, v), in(op, g), in(op, dw));
    }

    @Override public Tensor concat(Tensor[] xs, int axis) {
        for (Tensor t : xs) in("concat", t);
        return CudaLayout.concat(xs, axis);
    }

    @Override public Tensor narrow(Tensor x, int axis, int start, int length) { return CudaLayout.narrow(in("narrow", x), axis, start, length); }

    @Override public Tensor pad(Tensor x, int[] before, int[] after, double value) { return CudaLayout.pad(in("pad", x), before, after, (float) value); }

    @Override public Tensor spaceToDepth(Tensor x, int f) { return CudaLayout.spaceToDepth(in("spaceToDepth", x), f); }

    @Override public Tensor depthToSpace(Tensor x, int f) { return CudaLayout.depthToSpace(in("depthToSpace", x), f); }

    @Override public Tensor crossEntropy(Tensor logits, Tensor targets, int axis) {
        return CudaLoss.crossEntropy(in("crossEntropy", logits), in("crossEntropy", targets), axis);
    }

    @Override public Tensor crossEntropyBackward(Tensor logits, Tensor targets, Tensor dloss, int axis) {
        return CudaLoss.crossEntropyBackward(in("crossEntropyBackward", logits), in("crossEntropyBackward", targets), in("crossEntropyBackward", dloss), axis);
    }

    @Override public Tensor mixtureNll(Tensor x, Tensor params, int mixtures) {
        return CudaMixture.nll(in("mixtureNll", x), in("mixtureNll", params), mixtures);
    }

    @Override public Tensor mixtureNllBackward(Tensor x, Tensor params, int mixtures, Tensor dnll) {
        String op = "mixtureNllBackward";
        return CudaMixture.nllBackward(in(op, x), in(op, params), mixtures, in(op, dnll));
    }

    @Override public boolean fusesActNormConv1x1() { return CudaConv1x1.actNormFused(); }

    /** Under -Dfrl.cuda.actNormConv=fused, where the 1×1 kernels apply, one pass (CudaConv1x1); else its parts. */
    @Override public Tensor actNormConv1x1(Tensor x, Tensor bias, Tensor logs, Tensor w) {
        String op = "actNormConv1x1";
        if (actNormKernels(op, x, bias, logs, w)) return CudaConv1x1.actNormForward(x, bias, logs, w);
        return Backend.super.actNormConv1x1(x, bias, logs, w);
    }

    @Override public ActNormConvGrads actNormConv1x1Backward(Tensor x, Tensor bias, Tensor logs, Tensor w, Tensor dy) {
        String op = "actNormConv1x1Backward";
        if (actNormKernels(op, x, bias, logs, w)) {
            Shape ys = Shapes.conv2d(x.shape(), w.shape(), ConvGeometry.of(1, 0));
            if (!in(op, dy).shape().equals(ys)) throw new IllegalArgumentException(op + ": dy " + dy.shape() + ", expected " + ys);
            return CudaConv1x1.actNormBackward(x, bias, logs, w, dy);
        }
        return Backend.super.actNormConv1x1Backward(x, bias, logs, w, dy);
    }

    /** The switch on, the 1×1 kernels take x (not empty: its parts handle that) and w, and bias and logs are [1,C,1,1] on the GPU. */
    private static boolean actNormKernels(String op, Tensor x, Tensor bias, Tensor logs, Tensor w) {
        if (!CudaConv1x1.actNormFused() || x.numel() == 0 || !CudaConv1x1.applies(x.shape(), w.shape(), ConvGeometry.of(1, 0))) return false;
        Shape perChannel = Shape.of(1, x.dim(1), 1, 1);
        in(op, x);
        in(op, w);
        return in(op, bias).shape().equals(perChannel) && in(op, logs).shape().equals(perChannel);
    }

    /** Under -Dfrl.cuda.ceParts=fused, by one sub-pixel plan where it takes both gradients (CudaSubPixel.crossEntropyGrads); else the two ops. */
    @Override public Tensor[] crossEntropyOfPhasesBackward(Tensor logits, Tensor targets, Tensor dloss, int axis, Tensor w, Tensor dy, Shape xShape,
                                                           ConvGeometry g) {
        String op = "crossEntropyOfPhasesBackward";
        if (CudaSubPixel.crossEntropyFused() && axis == 2 && logits.shape().rank() == 4 && xShape.rank() == 4 && g.uniformPhases(xShape.dim(2), xShape.dim(3))
                && CudaConv.bothBySubPixel(op, in(op, logits).reshape(Shapes.phases(op, xShape, g)), in(op, w), in(op, dy), xShape, g))
            return CudaSubPixel.crossEntropyGrads(logits, in(op, targets), in(op, dloss), w, dy, xShape, g);
        return Backend.super.crossEntropyOfPhasesBackward(logits, targets, dloss, axis, w, dy, xShape, g);
    }

    @Override public Tensor uniform(Shape shape, double lo, double hi, Rng rng) { return CudaRandom.uniform(shape, lo, hi, rng); }

    @Override public Tensor normal(Shape shape, double mean, double std, Rng rng) { return CudaRandom.normal(shape, mean, std, rng); }

    @Override public void adamStep(Tensor param, Tensor grad, Tensor m, Tensor v, AdamConfig c, Tensor factors, int row) {
        CudaOptim.adam(in("adamStep", param), in("adamStep", grad), in("adamStep", m), in("adamStep", v), c, on("adamStep", factors), row);
    }

    /** Every parameter's update in one launch (-Dfrl.cuda.optimizer=per-tensor: one each; both passed on an H200, 2026-11-27). */
    @Override public void adamSteps(boolean max, Tensor[] params, Tensor[] grads, Tensor[] first, Tensor[] second, AdamConfig c, Tensor factors, int[] rows) {
        if (CudaFlags.oneOf("frl.cuda.optimizer", "one-launch", "per-tensor", "one-launch").equals("per-tensor")) {
            Backend.super.adamSteps(max, params, grads, first, second, c, factors, rows);
            return;
        }
        String op = max ? "adamaxSteps" : "adamSteps";
        for (Tensor[] list : new Tensor[][] {params, grads, first, second}) for (Tensor t : list) in(op, t);
        CudaOptim.steps(max, params, grads, first, second, c, on(op, factors), rows);
    }

    @Override public void adamaxStep(Tensor param, Tensor grad, Tensor m, Tensor u, AdamConfig c, Tensor factors, int row) {
        CudaOptim.adamax(in("adamaxStep", param), in("adamaxStep", grad), in("adamaxStep", m), in("adamaxStep", u), c, on("adamaxStep", factors), row);
    }
}
