package frl.backend.cuda;

import frl.backend.ConvGeometry;
import frl.backend.Shift;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;

/**
 * Microbenchmark of the hand-written convolution kernels against their cuDNN alternative, timed with CUDA events on
 * the context's stream (3 warm-up calls, median of 20): PixelCNN++'s shifted convolutions (both paths, forward and
 * both gradients; the cuDNN path also in each CudnnMath and as unfolded GEMMs), Glow's small 1×1 convolutions (the
 * kernels against {@code CudaBackend.conv2d} and its backward ops), the FRL-VAE's last transposed convolution (CudaSubPixel's GEMMs, all three ops, output as NCHW and in phases)
 * and its middle ones, and its dense heads (one GEMM). Prints one line per measurement with GFLOP/s (and GB/s for the
 * memory-bound 1×1) and returns the same rows by name. For the transposed convolutions it also times the sub-pixel
 * plans step by step in each GEMM mode ({@link StepTimes}: one warm-up, the mean of 3). Call it only where a GPU is present.
 */
public final class ConvKernelBench {
    private static final int WARMUPS = 3, REPEATS = 20;

    private ConvKernelBench() {}

    public static Map<String, Object> run() {
        Map<String, Object> rows = new LinkedHashMap<>();
        CudaBackend be = CudaBackend.instance();
        Random random = new Random(1);
        try (CudaTimer timer = new CudaTimer(); Scope scope = Scope.open()) {
            // PixelCNN++ (nr_filters 80, batch 32): concat_elu doubles the channels into each gated_resnet conv.
            shifted(rows, timer, be, random, Shift.DOWN, 32, 160, 32, 80, 2, 3);
            shifted(rows, timer, be, random, Shift.DOWN, 32, 160, 32, 160, 2, 3);
            shifted(rows, timer, be, random, Shift.DOWN_RIGHT, 32, 160, 32, 80, 2, 2);
            shifted(rows, timer, be, random, Shift.DOWN_RIGHT, 32, 160, 16, 80, 2, 2);
            shifted(rows, timer, be, random, Shift.DOWN, 32, 160, 8, 80, 2, 3);
            // Glow: batch 64, C = 12 / 24 / 48 after the squeezes.
            for (int[] s : new int[][] {{12, 16}, {24, 16}, {48, 16}, {12, 8}, {24, 8}, {48, 8}}) oneByOne(rows, timer, be, random, 64, s[0], s[1]);
            // The FRL-VAE's last decoder layer (transposed conv 4×4 stride 2, 16→32), all three ops: cuDNN vs sub-pixel GEMMs;
            // then cifar's middle layers (8↔4 and 16↔8), where auto has kept cuDNN: phases of 4×4 and 8×8 pixels; there and
            // for the encoder's first layer also as unfolded GEMMs (CudaUnfold).
            subPixel(rows, timer, be, random, 64, 1024, 64, 32);
            subPixel(rows, timer, be, random, 64, 512, 32, 32);
            subPixel(rows, timer, be, random, 64, 128, 256, 8);
            subPixel(rows, timer, be, random, 64, 64, 128, 16);
            subPixel(rows, timer, be, random, 64, 4, 64, 32);   // the encoder's first convolution (its "input-gradient" rows), 4 channels in
            // The FRL-VAE's dense layers (cifar, ngf 64): the heads 256·4·4 → 200, the first decoder layer 200 → 512·4·4.
            dense(rows, timer, be, random, 64, 256, 200);
            dense(rows, timer, be, random, 64, 512, 200);
        }
        rows.put("shifted conv choices", CudaShiftedConv.choices().toString());
        rows.put("1×1 conv choices", CudaConv.oneByOneChoices().toString());
        rows.put("sub-pixel choices", CudaConv.subPixelChoices().toString());
        rows.put("unfold choices", CudaConv.unfoldChoices().toString());
        rows.put("unfold plan modes (-Dfrl.cuda.gemm=auto, -Dfrl.cuda.splitK=auto)", CudaUnfold.modeChoices().toString());
        rows.put("dense conv choices", CudaConv.denseChoices().toString());
        rows.put("cuDNN math choices (-Dfrl.cuda.cudnnMath=auto)", CudaConv.mathChoices().toString());
        rows.put("sub-pixel plan modes (-Dfrl.cuda.gemm, phaseGemms, splitK where auto)", CudaSubPixel.modeChoices().toString());
        String tf32 = CudaBlas.tf32InputConversion();
        rows.put("cuBLAS TF32 GEMM on floats TF32 does not hold", tf32);
        System.out.println("cuBLAS TF32 GEMM on floats TF32 does not hold: " + tf32);
        return rows;
    }

