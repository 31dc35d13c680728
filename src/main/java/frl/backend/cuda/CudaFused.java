package frl.backend.cuda;

import frl.backend.Shapes;
import frl.tensor.Shape;
import frl.tensor.Tensor;

/**
 * The layers' fused elementwise ops on the GPU (src/main/cuda/fused.cu; CPU twin: CpuPointwise): PixelCNN++'s
 * concat-ELU, gate (with the bias before it and the residual after) and biased sums, Glow's affine coupling and its log-determinant, and a convolution's bias with the ReLU after
 * it, one kernel each way where the ops they are made of (Backend's defaults) take three to ten kernels and as many
 * full-size intermediates. They give those ops' bits; the log-determinant sums in double per image. And weight
 * normalisation, one kernel each way where its ops take five forward and about twelve backward (its sums' order
 * is its own). -Dfrl.cuda.fusedOps=composed runs the composed ops instead.
 */
final class CudaFused {
    private static final String FAMILY = "fused";
    private static final Kernel CONCAT_ELU = new Kernel(FAMILY, "concat_elu", "pplii");
    private static final Kernel CONCAT_ELU_BACKWARD = new Kernel(FAMILY, "concat_elu_backward", "pppplii");
    private static final Kernel GATE = new Kernel(FAMILY, "gate", "pppplii");
    private static final Kernel GATE_BACKWARD = new Kernel(FAMILY, "gate_backward", "pppplii");
    private static final Kernel BIASED_SUM = new Kernel(FAMILY, "biased_sum", "ppppplii");
    private static final Kernel COUPLING = new Kernel(FAMILY, "coupling", "ppplii");
    private static final Kernel COUPLING_BACKWARD = new Kernel(FAMILY, "coupling_backward", "ppppplii");
    private static final Kernel COUPLING_LOGDET = new Kernel(FAMILY, "coupling_logdet", "ppii");
    private static final Kernel COUPLING_LOGDET_BACKWARD = new Kernel(FAMILY, "coupling_logdet_backward", "ppplii");
    private static final Kernel BIAS_RELU = new Kernel(FAMILY, "bias_relu", "ppplii");
    private static final Kernel WEIGHT_NORM = new Kernel(FAMILY, "weight_norm", "pppii");
    private static final Kernel WEIGHT_NORM_BACKWARD = new Kernel(FAMILY, "weight_norm_backward", "pppppii");
    /** Blocks of a weight-norm launch at most (one per row; the kernels loop over the rest). */
    private static final int MAX_ROW_BLOCKS = 65535;

    private CudaFused() {}

    /** Whether the fused kernels run: -Dfrl.cuda.fusedOps=kernels (the default) or composed (weight norm included). */
    static boolean on() { return CudaFlags.oneOf("frl.cuda.fusedOps", "kernels", "kernels", "composed").equals("kernels"); }

    /** Whether they run for a single tensor of this shape: on, and its two-halves partner [N, 2C, run] under 2^31 elements (fused.cu's unsigned indices). */
    static boolean applies(Shape single) { return on() && 2 * single.numel() < Integer.MAX_VALUE; }

    /** {elements, run, C} of a single tensor [N, C, run...] for the kernels. */
    private static Object[] dims(Shape single) {
        long n = single.numel(), planes = (long) single.dim(0) * single.dim(1);
        return new Object[] {n, (int) (planes == 0 ? 0 : n / planes), single.dim(1)};
    }

    private static void launch(Kernel k, Shape single, Object... pointers) {
        Object[] d = dims(single), args = new Object[pointers.length + 3];
        System.arraycopy(pointers, 0, args, 0, pointers.length);
        System.arraycopy(d, 0, args, pointers.length, 3);
        if (single.numel() > 0) k.launchN(single.numel(), args);
    }

    static Tensor concatElu(Tensor x) {
        Tensor y = CudaBackend.alloc(Shapes.doubledChannels(x.shape()));
        launchConcatElu(x, y, x.shape());
        return y;
    }

