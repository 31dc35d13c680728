package frl.backend.cuda;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.BinaryOp;
import frl.backend.ConvGeometry;
import frl.backend.ConvGeometry.Phase;
import frl.backend.Rng;
import frl.backend.Shapes;
import frl.backend.Shift;
import frl.backend.UnaryOp;
import frl.freq.HighPass;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CUDA kernels' own source, compiled for the host ({@link HostKernels}) and launched by the backend's own launchers
 * (their grids, blocks and packed arguments), over host memory: every family but clock's wait. The sub-pixel, unfold
 * and TF32 kernels against the host emulation the plans' tests run on (CudaSubPixelTest.Host), bit for bit, every
 * output element compared (what a kernel leaves unwritten must be left unwritten by both); the other families against
 * the CPU backend, bit for bit where the GPU tests ask for bits. Under each setting of the switches that pick other
 * kernels or other launches, so the kernels behind those switches, which no GPU has run yet, are checked as written.
 */
class KernelsOnHostTest {
    private static final String[] FAMILIES = {"subpixel", "unfold", "tf32"};

    /** x (the large tensor) [N,C,H,W], w [K,C,kh,kw], geometry: the VAE's last layer narrowed, odd sizes, stride 3, a phase with no pixel. */
    private static final List<SubPixelPlans.Dims> CASES = List.of(
            dims(2, 64, 32, 32, 16, 4, 4, ConvGeometry.of(2, 1)),
            dims(2, 8, 17, 9, 3, 4, 4, ConvGeometry.of(2, 1)),
            dims(3, 6, 15, 14, 2, 6, 3, new ConvGeometry(3, 3, 2, 1)),
            dims(2, 3, 8, 10, 5, 4, 2, new ConvGeometry(2, 1, 1, 0)),
            dims(2, 4, 2, 5, 3, 3, 3, ConvGeometry.of(3, 1)),
            dims(1, 5, 12, 9, 4, 6, 3, new ConvGeometry(3, 3, 2, 1)));

    private static SubPixelPlans.Dims dims(int n, int c, int h, int w, int k, int kh, int kw, ConvGeometry g) {
        return SubPixelPlans.Dims.of(Shape.of(n, c, h, w), Shape.of(k, c, kh, kw), g);
    }

    /** A step on the emulation and on the kernels: (steps, addresses of the inputs then the output). */
    private interface Step { void run(SubPixelPlans.Steps s, long[] at); }

