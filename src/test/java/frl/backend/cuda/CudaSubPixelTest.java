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

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The sub-pixel convolution ops against the CPU's: conv2d, conv2dBackwardInput and conv2dBackwardWeight, and, where x's
 * phases are all the same size, toPhases, fromPhases and the three phase ops. On the GPU (tagged gpu), and, everywhere,
 * SubPixelPlans' own plans run over {@link Host}, a host emulation of their steps (the kernels of subpixel.cu and
 * tf32.cu ported loop for loop, the GEMMs with cuBLAS's column-major arguments and bounds, summed in double), in both
 * GEMM modes: SGEMM and 3xTF32.
 */
class CudaSubPixelTest {
    /** x (the large tensor: the transposed conv's output) [N,C,H,W], w [K,C,kh,kw], geometry. */
    private record Case(int n, int c, int h, int w, int k, int kh, int kw, ConvGeometry g) {
        Shape x() { return Shape.of(n, c, h, w); }

        Shape wt() { return Shape.of(k, c, kh, kw); }

        Shape dy() { return Shape.of(n, k, g.outH(h, kh), g.outW(w, kw)); }

        Shape phases() { return Shapes.phases("test", x(), g); }

        SubPixelPlans.Dims dims() { return SubPixelPlans.Dims.of(x(), wt(), g); }

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

    /** A plan on the host: x, w, dy and the output (of c's shape for the op) at emulated addresses. */
    private interface Emulated { void run(Host h, SubPixelPlans.Gemm gemm, SubPixelPlans.Dims d, long x, long w, long dy, long out); }

    /** The CASES and the VAE's; only those whose phases are all the same size for the ops on the phases layout. */
    private static Case[] cases(boolean uniformOnly) {
        Case[] all = Arrays.copyOf(CASES, CASES.length + 1);
        all[CASES.length] = VAE;
        return Arrays.stream(all).filter(c -> !uniformOnly || c.uniform()).toArray(Case[]::new);
    }

    /**
     * Each case in each GEMM mode, with the GEMMs phase by phase and with phases batched (Dims.batchPhases, as
     * -Dfrl.cuda.phaseGemms=batched asks on the GPU): then, where the phases are uniform, no GEMM runs for one phase
     * alone (elsewhere none is batched). The second pass also gathers straight into the TF32 parts (as
     * -Dfrl.cuda.phaseLoads=batched does on the GPU): no plain gather in 3xTF32.
     */
    private static void checkEmulation(String name, boolean uniformOnly, OnCpu onCpu, Emulated emulated) {
        checkEmulation(name, uniformOnly, 1, onCpu, emulated);
    }

