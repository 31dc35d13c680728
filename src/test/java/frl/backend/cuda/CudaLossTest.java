package frl.backend.cuda;

import frl.backend.Backend;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static frl.backend.cuda.CudaVsCpu.CPU;
import static frl.backend.cuda.CudaVsCpu.assertClose;
import static frl.backend.cuda.CudaVsCpu.floats;
import static frl.backend.cuda.CudaVsCpu.shape;
import static frl.backend.cuda.CudaVsCpu.uniform;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The fused cross-entropy kernels (loss.cu) against the CPU backend: NMSE ≤ 1e-7, non-finite values equal. */
@Tag("gpu")
class CudaLossTest {
    private static final double TOL = 1e-7;

    /** Loss and dlogits of logits x with random targets and dloss, on both backends. */
    private static void check(Backend cuda, String what, Shape s, int axis, float[] x, Random r) {
        int classes = s.dim(axis);
        Shape ts = s.without(axis);
        float[] t = new float[Math.toIntExact(ts.numel())], g = uniform(r, ts.numel(), -1, 1);
        for (int i = 0; i < t.length; i++) t[i] = r.nextInt(classes);
        check(cuda, what, s, axis, x, t, g);
    }

    private static void check(Backend cuda, String what, Shape s, int axis, float[] x, float[] t, float[] g) {
        Shape ts = s.without(axis);
        String path = what + " " + s + " axis " + axis + " [" + CudaLoss.path(s, axis) + "]";
        try (Scope sc = Scope.open()) {
            Tensor xc = cuda.fromHost(s, x), tc = cuda.fromHost(ts, t), gc = cuda.fromHost(ts, g);
            Tensor xh = CPU.fromHost(s, x), th = CPU.fromHost(ts, t), gh = CPU.fromHost(ts, g);
            assertClose(path + " loss", cuda.crossEntropy(xc, tc, axis), CPU.crossEntropy(xh, th, axis), TOL);
            assertClose(path + " dlogits", cuda.crossEntropyBackward(xc, tc, gc, axis), CPU.crossEntropyBackward(xh, th, gh, axis), TOL);
        }
    }

    /** The VAE decoder's logits: [batch 64, 4 channels, 256 classes, 32, 32], classes on axis 2 (inner 1024). */
    @Test void vaeDecoderLogits() {
        Backend cuda = GpuTests.cudaOrSkip();
        Shape s = shape(64, 4, 256, 32, 32);
        Random r = new Random(1);
        check(cuda, "vae", s, 2, uniform(r, s.numel(), -8, 8), r);
    }

    /**
     * Every path and its edges: rows (inner 1, C below, at and above the 256 threads), cached tiles (positions
     * not a multiple of 32, tiles straddling two outer rows, C = 1, C = 320), global tiles (C &gt; 320).
     */
    @Test void awkwardShapes() {
        Backend cuda = GpuTests.cudaOrSkip();
        Object[][] cases = {
                {shape(1, 1), 1}, {shape(17, 10), 1}, {shape(33, 256), -1}, {shape(5, 1000), 1}, {shape(3, 7), 0},
                {shape(2, 5, 3, 4), 1}, {shape(4, 1, 5), 1}, {shape(1, 2, 256, 5, 7), 2}, {shape(3, 17, 33), 1},
                {shape(1, 2, 256, 300), 2}, {shape(7, 3, 11), 0}, {shape(2, 320, 45), 1}, {shape(1, 3, 256, 1, 1), 2},
                {shape(2, 321, 33), 1}, {shape(3, 1000, 7), 1}, {shape(2, 4, 256, 17, 17), 2}};
        Random r = new Random(2);
        for (Object[] c : cases) {
            Shape s = (Shape) c[0];
            check(cuda, "awkward", s, (int) c[1], uniform(r, s.numel(), -8, 8), r);
        }
    }

