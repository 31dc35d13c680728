package frl.backend.cuda;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.ConvGeometry;
import frl.backend.ConvGeometry.Phase;
import frl.backend.Shapes;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The sub-pixel convolution ops against the CPU's: conv2d, conv2dBackwardInput and conv2dBackwardWeight, and, where x's
 * phases are all the same size, toPhases, fromPhases and the three phase ops. On the GPU (tagged gpu), and, everywhere,
 * a host emulation of CudaSubPixel's plans (the kernels of subpixel.cu ported loop for loop, arrays and float offsets
 * for device addresses, and the GEMMs with the exact column-major arguments CudaSubPixel passes to CudaBlas.gemm). The
 * emulated GEMM sums in double, the kernels in float as on the device.
 */
class CudaSubPixelTest {
    /** x (the large tensor: the transposed conv's output) [N,C,H,W], w [K,C,kh,kw], geometry. */
    private record Case(int n, int c, int h, int w, int k, int kh, int kw, ConvGeometry g) {
        Shape x() { return Shape.of(n, c, h, w); }

        Shape wt() { return Shape.of(k, c, kh, kw); }

        Shape dy() { return Shape.of(n, k, g.outH(h, kh), g.outW(w, kw)); }

        Shape phases() { return Shapes.phases("test", x(), g); }

        CudaSubPixel.Dims dims() { return CudaSubPixel.Dims.of(x(), wt(), g); }

        boolean uniform() { return g.uniformPhases(h, w); }

        @Override public String toString() { return "x" + x() + " w" + wt() + " " + g; }
    }

    private static final Case[] CASES = {
        new Case(4, 64, 32, 32, 16, 4, 4, ConvGeometry.of(2, 1)),     // the VAE's last layer, narrower
        new Case(2, 8, 17, 9, 3, 4, 4, ConvGeometry.of(2, 1)),        // odd sizes: a row no window reaches
        new Case(1, 5, 9, 12, 4, 2, 2, ConvGeometry.of(2, 0)),        // batch 1
        new Case(3, 6, 15, 14, 2, 6, 3, new ConvGeometry(3, 3, 2, 1)),
        new Case(2, 3, 8, 10, 5, 4, 2, new ConvGeometry(2, 1, 1, 0)), // stride 1 across
        new Case(2, 4, 2, 5, 3, 3, 3, ConvGeometry.of(3, 1)),         // x 2 rows high: phase row 0 owns no pixel
        new Case(1, 5, 12, 9, 4, 6, 3, new ConvGeometry(3, 3, 2, 1)), // stride 3 divides x: phases all 4 × 3
    };

    /** The VAE's last layer (1024 channels from 64) at batch 2, emulated too; the GPU test runs it at batch 64. */
    private static final Case VAE = new Case(2, 1024, 32, 32, 64, 4, 4, ConvGeometry.of(2, 1));