    /**
     * The same, with weight gradients in up to {@code splits} chunks of their pixels (Dims.splitK, as -Dfrl.cuda.splitK=on
     * asks on the GPU): then each sums its chunks' partial products ({@link Host#sumSlices}), and its GEMMs are chunk batches.
     */
    private static void checkEmulation(String name, boolean uniformOnly, int splits, OnCpu onCpu, Emulated emulated) {
        Backend cpu = Backends.cpu();
        for (boolean batchPhases : new boolean[] {false, true})
            for (SubPixelPlans.Gemm gemm : SubPixelPlans.Gemm.values()) {
                Random r = new Random(3);
                for (Case c : cases(uniformOnly)) {
                    boolean batched = batchPhases && c.uniform(); // else the phases one by one
                    if (gemm == SubPixelPlans.Gemm.TF32X3 && c == VAE) continue; // the same plan at 3× the GEMM work; the GPU test runs it
                    if (batchPhases && c == VAE) continue;
                    try (Scope s = Scope.open()) {
                        float[] x = random(r, c.x()), w = random(r, c.wt()), dy = random(r, c.dy());
                        float[] want = onCpu.run(cpu, c, cpu.fromHost(c.x(), x), cpu.fromHost(c.wt(), w), cpu.fromHost(c.dy(), dy)).toFloats();
                        Host h = new Host();
                        h.fusesGathers = batchPhases;
                        h.splits = splits;
                        long out = h.put(Host.unwritten(want.length));
                        emulated.run(h, gemm, c.dims().running(batchPhases, splits > 1), h.put(x), h.put(w), h.put(dy), out);
                        String at = name + " " + gemm + (batchPhases ? " phases batched" : " phase by phase") + (h.fusesGathers ? " (gathers into parts)" : "")
                                + (splits > 1 ? " in chunks" : "") + " " + c;
                        CudaVsCpu.assertClose(at, h.mem(out), want, 1e-10);
                        if (splits > 1) assertTrue(h.sums > 0, at + ": no weight gradient in chunks");
                        else assertEquals(0, batched ? h.singleGemms : h.batchedGemms, at + ": GEMMs of one phase alone, or batched");
                        if (splits == 1) assertEquals(0, h.sums, at + ": a weight gradient in chunks, not asked for");
                        boolean fused = h.fusesGathers && gemm == SubPixelPlans.Gemm.TF32X3;
                        assertEquals(0, fused ? h.gathers : h.partGathers, at + ": a plain gather where the parts are gathered, or the reverse");
                    }
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
                (h, gemm, d, x, w, dy, out) -> SubPixelPlans.backwardInput(h, gemm, d, dy, w, out));
    }

    @Test void hostEmulationOfConv2dMatchesTheCpu() {
        checkEmulation("conv2d", false,
                (cpu, c, x, w, dy) -> cpu.conv2d(x, w, c.g()),
                (h, gemm, d, x, w, dy, out) -> SubPixelPlans.conv2d(h, gemm, d, x, w, out));
    }

    @Test void hostEmulationOfBackwardWeightMatchesTheCpu() {
        checkEmulation("conv2dBackwardWeight", false,
                (cpu, c, x, w, dy) -> cpu.conv2dBackwardWeight(x, dy, c.wt(), c.g()),
                (h, gemm, d, x, w, dy, out) -> SubPixelPlans.backwardWeight(h, gemm, d, x, dy, out));
        checkEmulation("conv2dBackwardWeight", false, 4,
                (cpu, c, x, w, dy) -> cpu.conv2dBackwardWeight(x, dy, c.wt(), c.g()),
                (h, gemm, d, x, w, dy, out) -> SubPixelPlans.backwardWeight(h, gemm, d, x, dy, out));
    }

    @Test void hostEmulationOfToPhasesAndFromPhasesMatchesTheCpu() {
        checkEmulation("toPhases", true,
                (cpu, c, x, w, dy) -> cpu.toPhases(x, c.g()),
                (h, gemm, d, x, w, dy, out) -> SubPixelPlans.movePhases(h, d.x(), d.g(), x, out, true));
        checkEmulation("fromPhases", true,
                (cpu, c, x, w, dy) -> cpu.fromPhases(inPhases(cpu, c, x), c.x(), c.g()),
                (h, gemm, d, x, w, dy, out) -> SubPixelPlans.movePhases(h, d.x(), d.g(), out, x, false));
    }

    @Test void hostEmulationOfBackwardInputToPhasesMatchesTheCpu() {
        checkEmulation("conv2dBackwardInputToPhases", true,
                (cpu, c, x, w, dy) -> cpu.conv2dBackwardInputToPhases(dy, w, c.x(), c.g()),
                (h, gemm, d, x, w, dy, out) -> SubPixelPlans.backwardInputToPhases(h, gemm, d, dy, w, out));
    }

    @Test void hostEmulationOfConv2dFromPhasesMatchesTheCpu() {
        checkEmulation("conv2dFromPhases", true,
                (cpu, c, x, w, dy) -> cpu.conv2dFromPhases(inPhases(cpu, c, x), w, c.x(), c.g()),
                (h, gemm, d, x, w, dy, out) -> SubPixelPlans.conv2dFromPhases(h, gemm, d, x, w, out));
    }

    @Test void hostEmulationOfBackwardWeightFromPhasesMatchesTheCpu() {
        for (int splits : new int[] {1, 4})
            checkEmulation("conv2dBackwardWeightFromPhases", true, splits,
                    (cpu, c, x, w, dy) -> cpu.conv2dBackwardWeightFromPhases(inPhases(cpu, c, x), dy, c.x(), c.wt(), c.g()),
                    (h, gemm, d, x, w, dy, out) -> SubPixelPlans.backwardWeightFromPhases(h, gemm, d, x, dy, out));
    }

    /** The two gradients by one plan (3xTF32 splits x once for both) match the CPU's two ops. */
    @Test void hostEmulationOfBothGradsFromPhasesMatchesTheCpu() {
        checkEmulation("conv2dFromPhasesWithWeightGrad: conv2dFromPhases", true,
                (cpu, c, x, w, dy) -> cpu.conv2dFromPhases(inPhases(cpu, c, x), w, c.x(), c.g()),
                (h, gemm, d, x, w, dy, out) -> SubPixelPlans.gradsFromPhases(h, gemm, d, x, w, dy, out, h.put(Host.unwritten(d.splitFloats()))));
        for (int splits : new int[] {1, 4})
            checkEmulation("conv2dFromPhasesWithWeightGrad: conv2dBackwardWeightFromPhases", true, splits,
                    (cpu, c, x, w, dy) -> cpu.conv2dBackwardWeightFromPhases(inPhases(cpu, c, x), dy, c.x(), c.wt(), c.g()),
                    (h, gemm, d, x, w, dy, out) -> SubPixelPlans.gradsFromPhases(h, gemm, d, x, w, dy, h.put(Host.unwritten((long) d.n() * d.k() * d.oh() * d.ow())), out));
    }

    /**
     * gradsFromPhaseParts (the plan of -Dfrl.cuda.ceParts=fused, whose cross-entropy backward writes the logits'
     * gradient as its TF32 parts, phase r's big part at 2r·B and small part at (2r + 1)·B) gives gradsFromPhases'
     * 3xTF32 bits, phase by phase and batched, whole and in chunks, the x it was split from never at hand.
     */
    @Test void hostEmulationOfGradsFromGivenPartsIsTheSplitPlan() {
        Random r = new Random(5);
        for (Case c : cases(true)) {
            if (c == VAE) continue;
            float[] x = random(r, c.x()), w = random(r, c.wt()), dy = random(r, c.dy());
            for (boolean batchPhases : new boolean[] {false, true})
                for (int splits : new int[] {1, 4}) {
                    SubPixelPlans.Dims d = c.dims().running(batchPhases, splits > 1);
                    long yFloats = (long) d.n() * d.k() * d.oh() * d.ow(), block = d.xBlockFloats();
                    float[][] got = new float[2][], gotW = new float[2][];
                    for (int given = 0; given < 2; given++) {
                        Host h = new Host();
                        h.splits = splits;
                        long y = h.put(Host.unwritten(yFloats)), dw = h.put(Host.unwritten(c.wt().numel()));
                        if (given == 0) SubPixelPlans.gradsFromPhases(h, SubPixelPlans.Gemm.TF32X3, d, h.put(x), h.put(w), h.put(dy), y, dw);
                        else {
                            long xAt = h.put(x.clone()), parts = h.put(Host.unwritten(2 * block * d.sh() * d.sw()));
                            for (int ph = 0; ph < d.sh() * d.sw(); ph++) // as ce_*_backward_parts lays them out
                                h.tf32Parts(xAt + 4L * ph * block, parts + 4L * 2 * ph * block, c.c(), d.nq(d.phases().get(0)), "bs", block, d.nq(d.phases().get(0)));
                            Arrays.fill(h.mem(xAt), Float.NaN); // x itself is never read
                            SubPixelPlans.gradsFromPhaseParts(h, d, parts, h.put(w), h.put(dy), y, dw);
                        }
                        got[given] = h.mem(y).clone();
                        gotW[given] = h.mem(dw).clone();
                    }
                    String at = c + (batchPhases ? " phases batched" : " phase by phase") + (splits > 1 ? " in chunks" : "");
                    assertTrue(Arrays.equals(got[0], got[1]), "y: " + at);
                    assertTrue(Arrays.equals(gotW[0], gotW[1]), "dw: " + at);
                    assertFalse(Float.isNaN(got[1][0]), "y written: " + at);
                    assertFalse(Float.isNaN(gotW[1][0]), "dw written: " + at);
                }
        }
        Case odd = cases(false)[1];
        assertFalse(odd.uniform());
        assertThrows(IllegalArgumentException.class, () -> SubPixelPlans.gradsFromPhaseParts(new Host(), odd.dims(), 1L << 40, 1L << 40, 1L << 40, 1L << 40, 1L << 40));
    }

    /**
     * -Dfrl.cuda.splitK=on (and auto, which times both ways) with chunks down to 64 pixels, so the small cases split
     * too: the weight gradients match the CPU.
     */
    @Test @Tag("gpu") void weightGradientsInChunksMatchTheCpu() {
        Backend cuda = GpuTests.cudaOrSkip(), cpu = Backends.cpu();
        int before = SubPixelPlans.minChunk;
        SubPixelPlans.minChunk = 64;
        try {
            for (String split : new String[] {"on", "auto"}) withProperty("frl.cuda.splitK", split, () -> withSubPixel("kernel", () -> {
                for (Case c : new Case[] {CASES[0], CASES[1], CASES[6]})
                    for (String gemm : gemmModes())
                        withGemm(gemm, () -> {
                            Random r = new Random(12);
                            float[] x = random(r, c.x()), w = random(r, c.wt()), dy = random(r, c.dy());
                            Tensor cx = cpu.fromHost(c.x(), x), cw = cpu.fromHost(c.wt(), w), cdy = cpu.fromHost(c.dy(), dy);
                            Tensor gx = cuda.fromHost(c.x(), x), gw = cuda.fromHost(c.wt(), w), gdy = cuda.fromHost(c.dy(), dy);
                            CudaVsCpu.assertClose(gemm + " in chunks (" + System.getProperty("frl.cuda.splitK") + "): conv2dBackwardWeight " + c, cuda.conv2dBackwardWeight(gx, gdy, c.wt(), c.g()),
                                    cpu.conv2dBackwardWeight(cx, cdy, c.wt(), c.g()));
                            if (!c.uniform()) return;
                            Tensor cxp = inPhases(cpu, c, cx), gxp = cuda.fromHost(c.phases(), x);
                            Tensor[] both = cuda.conv2dFromPhasesWithWeightGrad(gxp, gw, gdy, c.x(), c.g());
                            CudaVsCpu.assertClose(gemm + " in chunks: both: conv2dBackwardWeightFromPhases " + c, both[1],
                                    cpu.conv2dBackwardWeightFromPhases(cxp, cdy, c.x(), c.wt(), c.g()));
                        });
            }));
        } finally {
            SubPixelPlans.minChunk = before;
        }
    }

    /** The modes auto times: SGEMM and 3xTF32, each way of an auto switch that applies (batched phases where uniform, splits for weight gradients). */
    @Test void theSwitchesGiveTheModesToTime() {
        SubPixelPlans.Dims uniform = CASES[0].dims(), ragged = CASES[1].dims();
        assertTrue(uniform.g().uniformPhases(uniform.h(), uniform.w()) && !ragged.g().uniformPhases(ragged.h(), ragged.w()));
        withProperty("frl.cuda.gemm", "auto", () -> withProperty("frl.cuda.phaseGemms", "each", () -> withProperty("frl.cuda.splitK", "off", () ->
                assertEquals("[SGEMM, TF32X3]", CudaSubPixel.modes(uniform, true).toString()))));
        withProperty("frl.cuda.gemm", "sgemm", () -> withProperty("frl.cuda.phaseGemms", "auto", () -> withProperty("frl.cuda.splitK", "auto", () -> {
            assertEquals("[SGEMM, SGEMM split, SGEMM phases batched, SGEMM phases batched split]", CudaSubPixel.modes(uniform, true).toString());
            assertEquals("[SGEMM, SGEMM phases batched]", CudaSubPixel.modes(uniform, false).toString(), "no weight gradient: nothing to split");
            assertEquals("[SGEMM, SGEMM split]", CudaSubPixel.modes(ragged, true).toString(), "phases of different sizes: never batched");
        })));
        withProperty("frl.cuda.gemm", "3xtf32", () -> withProperty("frl.cuda.phaseGemms", "batched", () -> withProperty("frl.cuda.splitK", "on", () ->
                assertEquals("[TF32X3 phases batched split]", CudaSubPixel.modes(uniform, true).toString()))));
        withProperty("frl.cuda.splitK", "yes", () ->
                assertThrows(IllegalArgumentException.class, () -> CudaSubPixel.modes(uniform, true), "-Dfrl.cuda.splitK must be off, on or auto"));
    }

    /** How many chunks a weight gradient's pixels are summed in: enough tiles for two per SM, chunks of at least minChunk pixels. */
    @Test void weightGradientsSplitWhereTheirTilesLeaveSmsIdle() {
        assertEquals(16, SubPixelPlans.splits(256, 1024, 16384, 132, 1024), "the VAE's last layer on an H100 or H200: 16 tiles");
        assertEquals(8, SubPixelPlans.splits(256, 1024, 16384, 114, 1024), "fewer SMs");
        assertEquals(4, SubPixelPlans.splits(256, 1024, 4096, 132, 1024), "chunks of at least 1024");
        assertEquals(2, SubPixelPlans.splits(256, 1024, 3 * 1024, 132, 1024), "S divides k");
        assertEquals(1, SubPixelPlans.splits(16384, 256, 1024, 132, 1024), "256 tiles fill the SMs alone");
        assertEquals(1, SubPixelPlans.splits(256, 1024, 1024, 132, 1024), "nothing to split");
        assertEquals(SubPixelPlans.MAX_SPLITS, SubPixelPlans.splits(64, 64, 1 << 20, 132, 1024), "at most MAX_SPLITS");
        assertEquals(8, SubPixelPlans.splits(1024, 128, 1024, 132, SubPixelPlans.minChunk), "the encoder's 128→256 weight gradient, 8 tiles");
        assertEquals(16, SubPixelPlans.splits(512, 64, 4096, 132, SubPixelPlans.minChunk), "the decoder's 128→64, 4 tiles");
    }

    @Test void theSplitOfTheWeightsIsABijection() {
        for (Case c : CASES) {
            SubPixelPlans.Dims d = c.dims();
            float[] w = random(new Random(5), c.wt());
            Host h = new Host();
            long at = h.put(w), split = h.put(Host.unwritten(w.length)), back = h.put(Host.unwritten(w.length));
            h.splitWeights(d, at, split);
            h.unsplitWeights(d, split, back);
            assertEquals(Arrays.toString(w), Arrays.toString(h.mem(back)), c.toString());
        }
    }

    /** The VAE computes its loss in phases only where the direct GEMMs may run: not when cudnn is forced, nor for a stride not dividing the kernel. */
    @Test void convolvesInPhasesOnlyWhereTheDirectPathMayRun() {
        Shape w = Shape.of(64, 1024, 4, 4);
        Switches.with("frl.cuda.subpixel", "cudnn", () -> assertFalse(CudaSubPixel.convolvesInPhases(w, ConvGeometry.of(2, 1)), "cudnn forced"));
        Switches.with("frl.cuda.subpixel", null, () -> {
            assertTrue(CudaSubPixel.convolvesInPhases(w, ConvGeometry.of(2, 1)), "the default, auto");
            assertFalse(CudaSubPixel.convolvesInPhases(Shape.of(64, 1024, 3, 3), ConvGeometry.of(2, 1)), "3×3 stride 2");
        });
        Switches.with("frl.cuda.subpixel", "kernel", () -> assertTrue(CudaSubPixel.convolvesInPhases(w, new ConvGeometry(2, 1, 1, 0))));
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

    /**
     * -Dfrl.cuda.ceParts=fused: the backend's crossEntropyOfPhasesBackward (the cross-entropy's backward written as the
     * 3xTF32 parts, then the gradients' plan) against the CPU's, in each GEMM mode, on the uniform cases and the cifar
     * VAE's last layer (256 classes a channel, the cases' channels in groups of 4 classes where 256 do not divide them);
     * and under 3xTF32 the bits of the two ops it fuses.
     */
    @Test @Tag("gpu") void crossEntropyOfPhasesMatchesTheCpu() {
        Backend cuda = GpuTests.cudaOrSkip(), cpu = Backends.cpu();
        assumeTrue(CudaSubPixel.crossEntropyFused(), "runs with -Dfrl.cuda.ceParts=fused (the default)");
        CudaSubPixel.forgetModeChoices();
        for (String gemm : gemmModes())
            withGemm(gemm, () -> {
                Random r = new Random(8);
                for (Case c : gpuCases(true)) {
                    int classes = c.c() % 256 == 0 ? 256 : c.c() % 4 == 0 ? 4 : 1;
                    Shape p = c.phases(), logits = Shape.of(p.dim(0), p.dim(1) / classes, classes, p.dim(2) * p.dim(3)), ts = logits.without(2);
                    float[] x = random(r, c.x()), w = random(r, c.wt()), dy = random(r, c.dy()), t = new float[Math.toIntExact(ts.numel())], g = random(r, ts);
                    for (int i = 0; i < t.length; i++) t[i] = r.nextInt(classes);
                    try (Scope s = Scope.open()) {
                        Tensor[] want = cpu.crossEntropyOfPhasesBackward(cpu.fromHost(logits, x), cpu.fromHost(ts, t), cpu.fromHost(ts, g), 2,
                                cpu.fromHost(c.wt(), w), cpu.fromHost(c.dy(), dy), c.x(), c.g());
                        Tensor gl = cuda.fromHost(logits, x), gt = cuda.fromHost(ts, t), gg = cuda.fromHost(ts, g), gw = cuda.fromHost(c.wt(), w), gdy = cuda.fromHost(c.dy(), dy);
                        Tensor[] got = cuda.crossEntropyOfPhasesBackward(gl, gt, gg, 2, gw, gdy, c.x(), c.g());
                        String at = gemm + " " + c + " " + classes + " classes";
                        CudaVsCpu.assertClose(at + " d(dy)", got[0], want[0], tol(gemm));
                        CudaVsCpu.assertClose(at + " dw", got[1], want[1], tol(gemm));
                        if (!gemm.equals("3xtf32")) continue;
                        Tensor[] two = twoOps(cuda, gl, gt, gg, gw, gdy, c);
                        for (int k = 0; k < 2; k++) {
                            if (Arrays.equals(CudaVsCpu.floats(two[k]), CudaVsCpu.floats(got[k]))) continue;
                            // say whether the two ops give their own bits twice (cuBLAS's kernels and their sums' order fixed)
                            boolean repeat = Arrays.equals(CudaVsCpu.floats(two[k]), CudaVsCpu.floats(twoOps(cuda, gl, gt, gg, gw, gdy, c)[k]));
                            fail(at + (k == 0 ? " d(dy)" : " dw") + ": not the two ops' bits (the two ops " + (repeat ? "" : "do not ")
                                    + "repeat their own; modes " + CudaSubPixel.modeChoices() + ")");
                        }
                    }
                }
            });
    }

    /** crossEntropyBackward, then conv2dFromPhasesWithWeightGrad: the two ops that crossEntropyOfPhasesBackward fuses. */
    private static Tensor[] twoOps(Backend cuda, Tensor logits, Tensor targets, Tensor dloss, Tensor w, Tensor dy, Case c) {
        return cuda.conv2dFromPhasesWithWeightGrad(cuda.crossEntropyBackward(logits, targets, dloss, 2).reshape(c.phases()), w, dy, c.x(), c.g());
    }

    @Test @Tag("gpu") void matchesTheCpuOnTheGpu() {
        GpuTests.cudaOrSkip();
        CudaSubPixel.forgetModeChoices();   // so auto's assertion below sees this test's timings
        for (String gemm : gemmModes()) withGemm(gemm, () -> matchesTheCpuOnTheGpu(gemm));
    }

    private static void matchesTheCpuOnTheGpu(String gemm) {
        Backend cuda = GpuTests.cudaOrSkip(), cpu = Backends.cpu();
        Random r = new Random(4);
        for (Case c : gpuCases(false)) {
            try (Scope s = Scope.open()) {
                float[] x = random(r, c.x()), w = random(r, c.wt()), dy = random(r, c.dy());
                Tensor cx = cpu.fromHost(c.x(), x), cw = cpu.fromHost(c.wt(), w), cdy = cpu.fromHost(c.dy(), dy);
                Tensor gx = cuda.fromHost(c.x(), x), gw = cuda.fromHost(c.wt(), w), gdy = cuda.fromHost(c.dy(), dy);
                CudaVsCpu.assertClose(gemm + " conv2dBackwardInput " + c, CudaSubPixel.backwardInput(gdy, gw, c.x(), c.g()), cpu.conv2dBackwardInput(cdy, cw, c.x(), c.g()), tol(gemm));
                CudaVsCpu.assertClose(gemm + " conv2d " + c, CudaSubPixel.conv2d(gx, gw, c.g()), cpu.conv2d(cx, cw, c.g()), tol(gemm));
                CudaVsCpu.assertClose(gemm + " conv2dBackwardWeight " + c, CudaSubPixel.backwardWeight(gx, gdy, c.wt(), c.g()),
                        cpu.conv2dBackwardWeight(cx, cdy, c.wt(), c.g()), tol(gemm));
            }
        }
        if (gemm.equals("auto"))
            for (String op : new String[] {"backwardInput ", "conv2d ", "backwardWeight "})
                assertTrue(CudaSubPixel.modeChoices().keySet().stream().anyMatch(k -> k.startsWith(op)), op + "not timed: " + CudaSubPixel.modeChoices());
    }

    /** toPhases and fromPhases bit for bit, the three phase ops' direct path close to the CPU's. */
    @Test @Tag("gpu") void thePhaseOpsMatchTheCpuOnTheGpu() {
        GpuTests.cudaOrSkip();
        for (String gemm : gemmModes()) withGemm(gemm, () -> thePhaseOpsMatchTheCpuOnTheGpu(gemm));
    }

    private static void thePhaseOpsMatchTheCpuOnTheGpu(String gemm) {
        Backend cuda = GpuTests.cudaOrSkip(), cpu = Backends.cpu();
        Random r = new Random(7);
        for (Case c : gpuCases(true)) {
            try (Scope s = Scope.open()) {
                float[] x = random(r, c.x()), xp = random(r, c.phases()), w = random(r, c.wt()), dy = random(r, c.dy());
                Tensor cx = cpu.fromHost(c.x(), x), cxp = cpu.fromHost(c.phases(), xp), cw = cpu.fromHost(c.wt(), w), cdy = cpu.fromHost(c.dy(), dy);
                Tensor gx = cuda.fromHost(c.x(), x), gxp = cuda.fromHost(c.phases(), xp), gw = cuda.fromHost(c.wt(), w), gdy = cuda.fromHost(c.dy(), dy);
                CudaVsCpu.assertExact("toPhases " + c, cuda.toPhases(gx, c.g()), cpu.toPhases(cx, c.g()));
                CudaVsCpu.assertExact("fromPhases " + c, cuda.fromPhases(gxp, c.x(), c.g()), cpu.fromPhases(cxp, c.x(), c.g()));
                CudaVsCpu.assertClose(gemm + " conv2dBackwardInputToPhases " + c, CudaSubPixel.backwardInputToPhases(gdy, gw, c.x(), c.g()),
                        cpu.conv2dBackwardInputToPhases(cdy, cw, c.x(), c.g()), tol(gemm));
                CudaVsCpu.assertClose(gemm + " conv2dFromPhases " + c, CudaSubPixel.conv2dFromPhases(gxp, gw, c.x(), c.g()),
                        cpu.conv2dFromPhases(cxp, cw, c.x(), c.g()), tol(gemm));
                CudaVsCpu.assertClose(gemm + " conv2dBackwardWeightFromPhases " + c, CudaSubPixel.backwardWeightFromPhases(gxp, gdy, c.x(), c.wt(), c.g()),
                        cpu.conv2dBackwardWeightFromPhases(cxp, cdy, c.x(), c.wt(), c.g()), tol(gemm));
                Tensor[] both = CudaSubPixel.gradsFromPhases(gxp, gw, gdy, c.x(), c.g());
                CudaVsCpu.assertClose(gemm + " both: conv2dFromPhases " + c, both[0], cpu.conv2dFromPhases(cxp, cw, c.x(), c.g()), tol(gemm));
                CudaVsCpu.assertClose(gemm + " both: conv2dBackwardWeightFromPhases " + c, both[1],
                        cpu.conv2dBackwardWeightFromPhases(cxp, cdy, c.x(), c.wt(), c.g()), tol(gemm));
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
                for (String gemm : gemmModes())
                    withGemm(gemm, () -> {
                        Tensor[] both = cuda.conv2dFromPhasesWithWeightGrad(gxp, gw, gdy, c.x(), c.g());
                        CudaVsCpu.assertClose(mode + " " + gemm + " both: conv2dFromPhases", both[0], cpu.conv2dFromPhases(cxp, cw, c.x(), c.g()));
                        CudaVsCpu.assertClose(mode + " " + gemm + " both: conv2dBackwardWeightFromPhases", both[1],
                                cpu.conv2dBackwardWeightFromPhases(cxp, cdy, c.x(), c.wt(), c.g()));
                    });
            });
        }
    }

    /**
     * NMSE against the CPU: float32's class for 3xTF32 too (one TF32 pass gives ~1e-7; SGEMM ~1e-13). 2e-9, not
     * tighter: the tensor cores' float accumulation over the weight gradient's 16,384 terms rounds as cuBLAS's kernel
     * orders it. Phase by phase the VAE's last layer came within 1e-9; its phases' GEMMs batched into one
     * strided-batched call (-Dfrl.cuda.phaseGemms=batched, five other switches of that run on, none of which changes a
     * GEMM's operands) gave 1.38e-9 on the H200 (2026-11-28).
     */
    private static double tol(String gemm) { return gemm.equals("3xtf32") ? 2e-9 : 1e-7; }

    private static void withGemm(String mode, Runnable body) { withProperty("frl.cuda.gemm", mode, body); }

    private static void withSubPixel(String mode, Runnable body) { withProperty("frl.cuda.subpixel", mode, body); }

    /** body under -Dname=value, the property restored after. */
    private static void withProperty(String name, String value, Runnable body) {
        Switches.with(name, value, () -> {
            try (Scope s = Scope.open()) {
                body.run();
            }
        });
    }

    private static void assertTimedOnce(Case c, String... ops) {
        Map<String, FasterPath.Choice> chosen = CudaConv.subPixelChoices();
        for (String op : ops) assertEquals(1, chosen.keySet().stream().filter(k -> k.startsWith(op + "x" + c.x())).count(), op + "not timed: " + chosen);
    }

    /** tf32_round's port: big and small are TF32 (13 low bits clear) and big + small is x to 2^-21, where big alone is off by up to 2^-11. */
    @Test void theTf32PartsCarryWhatOneTf32Drops() {
        Random r = new Random(11);
        double worstBig = 0;
        for (int i = 0; i < 100_000; i++) {
            float x = (float) (r.nextGaussian() * Math.pow(2, r.nextInt(40) - 20)), big = Host.tf32(x), small = Host.tf32(x - big);
            assertEquals(0, Float.floatToRawIntBits(big) & 0x1FFF, "big part of " + x);
            assertEquals(0, Float.floatToRawIntBits(small) & 0x1FFF, "small part of " + x);
            assertTrue(Math.abs((double) big + small - x) <= Math.abs(x) * 0x1p-21, x + " = " + big + " + " + small);
            worstBig = Math.max(worstBig, Math.abs(((double) big - x) / x));
        }
        assertTrue(worstBig > 0x1p-13 && worstBig <= 0x1p-11, "one TF32 rounding is off by " + worstBig);
        assertEquals(Float.intBitsToFloat(0x3F802000), Host.tf32(Float.intBitsToFloat(0x3F801000)), "a tie rounds away from zero");
    }

    /**
     * SubPixelPlans' steps on the host. A device address is (block number + 1) · 2^40 + the byte offset, so every block
     * is checked for bounds; scratch starts NaN (a read of anything unwritten shows) and turns NaN again when closed.
     */
    static final class Host implements SubPixelPlans.Steps {
        private final List<float[]> blocks = new ArrayList<>();
        /** GEMM calls for one operand triple, and strided-batched calls; gathers of cols, and gathers into TF32 parts. */
        int singleGemms, batchedGemms, gathers, partGathers;
        /** GEMMs on TF32 operands (each triple of a batch counted). */
        int tf32Gemms;
        /** Whether these steps gather straight into the TF32 parts, as the GPU's do under -Dfrl.cuda.phaseLoads=batched. */
        boolean fusesGathers;
        /** The most chunks a weight gradient is split in (the largest power of two up to it dividing the pixels); sums of chunks. */
        int splits = 1, sums;

        static float[] unwritten(long floats) {
            float[] v = new float[Math.toIntExact(floats)];
            Arrays.fill(v, Float.NaN);
            return v;
        }

        long put(float[] v) {
            blocks.add(v);
            return (long) blocks.size() << 40;
        }

        /** The block an address lies in (the whole array). */
        float[] mem(long address) { return blocks.get((int) (address >>> 40) - 1); }

        /** The float offset of an address in its block. */
        static int off(long address) {
            long bytes = address & ((1L << 40) - 1);
            if (bytes % 4 != 0) fail("a misaligned address: byte " + bytes);
            return Math.toIntExact(bytes / 4);
        }

        float get(long address, long i) { return mem(address)[Math.toIntExact(off(address) + i)]; }

        void set(long address, long i, float v) { mem(address)[Math.toIntExact(off(address) + i)] = v; }

        /** tf32_round: to a 10-bit mantissa, nearest, ties away from zero (cvt.rna.tf32.f32). */
        static float tf32(float x) {
            if (!Float.isFinite(x)) return x;
            return Float.intBitsToFloat((Float.floatToRawIntBits(x) + 0x1000) & ~0x1FFF);
        }

        @Override public SubPixelPlans.Scratch scratch(long floats) {
            float[] v = unwritten(floats);
            long at = put(v);
            return new SubPixelPlans.Scratch() {
                @Override public long address() { return at; }

                @Override public void close() { Arrays.fill(v, Float.NaN); }
            };
        }

        @Override public void zero(long address, long floats) { for (long i = 0; i < floats; i++) set(address, i, 0f); }

        @Override public int weightSplits(int m, int n, int k) {
            int s = Integer.highestOneBit(splits);
            while (k % s != 0) s /= 2;
            return s;
        }

        /** unfold_im2col: row (c, i, j), column (img, oy, ox). */
        @Override public void unfold(UnfoldPlans.Dims d, long x, long cols) {
            int np = d.np(), p = d.oh() * d.ow();
            for (int row = 0; row < d.ckk(); row++)
                for (int col = 0; col < np; col++) {
                    int j = row % d.kw(), i = row / d.kw() % d.kh(), c = row / (d.kw() * d.kh()), img = col / p, oy = col % p / d.ow(), ox = col % d.ow();
                    int iy = oy * d.g().strideH() - d.g().padH() + i, ix = ox * d.g().strideW() - d.g().padW() + j;
                    boolean inside = iy >= 0 && iy < d.h() && ix >= 0 && ix < d.w();
                    set(cols, (long) row * np + col, inside ? get(x, (((long) img * d.c() + c) * d.h() + iy) * d.w() + ix) : 0f);
                }
        }

        /** unfold_col2im: each pixel the sum of the columns its taps reached, taps ascending, in float. */
        @Override public void fold(UnfoldPlans.Dims d, long dcols, long dx) {
            int np = d.np(), p = d.oh() * d.ow(), sh = d.g().strideH(), sw = d.g().strideW();
            for (int plane = 0; plane < d.n() * d.c(); plane++)
                for (int y = 0; y < d.h(); y++)
                    for (int x = 0; x < d.w(); x++) {
                        int img = plane / d.c(), c = plane % d.c();
                        float sum = 0f;
                        for (int i = 0; i < d.kh(); i++)
                            for (int j = 0; j < d.kw(); j++) {
                                int ty = y + d.g().padH() - i, tx = x + d.g().padW() - j;
                                if (ty < 0 || tx < 0 || ty % sh != 0 || tx % sw != 0 || ty / sh >= d.oh() || tx / sw >= d.ow()) continue;
                                sum += get(dcols, (long) ((c * d.kh() + i) * d.kw() + j) * np + img * p + ty / sh * d.ow() + tx / sw);
                            }
                        set(dx, ((long) plane * d.h() + y) * d.w() + x, sum);
                    }
        }

        @Override public void rowsToNchw(UnfoldPlans.Dims d, long partials, int slices, long y) {
            int np = d.np(), p = d.oh() * d.ow();
            for (int plane = 0; plane < d.n() * d.k(); plane++)
                for (int q = 0; q < p; q++) {
                    int img = plane / d.k(), k = plane % d.k();
                    float sum = 0f;
                    for (int j = 0; j < slices; j++) sum += get(partials, (long) j * d.k() * np + (long) k * np + img * p + q);
                    set(y, (long) plane * p + q, sum);
                }
        }

        @Override public void nchwToRows(UnfoldPlans.Dims d, long dy, long rows) {
            int np = d.np(), p = d.oh() * d.ow();
            for (int plane = 0; plane < d.n() * d.k(); plane++)
                for (int q = 0; q < p; q++) set(rows, (long) plane % d.k() * np + (long) plane / d.k() * p + q, get(dy, (long) plane * p + q));
        }

        /** subpixel_sum_slices, in float like the kernel, each slice checked to lie in its block. */
        @Override public void sumSlices(long src, int slices, long floats, long dst) {
            sums++;
            assertTrue(off(src) + slices * floats <= mem(src).length && off(dst) + floats <= mem(dst).length, "sumSlices reaches past a block");
            for (long e = 0; e < floats; e++) {
                float sum = 0f;
                for (int j = 0; j < slices; j++) sum += get(src, j * floats + e);
                set(dst, e, sum);
            }
        }

        /** subpixel_weight_index: where element i of the split weights [sh·sw, C, depth] lies in w [K, C, kh, kw]. */
        private static int weightIndex(SubPixelPlans.Dims d, int i) {
            int depth = d.depth(), row = i % depth, rest = i / depth, ci = rest % d.c(), r = rest / d.c(), ry = r / d.sw(), rx = r % d.sw();
            int u = row % d.tw(), t = row / d.tw() % d.th(), o = row / (d.th() * d.tw());
            return ((o * d.c() + ci) * d.kh() + ry + d.sh() * t) * d.kw() + rx + d.sw() * u;
        }

        @Override public void splitWeights(SubPixelPlans.Dims d, long w, long split) {
            for (int i = 0; i < d.splitFloats(); i++) set(split, i, get(w, weightIndex(d, i)));
        }

        @Override public void unsplitWeights(SubPixelPlans.Dims d, long split, long dw) {
            for (int i = 0; i < d.splitFloats(); i++) set(dw, weightIndex(d, i), get(split, i));
        }

        @Override public boolean gathersParts() { return fusesGathers; }

        /** subpixel_gather_parts: what gather then tf32Parts would write (here computed so, through a block of its own). */
        @Override public void gatherParts(SubPixelPlans.Dims d, Phase p, long dy, long dst, String parts, long partStride) {
            partGathers++;
            int plain = gathers;
            long cols = put(unwritten((long) d.depth() * d.nq(p)));
            gather(d, p, dy, cols);
            tf32Parts(cols, dst, d.depth(), d.nq(p), parts, partStride, d.nq(p));
            gathers = plain;
        }

        @Override public void gather(SubPixelPlans.Dims d, Phase p, long dy, long cols) { // subpixel_gather, strides (q, N·q)
            gathers++;
            int q = p.q(), depth = d.depth();
            long imgStride = q, rowStride = d.nq(p);
            for (int i = 0; i < d.n() * depth * q; i++) {
                int col = i % q, rest = i / q, row = rest % depth, img = rest / depth, a = col / p.qw(), b = col % p.qw();
                int u = row % d.tw(), t = row / d.tw() % d.th(), o = row / (d.th() * d.tw()), oy = p.qy0() + a - t, ox = p.qx0() + b - u;
                set(cols, img * imgStride + row * rowStride + col,
                        oy >= 0 && oy < d.oh() && ox >= 0 && ox < d.ow() ? get(dy, ((img * d.k() + o) * d.oh() + oy) * d.ow() + ox) : 0f);
            }
        }

        /** subpixel_gather_pixels into the block, or subpixel_scatter out of it: strides (q, N·q). */
        @Override public void movePixels(Shape x, ConvGeometry g, Phase p, long nchw, long block, boolean toBlock) {
            int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), q = p.q();
            for (int i = 0; i < n * c * q; i++) {
                int col = i % q, plane = i / q; // subpixel_pixel
                int y = (p.qy0() + col / p.qw()) * g.strideH() + p.ry() - g.padH(), xx = (p.qx0() + col % p.qw()) * g.strideW() + p.rx() - g.padW();
                long pixel = ((long) plane * h + y) * w + xx, inBlock = (long) plane / c * q + (long) plane % c * n * q + col;
                if (toBlock) set(block, inBlock, get(nchw, pixel));
                else set(nchw, pixel, get(block, inBlock));
            }
        }

        /** subpixel_sum_phases: outs_r at r·slot, its strides (image 1, row N) in units of the phase's q. */
        @Override public void sumPhases(SubPixelPlans.Dims d, long outs, long slot, long y) {
            int[] rows = d.ranges(true), cols = d.ranges(false);
            for (int i = 0; i < d.n() * d.k() * d.oh() * d.ow(); i++) {
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
                                if (b >= 0 && b < qw) sum += get(outs, (ry * d.sw() + rx) * slot + (img + row * d.n()) * (qh * qw) + a * qw + b);
                            }
                        }
                set(y, i, sum);
            }
        }