    private static void shifted(Map<String, Object> rows, CudaTimer timer, CudaBackend be, Random r, Shift s, int n, int c, int size, int k, int kh, int kw) {
        Shape xs = Shape.of(n, c, size, size), ws = Shape.of(k, c, kh, kw), ys = Shape.of(n, k, size, size);
        Tensor x = random(be, xs, r), w = random(be, ws, r), dy = random(be, ys, r);
        double flop = 2.0 * n * k * size * size * c * kh * kw;
        String name = "shifted " + s + " " + kh + "×" + kw + " " + c + "→" + k + " " + size + "×" + size + " batch " + n;
        for (FasterPath.Path p : FasterPath.Path.values()) shiftedOps(rows, timer, name, " " + p.name().toLowerCase(), flop, x, w, dy, s, p);
        // the kernels on tensor cores; the cuDNN path in each math, and as unfolded GEMMs (-Dfrl.cuda.gemm and splitK as
        // they are): which the weight gradient, at 11–18 TFLOP/s by either path on the H200, should take
        for (String[] way : new String[][] {{"frl.cuda.shiftedKernel", "mma", "kernel"}, {"frl.cuda.cudnnMath", "fma", "cudnn"},
                {"frl.cuda.cudnnMath", "3xtf32", "cudnn"}, {"frl.cuda.unfold", "kernel", "cudnn"}}) {
            String was = System.getProperty(way[0]);
            System.setProperty(way[0], way[1]);
            try {
                shiftedOps(rows, timer, name, " " + way[2] + ", " + way[0].substring("frl.cuda.".length()) + "=" + way[1], flop, x, w, dy, s,
                        way[2].equals("kernel") ? FasterPath.Path.KERNEL : FasterPath.Path.CUDNN);
                if (way[1].equals("mma") && c % 2 == 0) {   // a scoring pass's forward of a concat-ELU: read as x is loaded, or written first
                    Tensor half = be.narrow(x, 1, 0, c / 2);
                    for (FasterPath.Path p : FasterPath.Path.values())
                        measure(rows, timer, name + " forward of concat-ELU " + p.name().toLowerCase() + ", shiftedKernel=mma", flop, 0,
                                () -> CudaShiftedConv.forwardOfConcatElu(half, w, s, p));
                }
            } finally {
                if (was == null) System.clearProperty(way[0]);
                else System.setProperty(way[0], was);
            }
        }
    }

    /** The three ops of a shifted convolution by one path, the rows named name + op + tag. */
    private static void shiftedOps(Map<String, Object> rows, CudaTimer timer, String name, String tag, double flop, Tensor x, Tensor w, Tensor dy, Shift s,
                                   FasterPath.Path p) {
        Shape xs = x.shape(), ws = w.shape();
        measure(rows, timer, name + " forward" + tag, flop, 0, () -> CudaShiftedConv.forward(x, w, s, p));
        measure(rows, timer, name + " backward-input" + tag, flop, 0, () -> CudaShiftedConv.backwardInput(dy, w, xs, s, p));
        measure(rows, timer, name + " backward-weight" + tag, flop, 0, () -> CudaShiftedConv.backwardWeight(x, dy, ws, s, p));
    }