    /** y = [elu(x), elu(−x)] over tensors or device addresses, x of shape single. */
    static void launchConcatElu(Object x, Object y, Shape single) { launch(CONCAT_ELU, single, x, y); }

    static Tensor concatEluBackward(Tensor x, Tensor y, Tensor dy) {
        Shapes.requireSameShape("concatEluBackward (y vs dy)", y, dy);
        Shapes.requireHalves("concatEluBackward", x.shape(), y.shape());
        Tensor dx = CudaBackend.alloc(x.shape());
        launchConcatEluBackward(x, y, dy, dx, x.shape());
        return dx;
    }

    static void launchConcatEluBackward(Object x, Object y, Object dy, Object dx, Shape single) { launch(CONCAT_ELU_BACKWARD, single, x, y, dy, dx); }

    /** residual + h₁·sigmoid(h₂), [h₁, h₂] = h + bias; bias and residual may be null (none). */
    static Tensor gate(Tensor h, Tensor bias, Tensor residual) {
        Tensor y = CudaBackend.alloc(Shapes.half("gate", h.shape()));
        if (bias != null) Shapes.channelBias("gate", h.shape(), bias);
        if (residual != null) Shapes.requireHalves("gate (residual vs h)", residual.shape(), h.shape());
        launchGate(h, orNone(bias), orNone(residual), y, y.shape());
        return y;
    }

    /** Over tensors or device addresses (0 for no bias or residual), y of shape single. */
    static void launchGate(Object h, Object bias, Object residual, Object y, Shape single) { launch(GATE, single, h, bias, residual, y); }

    static Tensor gateBackward(Tensor h, Tensor bias, Tensor dy) {
        Shapes.requireHalves("gateBackward", dy.shape(), h.shape());
        if (bias != null) Shapes.channelBias("gateBackward", h.shape(), bias);
        Tensor dh = CudaBackend.alloc(h.shape());
        launchGateBackward(h, orNone(bias), dy, dh, dy.shape());
        return dh;
    }

    static void launchGateBackward(Object h, Object bias, Object dy, Object dh, Shape single) { launch(GATE_BACKWARD, single, h, bias, dy, dh); }

    static Tensor biasedSum(Tensor a, Tensor biasA, Tensor b, Tensor biasB) {
        Shapes.requireSameShape("biasedSum", a, b);
        Shapes.channelBias("biasedSum", a.shape(), biasA);
        Shapes.channelBias("biasedSum", b.shape(), biasB);
        Tensor y = CudaBackend.alloc(a.shape());
        launchBiasedSum(a, biasA, b, biasB, y, a.shape());
        return y;
    }

    static void launchBiasedSum(Object a, Object biasA, Object b, Object biasB, Object y, Shape shape) { launch(BIASED_SUM, shape, a, biasA, b, biasB, y); }

    /** An optional operand for a kernel: the tensor, or the null address. */
    private static Object orNone(Tensor t) { return t == null ? (Object) 0L : t; }

    static Tensor coupling(Tensor xb, Tensor h) {
        Shapes.requireHalves("coupling", xb.shape(), h.shape());
        Tensor y = CudaBackend.alloc(xb.shape());
        launchCoupling(xb, h, y, xb.shape());
        return y;
    }

    static void launchCoupling(Object xb, Object h, Object y, Shape single) { launch(COUPLING, single, xb, h, y); }

    static Tensor[] couplingBackward(Tensor xb, Tensor h, Tensor dy) {
        Shapes.requireHalves("couplingBackward", xb.shape(), h.shape());
        Shapes.requireSameShape("couplingBackward (x_b vs dy)", xb, dy);
        Tensor dxb = CudaBackend.alloc(xb.shape()), dh = CudaBackend.alloc(h.shape());
        launchCouplingBackward(xb, h, dy, dxb, dh, xb.shape());
        return new Tensor[] {dxb, dh};
    }

    static void launchCouplingBackward(Object xb, Object h, Object dy, Object dxb, Object dh, Shape single) {
        launch(COUPLING_BACKWARD, single, xb, h, dy, dxb, dh);
    }