    /**
     * One step both ways: inputs of these sizes (random floats), an output of outFloats (NaN until written), and the two
     * outputs compared bit for bit.
     */
    private static void check(HostKernels gpu, String what, long outFloats, long[] inFloats, Random r, Step step) {
        CudaSubPixelTest.Host host = new CudaSubPixelTest.Host();
        long[] hostAt = new long[inFloats.length + 1], gpuAt = new long[inFloats.length + 1];
        for (int i = 0; i < inFloats.length; i++) {
            float[] v = new float[Math.toIntExact(inFloats[i])];
            for (int j = 0; j < v.length; j++) v[j] = (float) r.nextGaussian();
            hostAt[i] = host.put(v.clone());
            gpuAt[i] = gpu.floats(v).address();
        }
        float[] unwritten = CudaSubPixelTest.Host.unwritten(outFloats);
        hostAt[inFloats.length] = host.put(unwritten.clone());
        MemorySegment out = gpu.floats(unwritten);
        gpuAt[inFloats.length] = out.address();
        step.run(host, hostAt);
        step.run(CudaSubPixel.GPU, gpuAt);
        float[] want = host.mem(hostAt[inFloats.length]), got = out.toArray(ValueLayout.JAVA_FLOAT);
        for (int i = 0; i < want.length; i++)
            if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i]))
                throw new AssertionError(what + " " + switches() + ": element " + i + " of " + want.length + " is " + got[i] + " on the kernels, "
                        + want[i] + " on the emulation");
    }

    private static String switches() { return "(phaseLoads " + CudaSubPixel.batched() + ", planes packed " + Kernel.packedPlanes() + ")"; }

    /** body under each setting of -Dfrl.cuda.phaseLoads and -Dfrl.cuda.planes, the properties restored after. */
    private static void underEachSwitch(Runnable body) {
        for (String l : new String[] {"plain", "batched"})
            for (String p : new String[] {"one", "packed"}) Switches.with("frl.cuda.phaseLoads", l, () -> Switches.with("frl.cuda.planes", p, body));
    }

    @Test void subPixelKernelsMatchTheEmulation() {
        try (HostKernels gpu = HostKernels.of(FAMILIES)) {
            subPixelKernels(gpu);
        }
    }

    private static void subPixelKernels(HostKernels gpu) {
        underEachSwitch(() -> {
            Random r = new Random(1);
            for (SubPixelPlans.Dims d : CASES) {
                long x = d.x().numel(), w = (long) d.k() * d.c() * d.kh() * d.kw(), dy = (long) d.n() * d.k() * d.oh() * d.ow();
                check(gpu, "splitWeights " + d, d.splitFloats(), new long[] {w}, r, (s, at) -> s.splitWeights(d, at[0], at[1]));
                check(gpu, "unsplitWeights " + d, w, new long[] {d.splitFloats()}, r, (s, at) -> s.unsplitWeights(d, at[0], at[1]));
                for (Phase p : d.phases()) {
                    long cols = (long) d.depth() * d.nq(p), block = (long) d.c() * d.nq(p);
                    check(gpu, "gather " + p + " " + d, cols, new long[] {dy}, r, (s, at) -> s.gather(d, p, at[0], at[1]));
                    for (String parts : new String[] {"bsb", "bs"})
                        check(gpu, "gatherParts " + parts + " " + p + " " + d, parts.length() * cols, new long[] {dy}, r,
                                (s, at) -> s.gatherParts(d, p, at[0], at[1], parts, cols));
                    check(gpu, "movePixels to the block " + p + " " + d, block, new long[] {x}, r, (s, at) -> s.movePixels(d.x(), d.g(), p, at[0], at[1], true));
                    check(gpu, "movePixels from the block " + p + " " + d, x, new long[] {block}, r, (s, at) -> s.movePixels(d.x(), d.g(), p, at[1], at[0], false));
                }
                long slot = d.depth() * d.nqMax();
                check(gpu, "sumPhases " + d, dy, new long[] {d.sh() * d.sw() * slot}, r, (s, at) -> s.sumPhases(d, at[0], slot, at[1]));
            }
        });
    }

    @Test void tf32AndSliceKernelsMatchTheEmulation() {
        try (HostKernels gpu = HostKernels.of(FAMILIES)) {
            tf32AndSliceKernels(gpu);
        }
    }

    private static void tf32AndSliceKernels(HostKernels gpu) {
        underEachSwitch(() -> {
            Random r = new Random(2);
            // rows × cols, both parts' layouts, cols a multiple of 4 or not (tf32_parts4 takes aligned rows of quads)
            for (int[] rc : new int[][] {{3, 64}, {5, 37}, {1, 4096}, {7, 12}})
                for (String parts : new String[] {"bs", "bsb", "bbs"}) {
                    int rows = rc[0], cols = rc[1];
                    long n = (long) rows * cols;
                    check(gpu, "tf32Parts " + parts + " " + rows + "×" + cols, parts.length() * n, new long[] {n}, r,
                            (s, at) -> s.tf32Parts(at[0], at[1], rows, cols, parts, n, cols));
                    check(gpu, "tf32Parts " + parts + " " + rows + "×" + cols + " in rows of 3·cols", 3 * parts.length() * n, new long[] {n}, r,
                            (s, at) -> s.tf32Parts(at[0], at[1], rows, cols, parts, 3 * n, 3L * cols));
                }
            for (int slices : new int[] {1, 3, 16})
                check(gpu, "sumSlices " + slices, 1000, new long[] {slices * 1000L}, r, (s, at) -> s.sumSlices(at[0], slices, 1000, at[1]));
        });
    }

    @Test void unfoldKernelsMatchTheEmulation() {
        try (HostKernels gpu = HostKernels.of(FAMILIES)) {
            underEachSwitch(() -> {
                Random r = new Random(3);
                for (SubPixelPlans.Dims c : CASES) {
                    UnfoldPlans.Dims d = UnfoldPlans.Dims.of(c.x(), Shape.of(c.k(), c.c(), c.kh(), c.kw()), c.g(), false);
                    long x = c.x().numel(), y = (long) d.n() * d.k() * d.oh() * d.ow(), rows = (long) d.k() * d.np();
                    check(gpu, "unfold " + c, d.colsFloats(), new long[] {x}, r, (s, at) -> s.unfold(d, at[0], at[1]));
                    check(gpu, "fold " + c, x, new long[] {d.colsFloats()}, r, (s, at) -> s.fold(d, at[0], at[1]));
                    for (int slices : new int[] {1, 4})
                        check(gpu, "rowsToNchw " + slices + " " + c, y, new long[] {slices * rows}, r, (s, at) -> s.rowsToNchw(d, at[0], slices, at[1]));
                    check(gpu, "nchwToRows " + c, rows, new long[] {y}, r, (s, at) -> s.nchwToRows(d, at[0], at[1]));
                }
            });
        }
    }

    /** What loss.cu's forward and backward gave: the loss, dlogits, and the first bad target's position (-1: none). */
    private record Ce(float[] loss, float[] dlogits, long bad) {}

    /** logits of shape s (classes on axis) through loss.cu on the host, each kind of kernel as the switch -Dfrl.cuda.ce picks. */
    private static Ce crossEntropy(HostKernels gpu, Shape s, int axis, float[] x, float[] t, float[] g, String ce) {
        int[] view = Shapes.aroundAxis(s, axis);
        MemorySegment xs = gpu.floats(x), ts = gpu.floats(t), gs = gpu.floats(g), loss = gpu.floats(t.length), dx = gpu.floats(x.length), flag = gpu.floats(2);
        flag.fill((byte) 0xFF);
        Switches.with("frl.cuda.ce", ce, () -> {
            CudaLoss.launch(xs.address(), ts.address(), null, loss.address(), flag.address(), 0, view);
            CudaLoss.launch(xs.address(), ts.address(), gs.address(), dx.address(), flag.address(), 0, view);
        });
        return new Ce(loss.toArray(ValueLayout.JAVA_FLOAT), dx.toArray(ValueLayout.JAVA_FLOAT), flag.get(ValueLayout.JAVA_LONG, 0));
    }

    /**
     * loss.cu's kernels (their threads meet at barriers: run as fibers) against the CPU backend's cross-entropy (NMSE
     * ≤ 1e-7; exp and log are the host's), rows, cached and global tiles, partial tiles, non-finite logits; under
     * -Dfrl.cuda.ce=registers the cached tiles' bits; a bad target's position flagged; and the backward written as its
     * TF32 parts (-Dfrl.cuda.ceParts=fused's kernels) the bits of tf32_parts over the backward, block by block.
     */
    @Test void crossEntropyKernelsMatchTheCpu() {
        Backend cpu = Backends.cpu();
        try (HostKernels gpu = HostKernels.of("loss", "tf32"); Scope sc = Scope.open()) {
            Random r = new Random(5);
            Object[][] cases = {{Shape.of(3, 7), 1}, {Shape.of(17, 300), 1}, {Shape.of(2, 5, 3, 4), 1}, {Shape.of(1, 2, 256, 45), 2},
                    {Shape.of(2, 321, 33), 1}, {Shape.of(4, 1, 256, 31), 2}, {Shape.of(2, 3, 256, 70), 2}};
            for (Object[] c : cases) {
                Shape s = (Shape) c[0];
                int axis = (int) c[1], classes = s.dim(axis);
                Shape ts = s.without(axis);
                float[] x = CudaVsCpu.uniform(r, s.numel(), -20, 20), t = new float[Math.toIntExact(ts.numel())], g = CudaVsCpu.uniform(r, ts.numel(), -1, 1);
                for (int i = 0; i < t.length; i++) t[i] = r.nextInt(classes);
                x[0] = Float.NEGATIVE_INFINITY;
                x[x.length / 2] = Float.NaN;
                Ce shared = crossEntropy(gpu, s, axis, x, t, g, "shared"), regs = crossEntropy(gpu, s, axis, x, t, g, "registers");
                String at = s + " axis " + axis;
                CudaVsCpu.assertClose(at + " loss", shared.loss(), cpu.crossEntropy(cpu.fromHost(s, x), cpu.fromHost(ts, t), axis).toFloats(), 1e-7);
                CudaVsCpu.assertClose(at + " dlogits", shared.dlogits(), cpu.crossEntropyBackward(cpu.fromHost(s, x), cpu.fromHost(ts, t), cpu.fromHost(ts, g), axis).toFloats(), 1e-7);
                assertTrue(Arrays.equals(shared.loss(), regs.loss()) && Arrays.equals(shared.dlogits(), regs.dlogits()), at + ": registers are not the cached tile's bits");
                assertTrue(shared.bad() == -1 && regs.bad() == -1, at + ": a bad target flagged where there is none");
                if (axis == 2 && s.rank() == 4) parts(gpu, s, x, t, g, at);
            }
            float[] t = {0, 1, 7, 2, -1, 1.5f};   // positions 2, 4 and 5 are bad: the flag names 2
            Ce bad = crossEntropy(gpu, Shape.of(6, 7), 1, new float[42], t, new float[6], "shared");
            assertTrue(bad.bad() == 2 && Float.isNaN(bad.loss()[2]) && !Float.isNaN(bad.loss()[1]), "the first bad target, 2, flagged and its loss NaN: " + bad.bad());
        }
    }

    /** The backward as TF32 parts: block b's big part at 2b·B and its small part at (2b + 1)·B, B = C·classes·inner. */
    private static void parts(HostKernels gpu, Shape s, float[] x, float[] t, float[] g, String at) {
        int[] view = Shapes.aroundAxis(s, 2);
        long block = s.numel() / s.dim(0);
        MemorySegment xs = gpu.floats(x), ts = gpu.floats(t), gs = gpu.floats(g), dx = gpu.floats(x.length), flag = gpu.floats(2);
        MemorySegment want = gpu.floats(CudaSubPixelTest.Host.unwritten(2 * s.numel())), got = gpu.floats(CudaSubPixelTest.Host.unwritten(2 * s.numel()));
        for (String ce : new String[] {"shared", "registers"}) {
            Switches.with("frl.cuda.ce", ce, () -> {
                CudaLoss.launch(xs.address(), ts.address(), gs.address(), dx.address(), flag.address(), 0, view);
                for (int b = 0; b < s.dim(0); b++)
                    CudaSubPixel.GPU.tf32Parts(dx.address() + 4L * b * block, want.address() + 4L * 2 * b * block, 1, (int) block, "bs", block, block);
                CudaLoss.launch(xs.address(), ts.address(), gs.address(), got.address(), flag.address(), s.dim(1), view);
            });
            float[] w = want.toArray(ValueLayout.JAVA_FLOAT), o = got.toArray(ValueLayout.JAVA_FLOAT);
            for (int i = 0; i < w.length; i++)
                if (Float.floatToRawIntBits(w[i]) != Float.floatToRawIntBits(o[i]))
                    throw new AssertionError(at + " " + ce + ": parts element " + i + " is " + o[i] + ", the split of the backward " + w[i]);
        }
    }

    /** norm.cu's forward then backward on the host: {y, mean, var, dx, dgamma, dbeta}, act the ReLU's output for the backward (or null). */
    private static float[][] batchNorm(HostKernels gpu, Shape s, float[] x, float[] gamma, float[] beta, float[] dy, boolean relu, boolean reluBackward) {
        CudaNorm.Geometry g = CudaNorm.geometry(s);
        int c = s.dim(1), segments = g.segments();
        MemorySegment xs = gpu.floats(x), gs = gpu.floats(gamma), bs = gpu.floats(beta), y = gpu.floats(x.length), mean = gpu.floats(c), var = gpu.floats(c);
        MemorySegment sums = gpu.floats(2L * c * segments), sqs = gpu.floats(2L * c * segments), part = gpu.floats(4L * c * segments);
        MemorySegment dys = gpu.floats(dy), dx = gpu.floats(x.length), dgamma = gpu.floats(c), dbeta = gpu.floats(c);
        CudaNorm.launchForward(g, xs.address(), gs.address(), bs.address(), y.address(), mean.address(), var.address(), sums.address(), sqs.address(), 1e-5, relu);
        CudaNorm.launchBackward(g, xs.address(), dys.address(), gs.address(), mean.address(), var.address(), reluBackward ? y.address() : 0L, dx.address(),
                dgamma.address(), dbeta.address(), part.address(), 1e-5);
        return new float[][] {y.toArray(ValueLayout.JAVA_FLOAT), mean.toArray(ValueLayout.JAVA_FLOAT), var.toArray(ValueLayout.JAVA_FLOAT),
                dx.toArray(ValueLayout.JAVA_FLOAT), dgamma.toArray(ValueLayout.JAVA_FLOAT), dbeta.toArray(ValueLayout.JAVA_FLOAT)};
    }

    /**
     * norm.cu's kernels (block sums by warp shuffles and barriers: fibers) against the CPU backend's batch norm (NMSE
     * ≤ 1e-7), a channel split over several blocks among the shapes; under -Dfrl.cuda.bnLoads=batched the same bits;
     * with the ReLU fused (-Dfrl.cuda.bnRelu's kernels) the bits of the ReLU of y and of the backward of dy masked by it.
     */
    @Test void batchNormKernelsMatchTheCpu() {
        Backend cpu = Backends.cpu();
        String[] names = {"y", "mean", "var", "dx", "dgamma", "dbeta"};
        try (HostKernels gpu = HostKernels.of("norm"); Scope sc = Scope.open()) {
            Random r = new Random(6);
            for (Shape s : new Shape[] {Shape.of(2, 3, 5, 4), Shape.of(8, 16, 9, 7), Shape.of(64, 2, 32, 32), Shape.of(5, 7)}) {
                int c = s.dim(1);
                float[] x = CudaVsCpu.uniform(r, s.numel(), -3, 2), gamma = CudaVsCpu.uniform(r, c, 0.5, 2), beta = CudaVsCpu.uniform(r, c, -1, 1),
                        dy = CudaVsCpu.uniform(r, s.numel(), -1, 1);
                float[][][] got = new float[2][][];
                for (int b = 0; b < 2; b++)
                    got[b] = Switches.with("frl.cuda.bnLoads", b == 0 ? "plain" : "batched", () -> batchNorm(gpu, s, x, gamma, beta, dy, false, false));
                for (int k = 0; k < names.length; k++) assertTrue(Arrays.equals(got[0][k], got[1][k]), s + " " + names[k] + ": batched loads change the bits");
                var want = cpu.batchNorm(cpu.fromHost(s, x), cpu.fromHost(Shape.of(c), gamma), cpu.fromHost(Shape.of(c), beta), 1e-5);
                var grads = cpu.batchNormBackward(cpu.fromHost(s, x), cpu.fromHost(Shape.of(c), gamma), want.mean(), want.var(), 1e-5, cpu.fromHost(s, dy));
                float[][] cpuOut = {want.y().toFloats(), want.mean().toFloats(), want.var().toFloats(), grads.dx().toFloats(), grads.dgamma().toFloats(),
                        grads.dbeta().toFloats()};
                for (int k = 0; k < names.length; k++) CudaVsCpu.assertClose(s + " " + names[k], got[0][k], cpuOut[k], 1e-7);
                // the ReLU fused, with either loads: y through it, dy masked where it cut
                float[] masked = dy.clone();
                for (int i = 0; i < masked.length; i++) if (!(got[0][0][i] > 0)) masked[i] = 0;
                for (String loads : new String[] {"plain", "batched"})
                    Switches.with("frl.cuda.bnLoads", loads, () -> {
                        float[][] fused = batchNorm(gpu, s, x, gamma, beta, dy, true, true), two = batchNorm(gpu, s, x, gamma, beta, masked, false, false);
                        for (int i = 0; i < two[0].length; i++) two[0][i] = two[0][i] > 0 ? two[0][i] : 0;
                        for (int k = 0; k < names.length; k++)
                            assertTrue(Arrays.equals(two[k], fused[k]), s + " " + names[k] + " (" + loads + " loads): the fused ReLU is not the two ops' bits");
                    });
            }
        }
    }

    /**
     * frequency.cu's direct kernels (the one-block-per-image and streaming kernels' barriers and the warp and tile
     * kernels' shuffles and votes: fibers) against HighPass bit for bit, as the GPU tests ask: each kernel in each order
     * of sums (-Dfrl.cuda.hf=warp, =tile and -Dfrl.cuda.hfSums=exact's kernels among them), gray and RGB, odd sizes, k from 1 to 15,
     * and a batch mixing 8-bit images with images the exact sums must leave to the ordered ones (values past the bound
     * or under 2^-8), image by image; x_H alone and x_F = [x, x_H] (FrlInput.build's layout).
     */
    @Test void highPassKernelsAreHighPassBitForBit() {
        try (HostKernels gpu = HostKernels.of("frequency")) {
            SplittableRandom rng = new SplittableRandom(7);
            // the tile kernel's: 37 images (two blocks, a last warp with one image), rows past 32, fewer rows than taps,
            // narrower planes (a lane with no columns), RGB
            for (int[] s : new int[][] {{12, 1, 32, 32}, {3, 3, 32, 32}, {5, 1, 28, 28}, {1, 1, 1, 1}, {2, 3, 17, 31}, {3, 1, 33, 17}, {2, 1, 5, 30},
                                        {37, 1, 32, 32}, {6, 1, 41, 16}, {5, 1, 3, 12}, {4, 3, 9, 20}}) {
                int n = s[0], c = s[1], h = s[2], w = s[3], plane = h * w;
                float[] x = new float[n * c * plane];
                for (int i = 0; i < x.length; i++) x[i] = rng.nextInt(256) / 255f;
                if (c == 1 && n >= 4)
                    for (int i = 1; i < n; i += 2) { // every other image off the exact domain, one way or the other
                        int at = i * plane + rng.nextInt(1, plane - 1);
                        if (i % 4 == 1) { x[at - 1] = 0x1p40f; x[at] = 0.3f; x[at + 1] = -0x1p40f; }
                        else x[at] = (float) rng.nextDouble(1e-7, 0x1p-8);
                    }
                for (int k : new int[] {1, 3, 5, 7, 9, 15}) {
                    float[] hf = new float[n * plane], xf = new float[n * (c + 1) * plane]; // x_H alone, and x_F = [x, x_H]
                    HighPass hp = new HighPass(k);
                    for (int i = 0; i < n; i++) {
                        hp.apply(x, i * c * plane, c, h, w, hf, i * plane);
                        System.arraycopy(x, i * c * plane, xf, i * (c + 1) * plane, c * plane);
                        System.arraycopy(hf, i * plane, xf, (i * (c + 1) + c) * plane, plane);
                    }
                    double[] taps = HighPass.gaussianKernel(k);
                    for (CudaFrequency.Direct kernel : CudaFrequency.Direct.values())
                        for (boolean exact : new boolean[] {false, true})
                            for (boolean withInput : new boolean[] {false, true}) {
                                float[] want = withInput ? xf : hf;
                                MemorySegment in = gpu.floats(x), out = gpu.floats(CudaSubPixelTest.Host.unwritten(want.length));
                                assertTrue(CudaFrequency.launchDirect(in.address(), out.address(), taps, CudaFrequency.geometry(n, c, h, w, withInput, taps, exact), kernel),
                                        "no direct kernel for " + Arrays.toString(s));
                                float[] got = out.toArray(ValueLayout.JAVA_FLOAT);
                                for (int i = 0; i < want.length; i++)
                                    if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i]))
                                        throw new AssertionError(kernel + (exact ? " exact sums" : "") + (withInput ? " x_F" : "") + " " + Arrays.toString(s)
                                                + " k=" + k + ": element " + i + " is " + got[i] + ", HighPass " + want[i]);
                            }
                }
            }
        }
    }

    /** An op on the host-compiled kernels: the inputs' addresses, then the output's. */
    private interface OnHost { void run(long[] at); }

    /** A kernel op on the host against the CPU's (NMSE ≤ 1e-7): inputs of these shapes (random floats), an output of outShape. */
    private static void againstCpu(HostKernels gpu, String what, Shape outShape, Shape[] in, Random r, OnHost kernels,
                                   Function<Tensor[], Tensor> onCpu) {
        againstCpu(gpu, what, outShape, in, r, kernels, onCpu, 1e-7);
    }

    /** The same, within NMSE ≤ tol. */
    private static void againstCpu(HostKernels gpu, String what, Shape outShape, Shape[] in, Random r, OnHost kernels,
                                   Function<Tensor[], Tensor> onCpu, double tol) {
        Backend cpu = Backends.cpu();
        long[] at = new long[in.length + 1];
        Tensor[] cpuIn = new Tensor[in.length];
        for (int i = 0; i < in.length; i++) {
            float[] v = CudaVsCpu.uniform(r, in[i].numel(), -1, 1);
            at[i] = gpu.floats(v).address();
            cpuIn[i] = cpu.fromHost(in[i], v);
        }
        MemorySegment out = gpu.floats(CudaSubPixelTest.Host.unwritten(outShape.numel()));
        at[in.length] = out.address();
        kernels.run(at);
        CudaVsCpu.assertClose(what, out.toArray(ValueLayout.JAVA_FLOAT), onCpu.apply(cpuIn).toFloats(), tol);
    }

    /**
     * The shifted convolutions on tensor cores (shifted_mma.cu, -Dfrl.cuda.shiftedKernel=mma: its mma.sync emulated a warp
     * at a time here, with the TF32 inputs cut as the tensor cores read them) against the CPU, each op in one part and in
     * several (summed by masked_conv.cu's shifted_sum_parts: the forward's and input gradient's stages, a last part
     * shorter; the weight gradient's pixels), within NMSE 1e-10: float32's class, where one TF32 pass gives about 1e-7.
     * Shapes: a partial tile of pixels and of channels, both shifts, more than 80 output channels and 128 pixels (two
     * tiles each way), a 1×3 kernel, a 1×1 (nothing to shift: CudaConv's 1×1 convolutions under the switch), and no
     * input channels (zeros out).
     */
    @Test void shiftedTensorCoreKernelsMatchTheCpu() {
        try (HostKernels gpu = HostKernels.of("shifted_mma", "masked_conv"); Scope sc = Scope.open()) {
            Random r = new Random(9);
            Object[][] shifted = {{Shape.of(2, 20, 5, 7), Shape.of(17, 20, 2, 3), Shift.DOWN}, {Shape.of(1, 3, 6, 4), Shape.of(6, 3, 2, 2), Shift.DOWN_RIGHT},
                    {Shape.of(1, 40, 9, 17), Shape.of(85, 40, 2, 3), Shift.DOWN}, {Shape.of(1, 2, 3, 5), Shape.of(3, 2, 1, 3), Shift.DOWN},
                    {Shape.of(2, 8, 16, 17), Shape.of(9, 8, 2, 3), Shift.DOWN_RIGHT}, {Shape.of(2, 40, 4, 5), Shape.of(24, 40, 1, 1), Shift.DOWN},
                    {Shape.of(1, 0, 3, 4), Shape.of(5, 0, 2, 3), Shift.DOWN}};
            Set<Integer> forwardParts = new TreeSet<>(), inputParts = new TreeSet<>(), weightParts = new TreeSet<>();
            for (Object[] c : shifted) {
                Shape xs = (Shape) c[0], ws = (Shape) c[1], ys = Shape.of(xs.dim(0), ws.dim(0), xs.dim(2), xs.dim(3));
                Shift s = (Shift) c[2];
                String at = s + " x" + xs + " w" + ws;
                int taps = ws.dim(2) * ws.dim(3), fp = CudaShiftedConv.reductionParts(xs, ws.dim(0), xs.dim(1), taps)[0];
                int ip = CudaShiftedConv.reductionParts(xs, xs.dim(1), ws.dim(0), taps)[0];
                long fPartial = gpu.floats((long) fp * ys.numel()).address(), iPartial = gpu.floats((long) ip * xs.numel()).address();
                againstCpu(gpu, "shifted forward on tensor cores in " + fp + " parts " + at, ys, new Shape[] {xs, ws}, r,
                        a -> CudaShiftedConv.launchForward(a[0], a[1], a[2], fPartial, xs, ws, s, true), t -> Backends.cpu().shiftedConv2d(t[0], t[1], s), 1e-10);
                if (xs.numel() == 0) continue;   // no input channels: the gradients are empty, no launch
                againstCpu(gpu, "shifted backward-input on tensor cores in " + ip + " parts " + at, xs, new Shape[] {ys, ws}, r,
                        a -> CudaShiftedConv.launchBackwardInput(a[0], a[1], a[2], iPartial, xs, ws, s, true),
                        t -> Backends.cpu().shiftedConv2dBackwardInput(t[0], t[1], xs, s), 1e-10);
                forwardParts.add(fp);
                inputParts.add(ip);
                int parts = CudaShiftedConv.weightParts(xs, ws, true)[0];
                long partial = gpu.floats((long) parts * ws.numel()).address();
                againstCpu(gpu, "shifted backward-weight on tensor cores in " + parts + " parts " + at, ws, new Shape[] {xs, ys}, r,
                        a -> CudaShiftedConv.launchBackwardWeight(a[0], a[1], a[2], partial, xs, ws, s, true),
                        t -> Backends.cpu().shiftedConv2dBackwardWeight(t[0], t[1], ws, s), 1e-10);
                weightParts.add(parts);
            }
            for (Set<Integer> p : List.of(forwardParts, inputParts, weightParts))
                assertTrue(p.contains(1) && p.size() > 1, "the shapes run each op in one part and in several: " + forwardParts + " " + inputParts + " " + weightParts);
        }
    }

    /**
     * The tensor-core forward of concatElu(x) (shifted_mma_fwd_elu: elu(±x) taken as x is loaded): bit for bit fused.cu's
     * concat_elu then the tensor-core forward, and within NMSE 1e-10 of the CPU's two ops; over a part and several.
     */
    @Test void shiftedTensorCoreForwardOfConcatEluIsItsTwoOps() {
        try (HostKernels gpu = HostKernels.of("shifted_mma", "masked_conv", "fused"); Scope sc = Scope.open()) {
            Random r = new Random(10);
            Backend cpu = Backends.cpu();
            Set<Integer> parts = new TreeSet<>();
            for (Object[] c : new Object[][] {{Shape.of(2, 10, 5, 7), Shape.of(17, 20, 2, 3), Shift.DOWN}, {Shape.of(1, 40, 12, 13), Shape.of(85, 80, 2, 2), Shift.DOWN_RIGHT},
                    {Shape.of(3, 40, 16, 16), Shape.of(80, 80, 2, 3), Shift.DOWN}, {Shape.of(1, 4, 6, 5), Shape.of(6, 8, 2, 2), Shift.DOWN_RIGHT}}) {
                Shape xs = (Shape) c[0], ws = (Shape) c[1], cs = Shapes.doubledChannels(xs), ys = Shape.of(xs.dim(0), ws.dim(0), xs.dim(2), xs.dim(3));
                Shift s = (Shift) c[2];
                int p = CudaShiftedConv.reductionParts(cs, ws.dim(0), cs.dim(1), ws.dim(2) * ws.dim(3))[0];
                parts.add(p);
                float[] x = CudaVsCpu.uniform(r, xs.numel(), -2, 2), w = CudaVsCpu.uniform(r, ws.numel(), -1, 1);
                long ax = gpu.floats(x).address(), aw = gpu.floats(w).address(), partial = gpu.floats((long) p * ys.numel()).address();
                MemorySegment fused = gpu.floats(CudaSubPixelTest.Host.unwritten(ys.numel())), twoOps = gpu.floats(CudaSubPixelTest.Host.unwritten(ys.numel()));
                MemorySegment elu = gpu.floats(CudaSubPixelTest.Host.unwritten(cs.numel()));
                CudaShiftedConv.launchForwardOfConcatElu(ax, aw, fused.address(), partial, xs, ws, s);
                CudaFused.launchConcatElu(ax, elu.address(), xs);
                CudaShiftedConv.launchForward(elu.address(), aw, twoOps.address(), partial, cs, ws, s, true);
                String at = s + " x" + xs + " w" + ws + " in " + p + " parts";
                float[] got = fused.toArray(ValueLayout.JAVA_FLOAT);
                assertTrue(Arrays.equals(twoOps.toArray(ValueLayout.JAVA_FLOAT), got), "concat-ELU read as loaded vs written first, " + at);
                Tensor want = cpu.shiftedConv2d(cpu.concatElu(cpu.fromHost(xs, x)), cpu.fromHost(ws, w), s);
                CudaVsCpu.assertClose("forward of concat-ELU on tensor cores, " + at, got, want.toFloats(), 1e-10);
            }
            assertTrue(parts.contains(1) && parts.size() > 1, "one part and several: " + parts);
        }
    }

    /**
     * PixelCNN++'s shifted convolutions (masked_conv.cu: tiled implicit GEMMs with barriers, fibers here) and Glow's
     * 1×1 convolution (conv1x1.cu) against the CPU's, all three directions, each weight gradient in one part and in
     * several (then summed in order); and the 1×1 with the actnorm before it fused.
     */
    @Test void shiftedAndOneByOneKernelsMatchTheCpu() {
        try (HostKernels gpu = HostKernels.of("masked_conv", "conv1x1"); Scope sc = Scope.open()) {
            Random r = new Random(8);
            Object[][] shifted = {{Shape.of(2, 5, 7, 9), Shape.of(4, 5, 2, 3), Shift.DOWN}, {Shape.of(1, 3, 6, 4), Shape.of(6, 3, 2, 2), Shift.DOWN_RIGHT},
                    {Shape.of(2, 70, 32, 32), Shape.of(66, 70, 2, 3), Shift.DOWN}, {Shape.of(1, 2, 3, 5), Shape.of(3, 2, 1, 3), Shift.DOWN}};
            for (Object[] c : shifted) {
                Shape xs = (Shape) c[0], ws = (Shape) c[1], ys = Shape.of(xs.dim(0), ws.dim(0), xs.dim(2), xs.dim(3));
                Shift s = (Shift) c[2];
                String at = s + " x" + xs + " w" + ws;
                againstCpu(gpu, "shifted forward " + at, ys, new Shape[] {xs, ws}, r, a -> CudaShiftedConv.launchForward(a[0], a[1], a[2], 0L, xs, ws, s, false),
                        t -> Backends.cpu().shiftedConv2d(t[0], t[1], s));
                againstCpu(gpu, "shifted backward-input " + at, xs, new Shape[] {ys, ws}, r, a -> CudaShiftedConv.launchBackwardInput(a[0], a[1], a[2], 0L, xs, ws, s, false),
                        t -> Backends.cpu().shiftedConv2dBackwardInput(t[0], t[1], xs, s));
                int parts = CudaShiftedConv.weightParts(xs, ws, false)[0];
                long partial = gpu.floats((long) parts * ws.numel()).address();
                againstCpu(gpu, "shifted backward-weight in " + parts + " parts " + at, ws, new Shape[] {xs, ys}, r,
                        a -> CudaShiftedConv.launchBackwardWeight(a[0], a[1], a[2], partial, xs, ws, s, false),
                        t -> Backends.cpu().shiftedConv2dBackwardWeight(t[0], t[1], ws, s));
            }
            ConvGeometry one = ConvGeometry.of(1, 0);
            for (Shape[] c : new Shape[][] {{Shape.of(2, 12, 5, 7), Shape.of(12, 12, 1, 1)}, {Shape.of(3, 48, 8, 8), Shape.of(48, 48, 1, 1)},
                    {Shape.of(1, 64, 4, 4), Shape.of(20, 64, 1, 1)}, {Shape.of(1, 5, 1, 3), Shape.of(33, 5, 1, 1)}}) {
                Shape xs = c[0], ws = c[1], ys = Shape.of(xs.dim(0), ws.dim(0), xs.dim(2), xs.dim(3));
                int n = xs.dim(0), hw = xs.dim(2) * xs.dim(3), ci = xs.dim(1), k = ws.dim(0);
                String at = "x" + xs + " w" + ws;
                againstCpu(gpu, "1×1 forward " + at, ys, new Shape[] {xs, ws}, r, a -> CudaConv1x1.launchApply(a[0], a[1], a[2], n, hw, ci, k, false, null, null),
                        t -> Backends.cpu().conv2d(t[0], t[1], one));
                againstCpu(gpu, "1×1 backward-input " + at, xs, new Shape[] {ys, ws}, r, a -> CudaConv1x1.launchApply(a[0], a[1], a[2], n, hw, k, ci, true, null, null),
                        t -> Backends.cpu().conv2dBackwardInput(t[0], t[1], xs, one));
                int parts = CudaConv1x1.dwParts(xs)[0];
                long partial = gpu.floats((long) parts * ws.numel()).address();
                againstCpu(gpu, "1×1 backward-weight in " + parts + " parts " + at, ws, new Shape[] {xs, ys}, r,
                        a -> CudaConv1x1.launchBackwardWeight(a[0], a[1], a[2], partial, xs, ws, null, null), t -> Backends.cpu().conv2dBackwardWeight(t[0], t[1], ws, one));
                actNorm(gpu, xs, ws, r);
            }
        }
    }

    /**
     * Glow's actnorm and 1×1 convolution in one pass (conv1x1.cu's actnorm kernels, -Dfrl.cuda.actNormConv=fused) against
     * the CPU's Backend#actNormConv1x1 and its backward (the ops it is made of): y, then dx, dbias, dlogs and dw.
     */
    private static void actNorm(HostKernels gpu, Shape xs, Shape ws, Random r) {
        Backend cpu = Backends.cpu();
        int n = xs.dim(0), c = xs.dim(1), hw = xs.dim(2) * xs.dim(3), k = ws.dim(0);
        Shape ch = Shape.of(1, c, 1, 1), ys = Shape.of(n, k, xs.dim(2), xs.dim(3));
        float[] x = CudaVsCpu.uniform(r, xs.numel(), -1, 1), b = CudaVsCpu.uniform(r, c, -0.5, 0.5), l = CudaVsCpu.uniform(r, c, -0.7, 0.7),
                w = CudaVsCpu.uniform(r, ws.numel(), -1, 1), dy = CudaVsCpu.uniform(r, ys.numel(), -1, 1);
        Tensor cx = cpu.fromHost(xs, x), cb = cpu.fromHost(ch, b), cl = cpu.fromHost(ch, l), cw = cpu.fromHost(ws, w);
        var want = cpu.actNormConv1x1Backward(cx, cb, cl, cw, cpu.fromHost(ys, dy));
        MemorySegment gx = gpu.floats(x), gb = gpu.floats(b), gl = gpu.floats(l), gw = gpu.floats(w), gdy = gpu.floats(dy);
        MemorySegment y = gpu.floats(ys.numel()), dx = gpu.floats(xs.numel()), db = gpu.floats(c), dl = gpu.floats(c), dw = gpu.floats(ws.numel());
        int parts = CudaConv1x1.dwParts(xs)[0];
        long partial = gpu.floats((long) parts * ws.numel()).address();
        CudaConv1x1.launchApply(gx.address(), gw.address(), y.address(), n, hw, c, k, false, gb.address(), gl.address());
        CudaConv1x1.launchApply(gdy.address(), gw.address(), dx.address(), n, hw, k, c, true, gb.address(), gl.address());
        CudaConv1x1.launchActNormSums(gx.address(), dx.address(), gb.address(), db.address(), dl.address(), n, hw, c);
        CudaConv1x1.launchBackwardWeight(gx.address(), gdy.address(), dw.address(), partial, xs, ws, gb.address(), gl.address());
        String at = " x" + xs + " w" + ws;
        CudaVsCpu.assertClose("actnorm+1×1 forward" + at, y.toArray(ValueLayout.JAVA_FLOAT), cpu.actNormConv1x1(cx, cb, cl, cw).toFloats(), 1e-7);
        CudaVsCpu.assertClose("actnorm+1×1 dx" + at, dx.toArray(ValueLayout.JAVA_FLOAT), want.dx().toFloats(), 1e-7);
        CudaVsCpu.assertClose("actnorm+1×1 dbias" + at, db.toArray(ValueLayout.JAVA_FLOAT), want.dbias().toFloats(), 1e-7);
        CudaVsCpu.assertClose("actnorm+1×1 dlogs" + at, dl.toArray(ValueLayout.JAVA_FLOAT), want.dlogs().toFloats(), 1e-7);
        CudaVsCpu.assertClose("actnorm+1×1 dw in " + parts + " parts" + at, dw.toArray(ValueLayout.JAVA_FLOAT), want.dw().toFloats(), 1e-7);
    }

    /**
     * reduce.cu's sums down to a broadcast shape (by blocks where a summed run is at least a warp long, else by threads;
     * partials added in order) and log-sum-exp over an axis (a block or a thread per position), against the CPU's.
     */
    @Test void reductionKernelsMatchTheCpu() {
        Backend cpu = Backends.cpu();
        try (HostKernels gpu = HostKernels.of("reduce"); Scope sc = Scope.open()) {
            Random r = new Random(9);
            Shape[][] sums = {{Shape.of(64, 200, 1, 1), Shape.of(1, 200, 1, 1)}, {Shape.of(4, 4, 16384), Shape.of(1)}, {Shape.of(8, 3, 40), Shape.of(8, 1, 1)},
                    {Shape.of(5, 7, 3), Shape.of(1, 7, 1)}, {Shape.of(64, 64, 16, 16), Shape.of(1, 64, 1, 1)}, {Shape.of(3, 33), Shape.of(3, 1)}};
            Set<Boolean> ways = new HashSet<>();
            for (Shape[] c : sums) {
                Shape xs = c[0], to = c[1];
                CudaReduce.SumPlan p = CudaReduce.sumPlan("test", xs, to);
                ways.add(p.blocks());
                long partial = gpu.floats(2L * p.chunks() * p.outN()).address();
                againstCpu(gpu, "sumTo " + xs + " → " + to + (p.blocks() ? " by blocks" : " by threads"), to, new Shape[] {xs}, r,
                        a -> CudaReduce.launchSumTo(p, a[0], partial, a[1]), t -> cpu.sumTo(t[0], to));
            }
            assertEquals(2, ways.size(), "sums by blocks and by threads");
            Switches.with("frl.cuda.sumBlocks", "any", () -> {   // channel sums of 4×4 planes by blocks as well
                for (Shape[] c : new Shape[][] {{Shape.of(64, 64, 4, 4), Shape.of(1, 64, 1, 1)}, {Shape.of(3, 5, 3, 31), Shape.of(1, 5, 1, 1)}}) {
                    Shape xs = c[0], to = c[1];
                    CudaReduce.SumPlan p = CudaReduce.sumPlan("test", xs, to);
                    assertTrue(p.blocks(), xs + " → " + to + " adds by blocks under -Dfrl.cuda.sumBlocks=any");
                    long partial = gpu.floats(2L * p.chunks() * p.outN()).address();
                    againstCpu(gpu, "sumTo " + xs + " → " + to + " by blocks, short runs", to, new Shape[] {xs}, r,
                            a -> CudaReduce.launchSumTo(p, a[0], partial, a[1]), t -> cpu.sumTo(t[0], to));
                }
                assertFalse(CudaReduce.sumPlan("test", Shape.of(2, 5, 3, 3), Shape.of(1, 5, 1, 1)).blocks(), "18 positions an output: by threads");
            });
            Object[][] lse = {{Shape.of(4, 20), 1}, {Shape.of(2, 7, 3), 1}, {Shape.of(5000, 3), 1}, {Shape.of(64, 300, 17), 1}, {Shape.of(3, 1000), 1}};
            for (Object[] c : lse) {
                Shape xs = (Shape) c[0];
                int axis = (int) c[1];
                int[] v = Shapes.aroundAxis(xs, axis);
                againstCpu(gpu, "logSumExp " + xs + " axis " + axis, xs.with(axis, 1), new Shape[] {xs}, r,
                        a -> CudaReduce.launchLogSumExp(a[0], a[1], v[0] * v[2], v[1], v[2]), t -> cpu.logSumExp(t[0], axis));
            }
        }
    }

    /**
     * pointwise.cu's kernels against the CPU's ops (NMSE ≤ 1e-7; exp, log, tanh are the host's): every unary op and its
     * derivative, every binary op same-shaped, along one axis of either operand and strided, affine and axpy.
     */
    @Test void pointwiseKernelsMatchTheCpu() {
        Backend cpu = Backends.cpu();
        try (HostKernels gpu = HostKernels.of("pointwise"); Scope sc = Scope.open()) {
            Random r = new Random(10);
            Shape s = Shape.of(3, 5, 7, 4);
            for (UnaryOp op : UnaryOp.values()) {
                double a = op == UnaryOp.CLAMP ? -0.5 : 1.0, b = op == UnaryOp.CLAMP ? 0.7 : 0;
                float[] xv = CudaVsCpu.uniform(r, s.numel(), 0.05, 2);   // positive: LOG and SQRT defined
                for (int i = 0; i < xv.length; i += 2) if (op != UnaryOp.LOG && op != UnaryOp.SQRT) xv[i] = -xv[i];
                Tensor cx = cpu.fromHost(s, xv), cy = cpu.unary(op, cx, a, b);
                MemorySegment x = gpu.floats(xv), y = gpu.floats(s.numel()), dy = gpu.floats(CudaVsCpu.uniform(r, s.numel(), -1, 1)), dx = gpu.floats(s.numel());
                CudaPointwise.launchUnary(op, x.address(), y.address(), s.numel(), a, b);
                CudaVsCpu.assertClose("unary " + op, y.toArray(ValueLayout.JAVA_FLOAT), cy.toFloats(), 1e-7);
                CudaPointwise.launchUnaryBackward(op, x.address(), gpu.floats(cy.toFloats()).address(), dy.address(), dx.address(), s.numel(), a, b);
                CudaVsCpu.assertClose("unary backward " + op, dx.toArray(ValueLayout.JAVA_FLOAT),
                        cpu.unaryBackward(op, cx, cy, cpu.fromHost(s, dy.toArray(ValueLayout.JAVA_FLOAT)), a, b).toFloats(), 1e-7);
            }
            Shape[][] pairs = {{s, s}, {s, Shape.of(1, 5, 1, 1)}, {Shape.of(1, 5, 1, 1), s}, {Shape.of(3, 1, 7, 1), Shape.of(1, 5, 1, 4)}, {Shape.of(7, 4), s}};
            for (BinaryOp op : BinaryOp.values())
                for (Shape[] ab : pairs) {
                    Shape os = Shape.broadcast(ab[0], ab[1]);
                    againstCpu(gpu, "binary " + op + " " + ab[0] + " and " + ab[1], os, new Shape[] {ab[0], ab[1]}, r,
                            at -> CudaPointwise.launchBinary(op, at[0], ab[0], at[1], ab[1], at[2], os), t -> cpu.binary(op, t[0], t[1]));
                }
            againstCpu(gpu, "affine", s, new Shape[] {s}, r, at -> CudaPointwise.launchAffine(at[0], at[1], s.numel(), -1.7f, 0.3f), t -> cpu.affine(t[0], -1.7, 0.3));
        }
    }

    /** layout.cu's kernels against the CPU's ops, bit for bit (they move floats): narrow's rows, pad, and Glow's squeeze both ways. */
    @Test void layoutKernelsMatchTheCpu() {
        Backend cpu = Backends.cpu();
        try (HostKernels gpu = HostKernels.of("layout"); Scope sc = Scope.open()) {
            Random r = new Random(12);
            Shape xs = Shape.of(2, 6, 4, 6), narrowed = Shape.of(2, 3, 4, 6);
            exactly(gpu, "narrow", narrowed, xs, r, at -> CudaLayout.copyRows("narrow", at[0], at[1], 2, 3 * 24, 6 * 24, 2 * 24, 3 * 24, 0),
                    t -> cpu.narrow(t, 1, 2, 3));
            int[] before = {0, 1, 2, 0}, after = {1, 0, 3, 1};
            Shape padded = Shape.of(3, 7, 9, 7);
            exactly(gpu, "pad", padded, xs, r, at -> CudaLayout.launchPad(at[0], at[1], xs, before, padded, 0.25f), t -> cpu.pad(t, before, after, 0.25));
            Shape depth = Shape.of(2, 24, 2, 3);
            exactly(gpu, "spaceToDepth", depth, xs, r, at -> CudaLayout.launchSqueeze(at[1], at[0], depth, 2, true), t -> cpu.spaceToDepth(t, 2));
            exactly(gpu, "depthToSpace", xs, depth, r, at -> CudaLayout.launchSqueeze(at[0], at[1], depth, 2, false), t -> cpu.depthToSpace(t, 2));
        }
    }

    /** One input of shape in (random floats) through the host kernels and through the CPU's op, bit for bit. */
    private static void exactly(HostKernels gpu, String what, Shape outShape, Shape in, Random r, OnHost kernels,
                                Function<Tensor, Tensor> onCpu) {
        float[] v = CudaVsCpu.uniform(r, in.numel(), -1, 1);
        MemorySegment out = gpu.floats(CudaSubPixelTest.Host.unwritten(outShape.numel()));
        kernels.run(new long[] {gpu.floats(v).address(), out.address()});
        assertTrue(Arrays.equals(onCpu.apply(Backends.cpu().fromHost(in, v)).toFloats(), out.toArray(ValueLayout.JAVA_FLOAT)), what + " differs from the CPU's");
    }

    /**
     * optim.cu's one-launch Adam and Adamax over a table of parameters against the CPU's steps, bit for bit (both
     * repeat the same double arithmetic), and random.cu's draws against the CPU's: uniform bit for bit, normal within
     * a float ulp (the host's log and cos, as the GPU's, may differ from the JVM's in a double's last bit).
     */
    @Test void optimizerAndRandomKernelsMatchTheCpu() {
        Backend cpu = Backends.cpu();
        try (HostKernels gpu = HostKernels.of("optim", "random"); Scope sc = Scope.open()) {
            Random r = new Random(11);
            Backend.AdamConfig c = new Backend.AdamConfig(1e-3, 0.9, 0.999, 1e-8, 0.01);
            int[] sizes = {7, 300, 1};
            for (boolean max : new boolean[] {false, true}) {
                Tensor factors = cpu.empty64(Shape.of(2, 2)).copyFrom(new double[] {0.01, 0.05, 0.002, 0.3});
                MemorySegment gFactors = gpu.floats(8);
                MemorySegment.copy(new double[] {0.01, 0.05, 0.002, 0.3}, 0, gFactors, ValueLayout.JAVA_DOUBLE, 0, 4);
                long[] table = new long[7 * sizes.length];
                long total = 0;
                Tensor[][] onCpu = new Tensor[4][sizes.length];
                MemorySegment[][] onHost = new MemorySegment[4][sizes.length];
                for (int i = 0; i < sizes.length; i++) {
                    for (int k = 0; k < 4; k++) {
                        float[] v = CudaVsCpu.uniform(r, sizes[i], k == 3 ? 0 : -1, 1);
                        onCpu[k][i] = cpu.fromHost(Shape.of(sizes[i]), v);
                        onHost[k][i] = gpu.floats(v);
                    }
                    long[] row = {onHost[0][i].address(), onHost[1][i].address(), onHost[2][i].address(), onHost[3][i].address(), sizes[i], i % 2, total};
                    System.arraycopy(row, 0, table, 7 * i, 7);
                    total += sizes[i];
                }
                cpu.adamSteps(max, onCpu[0], onCpu[1], onCpu[2], onCpu[3], c, factors, new int[] {0, 1, 0});
                CudaOptim.launchSteps(table, sizes.length, total, max, c, gFactors.address());
                for (int k : new int[] {0, 2, 3})
                    for (int i = 0; i < sizes.length; i++)
                        assertTrue(Arrays.equals(onCpu[k][i].toFloats(), onHost[k][i].toArray(ValueLayout.JAVA_FLOAT)),
                                (max ? "adamax" : "adam") + ": tensor " + k + " of parameter " + i + " differs from the CPU's");
            }
            MemorySegment u = gpu.floats(1000), nrm = gpu.floats(1000);
            CudaRandom.launchUniform(u.address(), 1000, 42, 17, -2, 3);
            assertTrue(Arrays.equals(cpu.uniform(Shape.of(1000), -2, 3, new Rng(42, 17)).toFloats(), u.toArray(ValueLayout.JAVA_FLOAT)), "uniform");
            CudaRandom.launchNormal(nrm.address(), 1000, 42, 9, 0.5, 2);
            float[] want = cpu.normal(Shape.of(1000), 0.5, 2, Rng.atNormal(42, 9)).toFloats(), got = nrm.toArray(ValueLayout.JAVA_FLOAT);
            for (int i = 0; i < want.length; i++)
                assertTrue(Math.abs(want[i] - got[i]) <= Math.ulp(want[i]), "normal draw " + i + ": " + got[i] + " against the CPU's " + want[i]);
        }
    }

    /**
     * pointwise.cu's copy_all (Backend#copyAll: a backward pass's parameter gradients) over 300 pairs, three launches of
     * up to 128, sizes from 0 to 700 floats: every destination is its source, and nothing past it is written.
     */
    @Test void copyAllCopiesEveryPair() {
        try (HostKernels gpu = HostKernels.of("pointwise"); Scope sc = Scope.open()) {
            Random r = new Random(12);
            int pairs = 300;
            long[] from = new long[pairs], to = new long[pairs], n = new long[pairs];
            float[][] want = new float[pairs][];
            MemorySegment[] dst = new MemorySegment[pairs];
            for (int i = 0; i < pairs; i++) {
                int size = i % 17 == 0 ? 0 : r.nextInt(700) + 1;
                want[i] = CudaVsCpu.uniform(r, size, -1, 1);
                from[i] = gpu.floats(want[i]).address();
                dst[i] = gpu.floats(CudaSubPixelTest.Host.unwritten(size + 1));
                to[i] = dst[i].address();
                n[i] = size;
            }
            CudaPointwise.launchCopyAll(from, to, n);
            for (int i = 0; i < pairs; i++) {
                float[] got = dst[i].toArray(ValueLayout.JAVA_FLOAT);
                assertTrue(Arrays.equals(want[i], Arrays.copyOf(got, want[i].length)), "pair " + i + " of " + n[i] + " floats");
                assertEquals(Float.floatToRawIntBits(CudaSubPixelTest.Host.unwritten(1)[0]), Float.floatToRawIntBits(got[want[i].length]),
                        "pair " + i + ": the float after its " + n[i] + " was written");
            }
        }
    }

    /**
     * A GPU faults on a vector access at an address that is not a multiple of its size, which x86 reads anyway: the
     * shim's float2 and float4 check every address they are copied from or into. tf32.cu compiled with its quads read
     * two floats off (phaseLoads=batched's tf32_parts4) fails so, in place of values that would merely be wrong.
     */
    @Test void aMisalignedVectorLoadFails() throws IOException {
        String src = Files.readString(Path.of("src/main/cuda/tf32.cu")), load = "reinterpret_cast<const float4*>(src + r * cols)[c]";
        assertTrue(src.contains(load), "the load is gone from tf32.cu: " + load);
        Map<String, String> sources = new HashMap<>();
        sources.put("subpixel", null);
        sources.put("tf32", src.replace(load, "reinterpret_cast<const float4*>(src + r * cols + 2)[c]"));
        try (HostKernels gpu = HostKernels.of(sources)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> tf32AndSliceKernels(gpu));
            assertTrue(e.getMessage().contains("tf32_parts4: misaligned float4 access"), e.getMessage());
        }
    }

    /** A launch a GPU would refuse fails here too, where the host would run it: HostKernels.checkLimits. */
    @Test void aLaunchTheGpuRefusesFails() {
        HostKernels.checkLimits("k", 1, 65535, 65535, 256, 4, 1, 48 * 1024);   // at every limit: runs
        for (int[] l : new int[][] {{0, 1, 1, 256, 1, 1, 0}, {1, 65536, 1, 256, 1, 1, 0}, {1, 1, 1, 1025, 1, 1, 0}, {1, 1, 1, 1, 1, 65, 0},
                                    {1, 1, 1, 256, 1, 1, 48 * 1024 + 1}}) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> HostKernels.checkLimits("k", l[0], l[1], l[2], l[3], l[4], l[5], l[6]),
                    Arrays.toString(l));
            assertTrue(e.getMessage().startsWith("k: a GPU refuses the launch"), e.getMessage());
        }
    }

    /**
     * The check sees a wrong kernel: subpixel.cu compiled from copies each with one edit (a gathered line's tap one
     * column off, two taps of the stride-2 phase sum swapped, the TF32 parts swapped), each caught.
     */
    @Test void anEditedKernelFails() throws IOException {
        String src = Files.readString(Path.of("src/main/cuda/subpixel.cu"));
        String[][] edits = {
                {"const int oy = qy0 + a - t, ox = qx0 + b - u;\n                v[j]", "const int oy = qy0 + a - t, ox = qx0 + b - u + (j == 7);\n                v[j]"},
                {"const int t = tu >> 1, u = tu & 1, a = oy + t - qy0", "const int t = tu >> 1, u = tu & 1, a = oy + u - qy0"},
                {"tf32_store_parts(out, partStride, parts, smallMask, x.big, x.small)", "tf32_store_parts(out, partStride, parts, smallMask, x.small, x.big)"}};
        for (String[] edit : edits) {
            assertTrue(src.contains(edit[0]), "the edit's place is gone from subpixel.cu: " + edit[0]);
            Map<String, String> sources = new HashMap<>();
            sources.put("subpixel", src.replace(edit[0], edit[1]));
            sources.put("tf32", null);
            try (HostKernels gpu = HostKernels.of(sources)) {
                assertThrows(AssertionError.class, () -> subPixelKernels(gpu), "not caught: " + edit[1]);
            }
        }
    }
}