    /**
     * The transposed conv k→c (its forward, then the gradients of its input and weight) through cuDNN and CudaSubPixel,
     * with its output as NCHW and in sub-pixel phases (the layout the VAE's loss reads under -Dfrl.cuda.subpixel=auto).
     */
    private static void subPixel(Map<String, Object> rows, CudaTimer timer, CudaBackend be, Random r, int n, int c, int k, int size) {
        int half = size / 2;
        Shape xs = Shape.of(n, c, size, size), ws = Shape.of(k, c, 4, 4), ys = Shape.of(n, k, half, half);
        Tensor x = random(be, xs, r), w = random(be, ws, r), dy = random(be, ys, r);
        ConvGeometry g = ConvGeometry.of(2, 1);
        Tensor xp = CudaSubPixel.toPhases(x, g);
        CudaConv.Policy cudnn = CudaConv.Policy.DEFAULT;
        double flop = 2.0 * n * k * half * half * c * 16;
        String name = "transposed conv " + k + "→" + c + " 4×4 s2 " + half + "→" + size + " batch " + n;
        measure(rows, timer, name + " forward cudnn", flop, 0, () -> CudaConv.backwardInput(dy, w, xs, g, cudnn));
        measure(rows, timer, name + " input-gradient cudnn", flop, 0, () -> CudaConv.conv2d(x, w, g, cudnn));
        measure(rows, timer, name + " weight-gradient cudnn", flop, 0, () -> CudaConv.backwardWeight(x, dy, ws, g, cudnn));
        measure(rows, timer, name + " forward subpixel", flop, 0, () -> CudaSubPixel.backwardInput(dy, w, xs, g));
        measure(rows, timer, name + " input-gradient subpixel", flop, 0, () -> CudaSubPixel.conv2d(x, w, g));
        measure(rows, timer, name + " weight-gradient subpixel", flop, 0, () -> CudaSubPixel.backwardWeight(x, dy, ws, g));
        if (CudaUnfold.applies(xs, ws, g)) { // as unfolded GEMMs, in chunks under -Dfrl.cuda.splitK=on or auto
            measure(rows, timer, name + " forward unfold", flop, 0, () -> CudaUnfold.backwardInput(dy, w, xs, g));
            measure(rows, timer, name + " input-gradient unfold", flop, 0, () -> CudaUnfold.conv2d(x, w, g));
            measure(rows, timer, name + " weight-gradient unfold", flop, 0, () -> CudaUnfold.backwardWeight(x, dy, ws, g));
        }
        measure(rows, timer, name + " forward subpixel in phases", flop, 0, () -> CudaSubPixel.backwardInputToPhases(dy, w, xs, g));
        measure(rows, timer, name + " input-gradient subpixel in phases", flop, 0, () -> CudaSubPixel.conv2dFromPhases(xp, w, xs, g));
        measure(rows, timer, name + " weight-gradient subpixel in phases", flop, 0, () -> CudaSubPixel.backwardWeightFromPhases(xp, dy, xs, ws, g));
        planSteps(rows, name, x, w, dy, xp, g);
    }

    /**
     * Where the plans spend their time, step by step, in each GEMM mode (ms per call, 3 calls after one): in phases (the
     * forward, both gradients) as the VAE's last layer runs, and with x in NCHW (the three ops) as the others would;
     * phases batched and weight gradients split where their switches are on or auto.
     */
    private static void planSteps(Map<String, Object> rows, String name, Tensor x, Tensor w, Tensor dy, Tensor xp, ConvGeometry g) {
        SubPixelPlans.Dims d = SubPixelPlans.Dims.of(x.shape(), w.shape(), g)
                .running(SubPixelPlans.phaseGemms() != SubPixelPlans.Option.OFF, SubPixelPlans.splitK() != SubPixelPlans.Option.OFF);
        StepTimes steps = new StepTimes(CudaSubPixel.GPU);
        for (SubPixelPlans.Gemm gemm : SubPixelPlans.Gemm.values()) {
            try (Scope s = Scope.open()) {
                Tensor out = CudaBackend.alloc(xp.shape()), y = CudaBackend.alloc(dy.shape()), dw = CudaBackend.alloc(w.shape());
                Map<String, Runnable> plans = new LinkedHashMap<>();
                plans.put("forward", () -> SubPixelPlans.backwardInputToPhases(steps, gemm, d, at(dy), at(w), at(out)));
                plans.put("both gradients", () -> SubPixelPlans.gradsFromPhases(steps, gemm, d, at(xp), at(w), at(dy), at(y), at(dw)));
                Tensor dx = CudaBackend.alloc(x.shape());
                plans.put("NCHW forward", () -> SubPixelPlans.backwardInput(steps, gemm, d, at(dy), at(w), at(dx)));
                plans.put("NCHW input gradient", () -> SubPixelPlans.conv2d(steps, gemm, d, at(x), at(w), at(y)));
                plans.put("NCHW weight gradient", () -> SubPixelPlans.backwardWeight(steps, gemm, d, at(x), at(dy), at(dw)));
                plans.forEach((plan, run) -> {
                    run.run();
                    steps.drain();
                    for (int i = 0; i < 3; i++) run.run();
                    steps.drain().forEach((step, ms) -> {
                        String row = name + " " + plan + " " + gemm + " step " + step;
                        rows.put(row, round(ms / 3));
                        System.out.printf("%-100s %9.4f ms%n", row, ms / 3);
                    });
                });
            }
        }
    }

    private static long at(Tensor t) { return t.storage().address(); }