    private static float[] random(Random r, Shape s) {
        float[] v = new float[Math.toIntExact(s.numel())];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    /** An op on the CPU backend, and its emulation; the inputs are x, w and dy (each op reads two). */
    private interface OnCpu { Tensor run(Backend cpu, Case c, Tensor x, Tensor w, Tensor dy); }

    private interface Emulated { float[] run(Case c, float[] x, float[] w, float[] dy); }

    /** The CASES and the VAE's; only those whose phases are all the same size for the ops on the phases layout. */
    private static Case[] cases(boolean uniformOnly) {
        Case[] all = Arrays.copyOf(CASES, CASES.length + 1);
        all[CASES.length] = VAE;
        return Arrays.stream(all).filter(c -> !uniformOnly || c.uniform()).toArray(Case[]::new);
    }

    private static void checkEmulation(String name, boolean uniformOnly, OnCpu onCpu, Emulated emulated) {
        Backend cpu = Backends.cpu();
        Random r = new Random(3);
        for (Case c : cases(uniformOnly)) {
            try (Scope s = Scope.open()) {
                float[] x = random(r, c.x()), w = random(r, c.wt()), dy = random(r, c.dy());
                float[] want = onCpu.run(cpu, c, cpu.fromHost(c.x(), x), cpu.fromHost(c.wt(), w), cpu.fromHost(c.dy(), dy)).toFloats();
                CudaVsCpu.assertClose(name + " " + c, emulated.run(c, x, w, dy), want, 1e-10);
            }
        }
    }

    /** The same random floats as x in phases [R, C, N, q] (the phase ops' input). */
    private static Tensor inPhases(Backend cpu, Case c, Tensor x) { return cpu.fromHost(c.phases(), x.toFloats()); }

    @Test void theCasesIncludeUniformPhases() {
        assertEquals(4, cases(true).length, Arrays.toString(cases(true)));
    }

    @Test void hostEmulationOfBackwardInputMatchesTheCpu() {
        checkEmulation("conv2dBackwardInput", false,
                (cpu, c, x, w, dy) -> cpu.conv2dBackwardInput(dy, w, c.x(), c.g()),
                (c, x, w, dy) -> emulateBackwardInput(c.dims(), dy, w));
    }

    @Test void hostEmulationOfConv2dMatchesTheCpu() {
        checkEmulation("conv2d", false,
                (cpu, c, x, w, dy) -> cpu.conv2d(x, w, c.g()),
                (c, x, w, dy) -> emulateConv2d(c.dims(), x, w));
    }

    @Test void hostEmulationOfBackwardWeightMatchesTheCpu() {
        checkEmulation("conv2dBackwardWeight", false,
                (cpu, c, x, w, dy) -> cpu.conv2dBackwardWeight(x, dy, c.wt(), c.g()),
                (c, x, w, dy) -> emulateBackwardWeight(c.dims(), x, dy));
    }

    @Test void hostEmulationOfToPhasesAndFromPhasesMatchesTheCpu() {
        checkEmulation("toPhases", true,
                (cpu, c, x, w, dy) -> cpu.toPhases(x, c.g()),
                (c, x, w, dy) -> emulateMovePhases(c.dims(), x, true));
        checkEmulation("fromPhases", true,
                (cpu, c, x, w, dy) -> cpu.fromPhases(inPhases(cpu, c, x), c.x(), c.g()),
                (c, x, w, dy) -> emulateMovePhases(c.dims(), x, false));
    }

    @Test void hostEmulationOfBackwardInputToPhasesMatchesTheCpu() {
        checkEmulation("conv2dBackwardInputToPhases", true,
                (cpu, c, x, w, dy) -> cpu.conv2dBackwardInputToPhases(dy, w, c.x(), c.g()),
                (c, x, w, dy) -> emulateBackwardInputToPhases(c.dims(), dy, w));
    }

    @Test void hostEmulationOfConv2dFromPhasesMatchesTheCpu() {
        checkEmulation("conv2dFromPhases", true,
                (cpu, c, x, w, dy) -> cpu.conv2dFromPhases(inPhases(cpu, c, x), w, c.x(), c.g()),
                (c, x, w, dy) -> emulateConv2dFromPhases(c.dims(), x, w));
    }

    @Test void hostEmulationOfBackwardWeightFromPhasesMatchesTheCpu() {
        checkEmulation("conv2dBackwardWeightFromPhases", true,
                (cpu, c, x, w, dy) -> cpu.conv2dBackwardWeightFromPhases(inPhases(cpu, c, x), dy, c.x(), c.wt(), c.g()),
                (c, x, w, dy) -> emulateBackwardWeightFromPhases(c.dims(), x, dy));
    }

    @Test void theSplitOfTheWeightsIsABijection() {
        for (Case c : CASES) {
            CudaSubPixel.Dims d = c.dims();
            float[] w = random(new Random(5), c.wt());
            assertEquals(java.util.Arrays.toString(w), java.util.Arrays.toString(unsplit(d, split(d, w))), c.toString());
        }
    }

    /** The VAE computes its loss in phases only where the direct GEMMs may run: not when cudnn is forced, nor for a stride not dividing the kernel. */
    @Test void convolvesInPhasesOnlyWhereTheDirectPathMayRun() {
        Shape w = Shape.of(64, 1024, 4, 4);
        String before = System.getProperty("frl.cuda.subpixel");
        try {
            System.setProperty("frl.cuda.subpixel", "cudnn");
            assertFalse(CudaSubPixel.convolvesInPhases(w, ConvGeometry.of(2, 1)), "cudnn forced");
            System.clearProperty("frl.cuda.subpixel");
            assertTrue(CudaSubPixel.convolvesInPhases(w, ConvGeometry.of(2, 1)), "the default, auto");
            assertFalse(CudaSubPixel.convolvesInPhases(Shape.of(64, 1024, 3, 3), ConvGeometry.of(2, 1)), "3×3 stride 2");
            System.setProperty("frl.cuda.subpixel", "kernel");
            assertTrue(CudaSubPixel.convolvesInPhases(w, new ConvGeometry(2, 1, 1, 0)));
        } finally {
            if (before == null) System.clearProperty("frl.cuda.subpixel");
            else System.setProperty("frl.cuda.subpixel", before);
        }
    }

    /** Its weight gradient hands cuBLAS n·q as an int: a batch whose pixels per phase overflow it goes to cuDNN. */
    @Test void refusesBatchesWhosePixelCountOverflowsAnInt() {
        Shape w = Shape.of(8, 3, 4, 4);
        ConvGeometry g = ConvGeometry.of(2, 1);
        assertTrue(CudaSubPixel.applies(Shape.of(64, 8, 32, 32), w, g));
        assertTrue(CudaSubPixel.applies(Shape.of(32767, 8, 512, 512), w, g));    // (2^15 − 1) · 256 · 256 pixels per phase fit
        assertFalse(CudaSubPixel.applies(Shape.of(32768, 8, 512, 512), w, g));   // 2^31 do not
    }

    /** The cases, the VAE's at batch 2, and at batch 64 (the cifar VAE's last layer), on the GPU. */
    private static Case[] gpuCases(boolean uniformOnly) {
        Case[] all = Arrays.copyOf(cases(uniformOnly), cases(uniformOnly).length + 1);
        all[all.length - 1] = new Case(64, 1024, 32, 32, 64, 4, 4, ConvGeometry.of(2, 1));
        return all;
    }

    @Test @Tag("gpu") void matchesTheCpuOnTheGpu() {
        Backend cuda = GpuTests.cudaOrSkip(), cpu = Backends.cpu();
        Random r = new Random(4);
        for (Case c : gpuCases(false)) {
            try (Scope s = Scope.open()) {
                float[] x = random(r, c.x()), w = random(r, c.wt()), dy = random(r, c.dy());
                Tensor cx = cpu.fromHost(c.x(), x), cw = cpu.fromHost(c.wt(), w), cdy = cpu.fromHost(c.dy(), dy);
                Tensor gx = cuda.fromHost(c.x(), x), gw = cuda.fromHost(c.wt(), w), gdy = cuda.fromHost(c.dy(), dy);
                CudaVsCpu.assertClose("conv2dBackwardInput " + c, CudaSubPixel.backwardInput(gdy, gw, c.x(), c.g()), cpu.conv2dBackwardInput(cdy, cw, c.x(), c.g()));
                CudaVsCpu.assertClose("conv2d " + c, CudaSubPixel.conv2d(gx, gw, c.g()), cpu.conv2d(cx, cw, c.g()));
                CudaVsCpu.assertClose("conv2dBackwardWeight " + c, CudaSubPixel.backwardWeight(gx, gdy, c.wt(), c.g()),
                        cpu.conv2dBackwardWeight(cx, cdy, c.wt(), c.g()));
            }
        }
    }

    /** toPhases and fromPhases bit for bit, the three phase ops' direct path close to the CPU's. */
    @Test @Tag("gpu") void thePhaseOpsMatchTheCpuOnTheGpu() {
        Backend cuda = GpuTests.cudaOrSkip(), cpu = Backends.cpu();
        Random r = new Random(7);
        for (Case c : gpuCases(true)) {
            try (Scope s = Scope.open()) {
                float[] x = random(r, c.x()), xp = random(r, c.phases()), w = random(r, c.wt()), dy = random(r, c.dy());
                Tensor cx = cpu.fromHost(c.x(), x), cxp = cpu.fromHost(c.phases(), xp), cw = cpu.fromHost(c.wt(), w), cdy = cpu.fromHost(c.dy(), dy);
                Tensor gx = cuda.fromHost(c.x(), x), gxp = cuda.fromHost(c.phases(), xp), gw = cuda.fromHost(c.wt(), w), gdy = cuda.fromHost(c.dy(), dy);
                CudaVsCpu.assertExact("toPhases " + c, cuda.toPhases(gx, c.g()), cpu.toPhases(cx, c.g()));
                CudaVsCpu.assertExact("fromPhases " + c, cuda.fromPhases(gxp, c.x(), c.g()), cpu.fromPhases(cxp, c.x(), c.g()));
                CudaVsCpu.assertClose("conv2dBackwardInputToPhases " + c, CudaSubPixel.backwardInputToPhases(gdy, gw, c.x(), c.g()),
                        cpu.conv2dBackwardInputToPhases(cdy, cw, c.x(), c.g()));
                CudaVsCpu.assertClose("conv2dFromPhases " + c, CudaSubPixel.conv2dFromPhases(gxp, gw, c.x(), c.g()),
                        cpu.conv2dFromPhases(cxp, cw, c.x(), c.g()));
                CudaVsCpu.assertClose("conv2dBackwardWeightFromPhases " + c, CudaSubPixel.backwardWeightFromPhases(gxp, gdy, c.x(), c.wt(), c.g()),
                        cpu.conv2dBackwardWeightFromPhases(cxp, cdy, c.x(), c.wt(), c.g()));
            }
        }
    }

    /** Under -Dfrl.cuda.subpixel=auto the backend's three ops time both paths per shape and match the CPU either way. */
    @Test @Tag("gpu") void theBackendChoosesPerOpUnderAuto() {
        Backend cuda = GpuTests.cudaOrSkip(), cpu = Backends.cpu();
        Case c = CASES[3];
        Random r = new Random(6);
        withSubPixel("auto", () -> {
            float[] x = random(r, c.x()), w = random(r, c.wt()), dy = random(r, c.dy());
            Tensor cx = cpu.fromHost(c.x(), x), cw = cpu.fromHost(c.wt(), w), cdy = cpu.fromHost(c.dy(), dy);
            Tensor gx = cuda.fromHost(c.x(), x), gw = cuda.fromHost(c.wt(), w), gdy = cuda.fromHost(c.dy(), dy);
            CudaVsCpu.assertClose("conv2dBackwardInput", cuda.conv2dBackwardInput(gdy, gw, c.x(), c.g()), cpu.conv2dBackwardInput(cdy, cw, c.x(), c.g()));
            CudaVsCpu.assertClose("conv2d", cuda.conv2d(gx, gw, c.g()), cpu.conv2d(cx, cw, c.g()));
            CudaVsCpu.assertClose("conv2dBackwardWeight", cuda.conv2dBackwardWeight(gx, gdy, c.wt(), c.g()), cpu.conv2dBackwardWeight(cx, cdy, c.wt(), c.g()));
            assertTimedOnce(c, "conv2d ", "conv2dBackwardInput ", "conv2dBackwardWeight ");
        });
    }

    /** Likewise the phase ops, each timed once against cuDNN's NCHW op and the layout change. */
    @Test @Tag("gpu") void theBackendChoosesPerPhaseOpUnderAuto() {
        Backend cuda = GpuTests.cudaOrSkip(), cpu = Backends.cpu();
        Case c = CASES[0];
        Random r = new Random(8);
        withSubPixel("auto", () -> {
            float[] xp = random(r, c.phases()), w = random(r, c.wt()), dy = random(r, c.dy());
            Tensor cxp = cpu.fromHost(c.phases(), xp), cw = cpu.fromHost(c.wt(), w), cdy = cpu.fromHost(c.dy(), dy);
            Tensor gxp = cuda.fromHost(c.phases(), xp), gw = cuda.fromHost(c.wt(), w), gdy = cuda.fromHost(c.dy(), dy);
            CudaVsCpu.assertClose("conv2dBackwardInputToPhases", cuda.conv2dBackwardInputToPhases(gdy, gw, c.x(), c.g()),
                    cpu.conv2dBackwardInputToPhases(cdy, cw, c.x(), c.g()));
            CudaVsCpu.assertClose("conv2dFromPhases", cuda.conv2dFromPhases(gxp, gw, c.x(), c.g()), cpu.conv2dFromPhases(cxp, cw, c.x(), c.g()));
            CudaVsCpu.assertClose("conv2dBackwardWeightFromPhases", cuda.conv2dBackwardWeightFromPhases(gxp, gdy, c.x(), c.wt(), c.g()),
                    cpu.conv2dBackwardWeightFromPhases(cxp, cdy, c.x(), c.wt(), c.g()));
            assertTimedOnce(c, "conv2dBackwardInputToPhases ", "conv2dFromPhases ", "conv2dBackwardWeightFromPhases ");
        });
    }

    /** The backend's phase ops under each forced path: the direct GEMMs, and cuDNN's NCHW op with the layout change. */
    @Test @Tag("gpu") void theBackendsPhaseOpsMatchTheCpuOnEitherForcedPath() {
        Backend cuda = GpuTests.cudaOrSkip(), cpu = Backends.cpu();
        Case c = CASES[0];
        for (String mode : new String[] {"kernel", "cudnn"}) {
            Random r = new Random(9);
            withSubPixel(mode, () -> {
                float[] xp = random(r, c.phases()), w = random(r, c.wt()), dy = random(r, c.dy());
                Tensor cxp = cpu.fromHost(c.phases(), xp), cw = cpu.fromHost(c.wt(), w), cdy = cpu.fromHost(c.dy(), dy);
                Tensor gxp = cuda.fromHost(c.phases(), xp), gw = cuda.fromHost(c.wt(), w), gdy = cuda.fromHost(c.dy(), dy);
                CudaVsCpu.assertClose(mode + " conv2dBackwardInputToPhases", cuda.conv2dBackwardInputToPhases(gdy, gw, c.x(), c.g()),
                        cpu.conv2dBackwardInputToPhases(cdy, cw, c.x(), c.g()));
                CudaVsCpu.assertClose(mode + " conv2dFromPhases", cuda.conv2dFromPhases(gxp, gw, c.x(), c.g()), cpu.conv2dFromPhases(cxp, cw, c.x(), c.g()));
                CudaVsCpu.assertClose(mode + " conv2dBackwardWeightFromPhases", cuda.conv2dBackwardWeightFromPhases(gxp, gdy, c.x(), c.wt(), c.g()),
                        cpu.conv2dBackwardWeightFromPhases(cxp, cdy, c.x(), c.wt(), c.g()));
            });
        }
    }

    private static void withSubPixel(String mode, Runnable body) {
        String before = System.getProperty("frl.cuda.subpixel");
        System.setProperty("frl.cuda.subpixel", mode);
        try (Scope s = Scope.open()) {
            body.run();
        } finally {
            if (before == null) System.clearProperty("frl.cuda.subpixel");
            else System.setProperty("frl.cuda.subpixel", before);
        }
    }

    private static void assertTimedOnce(Case c, String... ops) {
        Map<String, FasterPath.Choice> chosen = CudaConv.subPixelChoices();
        for (String op : ops) assertEquals(1, chosen.keySet().stream().filter(k -> k.startsWith(op + "x" + c.x())).count(), op + "not timed: " + chosen);
    }

    // ---- CudaSubPixel's plans on the host: each line one kernel launch or GEMM of the Java ---------------------------

    /** An emulated device address: an array and a float offset into it. */
    private record At(float[] mem, long off) {}

    private static float[] emulateBackwardInput(CudaSubPixel.Dims d, float[] dy, float[] w) {
        float[] dx = scratch((long) d.n() * d.c() * d.h() * d.w()), part = scratch(d.c() * d.nqMax());
        transposed(d, dy, w, p -> new At(part, 0), p -> movePixels(d, p, dx, new At(part, 0), false));
        return dx;
    }

    private static float[] emulateConv2d(CudaSubPixel.Dims d, float[] x, float[] w) {
        return forward(d, w, gatheredInto(scratch(d.c() * d.nqMax()), x, d));
    }

    private static float[] emulateBackwardWeight(CudaSubPixel.Dims d, float[] x, float[] dy) {
        return weightGradient(d, dy, gatheredInto(scratch(d.c() * d.nqMax()), x, d));
    }

    private static float[] emulateBackwardInputToPhases(CudaSubPixel.Dims d, float[] dy, float[] w) {
        float[] x = scratch((long) d.n() * d.c() * d.h() * d.w());
        transposed(d, dy, w, inPlace(x, d), p -> {});
        return x;
    }

    private static float[] emulateConv2dFromPhases(CudaSubPixel.Dims d, float[] xPhases, float[] w) { return forward(d, w, inPlace(xPhases, d)); }

    private static float[] emulateBackwardWeightFromPhases(CudaSubPixel.Dims d, float[] xPhases, float[] dy) {
        return weightGradient(d, dy, inPlace(xPhases, d));
    }

    private static float[] emulateMovePhases(CudaSubPixel.Dims d, float[] from, boolean toPhases) {
        float[] to = scratch(from.length);
        for (Phase p : d.phases()) {
            float[] phases = toPhases ? to : from, x = toPhases ? from : to;
            movePixels(d, p, x, new At(phases, CudaSubPixel.block(0, d.x(), d.g(), p) / 4), toPhases);
        }
        return to;
    }

    private static Function<Phase, At> inPlace(float[] phases, CudaSubPixel.Dims d) {
        return p -> new At(phases, CudaSubPixel.block(0, d.x(), d.g(), p) / 4);
    }

    private static Function<Phase, At> gatheredInto(float[] part, float[] x, CudaSubPixel.Dims d) {
        return p -> {
            movePixels(d, p, x, new At(part, 0), true);
            return new At(part, 0);
        };
    }

    private static void transposed(CudaSubPixel.Dims d, float[] dy, float[] w, Function<Phase, At> blockOf, Consumer<Phase> written) {
        float[] split = split(d, w), cols = scratch(d.depth() * d.nqMax());
        for (Phase p : d.phases()) {
            int nq = d.nq(p);
            At x = blockOf.apply(p);
            gather(d, p, dy, cols, p.q(), nq);
            gemm(false, false, nq, d.c(), d.depth(), cols, 0, nq, split, weights(d, p), d.depth(), x.mem(), x.off(), nq);
            written.accept(p);
        }
    }

    private static float[] forward(CudaSubPixel.Dims d, float[] w, Function<Phase, At> blockOf) {
        long slot = d.depth() * d.nqMax();
        float[] split = split(d, w), outs = scratch(d.sh() * d.sw() * slot);
        for (Phase p : d.phases()) {
            int nq = d.nq(p);
            At x = blockOf.apply(p);
            gemm(false, true, nq, d.depth(), d.c(), x.mem(), x.off(), nq, split, weights(d, p), d.depth(), outs, CudaSubPixel.index(d.g(), p) * slot, nq);
        }
        return sumPhases(d, outs, slot, 1, d.n());
    }

    private static float[] weightGradient(CudaSubPixel.Dims d, float[] dy, Function<Phase, At> blockOf) {
        float[] split = scratch(d.splitFloats()), cols = scratch(d.depth() * d.nqMax());
        if (d.phases().size() < d.sh() * d.sw()) Arrays.fill(split, 0f); // cudaMemsetAsync
        for (Phase p : d.phases()) {
            int nq = d.nq(p);
            At x = blockOf.apply(p);
            gather(d, p, dy, cols, p.q(), nq);
            gemm(true, false, d.depth(), d.c(), nq, cols, 0, nq, x.mem(), x.off(), nq, split, weights(d, p), d.depth());
        }
        return unsplit(d, split);
    }

    /** CudaSubPixel.movePixels: subpixel_gather_pixels into the block or subpixel_scatter out of it, strides (q, N·q). */
    private static void movePixels(CudaSubPixel.Dims d, Phase p, float[] nchw, At block, boolean toBlock) {
        if (toBlock) gatherPixels(d, p, nchw, block.mem(), block.off(), p.q(), d.nq(p));
        else scatter(d, p, block.mem(), block.off(), nchw, p.q(), d.nq(p));
    }

    // ---- the kernels of subpixel.cu --------------------------------------------------------------------------

    /** subpixel_weight_index: where element i of the split weights [sh·sw, C, depth] lies in w [K, C, kh, kw]. */
    private static int weightIndex(CudaSubPixel.Dims d, int i) {
        int depth = d.depth(), row = i % depth, rest = i / depth, ci = rest % d.c(), r = rest / d.c(), ry = r / d.sw(), rx = r % d.sw();
        int u = row % d.tw(), t = row / d.tw() % d.th(), o = row / (d.th() * d.tw());
        return ((o * d.c() + ci) * d.kh() + ry + d.sh() * t) * d.kw() + rx + d.sw() * u;
    }

    private static float[] split(CudaSubPixel.Dims d, float[] w) { // subpixel_split_weights
        float[] out = new float[w.length];
        for (int i = 0; i < w.length; i++) out[i] = w[weightIndex(d, i)];
        return out;
    }

    private static float[] unsplit(CudaSubPixel.Dims d, float[] phases) { // subpixel_unsplit_weights
        float[] w = new float[phases.length];
        for (int i = 0; i < w.length; i++) w[weightIndex(d, i)] = phases[i];
        return w;
    }

    /** Dims.weights as a float offset. */
    private static long weights(CudaSubPixel.Dims d, Phase p) { return d.weights(0, p) / 4; }

    private static void gather(CudaSubPixel.Dims d, Phase p, float[] dy, float[] cols, long imgStride, long rowStride) { // subpixel_gather
        int q = p.q(), depth = d.depth();
        for (int i = 0; i < d.n() * depth * q; i++) {
            int col = i % q, rest = i / q, row = rest % depth, img = rest / depth, a = col / p.qw(), b = col % p.qw();
            int u = row % d.tw(), t = row / d.tw() % d.th(), o = row / (d.th() * d.tw()), oy = p.qy0() + a - t, ox = p.qx0() + b - u;
            cols[(int) (img * imgStride + row * rowStride + col)] =
                    oy >= 0 && oy < d.oh() && ox >= 0 && ox < d.ow() ? dy[((img * d.k() + o) * d.oh() + oy) * d.ow() + ox] : 0f;
        }
    }

    /** subpixel_pixel: where element i = (plane, (a, b)) of a phase's [N·C, q] pixels lies in x [N, C, h, w]. */
    private static int pixel(CudaSubPixel.Dims d, Phase p, int i) {
        int col = i % p.q(), plane = i / p.q();
        int y = (p.qy0() + col / p.qw()) * d.sh() + p.ry() - d.g().padH(), x = (p.qx0() + col % p.qw()) * d.sw() + p.rx() - d.g().padW();
        return (plane * d.h() + y) * d.w() + x;
    }

    private static void gatherPixels(CudaSubPixel.Dims d, Phase p, float[] x, float[] part, long off, long imgStride, long cStride) { // subpixel_gather_pixels
        for (int i = 0; i < d.n() * d.c() * p.q(); i++) {
            int plane = i / p.q();
            part[(int) (off + plane / d.c() * imgStride + plane % d.c() * cStride + i % p.q())] = x[pixel(d, p, i)];
        }
    }

    private static void scatter(CudaSubPixel.Dims d, Phase p, float[] part, long off, float[] x, long imgStride, long cStride) { // subpixel_scatter
        for (int i = 0; i < d.n() * d.c() * p.q(); i++) {
            int plane = i / p.q();
            x[pixel(d, p, i)] = part[(int) (off + plane / d.c() * imgStride + plane % d.c() * cStride + i % p.q())];
        }
    }

    /** subpixel_sum_phases: outs_r at r·slot, its strides (image, row) in units of the phase's q. */
    private static float[] sumPhases(CudaSubPixel.Dims d, float[] outs, long slot, long imgStride, long rowStride) {
        float[] y = new float[d.n() * d.k() * d.oh() * d.ow()];
        int[] rows = d.ranges(true), cols = d.ranges(false);
        for (int i = 0; i < y.length; i++) {
            int ox = i % d.ow(), oy = i / d.ow() % d.oh(), plane = i / (d.oh() * d.ow()), o = plane % d.k(), img = plane / d.k();
            float sum = 0f;
            for (int ry = 0; ry < d.sh(); ry++)
                for (int rx = 0; rx < d.sw(); rx++)
                    for (int t = 0; t < d.th(); t++) {
                        int a = oy + t - rows[2 * ry], qh = rows[2 * ry + 1], qw = cols[2 * rx + 1];
                        if (a < 0 || a >= qh) continue;
                        for (int u = 0; u < d.tw(); u++) {
                            int b = ox + u - cols[2 * rx];
                            long row = (o * d.th() + t) * d.tw() + u;
                            if (b >= 0 && b < qw) sum += outs[(int) ((ry * d.sw() + rx) * slot + (img * imgStride + row * rowStride) * (qh * qw) + a * qw + b)];
                        }
                    }
            y[i] = sum;
        }
        return y;
    }

    /**
     * CudaBlas.gemm: column-major C [m, n] = op(A) · op(B), A at aOff (floats) stored [m, k] or, transposed, [k, m] with
     * leading dimension lda, likewise B ([k, n] or [n, k]). Refuses what cuBLAS refuses (a leading dimension below the
     * stored rows) and any operand reaching past its array.
     */
    private static void gemm(boolean transA, boolean transB, int m, int n, int k, float[] a, long aOff, int lda,
                             float[] b, long bOff, int ldb, float[] c, long cOff, int ldc) {
        assertTrue(lda >= Math.max(1, transA ? k : m) && ldb >= Math.max(1, transB ? n : k) && ldc >= Math.max(1, m),
                "cuBLAS would refuse lda " + lda + ", ldb " + ldb + ", ldc " + ldc + " for m " + m + ", n " + n + ", k " + k);
        assertTrue(aOff + (long) lda * ((transA ? m : k) - 1) + (transA ? k : m) <= a.length, "A reaches past its block");
        assertTrue(bOff + (long) ldb * ((transB ? k : n) - 1) + (transB ? n : k) <= b.length, "B reaches past its block");
        assertTrue(cOff + (long) ldc * (n - 1) + m <= c.length, "C reaches past its block");
        for (int col = 0; col < n; col++)
            for (int row = 0; row < m; row++) {
                double sum = 0;
                for (int l = 0; l < k; l++)
                    sum += (double) a[(int) (aOff + (transA ? (long) row * lda + l : (long) l * lda + row))]
                            * b[(int) (bOff + (transB ? (long) l * ldb + col : (long) col * ldb + l))];
                c[(int) (cOff + (long) col * ldc + row)] = (float) sum;
            }
    }

    /** Device scratch as the allocator hands it out: not zeroed (NaN here, so a read of anything unwritten shows). */
    private static float[] scratch(long floats) {
        float[] v = new float[Math.toIntExact(floats)];
        Arrays.fill(v, Float.NaN);
        return v;
    }
}