    /** Logits of ±80 (exp overflows without the max shift) and non-finite logits: the CPU's NaN and ±∞ results. */
    @Test void extremeAndNonFiniteLogits() {
        Backend cuda = GpuTests.cudaOrSkip();
        Random r = new Random(3);
        for (Object[] c : new Object[][] {{shape(4, 6, 40), 1}, {shape(40, 6), 1}, {shape(3, 300, 35), 1}, {shape(2, 400, 5), 1}}) {
            Shape s = (Shape) c[0];
            int axis = (int) c[1];
            int[] v = frl.backend.Shapes.aroundAxis(s, axis);
            float[] x = uniform(r, s.numel(), -80, 80);
            check(cuda, "±80", s, axis, x.clone(), r);
            // position 0: all −∞; position 1: one +∞; position 2: one NaN; position 3: −∞ at the target only
            int inner = v[2], classes = v[1];
            for (int k = 0; k < classes; k++) x[at(v, 0, k)] = Float.NEGATIVE_INFINITY;
            x[at(v, 1, classes / 2)] = Float.POSITIVE_INFINITY;
            x[at(v, 2, classes - 1)] = Float.NaN;
            float[] t = new float[v[0] * inner], g = uniform(r, t.length, -1, 1);
            for (int i = 0; i < t.length; i++) t[i] = r.nextInt(classes);
            t[3] = 0;
            x[at(v, 3, 0)] = Float.NEGATIVE_INFINITY;
            check(cuda, "non-finite", s, axis, x, t, g);
        }
    }

    /** Flat index of class k of position p in logits viewed as v = [outer, C, inner]. */
    private static int at(int[] v, int p, int k) { return (p / v[2]) * v[1] * v[2] + k * v[2] + p % v[2]; }

    /**
     * A bad target raises an error naming the first bad position, on every path, forward and backward: at the
     * next synchronisation, since the device's verdict is read then.
     */
    @Test void invalidTargetsNameTheirPosition() {
        Backend cuda = GpuTests.cudaOrSkip();
        try (Scope sc = Scope.open()) {
            for (Shape s : new Shape[] {shape(2, 5, 3), shape(6, 5), shape(2, 400, 3)}) {
                int classes = s.dim(1);
                Tensor logits = cuda.fromHost(s, new float[Math.toIntExact(s.numel())]);
                Shape ts = s.without(1);
                for (float bad : new float[] {classes, -1, 1.5f, Float.NaN, 1e10f}) {
                    float[] t = new float[Math.toIntExact(ts.numel())];
                    t[4] = bad;
                    t[5] = -7; // a second bad target after the first: the message names position 4
                    Tensor targets = cuda.fromHost(ts, t);
                    Tensor dloss = cuda.fromHost(ts, new float[t.length]);
                    for (Runnable op : new Runnable[] {() -> cuda.crossEntropy(logits, targets, 1).toFloats(),
                            () -> { cuda.crossEntropyBackward(logits, targets, dloss, 1); cuda.synchronize(); }}) {
                        var e = assertThrows(IllegalArgumentException.class, op::run, s + " target " + bad);
                        assertTrue(e.getMessage().contains("flat position 4 is") && e.getMessage().contains("[0, " + classes + ")"), e.getMessage());
                    }
                }
                // the flag is per call: good targets afterwards run normally
                Tensor ok = cuda.fromHost(ts, new float[Math.toIntExact(ts.numel())]);
                float[] loss = floats(cuda.crossEntropy(logits, ok, 1));
                for (float l : loss) assertTrue(Math.abs(l - Math.log(classes)) < 1e-5, s + ": loss " + l + " with equal logits");
            }
            var e = assertThrows(IllegalArgumentException.class,
                    () -> cuda.crossEntropy(cuda.fromHost(shape(2, 5, 3), new float[30]), cuda.fromHost(shape(2, 5), new float[10]), 1));
            assertTrue(e.getMessage().startsWith("crossEntropy: targets [2, 5]"), e.getMessage());
        }
    }
    /**
     * -Dfrl.cuda.ce=registers gives the cached tile's bits, loss and dlogits, with finite, extreme and non-finite
     * logits, partial tiles and class counts from 1 to 256 (and 257, which keeps the shared tile); the VAE's logits as
     * [256 = batch 64 · 4 channels, 256 classes, 1024 pixels].
     */
    @Test void registersGiveTheCachedTilesBits() {
        Backend cuda = GpuTests.cudaOrSkip();
        // a kernel not yet run on a GPU could poison the context of the verified suite: only where it is switched on
        assumeTrue(CudaLoss.registers(), "runs with -Dfrl.cuda.ce=registers (the default)");
        Random r = new Random(5);
        for (Shape s : new Shape[] {shape(256, 256, 1024), shape(3, 1, 45), shape(2, 7, 33), shape(1, 256, 1000), shape(2, 255, 31),
                shape(2, 257, 40)}) {
            float[] x = uniform(r, s.numel(), -80, 80);
            for (int i = 0; i < x.length; i += 997) x[i] = i % 3 == 0 ? Float.NaN : i % 3 == 1 ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY;
            Shape ts = s.without(1);
            float[] t = new float[Math.toIntExact(ts.numel())], g = uniform(r, ts.numel(), -1, 1);
            for (int i = 0; i < t.length; i++) t[i] = r.nextInt(s.dim(1));
            float[][] shared = lossAndGrad(cuda, s, x, t, g, "shared"), regs = lossAndGrad(cuda, s, x, t, g, "registers");
            for (int k = 0; k < 2; k++)
                for (int i = 0; i < shared[k].length; i++)
                    if (Float.floatToIntBits(shared[k][i]) != Float.floatToIntBits(regs[k][i]))
                        throw new AssertionError(s + (k == 0 ? " loss" : " dlogits") + " at " + i + ": shared " + shared[k][i] + ", registers " + regs[k][i]);
        }
    }

