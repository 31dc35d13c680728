package frl.backend.cpu;

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
 * The CPU backend: float32 host tensors, OpenBLAS sgemm (or a pure-Java GEMM) under im2col convolutions,
 * Vector-API elementwise loops with a scalar fallback, parallel over the machine's cores. Each op family
 * lives in its own class; this one only checks dtypes and dispatches.
 */
public final class CpuBackend implements Backend {
    private static final CpuBackend INSTANCE = new CpuBackend();

    private CpuBackend() {}

    public static CpuBackend instance() { return INSTANCE; }

    @Override public String name() { return "cpu"; }

    @Override public Device device() { return Device.CPU; }

    @Override public DType dtype() { return DType.F32; }

    /** What the CPU backend runs on, for {@code frl info}. */
    public static java.util.Map<String, String> describe() {
        java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
        m.put("cpu threads", String.valueOf(Parallel.threads()));
        m.put("blas", Gemm.describe());
        m.put("vector api", VectorSupport.describe());
        return m;
    }

    static Tensor alloc(Shape s) { return Tensor.host(s, DType.F32, Device.CPU); }

    private static Tensor in(String op, Tensor t) {
        if (t.dtype() != DType.F32 || !t.device().equals(Device.CPU))
            throw new IllegalArgumentException(op + ": the cpu backend takes F32 cpu tensors, got " + t);
        return t;
    }

    /** {@link #in} where the operand may be absent (null). */
    private static Tensor optional(String op, Tensor t) { return t == null ? null : in(op, t); }

    @Override public Tensor empty(Shape shape) { return alloc(shape); }

    @Override public Tensor empty64(Shape shape) { return Tensor.host(shape, DType.F64, Device.CPU); }

    /** A tensor of any dtype on this backend's device. */
    private static Tensor on(String op, Tensor t) {
        if (!t.device().equals(Device.CPU)) throw new IllegalArgumentException(op + ": the cpu backend takes cpu tensors, got " + t);
        return t;
    }

    @Override public Tensor full(Shape shape, double value) {
        Tensor t = alloc(shape);
        CpuPointwise.fill(t, (float) value);
        return t;
    }

    @Override public Tensor fromHost(Shape shape, double[] values) { return alloc(shape).copyFrom(values); }

    @Override public Tensor fromHost(Shape shape, float[] values) { return alloc(shape).copyFrom(values); }

    @Override public void fill(Tensor t, double value) { CpuPointwise.fill(in("fill", t), (float) value); }

    @Override public void copyInto(Tensor src, Tensor dst) {
        Shapes.requireSameSize("copyInto", in("copyInto", src), in("copyInto", dst));
        java.lang.foreign.MemorySegment.copy(src.segment(), 0, dst.segment(), 0, src.numel() * 4);
    }

    @Override public Tensor unary(UnaryOp op, Tensor x, double a, double b) { return CpuPointwise.unary(op, in("unary", x), a, b); }