        /**
         * CudaBlas.gemm: column-major C [m, n] = op(A) · op(B) (+ C), A stored [m, k] or, transposed, [k, m] with leading
         * dimension lda, likewise B. Refuses what cuBLAS refuses (a leading dimension below the stored rows), any operand
         * reaching past its block, and, on TF32 tensor cores, an operand TF32 does not hold exactly (the hardware would
         * drop its low bits).
         */
        @Override public void gemm(boolean transA, boolean transB, int m, int n, int k, long a, int lda, long b, int ldb, long c, int ldc,
                                   boolean accumulate, boolean tf32) {
            singleGemms++;
            multiply(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, tf32);
        }

        /** Steps' own meaning of a batch (one GEMM per triple), each triple checked as a GEMM is. */
        @Override public void gemmBatched(boolean transA, boolean transB, int m, int n, int k, long a, int lda, long strideA, long b, int ldb,
                                          long strideB, long c, int ldc, long strideC, int batch, boolean accumulate, boolean tf32) {
            batchedGemms++;
            int singles = singleGemms;
            SubPixelPlans.Steps.super.gemmBatched(transA, transB, m, n, k, a, lda, strideA, b, ldb, strideB, c, ldc, strideC, batch, accumulate, tf32);
            singleGemms = singles;
        }