    /**
     * -Dfrl.cuda.ceParts=fused: crossEntropyBackwardParts writes what tf32Parts of crossEntropyBackward would, bit for
     * bit, block r's big part at 2r·B and its small part at (2r + 1)·B: the VAE's logits [4 phases, 4 channels, 256,
     * batch 64 · 256 pixels], partial tiles, classes cached, in registers and in global memory (400), extreme logits.
     */
    @Test void backwardInPartsIsTheSplitOfTheBackward() {
        Backend cuda = GpuTests.cudaOrSkip();
        assumeTrue(CudaSubPixel.crossEntropyFused(), "runs with -Dfrl.cuda.ceParts=fused (the default)");
        Random r = new Random(6);
        for (String ce : new String[] {"shared", "registers"})
            for (Shape s : new Shape[] {shape(4, 4, 256, 16384), shape(4, 3, 7, 45), shape(2, 2, 400, 33), shape(4, 1, 256, 31)}) {
                float[] x = uniform(r, s.numel(), -80, 80);
                Shape ts = s.without(2);
                float[] t = new float[Math.toIntExact(ts.numel())], g = uniform(r, ts.numel(), -1, 1);
                for (int i = 0; i < t.length; i++) t[i] = r.nextInt(s.dim(2));
                Switches.with("frl.cuda.ce", ce, () -> {
                    try (Scope sc = Scope.open()) {
                        Tensor xc = cuda.fromHost(s, x), tc = cuda.fromHost(ts, t), gc = cuda.fromHost(ts, g), dx = cuda.crossEntropyBackward(xc, tc, gc, 2);
                        long block = s.numel() / s.dim(0);
                        Tensor want = CudaBackend.alloc(shape(Math.toIntExact(2 * s.numel()))), got = CudaBackend.alloc(want.shape());
                        for (int b = 0; b < s.dim(0); b++)
                            CudaSubPixel.GPU.tf32Parts(dx.storage().address() + 4L * b * block, want.storage().address() + 4L * 2 * b * block, 1, (int) block, "bs",
                                    block, block);
                        CudaLoss.crossEntropyBackwardParts(xc, tc, gc, got.storage().address());
                        float[] w = floats(want), o = floats(got);
                        for (int i = 0; i < w.length; i++)
                            if (Float.floatToIntBits(w[i]) != Float.floatToIntBits(o[i]))
                                throw new AssertionError(ce + " " + s + " at " + i + ": split " + w[i] + ", written as parts " + o[i]);
                    }
                });
            }
    }

    private static float[][] lossAndGrad(Backend cuda, Shape s, float[] x, float[] t, float[] g, String ce) {
        return Switches.with("frl.cuda.ce", ce, () -> {
            try (Scope sc = Scope.open()) {
                Shape ts = s.without(1);
                Tensor xc = cuda.fromHost(s, x), tc = cuda.fromHost(ts, t), gc = cuda.fromHost(ts, g);
                assertTrue(CudaLoss.path(s, 1).equals(ce.equals("registers") && s.dim(1) <= 256 ? "tile (registers)" : "tile (cached)"), CudaLoss.path(s, 1));
                return new float[][] {floats(cuda.crossEntropy(xc, tc, 1)), floats(cuda.crossEntropyBackward(xc, tc, gc, 1))};
            }
        });
    }
}