    @Override public Tensor unaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor dy, double a, double b) {
        return CpuPointwise.unaryBackward(op, in("unaryBackward", x), in("unaryBackward", y), in("unaryBackward", dy), a, b);
    }

    @Override public Tensor binary(BinaryOp op, Tensor a, Tensor b) { return CpuPointwise.binary(op, in("binary", a), in("binary", b)); }

    @Override public Tensor binaryBackward(BinaryOp op, Tensor a, Tensor b, Tensor out, Tensor dy, boolean wrtA) {
        return CpuPointwise.binaryBackward(op, in("binaryBackward", a), in("binaryBackward", b), in("binaryBackward", out), in("binaryBackward", dy), wrtA);
    }

    @Override public Tensor coupling(Tensor xb, Tensor h) { return CpuPointwise.coupling(in("coupling", xb), in("coupling", h)); }

    @Override public Tensor[] couplingBackward(Tensor xb, Tensor h, Tensor dy) {
        return CpuPointwise.couplingBackward(in("couplingBackward", xb), in("couplingBackward", h), in("couplingBackward", dy));
    }

    @Override public Tensor couplingLogdet(Tensor h) { return CpuPointwise.couplingLogdet(in("couplingLogdet", h)); }

    @Override public Tensor couplingLogdetBackward(Tensor h, Tensor dlogdet) {
        return CpuPointwise.couplingLogdetBackward(in("couplingLogdetBackward", h), in("couplingLogdetBackward", dlogdet));
    }

    @Override public Tensor gate(Tensor h, Tensor bias, Tensor residual) {
        return CpuPointwise.gate(in("gate", h), optional("gate", bias), optional("gate", residual));
    }

    @Override public Tensor gateBackward(Tensor h, Tensor bias, Tensor dy) {
        return CpuPointwise.gateBackward(in("gateBackward", h), optional("gateBackward", bias), in("gateBackward", dy));
    }

    @Override public Tensor biasedSum(Tensor a, Tensor biasA, Tensor b, Tensor biasB) {
        return CpuPointwise.biasedSum(in("biasedSum", a), in("biasedSum", biasA), in("biasedSum", b), in("biasedSum", biasB));
    }

    @Override public Tensor concatElu(Tensor x) { return CpuPointwise.concatElu(in("concatElu", x)); }

    @Override public Tensor concatEluBackward(Tensor x, Tensor y, Tensor dy) {
        return CpuPointwise.concatEluBackward(in("concatEluBackward", x), in("concatEluBackward", y), in("concatEluBackward", dy));
    }

    @Override public Tensor biasRelu(Tensor z, Tensor bias) { return CpuPointwise.biasRelu(in("biasRelu", z), in("biasRelu", bias)); }

    @Override public Tensor[] biasReluBackward(Tensor y, Tensor dy) { return CpuPointwise.biasReluBackward(in("biasReluBackward", y), in("biasReluBackward", dy)); }

    @Override public Tensor affine(Tensor x, double alpha, double beta) { return CpuPointwise.affine(in("affine", x), (float) alpha, (float) beta); }

    @Override public void axpy(double alpha, Tensor x, Tensor y) { CpuPointwise.axpy((float) alpha, in("axpy", x), in("axpy", y)); }

    @Override public Tensor sumTo(Tensor x, Shape shape) { return CpuReduce.sumTo(in("sumTo", x), shape); }

    @Override public Tensor broadcastTo(Tensor x, Shape shape) { return CpuReduce.broadcastTo(in("broadcastTo", x), shape); }

    @Override public Tensor logSumExp(Tensor x, int axis) { return CpuReduce.logSumExp(in("logSumExp", x), axis); }

    @Override public Tensor matmul(Tensor a, boolean transA, Tensor b, boolean transB) {
        return CpuConv.matmul(in("matmul", a), transA, in("matmul", b), transB);
    }

    @Override public Tensor conv2d(Tensor x, Tensor w, ConvGeometry g) { return CpuConv.conv2d(in("conv2d", x), in("conv2d", w), g); }

    @Override public Tensor conv2dBiasRelu(Tensor x, Tensor w, Tensor bias, ConvGeometry g) {
        Tensor y = CpuConv.directConv2dBiasRelu(in("conv2dBiasRelu", x), in("conv2dBiasRelu", w), in("conv2dBiasRelu", bias), g);
        return y != null ? y : Backend.super.conv2dBiasRelu(x, w, bias, g);
    }

    @Override public Tensor conv2dBackwardInput(Tensor dy, Tensor w, Shape xShape, ConvGeometry g) {
        return CpuConv.backwardInput(in("conv2dBackwardInput", dy), in("conv2dBackwardInput", w), xShape, g);
    }

    @Override public Tensor conv2dBackwardWeight(Tensor x, Tensor dy, Shape wShape, ConvGeometry g) {
        return CpuConv.backwardWeight(in("conv2dBackwardWeight", x), in("conv2dBackwardWeight", dy), wShape, g);
    }

    @Override public Tensor toPhases(Tensor x, ConvGeometry g) { return CpuLayout.toPhases(in("toPhases", x), g); }

    @Override public Tensor fromPhases(Tensor phases, Shape xShape, ConvGeometry g) { return CpuLayout.fromPhases(in("fromPhases", phases), xShape, g); }

    @Override public boolean convolvesInPhases(Shape w, ConvGeometry g) { return SubPixelPhases.applies(w, g); }

    @Override public Tensor conv2dBackwardInputToPhases(Tensor dy, Tensor w, Shape xShape, ConvGeometry g) {
        return SubPixelPhases.backwardInputToPhases(this, Gemm.active(), in("conv2dBackwardInputToPhases", dy), in("conv2dBackwardInputToPhases", w), xShape, g);
    }

    @Override public Tensor crossEntropyOfPhases(Tensor dy, Tensor w, Shape xShape, ConvGeometry g, Tensor targets, int classes) {
        String op = "crossEntropyOfPhases";
        Tensor[] fused = SubPixelPhases.crossEntropyOfPhases(in(op, dy), in(op, w), xShape, g, in(op, targets), classes, false);
        return fused != null ? fused[0] : Backend.super.crossEntropyOfPhases(dy, w, xShape, g, targets, classes);
    }

    @Override public Tensor[] crossEntropyOfPhasesAndLogits(Tensor dy, Tensor w, Shape xShape, ConvGeometry g, Tensor targets, int classes) {
        String op = "crossEntropyOfPhasesAndLogits";
        Tensor[] fused = SubPixelPhases.crossEntropyOfPhases(in(op, dy), in(op, w), xShape, g, in(op, targets), classes, true);
        return fused != null ? fused : Backend.super.crossEntropyOfPhasesAndLogits(dy, w, xShape, g, targets, classes);
    }

    @Override public boolean fusesCrossEntropyOfPhases() { return true; }

    @Override public Tensor[] crossEntropyOfPhasesBackward(Tensor logits, Tensor targets, Tensor dloss, int axis, Tensor w, Tensor dy, Shape xShape,
                                                           ConvGeometry g) {
        String op = "crossEntropyOfPhasesBackward";
        Tensor[] fused = SubPixelPhases.crossEntropyOfPhasesBackward(in(op, logits), in(op, targets), in(op, dloss), axis, in(op, w), in(op, dy), xShape, g);
        return fused != null ? fused : Backend.super.crossEntropyOfPhasesBackward(logits, targets, dloss, axis, w, dy, xShape, g);
    }

    @Override public Tensor conv2dFromPhases(Tensor xPhases, Tensor w, Shape xShape, ConvGeometry g) {
        return SubPixelPhases.conv2dFromPhases(this, Gemm.active(), in("conv2dFromPhases", xPhases), in("conv2dFromPhases", w), xShape, g);
    }

    @Override public Tensor conv2dBackwardWeightFromPhases(Tensor xPhases, Tensor dy, Shape xShape, Shape wShape, ConvGeometry g) {
        return SubPixelPhases.backwardWeightFromPhases(this, Gemm.active(), in("conv2dBackwardWeightFromPhases", xPhases),
                in("conv2dBackwardWeightFromPhases", dy), xShape, wShape, g);
    }

    @Override public Tensor shiftedConv2d(Tensor x, Tensor w, Shift s) { return CpuConv.shiftedConv2d(in("shiftedConv2d", x), in("shiftedConv2d", w), s); }

    @Override public Tensor shiftedConv2dBackwardInput(Tensor dy, Tensor w, Shape xShape, Shift s) {
        return CpuConv.shiftedBackwardInput(in("shiftedConv2dBackwardInput", dy), in("shiftedConv2dBackwardInput", w), xShape, s);
    }

    @Override public Tensor shiftedConv2dBackwardWeight(Tensor x, Tensor dy, Shape wShape, Shift s) {
        return CpuConv.shiftedBackwardWeight(in("shiftedConv2dBackwardWeight", x), in("shiftedConv2dBackwardWeight", dy), wShape, s);
    }

    @Override public BatchNormResult batchNorm(Tensor x, Tensor gamma, Tensor beta, double eps) {
        return CpuNorm.forward(in("batchNorm", x), in("batchNorm", gamma), in("batchNorm", beta), eps);
    }

    @Override public BatchNormGrads batchNormBackward(Tensor x, Tensor gamma, Tensor mean, Tensor var, double eps, Tensor dy) {
        return CpuNorm.backward(in("batchNormBackward", x), in("batchNormBackward", gamma), in("batchNormBackward", mean),
                in("batchNormBackward", var), eps, in("batchNormBackward", dy));
    }

    @Override public Tensor concat(Tensor[] xs, int axis) {
        for (Tensor t : xs) in("concat", t);
        return CpuLayout.concat(xs, axis);
    }

    @Override public Tensor narrow(Tensor x, int axis, int start, int length) { return CpuLayout.narrow(in("narrow", x), axis, start, length); }

    @Override public Tensor pad(Tensor x, int[] before, int[] after, double value) { return CpuLayout.pad(in("pad", x), before, after, (float) value); }

    @Override public Tensor spaceToDepth(Tensor x, int f) { return CpuLayout.spaceToDepth(in("spaceToDepth", x), f); }

    @Override public Tensor depthToSpace(Tensor x, int f) { return CpuLayout.depthToSpace(in("depthToSpace", x), f); }

    @Override public Tensor crossEntropy(Tensor logits, Tensor targets, int axis) {
        return CpuLoss.crossEntropy(in("crossEntropy", logits), in("crossEntropy", targets), axis);
    }

    @Override public Tensor mixtureNll(Tensor x, Tensor params, int mixtures) {
        return CpuLoss.mixtureNll(in("mixtureNll", x), in("mixtureNll", params), mixtures);
    }

    @Override public Tensor mixtureNllBackward(Tensor x, Tensor params, int mixtures, Tensor dnll) {
        String op = "mixtureNllBackward";
        return CpuLoss.mixtureNllBackward(in(op, x), in(op, params), mixtures, in(op, dnll));
    }

    @Override public Tensor crossEntropyBackward(Tensor logits, Tensor targets, Tensor dloss, int axis) {
        return CpuLoss.crossEntropyBackward(in("crossEntropyBackward", logits), in("crossEntropyBackward", targets), in("crossEntropyBackward", dloss), axis);
    }

    @Override public Tensor uniform(Shape shape, double lo, double hi, Rng rng) { return CpuRandom.uniform(shape, lo, hi, rng); }

    @Override public Tensor normal(Shape shape, double mean, double std, Rng rng) { return CpuRandom.normal(shape, mean, std, rng); }

    @Override public void adamStep(Tensor param, Tensor grad, Tensor m, Tensor v, AdamConfig c, Tensor factors, int row) {
        CpuOptim.adam(in("adamStep", param), in("adamStep", grad), in("adamStep", m), in("adamStep", v), c, on("adamStep", factors), row);
    }

    @Override public void adamaxStep(Tensor param, Tensor grad, Tensor m, Tensor u, AdamConfig c, Tensor factors, int row) {
        CpuOptim.adamax(in("adamaxStep", param), in("adamaxStep", grad), in("adamaxStep", m), in("adamaxStep", u), c, on("adamaxStep", factors), row);
    }
}
