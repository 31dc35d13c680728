package frl.backend.cuda;

import frl.backend.ConvGeometry;
import frl.backend.PhasesByComposition;
import frl.backend.Shapes;
import frl.backend.Shift;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.cuda.cudnn.cudnnConvolutionBwdDataAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionBwdFilterAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionFwdAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionStruct;
import org.bytedeco.cuda.cudnn.cudnnFilterStruct;
import org.bytedeco.cuda.cudnn.cudnnTensorStruct;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.cuda.global.cudnn;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.SizeTPointer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The three 2-D convolution ops through cuDNN's legacy API (NCHW float32, cross-correlation, no dilation or
 * groups), for x [N,C,H,W], w [K,C,kh,kw], y [N,K,oh,ow]:
 * <ul>
 *   <li>{@link #conv2d}: y = x ⋆ w (cudnnConvolutionForward);</li>
 *   <li>{@link #backwardInput}: dx = ∂/∂x of Σ dy·y (cudnnConvolutionBackwardData), which is also the
 *       forward of a transposed convolution; x may be larger than the forward needs (output padding): the
 *       pixels no window reaches get 0;</li>
 *   <li>{@link #backwardWeight}: dw (cudnnConvolutionBackwardFilter).</li>
 * </ul>
 * For each (op, x shape, w shape, geometry, policy) the descriptors and the algorithm are chosen once and
 * cached in a {@link Plan}. By default the algorithm is benchmarked once per shape with
 * cudnnFind*AlgorithmEx (like PyTorch's cudnn.benchmark) and the fastest successful one is kept; with
 * -Dfrl.cuda.deterministic=true only algorithms cuDNN reports as deterministic are taken; with
 * -Dfrl.cuda.benchmark=false (or when Find fails) cuDNN's heuristics (cudnnGet*Algorithm_v7) choose. Math is
 * plain FP32 FMA (CUDNN_FMA_MATH, PyTorch's allow_tf32=False) unless -Dfrl.cuda.tf32=true. The workspace is
 * taken from the caching allocator around each call. beta = 0: outputs are overwritten.
 */
final class CudaConv {
    private CudaConv() {}

    static final boolean DETERMINISTIC = Boolean.getBoolean("frl.cuda.deterministic");
    static final boolean BENCHMARK = !"false".equalsIgnoreCase(System.getProperty("frl.cuda.benchmark", "true"));
    /**
     * Largest workspace an algorithm may use, in bytes: -Dfrl.cuda.convWorkspaceMiB, by default an eighth of the
     * GPU's memory up to 8 GiB (PyTorch lets its search use whatever is free; a 1 GiB cap can hide the fastest
     * algorithms of a wide layer from the search).
     */
    static final long WORKSPACE_LIMIT = Long.getLong("frl.cuda.convWorkspaceMiB",
            Math.min(8192, CudaContext.get().totalMemory() / 8 >> 20)) << 20;

    /** The op, with the name its errors carry. */
    enum Op {
        FORWARD("conv2d"), BACKWARD_DATA("conv2dBackwardInput"), BACKWARD_FILTER("conv2dBackwardWeight");

        final String label;

        Op(String label) { this.label = label; }
    }

    /**
     * How the algorithm is chosen: benchmarked (Find) or by heuristics, any or deterministic only; and whether the
     * operands are 3xTF32 parts side by side (tf32Parts: tensor-op math allowed, direct-sum algorithms only).
     */
    record Policy(boolean benchmark, boolean deterministic, boolean tf32Parts) {
        static final Policy DEFAULT = new Policy(BENCHMARK, DETERMINISTIC, false);

        Policy(boolean benchmark, boolean deterministic) { this(benchmark, deterministic, false); }

        Policy onParts() { return new Policy(benchmark, deterministic, true); }

        @Override public String toString() {
            return (benchmark ? "find" : "heuristic") + (deterministic ? ", deterministic" : "") + (tf32Parts ? ", 3xTF32 parts" : "");
        }
    }

    /** What a plan is cached by; x and w are the convolution's input and filter shapes whatever the op. */
    record Key(Op op, Shape x, Shape w, ConvGeometry g, Policy policy) {
        @Override public String toString() {
            return op.label + " x" + x + " w" + w + " stride " + g.strideH() + "×" + g.strideW() + " pad " + g.padH() + "×" + g.padW()
                    + (policy.tf32Parts() ? " (3xTF32 parts)" : "");
        }
    }

    /** One row of cuDNN's algorithm table (Find or heuristics), whichever op it came from. */
    record Perf(int algo, int status, float timeMs, long memory, int determinism, int mathType) {}

    /**
     * The cached descriptors of one key and the algorithm chosen for it: its math type (already set on
     * {@code conv}), the workspace it needs, and how it was chosen ({@code source}) for {@link #describeAlgorithms}.
     */
    record Plan(Key key, Shape y, cudnnTensorStruct xDesc, cudnnFilterStruct wDesc, cudnnTensorStruct yDesc, cudnnConvolutionStruct conv,
                int algo, int mathType, long workspace, float timeMs, boolean deterministic, String source) {}

    private static final Object LOCK = new Object();
    /** Guarded by LOCK, in creation order. Plans live as long as the process (a few dozen shapes). */
    private static final Map<Key, Plan> PLANS = new LinkedHashMap<>();

    // ---- the three ops -------------------------------------------------------------------------

    /**
     * 1×1 convolutions over few channels (Glow's invertible 1×1) also have a hand-written kernel, and over more (PixelCNN++'s
     * nin layers, 160 or 320 channels into 80) the shifted convolutions' tensor-core kernels where -Dfrl.cuda.shiftedKernel=mma
     * (a 1×1 is a shifted convolution with nothing to shift); with -Dfrl.cuda.conv1x1=auto (the default) the faster is
     * kept per shape.
     */
    private static final FasterPath ONE_BY_ONE = new FasterPath("frl.cuda.conv1x1");

    static Map<String, FasterPath.Choice> oneByOneChoices() { return ONE_BY_ONE.choices(); }

    /**
     * Convolutions whose stride divides the kernel (the VAE decoders' transposed ones: their forward is our
     * backwardInput, their gradients our conv2d and backwardWeight) also run as per-phase cuBLAS GEMMs
     * (CudaSubPixel); with -Dfrl.cuda.subpixel=auto (the default) the faster is kept per op and shape.
     */
    private static final FasterPath SUB_PIXEL = CudaSubPixel.CHOICE;

    static Map<String, FasterPath.Choice> subPixelChoices() { return SUB_PIXEL.choices(); }

    /**
     * Convolutions whose kernel covers the whole unpadded input (the VAE's heads and first decoder layer) also run as
     * one cuBLAS GEMM (CudaDenseConv); -Dfrl.cuda.dense=auto (the default) keeps the faster per op and shape. On an
     * H200 (2026-11-27) the GEMM took 0.018–0.026 ms where cuDNN took 0.04–0.30.
     */
    private static final FasterPath DENSE = new FasterPath("frl.cuda.dense");

    static Map<String, FasterPath.Choice> denseChoices() { return DENSE.choices(); }

    /**
     * Any convolution whose unfolded input fits (UnfoldPlans.MAX_COLS) may also run as unfolded GEMMs (CudaUnfold):
     * -Dfrl.cuda.unfold=auto times them against cuDNN per op and shape, and the faster is what the hand-written paths
     * above are timed against; cudnn, the default (as auto, cifar training 0.97× on the H200, 2026-11-28).
     */
    private static final FasterPath UNFOLD = CudaUnfold.CHOICE;

    static Map<String, FasterPath.Choice> unfoldChoices() { return UNFOLD.choices(); }

    /** cuDNN's op, or where the unfolded GEMMs apply, the one of the two that UNFOLD forces or finds faster. */
    private static Supplier<Tensor> cudnnOrUnfold(Supplier<String> key, boolean unfolds, Supplier<Tensor> unfold, Supplier<Tensor> cudnn) {
        return unfolds ? () -> either(UNFOLD, key, unfold, cudnn) : cudnn;
    }

    static Tensor conv2d(Tensor x, Tensor w, ConvGeometry g) {
        Shape xs = x.shape(), ws = w.shape();
        Supplier<String> key = () -> key("conv2d", xs, ws, g);
        Supplier<Tensor> cudnn = cudnnOrUnfold(key, CudaUnfold.applies(xs, ws, g), () -> CudaUnfold.conv2d(x, w, g), () -> conv2d(x, w, g, Policy.DEFAULT));
        if (CudaSubPixel.applies(xs, ws, g)) {
            Shapes.conv2d(xs, ws, g);
            return either(SUB_PIXEL, key, () -> CudaSubPixel.conv2d(x, w, g), cudnn);
        }
        if (CudaConv1x1.applies(xs, ws, g)) return either(ONE_BY_ONE, key, () -> CudaConv1x1.forward(x, w), cudnn);
        if (CudaShiftedConv.takesOneByOne(xs, ws, g)) return either(ONE_BY_ONE, key, () -> CudaShiftedConv.forward(x, w, Shift.DOWN, FasterPath.Path.KERNEL), cudnn);
        if (CudaDenseConv.applies(xs, ws, g)) return either(DENSE, key, () -> CudaDenseConv.conv2d(x, w, g), cudnn);
        return cudnn.get();
    }

    static Tensor backwardInput(Tensor dy, Tensor w, Shape xShape, ConvGeometry g) {
        Shape ws = w.shape();
        Supplier<String> key = () -> key("conv2dBackwardInput", xShape, ws, g);
        Supplier<Tensor> cudnn = cudnnOrUnfold(key, CudaUnfold.applies(xShape, ws, g), () -> CudaUnfold.backwardInput(dy, w, xShape, g),
                () -> backwardInput(dy, w, xShape, g, Policy.DEFAULT));
        if (CudaSubPixel.applies(xShape, ws, g)) {
            Shapes.conv2dBackward(dy.shape(), xShape, ws, g);
            return either(SUB_PIXEL, key, () -> CudaSubPixel.backwardInput(dy, w, xShape, g), cudnn);
        }
        if (CudaConv1x1.applies(xShape, ws, g)) return either(ONE_BY_ONE, key, () -> CudaConv1x1.backwardInput(dy, w, xShape), cudnn);
        if (CudaShiftedConv.takesOneByOne(xShape, ws, g))
            return either(ONE_BY_ONE, key, () -> CudaShiftedConv.backwardInput(dy, w, xShape, Shift.DOWN, FasterPath.Path.KERNEL), cudnn);
        if (CudaDenseConv.applies(xShape, ws, g)) return either(DENSE, key, () -> CudaDenseConv.backwardInput(dy, w, xShape, g), cudnn);
        return cudnn.get();
    }

    static Tensor backwardWeight(Tensor x, Tensor dy, Shape wShape, ConvGeometry g) {
        Shape xs = x.shape();
        Supplier<String> key = () -> key("conv2dBackwardWeight", xs, wShape, g);
        Supplier<Tensor> cudnn = cudnnOrUnfold(key, CudaUnfold.applies(xs, wShape, g), () -> CudaUnfold.backwardWeight(x, dy, wShape, g),
                () -> backwardWeight(x, dy, wShape, g, Policy.DEFAULT));
        if (CudaSubPixel.applies(xs, wShape, g)) {
            Shapes.conv2dBackward(dy.shape(), xs, wShape, g);
            return either(SUB_PIXEL, key, () -> CudaSubPixel.backwardWeight(x, dy, wShape, g), cudnn);
        }
        if (CudaConv1x1.applies(xs, wShape, g)) return either(ONE_BY_ONE, key, () -> CudaConv1x1.backwardWeight(x, dy, wShape), cudnn);
        if (CudaShiftedConv.takesOneByOne(xs, wShape, g))
            return either(ONE_BY_ONE, key, () -> CudaShiftedConv.backwardWeight(x, dy, wShape, Shift.DOWN, FasterPath.Path.KERNEL), cudnn);
        if (CudaDenseConv.applies(xs, wShape, g)) return either(DENSE, key, () -> CudaDenseConv.backwardWeight(x, dy, wShape, g), cudnn);
        return cudnn.get();
    }

    /** The op by the path {@code choice} forces or finds faster for its key: a hand-written way or cuDNN's. */
    private static Tensor either(FasterPath choice, Supplier<String> key, Supplier<Tensor> kernel, Supplier<Tensor> cudnn) {
        return choice.run(key, p -> p == FasterPath.Path.KERNEL ? kernel.get() : cudnn.get());
    }

    /**
     * The phase ops (x the large tensor in {@link frl.backend.Backend#toPhases}'s layout) under the same choice: the
     * direct per-phase GEMMs, or their definition ({@link PhasesByComposition}) over cuDNN's NCHW op, which is also
     * what runs where CudaSubPixel does not apply.
     */
    static Tensor backwardInputToPhases(Tensor dy, Tensor w, Shape xShape, ConvGeometry g) {
        Shapes.conv2dBackward(dy.shape(), xShape, w.shape(), g);
        Shapes.phases("conv2dBackwardInputToPhases", xShape, g);
        if (!CudaSubPixel.applies(xShape, w.shape(), g)) return PhasesByComposition.conv2dBackwardInputToPhases(CudaBackend.instance(), dy, w, xShape, g);
        return SUB_PIXEL.run(() -> "conv2dBackwardInputToPhases x" + xShape + " w" + w.shape() + " " + g,
                p -> p == FasterPath.Path.KERNEL ? CudaSubPixel.backwardInputToPhases(dy, w, xShape, g)
                        : inPhases(backwardInput(dy, w, xShape, g, Policy.DEFAULT), g));
    }

    static Tensor conv2dFromPhases(Tensor xPhases, Tensor w, Shape xShape, ConvGeometry g) {
        Shapes.requirePhases("conv2dFromPhases", xPhases, xShape, g);
        Shapes.conv2d(xShape, w.shape(), g);
        if (!CudaSubPixel.applies(xShape, w.shape(), g)) return PhasesByComposition.conv2dFromPhases(CudaBackend.instance(), xPhases, w, xShape, g);
        return SUB_PIXEL.run(() -> key("conv2dFromPhases", xShape, w.shape(), g), fromPhases(xPhases, w, xShape, g));
    }

    static Tensor backwardWeightFromPhases(Tensor xPhases, Tensor dy, Shape xShape, Shape wShape, ConvGeometry g) {
        Shapes.requirePhases("conv2dBackwardWeightFromPhases", xPhases, xShape, g);
        Shapes.conv2dBackward(dy.shape(), xShape, wShape, g);
        if (!CudaSubPixel.applies(xShape, wShape, g))
            return PhasesByComposition.conv2dBackwardWeightFromPhases(CudaBackend.instance(), xPhases, dy, xShape, wShape, g);
        return SUB_PIXEL.run(() -> key("conv2dBackwardWeightFromPhases", xShape, wShape, g), weightFromPhases(xPhases, dy, xShape, wShape, g));
    }

    /**
     * Both: in 3xTF32 (or auto) GEMM mode, where both take the sub-pixel GEMMs, one plan that splits xPhases once for
     * both (CudaSubPixel.gradsFromPhases; auto times the pair in each mode); otherwise each as above.
     */
    static Tensor[] conv2dFromPhasesWithWeightGrad(Tensor xPhases, Tensor w, Tensor dy, Shape xShape, ConvGeometry g) {
        if (bothBySubPixel("conv2dFromPhasesWithWeightGrad", xPhases, w, dy, xShape, g)) return CudaSubPixel.gradsFromPhases(xPhases, w, dy, xShape, g);
        return new Tensor[] {conv2dFromPhases(xPhases, w, xShape, g), backwardWeightFromPhases(xPhases, dy, xShape, w.shape(), g)};
    }

    /**
     * Whether a transposed convolution's two gradients from xPhases (checked) run as one sub-pixel plan: the GEMMs
     * not forced to SGEMM, the plans apply, and both ops take them (FasterPath, timed on xPhases at their first call).
     */
    static boolean bothBySubPixel(String op, Tensor xPhases, Tensor w, Tensor dy, Shape xShape, ConvGeometry g) {
        Shape ws = w.shape();
        if (SubPixelPlans.Gemm.forced() == SubPixelPlans.Gemm.SGEMM || !CudaSubPixel.applies(xShape, ws, g)) return false;
        Shapes.requirePhases(op, xPhases, xShape, g);
        Shapes.conv2d(xShape, ws, g);
        Shapes.conv2dBackward(dy.shape(), xShape, ws, g);
        FasterPath.Path input = SUB_PIXEL.choose(() -> key("conv2dFromPhases", xShape, ws, g), fromPhases(xPhases, w, xShape, g));
        FasterPath.Path weight = SUB_PIXEL.choose(() -> key("conv2dBackwardWeightFromPhases", xShape, ws, g), weightFromPhases(xPhases, dy, xShape, ws, g));
        return input == FasterPath.Path.KERNEL && weight == FasterPath.Path.KERNEL;
    }

    /** An op's key among FasterPath's choices. */
    private static String key(String op, Shape xShape, Shape wShape, ConvGeometry g) { return op + " x" + xShape + " w" + wShape + " " + g; }

    private static Function<FasterPath.Path, Tensor> fromPhases(Tensor xPhases, Tensor w, Shape xShape, ConvGeometry g) {
        return p -> p == FasterPath.Path.KERNEL ? CudaSubPixel.conv2dFromPhases(xPhases, w, xShape, g)
                : onNchw(xPhases, xShape, g, x -> conv2d(x, w, g, Policy.DEFAULT));
    }

    private static Function<FasterPath.Path, Tensor> weightFromPhases(Tensor xPhases, Tensor dy, Shape xShape, Shape wShape, ConvGeometry g) {
        return p -> p == FasterPath.Path.KERNEL ? CudaSubPixel.backwardWeightFromPhases(xPhases, dy, xShape, wShape, g)
                : onNchw(xPhases, xShape, g, x -> backwardWeight(x, dy, wShape, g, Policy.DEFAULT));
    }

    /** The cuDNN path's layout change after the NCHW op (the backend's own NCHW op might take the sub-pixel path). */
    private static Tensor inPhases(Tensor x, ConvGeometry g) {
        try (x) { return CudaSubPixel.toPhases(x, g); }
    }

    /** The cuDNN path's layout change before the NCHW op {@code op}. */
    private static Tensor onNchw(Tensor xPhases, Shape xShape, ConvGeometry g, Function<Tensor, Tensor> op) {
        try (Tensor x = CudaSubPixel.fromPhases(xPhases, xShape, g)) { return op.apply(x); }
    }

    // cuDNN's ops in FP32 FMA, or in 3xTF32 (CudnnMath): a·b as big·big' + big·small' + small·big' over parts TF32
    // holds exactly (tf32.cu), which is one convolution over the parts side by side along the summed axis: the channels
    // (forward: x's and w's second; backward data: dy's and w's first), or the batch (backward filter).

    static Tensor conv2d(Tensor x, Tensor w, ConvGeometry g, Policy policy) {
        Tensor y = CudaBackend.alloc(Shapes.conv2d(x.shape(), w.shape(), g));
        inMath(Op.FORWARD, x.shape(), w.shape(), g, policy, new Tensor[] {x, w}, math -> {
            if (math == CudnnMath.FMA) run(new Key(Op.FORWARD, x.shape(), w.shape(), g, policy), x, w, y, y);
            else try (Scope s = Scope.open()) {
                Tensor x3 = tf32Parts(x, 1, BIG_BIG_SMALL), w3 = tf32Parts(w, 1, BIG_SMALL_BIG);
                run(new Key(Op.FORWARD, x3.shape(), w3.shape(), g, policy.onParts()), x3, w3, y, y);
            }
        });
        return y;
    }

    static Tensor backwardInput(Tensor dy, Tensor w, Shape xShape, ConvGeometry g, Policy policy) {
        Shapes.conv2dBackward(dy.shape(), xShape, w.shape(), g);
        Tensor dx = CudaBackend.alloc(xShape);
        inMath(Op.BACKWARD_DATA, xShape, w.shape(), g, policy, new Tensor[] {dy, w}, math -> {
            if (math == CudnnMath.FMA) run(new Key(Op.BACKWARD_DATA, xShape, w.shape(), g, policy), dx, w, dy, dx);
            else try (Scope s = Scope.open()) {
                Tensor dy3 = tf32Parts(dy, 1, BIG_BIG_SMALL), w3 = tf32Parts(w, 0, BIG_SMALL_BIG);
                run(new Key(Op.BACKWARD_DATA, xShape, w3.shape(), g, policy.onParts()), dx, w3, dy3, dx);
            }
        });
        return dx;
    }

    static Tensor backwardWeight(Tensor x, Tensor dy, Shape wShape, ConvGeometry g, Policy policy) {
        Shapes.conv2dBackward(dy.shape(), x.shape(), wShape, g);
        Tensor dw = CudaBackend.alloc(wShape);
        inMath(Op.BACKWARD_FILTER, x.shape(), wShape, g, policy, new Tensor[] {x, dy}, math -> {
            if (math == CudnnMath.FMA) run(new Key(Op.BACKWARD_FILTER, x.shape(), wShape, g, policy), x, dw, dy, dw);
            else try (Scope s = Scope.open()) {
                Tensor x3 = tf32Parts(x, 0, BIG_BIG_SMALL), dy3 = tf32Parts(dy, 0, BIG_SMALL_BIG);
                run(new Key(Op.BACKWARD_FILTER, x3.shape(), wShape, g, policy.onParts()), x3, dw, dy3, dw);
            }
        });
        return dw;
    }

    /** The parts of one operand and of the other, paired: big·big', big·small', small·big'. */
    private static final String BIG_BIG_SMALL = "bbs", BIG_SMALL_BIG = "bsb";

    /** Which math each (op, shapes, policy) took, where more than one could run. */
    private static final TimedChoices<CudnnMath> MATH = new TimedChoices<>();

    static Map<String, CudnnMath> mathChoices() { return MATH.snapshot(); }

    /**
     * The op in the math the switch allows, or where both may run, the one timed for its key at its first call, 3xTF32
     * only where it took less than {@link CudnnMath#PARTS_MARGIN} of FMA's time (the op overwrites its output); FMA
     * where the parts cannot run (an empty operand, or one whose parts would have 2³¹ elements).
     */
    private static void inMath(Op op, Shape x, Shape w, ConvGeometry g, Policy policy, Tensor[] operands, Consumer<CudnnMath> body) {
        List<CudnnMath> allowed = CudnnMath.allowed();
        for (Tensor t : operands) if (t.numel() == 0 || 3 * t.numel() > Integer.MAX_VALUE) allowed = List.of(CudnnMath.FMA);
        body.accept(MATH.fastest(() -> new Key(op, x, w, g, policy) + " " + policy, allowed, body,
                m -> m == CudnnMath.TF32X3 ? 1 / CudnnMath.PARTS_MARGIN : 1));
    }

    /** t's 3xTF32 parts side by side along axis (its size there times parts.length()), each big or small as its letter says. */
    static Tensor tf32Parts(Tensor t, int axis, String parts) {
        Shape s = t.shape();
        Tensor out = CudaBackend.alloc(s.with(axis, s.dim(axis) * parts.length()));
        long rows = s.size(0, axis), cols = t.numel() / rows;
        CudaSubPixel.GPU.tf32Parts(t.storage().address(), out.storage().address(), rows, Math.toIntExact(cols), parts, cols, parts.length() * cols);
        return out;
    }

    /** x, w, y in their convolution roles; {@code out} is the one of them this op writes. */
    private static void run(Key key, Tensor x, Tensor w, Tensor y, Tensor out) {
        if (out.numel() == 0) return;
        CudaContext ctx = CudaContext.get();
        if (x.numel() == 0 || w.numel() == 0 || y.numel() == 0) { // an empty sum (no channels, or an empty batch for dw)
            Cuda.check(cudart.cudaMemsetAsync(address(out), 0, out.numel() * Float.BYTES, ctx.stream()), "cudaMemsetAsync(" + key.op.label + " of empty input)");
            return;
        }
        for (Tensor t : new Tensor[] {x, w, y})
            if (t.numel() > Integer.MAX_VALUE)
                throw new IllegalArgumentException(key.op.label + ": tensor " + t.shape() + " has more than 2³¹−1 elements, beyond cuDNN's legacy convolutions");
        cudnnContext h = ctx.cudnn();
        synchronized (LOCK) { // one cuDNN handle for the process: plan creation and the call go together
            Plan plan = PLANS.get(key);
            if (plan == null) {
                if (ctx.capturing()) throw firstSeenWhileCapturing(key.toString());
                plan = createPlan(ctx, h, key, x, w, y);
                PLANS.put(key, plan);
            }
            long ws = plan.workspace() == 0 ? 0 : ctx.allocator().allocate(plan.workspace());
            try {
                execute(h, plan, plan.algo(), x, w, y, ws, plan.workspace());
            } finally {
                if (ws != 0) ctx.allocator().free(ws, plan.workspace()); // stream-ordered: reused only by later work
            }
        }
        ctx.syncIfDebugging(key.toString());
    }

    /** Choosing an algorithm times the candidates, which a CUDA graph cannot record. */
    static IllegalStateException firstSeenWhileCapturing(String what) {
        return new IllegalStateException(what + " is first seen while a CUDA graph is recorded, and choosing its algorithm waits for the GPU:"
                + " run the step once before recording it");
    }

    private static void execute(cudnnContext h, Plan p, int algo, Tensor x, Tensor w, Tensor y, long ws, long wsBytes) {
        Pointer work = ws == 0 ? null : new DevicePointer(ws);
        switch (p.key().op) {
            case FORWARD -> Cuda.checkCudnn(cudnn.cudnnConvolutionForward(h, CudaBlas.ONE, p.xDesc(), address(x), p.wDesc(), address(w),
                    p.conv(), algo, work, wsBytes, CudaBlas.ZERO, p.yDesc(), address(y)), "cudnnConvolutionForward(" + p.key() + ")");
            case BACKWARD_DATA -> Cuda.checkCudnn(cudnn.cudnnConvolutionBackwardData(h, CudaBlas.ONE, p.wDesc(), address(w), p.yDesc(), address(y),
                    p.conv(), algo, work, wsBytes, CudaBlas.ZERO, p.xDesc(), address(x)), "cudnnConvolutionBackwardData(" + p.key() + ")");
            case BACKWARD_FILTER -> Cuda.checkCudnn(cudnn.cudnnConvolutionBackwardFilter(h, CudaBlas.ONE, p.xDesc(), address(x), p.yDesc(), address(y),
                    p.conv(), algo, work, wsBytes, CudaBlas.ZERO, p.wDesc(), address(w)), "cudnnConvolutionBackwardFilter(" + p.key() + ")");
        }
    }

    private static DevicePointer address(Tensor t) { return new DevicePointer(t.storage().address()); }

    // ---- plans -------------------------------------------------------------------------------

    private static Plan createPlan(CudaContext ctx, cudnnContext h, Key key, Tensor x, Tensor w, Tensor y) {
        cudnnTensorStruct xDesc = new cudnnTensorStruct(), yDesc = new cudnnTensorStruct();
        cudnnFilterStruct wDesc = new cudnnFilterStruct();
        cudnnConvolutionStruct conv = new cudnnConvolutionStruct();
        Shape ys = y.shape();
        boolean created = false;
        Cuda.checkCudnn(cudnn.cudnnCreateTensorDescriptor(xDesc), "cudnnCreateTensorDescriptor");
        try {
            Cuda.checkCudnn(cudnn.cudnnCreateTensorDescriptor(yDesc), "cudnnCreateTensorDescriptor");
            Cuda.checkCudnn(cudnn.cudnnCreateFilterDescriptor(wDesc), "cudnnCreateFilterDescriptor");
            Cuda.checkCudnn(cudnn.cudnnCreateConvolutionDescriptor(conv), "cudnnCreateConvolutionDescriptor");
            Shape xs = key.x(), w4 = key.w();
            ConvGeometry g = key.g();
            Cuda.checkCudnn(cudnn.cudnnSetTensor4dDescriptor(xDesc, cudnn.CUDNN_TENSOR_NCHW, cudnn.CUDNN_DATA_FLOAT, xs.dim(0), xs.dim(1), xs.dim(2), xs.dim(3)),
                    "cudnnSetTensor4dDescriptor(x " + xs + ")");
            Cuda.checkCudnn(cudnn.cudnnSetTensor4dDescriptor(yDesc, cudnn.CUDNN_TENSOR_NCHW, cudnn.CUDNN_DATA_FLOAT, ys.dim(0), ys.dim(1), ys.dim(2), ys.dim(3)),
                    "cudnnSetTensor4dDescriptor(y " + ys + ")");
            Cuda.checkCudnn(cudnn.cudnnSetFilter4dDescriptor(wDesc, cudnn.CUDNN_DATA_FLOAT, cudnn.CUDNN_TENSOR_NCHW, w4.dim(0), w4.dim(1), w4.dim(2), w4.dim(3)),
                    "cudnnSetFilter4dDescriptor(w " + w4 + ")");
            Cuda.checkCudnn(cudnn.cudnnSetConvolution2dDescriptor(conv, g.padH(), g.padW(), g.strideH(), g.strideW(), 1, 1,
                    cudnn.CUDNN_CROSS_CORRELATION, cudnn.CUDNN_DATA_FLOAT), "cudnnSetConvolution2dDescriptor(" + key + ")");
            Cuda.checkCudnn(cudnn.cudnnSetConvolutionMathType(conv, requestedMath(key.policy())), "cudnnSetConvolutionMathType");
            int[] n = new int[1], c = new int[1], oh = new int[1], ow = new int[1];
            Cuda.checkCudnn(cudnn.cudnnGetConvolution2dForwardOutputDim(conv, xDesc, wDesc, n, c, oh, ow), "cudnnGetConvolution2dForwardOutputDim(" + key + ")");
            if (!Shape.of(n[0], c[0], oh[0], ow[0]).equals(ys))
                throw new CudaException(key + ": cuDNN's output shape [" + n[0] + ", " + c[0] + ", " + oh[0] + ", " + ow[0] + "] is not ours " + ys);

            Plan draft = new Plan(key, ys, xDesc, wDesc, yDesc, conv, -1, requestedMath(key.policy()), 0, Float.NaN, false, "");
            Plan plan = choose(ctx, h, draft, x, w, y);
            Cuda.checkCudnn(cudnn.cudnnSetConvolutionMathType(conv, plan.mathType()), "cudnnSetConvolutionMathType(" + mathName(plan.mathType()) + ")");
            created = true;
            return plan;
        } finally {
            if (!created) destroy(xDesc, wDesc, yDesc, conv);
        }
    }

    /** FMA only (true FP32) unless TF32 is allowed or the operands are parts TF32 holds exactly. */
    private static int requestedMath(Policy policy) {
        return CudaBackend.TF32 || policy.tf32Parts() ? cudnn.CUDNN_TENSOR_OP_MATH : cudnn.CUDNN_FMA_MATH;
    }

    /**
     * Succeeded, fits in {@code maxWorkspace}, deterministic when asked for, and FMA math unless TF32 is allowed; on
     * parts, an algorithm that sums the products as they are: a Winograd or FFT transform would round its transformed
     * operands to TF32 on tensor cores, losing what the small parts carry.
     */
    private static boolean acceptable(Op op, Perf p, Policy policy, long maxWorkspace) {
        return p.status() == cudnn.CUDNN_STATUS_SUCCESS
                && p.memory() >= 0 && p.memory() <= maxWorkspace
                && (!policy.deterministic() || p.determinism() == cudnn.CUDNN_DETERMINISTIC)
                && (CudaBackend.TF32 || policy.tf32Parts() || p.mathType() == cudnn.CUDNN_FMA_MATH)
                && (!policy.tf32Parts() || directSum(op, p.algo()));
    }

    /** cuDNN's algorithms that sum the products directly (implicit or explicit GEMM, direct): no transform of the operands. */
    static boolean directSum(Op op, int algo) {
        return switch (op) {
            case FORWARD -> algo == cudnn.CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM || algo == cudnn.CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM
                    || algo == cudnn.CUDNN_CONVOLUTION_FWD_ALGO_GEMM || algo == cudnn.CUDNN_CONVOLUTION_FWD_ALGO_DIRECT;
            case BACKWARD_DATA -> algo == cudnn.CUDNN_CONVOLUTION_BWD_DATA_ALGO_0 || algo == cudnn.CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
            case BACKWARD_FILTER -> algo == cudnn.CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0 || algo == cudnn.CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1
                    || algo == cudnn.CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3;
        };
    }

    /**
     * Find (when benchmarking), else heuristics, else a fixed always-supported deterministic algorithm; the
     * first acceptable row of Find's table (sorted fastest first) or of the heuristics' (best first).
     */
    private static Plan choose(CudaContext ctx, cudnnContext h, Plan d, Tensor x, Tensor w, Tensor y) {
        Policy policy = d.key().policy();
        List<String> notes = new ArrayList<>();
        if (policy.benchmark()) {
            try {
                Found found = find(ctx, h, d, x, w, y);
                for (Perf p : found.rows())
                    if (acceptable(d.key().op, p, policy, found.workspace())) return chosen(h, d, p, "find, of " + timings(d.key().op, found.rows()));
                notes.add("find gave nothing acceptable with a " + found.workspace() + " B workspace: " + table(d.key().op, found.rows()));
            } catch (CudaException e) {
                notes.add("find failed: " + e.getMessage());
            }
        }
        try {
            List<Perf> table = heuristics(h, d);
            for (Perf p : table) if (acceptable(d.key().op, p, policy, WORKSPACE_LIMIT)) return chosen(h, d, p, notes.isEmpty() ? "heuristic" : "heuristic (" + String.join("; ", notes) + ")");
            notes.add("heuristics gave nothing acceptable: " + table(d.key().op, table));
        } catch (CudaException e) {
            notes.add("heuristics failed: " + e.getMessage());
        }
        int algo = d.key().op == Op.FORWARD ? cudnn.CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM
                : d.key().op == Op.BACKWARD_DATA ? cudnn.CUDNN_CONVOLUTION_BWD_DATA_ALGO_1 : cudnn.CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
        long ws = workspaceSize(h, d, algo);
        if (ws < 0) throw new CudaException(d.key() + ": no usable cuDNN algorithm (" + String.join("; ", notes) + ")");
        return chosen(h, d, new Perf(algo, cudnn.CUDNN_STATUS_SUCCESS, Float.NaN, ws, cudnn.CUDNN_DETERMINISTIC, requestedMath(d.key().policy())),
                "fixed (" + String.join("; ", notes) + ")");
    }

    /** The plan for a chosen row; its workspace is the larger of what the row and cudnnGet*WorkspaceSize say. */
    private static Plan chosen(cudnnContext h, Plan d, Perf p, String source) {
        Cuda.checkCudnn(cudnn.cudnnSetConvolutionMathType(d.conv(), p.mathType()), "cudnnSetConvolutionMathType(" + mathName(p.mathType()) + ")");
        long ws = Math.max(p.memory(), workspaceSize(h, d, p.algo()));
        return new Plan(d.key(), d.y(), d.xDesc(), d.wDesc(), d.yDesc(), d.conv(), p.algo(), p.mathType(), ws, p.timeMs(),
                p.determinism() == cudnn.CUDNN_DETERMINISTIC, source);
    }

    /** cudnnGet*WorkspaceSize for one algorithm, or −1 when cuDNN does not support it here. */
    private static long workspaceSize(cudnnContext h, Plan d, int algo) {
        try (SizeTPointer size = new SizeTPointer(1L)) {
            size.put(0L);
            int status = switch (d.key().op) {
                case FORWARD -> cudnn.cudnnGetConvolutionForwardWorkspaceSize(h, d.xDesc(), d.wDesc(), d.conv(), d.yDesc(), algo, size);
                case BACKWARD_DATA -> cudnn.cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.wDesc(), d.yDesc(), d.conv(), d.xDesc(), algo, size);
                case BACKWARD_FILTER -> cudnn.cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.xDesc(), d.yDesc(), d.conv(), d.wDesc(), algo, size);
            };
            return status == cudnn.CUDNN_STATUS_SUCCESS ? size.get() : -1;
        }
    }

    private static int algorithmCount(Op op) {
        return switch (op) {
            case FORWARD -> cudnn.CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
            case BACKWARD_DATA -> cudnn.CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT;
            case BACKWARD_FILTER -> cudnn.CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT;
        };
    }

    /** Rows cuDNN can return: its max count, at least our enum's count. */
    private static int maxCount(cudnnContext h, Op op) {
        int[] max = new int[1];
        switch (op) {
            case FORWARD -> Cuda.checkCudnn(cudnn.cudnnGetConvolutionForwardAlgorithmMaxCount(h, max), "cudnnGetConvolutionForwardAlgorithmMaxCount");
            case BACKWARD_DATA -> Cuda.checkCudnn(cudnn.cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, max), "cudnnGetConvolutionBackwardDataAlgorithmMaxCount");
            case BACKWARD_FILTER -> Cuda.checkCudnn(cudnn.cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, max), "cudnnGetConvolutionBackwardFilterAlgorithmMaxCount");
        }
        return Math.max(max[0], algorithmCount(op));
    }

    /**
     * Benchmarks every algorithm on the real tensors (the output is overwritten, which the op does anyway)
     * with a temporary workspace as large as the largest algorithm needs, up to {@link #WORKSPACE_LIMIT}.
     */
    private static Found find(CudaContext ctx, cudnnContext h, Plan d, Tensor x, Tensor w, Tensor y) {
        Op op = d.key().op;
        long want = 0;
        for (int a = 0; a < algorithmCount(op); a++) {
            long s = workspaceSize(h, d, a);
            if (s > want && s <= WORKSPACE_LIMIT) want = s;
        }
        long bytes = want, ws = 0;
        while (bytes > 0) { // a smaller workspace only rules out the algorithms that need more
            try {
                ws = ctx.allocator().allocate(bytes);
                break;
            } catch (CudaException e) {
                bytes = bytes < (1 << 20) ? 0 : bytes / 2;
            }
        }
        int requested = maxCount(h, op);
        int[] returned = new int[1];
        Pointer work = ws == 0 ? null : new DevicePointer(ws);
        String call = "cudnnFindConvolution" + switch (op) {
            case FORWARD -> "Forward";
            case BACKWARD_DATA -> "BackwardData";
            case BACKWARD_FILTER -> "BackwardFilter";
        } + "AlgorithmEx(" + d.key() + ")";
        List<Perf> out = new ArrayList<>();
        try {
            switch (op) {
                case FORWARD -> {
                    try (cudnnConvolutionFwdAlgoPerf_t p = new cudnnConvolutionFwdAlgoPerf_t(requested)) {
                        Cuda.checkCudnn(cudnn.cudnnFindConvolutionForwardAlgorithmEx(h, d.xDesc(), address(x), d.wDesc(), address(w), d.conv(),
                                d.yDesc(), address(y), requested, returned, p, work, bytes), call);
                        for (int i = 0; i < Math.min(returned[0], requested); i++) {
                            p.position(i);
                            out.add(new Perf(p.algo(), p.status(), p.time(), p.memory(), p.determinism(), p.mathType()));
                        }
                        p.position(0);
                    }
                }
                case BACKWARD_DATA -> {
                    try (cudnnConvolutionBwdDataAlgoPerf_t p = new cudnnConvolutionBwdDataAlgoPerf_t(requested)) {
                        Cuda.checkCudnn(cudnn.cudnnFindConvolutionBackwardDataAlgorithmEx(h, d.wDesc(), address(w), d.yDesc(), address(y), d.conv(),
                                d.xDesc(), address(x), requested, returned, p, work, bytes), call);
                        for (int i = 0; i < Math.min(returned[0], requested); i++) {
                            p.position(i);
                            out.add(new Perf(p.algo(), p.status(), p.time(), p.memory(), p.determinism(), p.mathType()));
                        }
                        p.position(0);
                    }
                }
                case BACKWARD_FILTER -> {
                    try (cudnnConvolutionBwdFilterAlgoPerf_t p = new cudnnConvolutionBwdFilterAlgoPerf_t(requested)) {
                        Cuda.checkCudnn(cudnn.cudnnFindConvolutionBackwardFilterAlgorithmEx(h, d.xDesc(), address(x), d.yDesc(), address(y), d.conv(),
                                d.wDesc(), address(w), requested, returned, p, work, bytes), call);
                        for (int i = 0; i < Math.min(returned[0], requested); i++) {
                            p.position(i);
                            out.add(new Perf(p.algo(), p.status(), p.time(), p.memory(), p.determinism(), p.mathType()));
                        }
                        p.position(0);
                    }
                }
            }
        } finally {
            if (ws != 0) ctx.allocator().free(ws, bytes);
        }
        return new Found(out, bytes);
    }

    /** Find's table and the workspace it was given: rows that need more cannot run with what we can allocate. */
    private record Found(List<Perf> rows, long workspace) {}

    /** cuDNN's heuristic ranking (cudnnGet*Algorithm_v7), best first; nothing is run. */
    private static List<Perf> heuristics(cudnnContext h, Plan d) {
        Op op = d.key().op;
        int requested = maxCount(h, op);
        int[] returned = new int[1];
        String call = "cudnnGetConvolution" + switch (op) {
            case FORWARD -> "Forward";
            case BACKWARD_DATA -> "BackwardData";
            case BACKWARD_FILTER -> "BackwardFilter";
        } + "Algorithm_v7(" + d.key() + ")";
        List<Perf> out = new ArrayList<>();
        switch (op) {
            case FORWARD -> {
                try (cudnnConvolutionFwdAlgoPerf_t p = new cudnnConvolutionFwdAlgoPerf_t(requested)) {
                    Cuda.checkCudnn(cudnn.cudnnGetConvolutionForwardAlgorithm_v7(h, d.xDesc(), d.wDesc(), d.conv(), d.yDesc(), requested, returned, p), call);
                    for (int i = 0; i < Math.min(returned[0], requested); i++) {
                        p.position(i);
                        out.add(new Perf(p.algo(), p.status(), p.time(), p.memory(), p.determinism(), p.mathType()));
                    }
                    p.position(0);
                }
            }
            case BACKWARD_DATA -> {
                try (cudnnConvolutionBwdDataAlgoPerf_t p = new cudnnConvolutionBwdDataAlgoPerf_t(requested)) {
                    Cuda.checkCudnn(cudnn.cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.wDesc(), d.yDesc(), d.conv(), d.xDesc(), requested, returned, p), call);
                    for (int i = 0; i < Math.min(returned[0], requested); i++) {
                        p.position(i);
                        out.add(new Perf(p.algo(), p.status(), p.time(), p.memory(), p.determinism(), p.mathType()));
                    }
                    p.position(0);
                }
            }
            case BACKWARD_FILTER -> {
                try (cudnnConvolutionBwdFilterAlgoPerf_t p = new cudnnConvolutionBwdFilterAlgoPerf_t(requested)) {
                    Cuda.checkCudnn(cudnn.cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.xDesc(), d.yDesc(), d.conv(), d.wDesc(), requested, returned, p), call);
                    for (int i = 0; i < Math.min(returned[0], requested); i++) {
                        p.position(i);
                        out.add(new Perf(p.algo(), p.status(), p.time(), p.memory(), p.determinism(), p.mathType()));
                    }
                    p.position(0);
                }
            }
        }
        return out;
    }

    private static void destroy(cudnnTensorStruct x, cudnnFilterStruct w, cudnnTensorStruct y, cudnnConvolutionStruct c) {
        if (!x.isNull()) cudnn.cudnnDestroyTensorDescriptor(x);
        if (!y.isNull()) cudnn.cudnnDestroyTensorDescriptor(y);
        if (!w.isNull()) cudnn.cudnnDestroyFilterDescriptor(w);
        if (!c.isNull()) cudnn.cudnnDestroyConvolutionDescriptor(c);
    }

    /** Drops every cached plan (their descriptors are destroyed); the next call of each shape chooses again. */
    static void clearPlans() {
        synchronized (LOCK) {
            for (Plan p : PLANS.values()) destroy(p.xDesc(), p.wDesc(), p.yDesc(), p.conv());
            PLANS.clear();
        }
    }

    /** The cached plans, in creation order (for tests). */
    static List<Plan> plans() {
        synchronized (LOCK) { return List.copyOf(PLANS.values()); }
    }

    // ---- names, for frl info / bench -------------------------------------------------------------

    /** One line per cached plan: the op and shapes, the algorithm, its math, workspace, Find time, and how it was chosen. */
    static String describeAlgorithms() {
        StringBuilder sb = new StringBuilder();
        for (Plan p : plans()) {
            sb.append(p.key()).append(": ").append(algorithmName(p.key().op, p.algo()))
                    .append(", ").append(mathName(p.mathType()))
                    .append(p.deterministic() ? ", deterministic" : "")
                    .append(String.format(Locale.ROOT, ", workspace %.1f MiB", p.workspace() / 1048576.0));
            if (!Float.isNaN(p.timeMs())) sb.append(String.format(Locale.ROOT, ", %.3f ms", p.timeMs()));
            sb.append(" [").append(p.source()).append("]\n");
        }
        return sb.isEmpty() ? "no convolution has run yet\n" : sb.toString();
    }

    private static final String[] FWD = {"IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
    private static final String[] BWD_DATA = {"ALGO_0", "ALGO_1", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
    private static final String[] BWD_FILTER = {"ALGO_0", "ALGO_1", "FFT", "ALGO_3", "WINOGRAD", "WINOGRAD_NONFUSED", "FFT_TILING"};

    static String algorithmName(Op op, int algo) {
        String[] names = switch (op) {
            case FORWARD -> FWD;
            case BACKWARD_DATA -> BWD_DATA;
            case BACKWARD_FILTER -> BWD_FILTER;
        };
        return algo >= 0 && algo < names.length ? names[algo] : "algo " + algo;
    }

    static String mathName(int math) {
        return switch (math) {
            case cudnn.CUDNN_DEFAULT_MATH -> "default math";
            case cudnn.CUDNN_TENSOR_OP_MATH -> "tensor-op math";
            case cudnn.CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION -> "tensor-op math (conversion)";
            case cudnn.CUDNN_FMA_MATH -> "FMA math";
            default -> "math " + math;
        };
    }

    /** Find's successful rows, fastest first, as "ALGO ms (workspace)" (what the choice was made from). */
    private static String timings(Op op, List<Perf> rows) {
        List<String> s = new ArrayList<>();
        for (Perf p : rows)
            if (p.status() == cudnn.CUDNN_STATUS_SUCCESS)
                s.add(String.format(Locale.ROOT, "%s %s %.3f ms (%.0f MiB)", algorithmName(op, p.algo()), mathName(p.mathType()), p.timeMs(), p.memory() / 1048576.0));
        return String.join(", ", s);
    }

    private static String table(Op op, List<Perf> rows) {
        if (rows.isEmpty()) return "no rows";
        List<String> s = new ArrayList<>();
        for (Perf p : rows)
            s.add(algorithmName(op, p.algo()) + " status " + p.status() + " " + mathName(p.mathType()) + " " + p.memory() + " B"
                    + (p.determinism() == cudnn.CUDNN_DETERMINISTIC ? " det" : ""));
        return String.join(", ", s);
    }
}
