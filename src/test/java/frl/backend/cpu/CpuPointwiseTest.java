package frl.backend.cpu;

import frl.backend.BinaryOp;
import frl.backend.Shapes;
import frl.backend.UnaryOp;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.Random;

import static frl.backend.cpu.CpuTesting.CPU;
import static frl.backend.cpu.CpuTesting.REF;
import static frl.backend.cpu.CpuTesting.assertClose;
import static frl.backend.cpu.CpuTesting.cpu;
import static frl.backend.cpu.CpuTesting.ref;
import static frl.backend.cpu.CpuTesting.shape;
import static frl.backend.cpu.CpuTesting.uniform;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Elementwise ops against the float64 reference, under each kernel implementation. */
class CpuPointwiseTest {
    /** Awkward sizes, H ≠ W, batch 1, and one big enough to be split over threads. */
    static final Shape[] SHAPES = {shape(1), shape(3), shape(17), shape(33), shape(1, 3, 5, 7), shape(2, 3, 17, 33)};

    @ParameterizedTest(name = "{0}")
    @MethodSource("frl.backend.cpu.CpuTesting#kernels")
    void unaryAndItsBackwardMatchFloat64(Kernels k) {
        Random r = new Random(1);
        try (var on = CpuTesting.use(k); Scope s = Scope.open()) {
            for (UnaryOp op : UnaryOp.values()) {
                double a = op == UnaryOp.CLAMP ? -0.5 : 1.3, b = op == UnaryOp.CLAMP ? 0.7 : 0;
                boolean positive = op == UnaryOp.LOG || op == UnaryOp.SQRT;
                // 1 − y² and y(1 − y) from a float y near ±1 keep few digits (as in any float32 backward), so
                // TANH and SIGMOID draw where the gradient is not vanishing; each tensor also gets far tails.
                double range = op == UnaryOp.TANH || op == UnaryOp.SIGMOID ? 4 : 12;
                for (Shape sh : SHAPES) {
                    float[] x = positive ? uniform(r, sh.numel(), 0.01, 5) : uniform(r, sh.numel(), -range, range);
                    if (!positive && x.length > 40) { x[3] = 80; x[4] = -80; x[5] = 0; x[6] = -0f; }
                    float[] dy = uniform(r, sh.numel(), -1, 1);
                    String what = op + " " + sh + " on " + k;
                    Tensor y = CPU.unary(op, cpu(sh, x), a, b), yRef = REF.unary(op, ref(sh, x), a, b);
                    assertClose(what, y, yRef);
                    assertClose(what + " backward", CPU.unaryBackward(op, cpu(sh, x), y, cpu(sh, dy), a, b),
                            REF.unaryBackward(op, ref(sh, x), yRef, ref(sh, dy), a, b));
                }
            }
        }
    }