    static Tensor couplingLogdet(Tensor h) {
        Shape single = Shapes.half("couplingLogdet", h.shape());
        Tensor logdet = CudaBackend.alloc(Shape.of(h.dim(0)));
        launchCouplingLogdet(h, logdet, single);
        return logdet;
    }

    /** One block per image (at most 2^31 − 1 of them, a grid's x). */
    static void launchCouplingLogdet(Object h, Object logdet, Shape single) {
        Object[] d = dims(single);
        if (single.dim(0) > 0) COUPLING_LOGDET.launch(single.dim(0), 1, 1, Kernel.BLOCK, 1, 1, 0, h, logdet, d[1], d[2]);
    }

    static Tensor couplingLogdetBackward(Tensor h, Tensor dlogdet) {
        Shape single = Shapes.half("couplingLogdetBackward", h.shape());
        if (dlogdet.numel() != h.dim(0))
            throw new IllegalArgumentException("couplingLogdetBackward: a gradient of " + h.dim(0) + " values for " + h.shape() + ", got " + dlogdet.shape());
        Tensor dh = CudaBackend.alloc(h.shape());
        launchCouplingLogdetBackward(h, dlogdet, dh, single);
        return dh;
    }

    static void launchCouplingLogdetBackward(Object h, Object dlogdet, Object dh, Shape single) { launch(COUPLING_LOGDET_BACKWARD, single, h, dlogdet, dh); }

    static Tensor biasRelu(Tensor z, Tensor bias) {
        Shapes.channelBias("biasRelu", z.shape(), bias);
        Tensor y = CudaBackend.alloc(z.shape());
        launchBiasRelu(z, bias, y, z.shape());
        return y;
    }

    static void launchBiasRelu(Object z, Object bias, Object y, Shape zShape) { launch(BIAS_RELU, zShape, z, bias, y); }


    static Tensor weightNorm(Tensor v, Tensor g) {
        int[] rl = rows("weightNorm", v, g);
        Tensor w = CudaBackend.alloc(v.shape());
        launchWeightNorm(v, g, w, rl[0], rl[1]);
        return w;
    }

    static void launchWeightNorm(Object v, Object g, Object w, int rows, int len) {
        if (rows > 0 && len > 0) WEIGHT_NORM.launch(Math.min(rows, MAX_ROW_BLOCKS), 1, 1, Kernel.BLOCK, 1, 1, 0, v, g, w, rows, len);
    }

    static Tensor[] weightNormBackward(Tensor v, Tensor g, Tensor dw) {
        int[] rl = rows("weightNormBackward", v, g);
        Shapes.requireSameShape("weightNormBackward (v vs dw)", v, dw);
        Tensor dv = CudaBackend.alloc(v.shape()), dg = CudaBackend.alloc(g.shape());
        launchWeightNormBackward(v, g, dw, dv, dg, rl[0], rl[1]);
        return new Tensor[] {dv, dg};
    }

    static void launchWeightNormBackward(Object v, Object g, Object dw, Object dv, Object dg, int rows, int len) {
        if (rows > 0 && len > 0) WEIGHT_NORM_BACKWARD.launch(Math.min(rows, MAX_ROW_BLOCKS), 1, 1, Kernel.BLOCK, 1, 1, 0, v, g, dw, dv, dg, rows, len);
    }

    /** {rows, length} of v [d0, ...] with g of d0 elements. */
    private static int[] rows(String op, Tensor v, Tensor g) {
        int rows = v.dim(0);
        long len = v.numel() / Math.max(1, rows);
        if (g.numel() != rows) throw new IllegalArgumentException(op + ": a g of " + rows + " values for " + v.shape() + ", got " + g.shape());
        if (len > Integer.MAX_VALUE) throw new IllegalArgumentException(op + ": rows of more than 2^31 − 1 elements in " + v.shape());
        return new int[] {rows, (int) len};
    }
}
