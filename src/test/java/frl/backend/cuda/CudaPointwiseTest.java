package frl.backend.cuda;

import frl.backend.Backend;
import frl.backend.BinaryOp;
import frl.backend.UnaryOp;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static frl.backend.cuda.CudaVsCpu.CPU;
import static frl.backend.cuda.CudaVsCpu.assertClose;
import static frl.backend.cuda.CudaVsCpu.assertExact;
import static frl.backend.cuda.CudaVsCpu.shape;
import static frl.backend.cuda.CudaVsCpu.uniform;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The CUDA elementwise ops against the CPU backend: every UnaryOp with its backward, every BinaryOp on each
 * kernel path (same shape, single-axis broadcast such as the VAE's per-channel [1,C,1,1], any broadcast),
 * at the VAE's sizes, awkward sizes, and one larger than a grid-stride pass (2^21 + 17 elements).
 */
@Tag("gpu")
class CudaPointwiseTest {
    private static final Shape BIG = shape((1 << 21) + 17);
    private static final Shape[] SHAPES = {shape(1), shape(17), shape(33), shape(1, 3, 5, 7), shape(64, 4, 32, 32), BIG};
    private Backend cuda;
    private Scope scope;

    @BeforeEach void open() {
        cuda = GpuTests.cudaOrSkip();
        scope = Scope.open();
    }

    @AfterEach void close() { if (scope != null) scope.close(); }

    @Test void unaryAndItsBackwardMatchTheCpu() {
        Random r = new Random(1);
        for (UnaryOp op : UnaryOp.values()) {
            double a = op == UnaryOp.CLAMP ? -0.5 : 1.3, b = op == UnaryOp.CLAMP ? 0.7 : 0;
            boolean positive = op == UnaryOp.LOG || op == UnaryOp.SQRT;
            double range = op == UnaryOp.TANH || op == UnaryOp.SIGMOID ? 4 : 12;   // as CpuPointwiseTest: gradients not vanishing
            for (Shape sh : SHAPES) {
                float[] x = positive ? uniform(r, sh.numel(), 0.01, 5) : uniform(r, sh.numel(), -range, range);
                if (!positive && x.length > 40) { x[3] = 80; x[4] = -80; x[5] = 0; x[6] = -0f; }
                float[] dy = uniform(r, sh.numel(), -1, 1);
                String what = op + " " + sh;
                Tensor y = cuda.unary(op, cuda.fromHost(sh, x), a, b), yCpu = CPU.unary(op, CPU.fromHost(sh, x), a, b);
                assertClose(what, y, yCpu);
                assertClose(what + " backward", cuda.unaryBackward(op, cuda.fromHost(sh, x), y, cuda.fromHost(sh, dy), a, b),
                        CPU.unaryBackward(op, CPU.fromHost(sh, x), yCpu, CPU.fromHost(sh, dy), a, b));
            }
        }
    }

    /** NaN and ±∞ in, as the CPU: RELU(NaN) = 0, CLAMP(NaN) = NaN, SIGMOID(−∞) = 0, SOFTPLUS(−∞) = 0, ... */
    @Test void nonFiniteInputsGiveWhatTheCpuGives() {
        float[] x = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f, 1f, -1f};
        Shape sh = shape(x.length);
        for (UnaryOp op : new UnaryOp[] {UnaryOp.RELU, UnaryOp.ELU, UnaryOp.SIGMOID, UnaryOp.TANH, UnaryOp.EXP, UnaryOp.SOFTPLUS,
                UnaryOp.SQUARE, UnaryOp.NEG, UnaryOp.CLAMP}) {
            double a = op == UnaryOp.CLAMP ? -0.5 : 1.3, b = op == UnaryOp.CLAMP ? 0.7 : 0;
            assertClose(op + " of NaN, ±∞, ±0, ±1", cuda.unary(op, cuda.fromHost(sh, x), a, b), CPU.unary(op, CPU.fromHost(sh, x), a, b));
        }
    }

    /** The gradient passes for a ≤ x ≤ b as UnaryOp.derivative says in double, also for bounds that are not floats. */
    @Test void clampGradientAtTheBounds() {
        double lo = 0.1, hi = 0.7;   // (float) 0.1 > 0.1, (float) 0.7 < 0.7
        float flo = (float) lo, fhi = (float) hi;
        float[] x = {Math.nextDown(flo), flo, Math.nextUp(flo), Math.nextDown(fhi), fhi, Math.nextUp(fhi), 0.4f, -3f, 3f};
        float[] dy = new float[x.length];
        Arrays.fill(dy, 1f);
        Shape sh = shape(x.length);
        float[] got = cuda.unaryBackward(UnaryOp.CLAMP, cuda.fromHost(sh, x), cuda.unary(UnaryOp.CLAMP, cuda.fromHost(sh, x), lo, hi),
                cuda.fromHost(sh, dy), lo, hi).toFloats();
        for (int i = 0; i < x.length; i++)
            assertEquals(UnaryOp.CLAMP.derivative(x[i], 0, lo, hi), got[i], "CLAMP gradient at " + x[i]);
        assertExact("CLAMP forward at the bounds", cuda.unary(UnaryOp.CLAMP, cuda.fromHost(sh, x), lo, hi), CPU.unary(UnaryOp.CLAMP, CPU.fromHost(sh, x), lo, hi));
    }

    /** {a, b} pairs for each kernel path, both orders where the small one may be on either side. */
    private static final Shape[][] PAIRS = {
            {shape(64, 4, 32, 32), shape(64, 4, 32, 32)}, {BIG, BIG}, {shape(17), shape(17)},                    // same shape
            {shape(64, 4, 32, 32), shape(1, 4, 1, 1)}, {shape(1, 4, 1, 1), shape(64, 4, 32, 32)},                 // per channel
            {shape(64, 256), shape(256)}, {shape(64, 1), shape(64, 256)}, {shape(2, 3, 17, 33), shape()},         // row, column, scalar
            {shape(1), shape(33, 17)}, {shape(1, 1), shape(1)}, {shape(2, 1, 4), shape(4)},
            {shape(64, 1), shape(1, 256)}, {shape(2, 3, 17, 33), shape(3, 1, 33)}, {shape(17, 1, 33), shape(1, 5, 1)},   // general
            {shape(64, 4, 32, 32), shape(64, 1, 32, 32)}, {shape(2, 1, 3, 1, 2, 1, 3, 2, 2), shape(1, 2, 1, 2, 1, 2, 1, 2, 2)}};

    /** + − × ÷ are one IEEE operation per element on both backends: the results must be identical. */
    @Test void binaryMatchesTheCpuOnEveryPath() {
        Random r = new Random(2);
        for (Shape[] p : PAIRS) {
            float[] a = uniform(r, p[0].numel(), -2, 2), b = uniform(r, p[1].numel(), 0.5, 2);
            for (BinaryOp op : BinaryOp.values()) {
                String what = p[0] + " " + op + " " + p[1];
                assertExact(what, cuda.binary(op, cuda.fromHost(p[0], a), cuda.fromHost(p[1], b)), CPU.binary(op, CPU.fromHost(p[0], a), CPU.fromHost(p[1], b)));
            }
        }
    }

    /** Each partial in the broadcast shape, then reduced with sumTo as autograd does. DIV wrt b runs in place. */
    @Test void binaryBackwardMatchesTheCpu() {
        Random r = new Random(3);
        for (Shape[] p : PAIRS) {
            if (p[0].numel() > 1 << 20 && p[1].numel() > 1 << 20) continue;   // BIG same-shape: covered forward
            Shape out = Shape.broadcast(p[0], p[1]);
            float[] a = uniform(r, p[0].numel(), -2, 2), b = uniform(r, p[1].numel(), 0.5, 2), dy = uniform(r, out.numel(), -1, 1);
            for (BinaryOp op : BinaryOp.values()) {
                Tensor ga = cuda.fromHost(p[0], a), gb = cuda.fromHost(p[1], b), ca = CPU.fromHost(p[0], a), cb = CPU.fromHost(p[1], b);
                Tensor gOut = cuda.binary(op, ga, gb), cOut = CPU.binary(op, ca, cb);
                for (boolean wrtA : new boolean[] {true, false}) {
                    String what = p[0] + " " + op + " " + p[1] + " d/d" + (wrtA ? "a" : "b");
                    Tensor g = cuda.binaryBackward(op, ga, gb, gOut, cuda.fromHost(out, dy), wrtA);
                    Tensor c = CPU.binaryBackward(op, ca, cb, cOut, CPU.fromHost(out, dy), wrtA);
                    assertClose(what, g, c);
                    Shape to = wrtA ? p[0] : p[1];
                    assertClose(what + " summed to " + to, cuda.sumTo(g, to), CPU.sumTo(c, to));
                }
            }
        }
    }

    @Test void affineAndAxpyMatchTheCpu() {
        Random r = new Random(4);
        for (Shape sh : SHAPES) {
            float[] x = uniform(r, sh.numel(), -3, 3), y = uniform(r, sh.numel(), -3, 3);
            assertClose("affine " + sh, cuda.affine(cuda.fromHost(sh, x), -0.37, 1.25), CPU.affine(CPU.fromHost(sh, x), -0.37, 1.25));
            Tensor gy = cuda.fromHost(sh, y), cy = CPU.fromHost(sh, y);
            cuda.axpy(0.3, cuda.fromHost(sh, x), gy);
            CPU.axpy(0.3, CPU.fromHost(sh, x), cy);
            cuda.axpy(-1.5, gy, gy);   // x and y the same tensor
            CPU.axpy(-1.5, cy, cy);
            assertClose("axpy " + sh, gy, cy);
        }
    }

    @Test void fillFullAndCopyInto() {
        Shape sh = shape(64, 4, 32, 32);
        float[] v = cuda.full(sh, 3.5).toFloats();
        for (int i = 0; i < v.length; i++) assertEquals(3.5f, v[i], "full at " + i);
        Tensor t = cuda.empty(BIG);
        cuda.fill(t, -0.25);
        float[] w = t.toFloats();
        for (int i = 0; i < w.length; i++) assertEquals(-0.25f, w[i], "fill at " + i);
        float[] x = uniform(new Random(5), 17 * 33, -1, 1);
        Tensor dst = cuda.empty(shape(33, 17));
        cuda.copyInto(cuda.fromHost(shape(17, 33), x), dst);
        assertExact("copyInto", dst, CPU.fromHost(shape(33, 17), x));
        cuda.copyInto(dst, dst);   // onto itself: unchanged
        assertExact("copyInto itself", dst, CPU.fromHost(shape(33, 17), x));
        assertEquals(0, cuda.unary(UnaryOp.EXP, cuda.empty(shape(0, 3)), 0, 0).numel());
    }

    @Test void badArgumentsFailAsOnTheCpu() {
        Tensor x = cuda.full(shape(2, 3), 1), y = cuda.full(shape(3, 2), 1), z = cuda.full(shape(4), 1);
        Tensor cx = CPU.full(shape(2, 3), 1), cy = CPU.full(shape(3, 2), 1), cz = CPU.full(shape(4), 1);
        assertEquals(assertThrows(IllegalArgumentException.class, () -> CPU.unaryBackward(UnaryOp.EXP, cx, cx, cy, 0, 0)).getMessage(),
                assertThrows(IllegalArgumentException.class, () -> cuda.unaryBackward(UnaryOp.EXP, x, x, y, 0, 0)).getMessage());
        assertEquals(assertThrows(IllegalArgumentException.class, () -> CPU.binary(BinaryOp.ADD, cx, cz)).getMessage(),
                assertThrows(IllegalArgumentException.class, () -> cuda.binary(BinaryOp.ADD, x, z)).getMessage());
        assertEquals(assertThrows(IllegalArgumentException.class, () -> CPU.axpy(1, cx, cy)).getMessage(),
                assertThrows(IllegalArgumentException.class, () -> cuda.axpy(1, x, y)).getMessage());
        assertEquals(assertThrows(IllegalArgumentException.class, () -> CPU.copyInto(cx, cz)).getMessage(),
                assertThrows(IllegalArgumentException.class, () -> cuda.copyInto(x, z)).getMessage());
    }
}