    /** The gradient passes for a ≤ x ≤ b exactly as UnaryOp.derivative says, also for bounds that are not floats. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("frl.backend.cpu.CpuTesting#kernels")
    void clampGradientAtTheBounds(Kernels k) {
        double lo = 0.1, hi = 0.7;   // neither is a float: (float) 0.1 > 0.1, (float) 0.7 < 0.7
        float flo = (float) lo, fhi = (float) hi;
        float[] x = new float[40];
        float[] probes = {flo, Math.nextDown(flo), Math.nextUp(flo), fhi, Math.nextDown(fhi), Math.nextUp(fhi), -3, 3};
        for (int i = 0; i < x.length; i++) x[i] = probes[i % probes.length];
        float[] ones = new float[x.length];
        java.util.Arrays.fill(ones, 1);
        try (var on = CpuTesting.use(k); Scope s = Scope.open()) {
            Tensor xt = cpu(shape(40), x), y = CPU.unary(UnaryOp.CLAMP, xt, lo, hi);
            float[] g = CPU.unaryBackward(UnaryOp.CLAMP, xt, y, cpu(shape(40), ones), lo, hi).toFloats(), yv = y.toFloats();
            for (int i = 0; i < x.length; i++) {
                assertEquals(UnaryOp.CLAMP.derivative(x[i], yv[i], lo, hi), g[i], "gradient at x = " + x[i]);
                assertEquals((float) UnaryOp.CLAMP.apply(x[i], lo, hi), yv[i], "clamp of " + x[i]);
            }
        }
    }

    /** NumPy broadcasting of any ranks, both orders; backward in the output shape, then summed to each input. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("frl.backend.cpu.CpuTesting#kernels")
    void binaryBroadcastsAndDifferentiates(Kernels k) {
        int[][][] pairs = {
                {{2, 3, 17, 33}, {2, 3, 17, 33}}, {{1}, {3, 17}}, {{3, 17}, {1}}, {{}, {3, 4}},
                {{1, 3, 1, 1}, {2, 3, 5, 7}}, {{2, 3, 5, 7}, {1, 3, 1, 1}}, {{3, 1, 5}, {4, 1}}, {{4, 1}, {3, 1, 5}},
                {{17}, {33, 17}}, {{2, 1, 33}, {2, 17, 1}}, {{5, 1}, {1, 33}}};
        Random r = new Random(2);
        try (var on = CpuTesting.use(k); Scope s = Scope.open()) {
            for (BinaryOp op : BinaryOp.values()) {
                for (int[][] p : pairs) {
                    Shape sa = shape(p[0]), sb = shape(p[1]);
                    float[] a = uniform(r, sa.numel(), -3, 3), b = uniform(r, sb.numel(), 0.5, 2);
                    for (int i = 0; i < b.length; i += 2) b[i] = -b[i];   // both signs, away from zero (DIV)
                    float[] dy = uniform(r, Shape.broadcast(sa, sb).numel(), -1, 1);
                    String what = op + " " + sa + " with " + sb + " on " + k;
                    Tensor out = CPU.binary(op, cpu(sa, a), cpu(sb, b)), outRef = REF.binary(op, ref(sa, a), ref(sb, b));
                    assertClose(what, out, outRef);
                    for (boolean wrtA : new boolean[] {true, false}) {
                        Tensor g = CPU.binaryBackward(op, cpu(sa, a), cpu(sb, b), out, cpu(out.shape(), dy), wrtA);
                        Tensor gRef = REF.binaryBackward(op, ref(sa, a), ref(sb, b), outRef, ref(out.shape(), dy), wrtA);
                        assertClose(what + " d/d" + (wrtA ? "a" : "b"), g, gRef);
                        Shape to = wrtA ? sa : sb;
                        assertClose(what + " d/d" + (wrtA ? "a" : "b") + " summed", CPU.sumTo(g, to), REF.sumTo(gRef, to));
                    }
                }
            }
        }
    }

    /**
     * A tensor with one value per channel (either side for ADD and MUL, second for SUB) gives float32's own sum,
     * difference and product, bit for bit, zeros' signs included: runs of 16 (split over threads) and of 1.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("frl.backend.cpu.CpuTesting#kernels")
    void perChannelOperandsGiveFloatArithmeticExactly(Kernels k) {
        int[][][] pairs = {{{128, 32, 4, 4}, {1, 32, 1, 1}}, {{1, 32, 1, 1}, {128, 32, 4, 4}}, {{5, 7}, {7}}, {{7}, {5, 7}}, {{3, 6, 5}, {6, 1}}};
        Random r = new Random(4);
        try (var on = CpuTesting.use(k); Scope s = Scope.open()) {
            for (BinaryOp op : new BinaryOp[] {BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL})
                for (int[][] p : pairs) {
                    Shape sa = shape(p[0]), sb = shape(p[1]), so = Shape.broadcast(sa, sb);
                    float[] a = uniform(r, sa.numel(), -3, 3), b = uniform(r, sb.numel(), -3, 3);
                    a[0] = -0f;
                    a[1] = 0f;
                    b[0] = -0f;
                    b[b.length - 1] = 0f;
                    float[] got = CPU.binary(op, cpu(sa, a), cpu(sb, b)).toFloats(), want = new float[got.length];
                    BroadcastWalk walk = new BroadcastWalk(so, sa, sb);
                    walk.walk(0, so.numel(), (pos, ao, bo, n) -> {
                        for (int i = 0; i < n; i++) {
                            float x = a[(int) ao + (walk.repeatsA() ? 0 : i)], y = b[(int) bo + (walk.repeatsB() ? 0 : i)];
                            want[(int) pos + i] = switch (op) {
                                case ADD -> x + y;
                                case SUB -> x - y;
                                default -> x * y;
                            };
                        }
                    });
                    assertArrayEquals(want, got, op + " " + sa + " with " + sb + " on " + k);
                }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("frl.backend.cpu.CpuTesting#kernels")
    void affineAxpyAndFill(Kernels k) {
        Random r = new Random(3);
        try (var on = CpuTesting.use(k); Scope s = Scope.open()) {
            for (Shape sh : SHAPES) {
                float[] x = uniform(r, sh.numel(), -5, 5), y = uniform(r, sh.numel(), -5, 5);
                assertClose("affine " + sh, CPU.affine(cpu(sh, x), -1.7, 0.3), REF.affine(ref(sh, x), (float) -1.7, (float) 0.3));
                Tensor yc = cpu(sh, y), yr = ref(sh, y);
                CPU.axpy(0.25, cpu(sh, x), yc);
                REF.axpy(0.25, ref(sh, x), yr);
                assertClose("axpy " + sh, yc, yr);
                CPU.fill(yc, 2.5);
                for (float v : yc.toFloats()) assertEquals(2.5f, v);
            }
        }
    }

    /**
     * biasRelu and its backward: the values and dz those of the ops it fuses, bit for bit but for the sign of a zero (ReLU of
     * the broadcast add; ReLU's backward), dbias the float64 sum of dz per channel; a batch large enough to split across threads, and rank 2.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("frl.backend.cpu.CpuTesting#kernels")
    void biasReluIsTheBiasThenTheRelu(Kernels k) {
        Random r = new Random(5);
        try (var on = CpuTesting.use(k); Scope s = Scope.open()) {
            for (Shape sh : List.of(shape(9, 7, 33, 35), shape(5, 3))) {
                int c = sh.dim(1);
                Tensor z = cpu(sh, uniform(r, sh.numel(), -3, 3)), bias = cpu(shape(c), uniform(r, c, -1, 1)), dy = cpu(sh, uniform(r, sh.numel(), -2, 2));
                Tensor y = CPU.biasRelu(z, bias);
                Tensor want = CPU.unary(UnaryOp.RELU, CPU.binary(BinaryOp.ADD, z, bias.reshape(frl.backend.Shapes.channelAxis(sh))), 0, 0);
                assertArrayEquals(want.toFloats(), y.toFloats(), "biasRelu " + sh);
                Tensor[] g = CPU.biasReluBackward(y, dy);
                float[] dz = g[0].toFloats(), db = g[1].toFloats(), wantDz = CPU.unaryBackward(UnaryOp.RELU, want, want, dy, 0, 0).toFloats();
                for (int i = 0; i < dz.length; i++) assertEquals(wantDz[i], dz[i], 0f, "dz at " + i + " " + sh);   // ±0 alike (ReLU's own kernels differ there)
                assertEquals(shape(c), g[1].shape());
                int run = (int) (sh.numel() / ((long) sh.dim(0) * c));
                for (int ch = 0; ch < c; ch++) {
                    double sum = 0;
                    for (int n = 0; n < sh.dim(0); n++) for (int i = 0; i < run; i++) sum += dz[(n * c + ch) * run + i];
                    assertEquals((float) sum, db[ch], 1e-6 * Math.max(1, Math.abs(sum)), "dbias " + ch + " " + sh);
                }
            }
            var e = assertThrows(IllegalArgumentException.class, () -> CPU.biasRelu(CPU.full(shape(2, 3, 4), 0), CPU.full(shape(4), 0)));
            assertTrue(e.getMessage().contains("biasRelu: a bias of 3"), e.getMessage());
        }
    }

    /**
     * concatElu and its backward against the ops they fuse (NEG, concat, ELU; ELU's backward, two narrows, a difference),
     * within a float's rounding: the vector kernels hand a run's last few elements to the scalar ones, and the fused op's
     * runs end elsewhere than the composed op's.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("frl.backend.cpu.CpuTesting#kernels")
    void concatEluIsItsThreeOps(Kernels k) {
        Random r = new Random(6);
        try (var on = CpuTesting.use(k); Scope s = Scope.open()) {
            for (Shape sh : List.of(shape(5, 7, 33, 35), shape(3, 4))) {
                int c = sh.dim(1);
                Tensor x = cpu(sh, uniform(r, sh.numel(), -4, 4));
                Tensor cat = CPU.concat(new Tensor[] {x, CPU.unary(UnaryOp.NEG, x, 0, 0)}, 1), want = CPU.unary(UnaryOp.ELU, cat, 1, 0);
                Tensor y = CPU.concatElu(x);
                assertWithinRounding(want.toFloats(), y.toFloats(), "concatElu " + sh);
                Tensor dy = cpu(want.shape(), uniform(r, want.numel(), -2, 2));
                Tensor g = CPU.unaryBackward(UnaryOp.ELU, cat, want, dy, 1, 0);
                Tensor wantDx = CPU.binary(BinaryOp.ADD, CPU.narrow(g, 1, 0, c), CPU.unary(UnaryOp.NEG, CPU.narrow(g, 1, c, c), 0, 0));
                assertWithinRounding(wantDx.toFloats(), CPU.concatEluBackward(x, y, dy).toFloats(), "concatEluBackward " + sh);
            }
            // zeros keep their signs (elu(±0) = ±0, elu(−(±0)) = ∓0), NaN stays NaN, in the vector loop's lanes and the tail's
            float[] special = new float[40];
            for (int i = 0; i < special.length; i++) special[i] = new float[] {0f, -0f, Float.NaN, 1.5f, -1.5f, 88f, -88f}[i % 7];
            float[] both = CPU.concatElu(cpu(shape(1, 1, 40), special)).toFloats();
            for (int i = 0; i < special.length; i++) {
                assertEquals((float) UnaryOp.ELU.apply(special[i], 1, 0), both[i], "elu(" + special[i] + ") at " + i);
                assertEquals((float) UnaryOp.ELU.apply(-special[i], 1, 0), both[40 + i], "elu(−" + special[i] + ") at " + i);
            }
            var e = assertThrows(IllegalArgumentException.class, () -> CPU.concatEluBackward(CPU.full(shape(2, 3), 0), CPU.full(shape(2, 3), 0), CPU.full(shape(2, 3), 0)));
            assertTrue(e.getMessage().contains("twice its channels"), e.getMessage());
        }
    }

    /**
     * gate and its backward against the ops they fuse (two narrows, SIGMOID, MUL; their backwards and a concat), within
     * rounding; with a bias and a residual, bit for bit what the bias add, the bias-less gate and the residual add give
     * (PixelCNN++ trains to the same bits either way); and biasedSum, bit for bit its three adds.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("frl.backend.cpu.CpuTesting#kernels")
    void gateIsItsOps(Kernels k) {
        Random r = new Random(7);
        try (var on = CpuTesting.use(k); Scope s = Scope.open()) {
            for (Shape sh : List.of(shape(5, 14, 33, 35), shape(3, 4))) {
                int c = sh.dim(1) / 2;
                Tensor h = cpu(sh, uniform(r, sh.numel(), -4, 4)), a = CPU.narrow(h, 1, 0, c), b = CPU.narrow(h, 1, c, c);
                Tensor sig = CPU.unary(UnaryOp.SIGMOID, b, 0, 0), want = CPU.binary(BinaryOp.MUL, a, sig);
                assertWithinRounding(want.toFloats(), CPU.gate(h, null, null).toFloats(), "gate " + sh);
                Tensor dy = cpu(want.shape(), uniform(r, want.numel(), -2, 2));
                Tensor db = CPU.unaryBackward(UnaryOp.SIGMOID, b, sig, CPU.binary(BinaryOp.MUL, dy, a), 0, 0);
                Tensor wantDh = CPU.concat(new Tensor[] {CPU.binary(BinaryOp.MUL, dy, sig), db}, 1);
                assertWithinRounding(wantDh.toFloats(), CPU.gateBackward(h, null, dy).toFloats(), "gateBackward " + sh);

                Tensor bias = cpu(shape(2 * c), uniform(r, 2 * c, -1, 1)), residual = cpu(want.shape(), uniform(r, want.numel(), -2, 2));
                Tensor biased = CPU.binary(BinaryOp.ADD, h, bias.reshape(Shapes.channelAxis(sh)));
                assertArrayEquals(CPU.binary(BinaryOp.ADD, residual, CPU.gate(biased, null, null)).toFloats(), CPU.gate(h, bias, residual).toFloats(),
                        "gate with its bias and residual " + sh);
                assertArrayEquals(CPU.gateBackward(biased, null, dy).toFloats(), CPU.gateBackward(h, bias, dy).toFloats(), "gateBackward with its bias " + sh);

                Tensor ba = CPU.narrow(bias, 0, 0, c), bb = CPU.narrow(bias, 0, c, c), u = cpu(want.shape(), uniform(r, want.numel(), -2, 2));
                Shape channel = Shapes.channelAxis(want.shape());
                Tensor sum = CPU.binary(BinaryOp.ADD, CPU.binary(BinaryOp.ADD, residual, ba.reshape(channel)), CPU.binary(BinaryOp.ADD, u, bb.reshape(channel)));
                assertArrayEquals(sum.toFloats(), CPU.biasedSum(residual, ba, u, bb).toFloats(), "biasedSum " + sh);
            }
            var e = assertThrows(IllegalArgumentException.class, () -> CPU.gate(CPU.full(shape(2, 3), 0), null, null));
            assertTrue(e.getMessage().contains("gate: expected [N, 2C, ...], got [2, 3]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> CPU.gate(CPU.full(shape(2, 4), 0), CPU.full(shape(3), 0), null));
            assertTrue(e.getMessage().contains("gate: a bias of 4 for [2, 4], got [3]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> CPU.biasedSum(CPU.full(shape(2, 4), 0), CPU.full(shape(4), 0), CPU.full(shape(2, 5), 0), CPU.full(shape(5), 0)));
            assertTrue(e.getMessage().contains("biasedSum"), e.getMessage());
        }
    }

    /** Glow's coupling map and log-determinant, values and gradients, against their float64 definitions (the reference backend). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("frl.backend.cpu.CpuTesting#kernels")
    void couplingMatchesFloat64(Kernels k) {
        Random r = new Random(8);
        try (var on = CpuTesting.use(k); Scope s = Scope.open()) {
            for (Shape xs : List.of(shape(5, 4, 17, 19), shape(3, 2))) {
                int[] hd = xs.dims();
                hd[1] *= 2;
                Shape hs = Shape.of(hd);
                float[] x = uniform(r, xs.numel(), -3, 3), h = uniform(r, hs.numel(), -4, 4), dy = uniform(r, xs.numel(), -2, 2), dl = uniform(r, xs.dim(0), -2, 2);
                assertClose("coupling " + xs, CPU.coupling(cpu(xs, x), cpu(hs, h)), REF.coupling(ref(xs, x), ref(hs, h)));
                Tensor[] got = CPU.couplingBackward(cpu(xs, x), cpu(hs, h), cpu(xs, dy)), want = REF.couplingBackward(ref(xs, x), ref(hs, h), ref(xs, dy));
                assertClose("coupling dx_b " + xs, got[0], want[0]);
                assertClose("coupling dh " + xs, got[1], want[1]);
                assertClose("coupling logdet " + xs, CPU.couplingLogdet(cpu(hs, h)), REF.couplingLogdet(ref(hs, h)));
                Shape ls = shape(xs.dim(0));
                assertClose("coupling logdet dh " + xs, CPU.couplingLogdetBackward(cpu(hs, h), cpu(ls, dl)), REF.couplingLogdetBackward(ref(hs, h), ref(ls, dl)));
            }
            var e = assertThrows(IllegalArgumentException.class, () -> CPU.coupling(CPU.full(shape(2, 3, 4), 0), CPU.full(shape(2, 5, 4), 0)));
            assertTrue(e.getMessage().contains("coupling: expected [2, 6, 4], [2, 3, 4] with twice its channels, got [2, 5, 4]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> CPU.couplingLogdet(CPU.full(shape(2, 5, 4), 0)));
            assertTrue(e.getMessage().contains("couplingLogdet: expected [N, 2C, ...]"), e.getMessage());
        }
    }

    private static void assertWithinRounding(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what);
        for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 1e-6 * Math.max(1, Math.abs(want[i])), what + " at " + i);
    }

    /** Tensors split into parallel chunks (runs then start mid-row), checked element by element against the definitions. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("frl.backend.cpu.CpuTesting#kernels")
    void bigTensorsSplitAcrossThreads(Kernels k) {
        Shape big = shape(2, 16, 64, 65), channel = shape(1, 16, 1, 1), row = shape(65);
        Random r = new Random(4);
        float[] x = uniform(r, big.numel(), -4, 4), c = uniform(r, 16, 0.5, 2), w = uniform(r, 65, -2, 2);
        try (var on = CpuTesting.use(k); Scope s = Scope.open()) {
            float[] sig = CPU.unary(UnaryOp.SIGMOID, cpu(big, x), 0, 0).toFloats();
            float[] mul = CPU.binary(BinaryOp.MUL, cpu(big, x), cpu(channel, c)).toFloats();
            float[] sub = CPU.binary(BinaryOp.SUB, cpu(row, w), cpu(big, x)).toFloats();
            for (int i = 0; i < x.length; i++) {
                assertEquals(UnaryOp.SIGMOID.apply(x[i], 0, 0), sig[i], 2e-7, "sigmoid at " + i);
                assertEquals((float) (x[i] * (double) c[i / (64 * 65) % 16]), mul[i], "channel product at " + i);
                assertEquals(w[i % 65] - x[i], sub[i], "row difference at " + i);
            }
        }
    }

    @Test
    void badShapesAreRejectedWithTheOpName() {
        try (Scope s = Scope.open()) {
            Tensor a = CPU.full(shape(2, 3), 1), b = CPU.full(shape(4, 3), 1);
            var e = assertThrows(IllegalArgumentException.class, () -> CPU.binary(BinaryOp.ADD, a, b));
            assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("[4, 3]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> CPU.axpy(1, a, b));
            assertTrue(e.getMessage().startsWith("axpy"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> CPU.unaryBackward(UnaryOp.TANH, a, a, b, 0, 0));
            assertTrue(e.getMessage().startsWith("unaryBackward TANH"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> CPU.binaryBackward(BinaryOp.MUL, a, a, a, b, true));
            assertTrue(e.getMessage().startsWith("binaryBackward MUL"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> CPU.copyAll(new Tensor[] {a, a}, new Tensor[] {b}));
            assertEquals("copyAll: 2 sources for 1 destinations", e.getMessage());
        }
    }

    @Test
    void theVectorApiKernelsAreTheDefaultWhenTheModuleIsPresent() {
        if (VectorSupport.present()) assertInstanceOf(VectorApiKernels.class, Kernels.active());
        else assertInstanceOf(ScalarKernels.class, Kernels.active());
    }
}