    /** A 4×4 convolution over a 4×4 input (one output pixel), c → k channels: cuDNN against one GEMM (CudaDenseConv). */
    private static void dense(Map<String, Object> rows, CudaTimer timer, CudaBackend be, Random r, int n, int c, int k) {
        Shape xs = Shape.of(n, c, 4, 4), ws = Shape.of(k, c, 4, 4), ys = Shape.of(n, k, 1, 1);
        Tensor x = random(be, xs, r), w = random(be, ws, r), dy = random(be, ys, r);
        ConvGeometry g = ConvGeometry.of(1, 0);
        CudaConv.Policy cudnn = CudaConv.Policy.DEFAULT;
        double flop = 2.0 * n * k * c * 16;
        String name = "dense 4×4 conv " + c + "→" + k + " batch " + n;
        measure(rows, timer, name + " forward gemm", flop, 0, () -> CudaDenseConv.conv2d(x, w, g));
        measure(rows, timer, name + " forward cudnn", flop, 0, () -> CudaConv.conv2d(x, w, g, cudnn));
        measure(rows, timer, name + " backward-input gemm", flop, 0, () -> CudaDenseConv.backwardInput(dy, w, xs, g));
        measure(rows, timer, name + " backward-input cudnn", flop, 0, () -> CudaConv.backwardInput(dy, w, xs, g, cudnn));
        measure(rows, timer, name + " backward-weight gemm", flop, 0, () -> CudaDenseConv.backwardWeight(x, dy, ws, g));
        measure(rows, timer, name + " backward-weight cudnn", flop, 0, () -> CudaConv.backwardWeight(x, dy, ws, g, cudnn));
    }

    private static void oneByOne(Map<String, Object> rows, CudaTimer timer, CudaBackend be, Random r, int n, int c, int size) {
        Shape xs = Shape.of(n, c, size, size), ws = Shape.of(c, c, 1, 1);
        Tensor x = random(be, xs, r), w = random(be, ws, r), dy = random(be, xs, r);
        ConvGeometry g = ConvGeometry.of(1, 0);
        double flop = 2.0 * n * c * c * size * size;
        long bytes = 2L * x.numel() * Float.BYTES;   // read C, write K per pixel (the weight stays in cache)
        String name = "1×1 " + c + "→" + c + " " + size + "×" + size + " batch " + n;
        measure(rows, timer, name + " forward kernel", flop, bytes, () -> CudaConv1x1.forward(x, w));
        measure(rows, timer, name + " forward cudnn", flop, bytes, () -> CudaConv.conv2d(x, w, g, CudaConv.Policy.DEFAULT));
        measure(rows, timer, name + " backward-input kernel", flop, bytes, () -> CudaConv1x1.backwardInput(dy, w, xs));
        measure(rows, timer, name + " backward-input cudnn", flop, bytes, () -> CudaConv.backwardInput(dy, w, xs, g, CudaConv.Policy.DEFAULT));
        measure(rows, timer, name + " backward-weight kernel", flop, bytes, () -> CudaConv1x1.backwardWeight(x, dy, ws));
        measure(rows, timer, name + " backward-weight cudnn", flop, bytes, () -> CudaConv.backwardWeight(x, dy, ws, g, CudaConv.Policy.DEFAULT));
    }

    /** Times one op; a path that fails (e.g. a cuDNN wrapper not there yet) is recorded with its error, not thrown. */
    private static void measure(Map<String, Object> rows, CudaTimer timer, String name, double flop, long bytes, Supplier<Tensor> op) {
        Map<String, Object> row = new LinkedHashMap<>();
        try {
            double ms = timer.median(op::get, WARMUPS, REPEATS);
            row.put("ms", round(ms));
            row.put("GFLOP/s", round(flop / ms / 1e6));
            if (bytes > 0) row.put("GB/s", round(bytes / ms / 1e6));
            System.out.printf("%-72s %9.4f ms %9.1f GFLOP/s%s%n", name, ms, flop / ms / 1e6, bytes > 0 ? String.format(" %8.1f GB/s", bytes / ms / 1e6) : "");
        } catch (UnsupportedOperationException | CudaException e) {
            row.put("error", e.getMessage());
            System.out.printf("%-72s failed: %s%n", name, e.getMessage());
        }
        rows.put(name, row);
    }

    private static Tensor random(CudaBackend be, Shape s, Random r) {
        float[] v = new float[(int) s.numel()];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return be.fromHost(s, v);
    }

    private static double round(double v) { return Math.round(v * 1000) / 1000.0; }
}