        private void multiply(boolean transA, boolean transB, int m, int n, int k, long a, int lda, long b, int ldb, long c, int ldc,
                              boolean accumulate, boolean tf32) {
            if (tf32) tf32Gemms++;
            assertTrue(lda >= Math.max(1, transA ? k : m) && ldb >= Math.max(1, transB ? n : k) && ldc >= Math.max(1, m),
                    "cuBLAS would refuse lda " + lda + ", ldb " + ldb + ", ldc " + ldc + " for m " + m + ", n " + n + ", k " + k);
            assertTrue(off(a) + (long) lda * ((transA ? m : k) - 1) + (transA ? k : m) <= mem(a).length, "A reaches past its block");
            assertTrue(off(b) + (long) ldb * ((transB ? k : n) - 1) + (transB ? n : k) <= mem(b).length, "B reaches past its block");
            assertTrue(off(c) + (long) ldc * (n - 1) + m <= mem(c).length, "C reaches past its block");
            float[] am = mem(a), bm = mem(b), cm = mem(c);
            int ao = off(a), bo = off(b), co = off(c);
            for (int col = 0; col < n; col++)
                for (int row = 0; row < m; row++) {
                    double sum = accumulate ? cm[co + col * ldc + row] : 0;
                    for (int l = 0; l < k; l++) {
                        float av = am[ao + (transA ? row * lda + l : l * lda + row)], bv = bm[bo + (transB ? l * ldb + col : col * ldb + l)];
                        if (tf32 && (Float.floatToRawIntBits(av) & 0x1FFF | Float.floatToRawIntBits(bv) & 0x1FFF) != 0)
                            fail("a TF32 GEMM read " + av + " or " + bv + ", which TF32 does not hold");
                        sum += (double) av * bv;
                    }
                    cm[co + col * ldc + row] = (float) sum;
                }
        }

        @Override public void tf32Parts(long src, long dst, long rows, int cols, String parts, long partStride, long rowStride) { // tf32_parts
            for (long r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++) {
                    float x = get(src, r * cols + c), big = tf32(x), small = tf32(x - big);
                    for (int j = 0; j < parts.length(); j++) set(dst, j * partStride + r * rowStride + c, parts.charAt(j) == 's' ? small : big);
                }
        }
    }

    /** The GEMM modes to test on the GPU. */
    private static String[] gemmModes() { return new String[] {"sgemm", "3xtf32", "auto"}; }
}
