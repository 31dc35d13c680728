package frl.backend.cuda;

import frl.backend.Backend;
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
import static frl.backend.cuda.CudaVsCpu.assertExact;
import static frl.backend.cuda.CudaVsCpu.shape;
import static frl.backend.cuda.CudaVsCpu.uniform;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * CUDA layout ops only move floats, so they must equal the CPU backend's bit for bit: awkward shapes
 * (batch 1, C = 1 or 3, H ≠ W, 17 and 33), the VAE's [64, 4, 32, 32], and every axis.
 */
@Tag("gpu")
class CudaLayoutTest {
    private static final Shape[] SHAPES = {shape(1, 3, 17, 33), shape(2, 1, 33, 17), shape(3, 5), shape(17), shape(64, 4, 32, 32)};
    private Backend cuda;
    private Scope scope;
    private final Random r = new Random(9);

    @BeforeEach void open() {
        cuda = GpuTests.cudaOrSkip();
        scope = Scope.open();
    }

    @AfterEach void close() { if (scope != null) scope.close(); }

    /** The same random values on both backends. */
    private Tensor[] pair(Shape s) {
        float[] v = uniform(r, s.numel(), -2, 2);
        return new Tensor[] {cuda.fromHost(s, v), CPU.fromHost(s, v)};
    }

    @Test void concatOnEveryAxis() {
        for (Shape s : SHAPES) {
            for (int axis = -1; axis < s.rank(); axis++) {
                int a = s.axis(axis);
                Tensor[] p0 = pair(s.with(a, 1)), p1 = pair(s), p2 = pair(s.with(a, 3)), p3 = pair(s.with(a, 0));
                assertExact("concat " + s + " axis " + axis, cuda.concat(new Tensor[] {p0[0], p1[0], p3[0], p2[0]}, axis),
                        CPU.concat(new Tensor[] {p0[1], p1[1], p3[1], p2[1]}, axis));
            }
        }
    }

    @Test void narrowOnEveryAxis() {
        for (Shape s : SHAPES) {
            Tensor[] x = pair(s);
            for (int a = 0; a < s.rank(); a++) {
                int d = s.dim(a);
                for (int[] sl : new int[][] {{0, d}, {0, 1}, {d - 1, 1}, {d / 3, d - d / 3 - (d > 2 ? 1 : 0)}, {d / 2, 0}}) {
                    assertExact("narrow " + s + " axis " + a + " [" + sl[0] + ", +" + sl[1] + ")", cuda.narrow(x[0], a, sl[0], sl[1]), CPU.narrow(x[1], a, sl[0], sl[1]));
                }
            }
        }
    }

    @Test void padWithAConstant() {
        Object[][] cases = {   // shape, before, after, value
                {shape(1, 3, 17, 33), new int[] {0, 0, 2, 1}, new int[] {0, 0, 1, 2}, -1.5},
                {shape(64, 4, 28, 28), new int[] {0, 0, 2, 2}, new int[] {0, 0, 2, 2}, 0.0},
                {shape(2, 5), new int[] {1, 0}, new int[] {0, 3}, 7.0}, {shape(17), new int[] {3}, new int[] {0}, Double.NaN},
                {shape(2, 3, 4), new int[] {0, 1, 0}, new int[] {0, 0, 0}, 1.0}, {shape(2, 1, 3), new int[] {1, 0, 0}, new int[] {1, 0, 0}, 2.0},
                {shape(2, 3, 4), new int[] {0, 0, 0}, new int[] {0, 0, 0}, 5.0}, {shape(2, 0, 3), new int[] {0, 2, 1}, new int[] {1, 0, 0}, 4.0},
                {shape(1, 2, 1, 2, 1, 2, 1, 2, 3), new int[] {1, 0, 1, 0, 1, 0, 1, 0, 0}, new int[] {0, 1, 0, 1, 0, 1, 0, 1, 0}, -3.0}};   // 8 padded axes
        for (Object[] c : cases) {
            Shape s = (Shape) c[0];
            int[] before = (int[]) c[1], after = (int[]) c[2];
            double value = (double) c[3];
            Tensor[] x = pair(s);
            assertExact("pad " + s + " by " + Arrays.toString(before) + "/" + Arrays.toString(after),
                    cuda.pad(x[0], before, after, value), CPU.pad(x[1], before, after, value));
        }
    }

    @Test void squeezeAndItsInverse() {
        Object[][] cases = {{shape(64, 4, 32, 32), 2}, {shape(64, 4, 32, 32), 4}, {shape(1, 3, 6, 9), 3}, {shape(2, 1, 34, 18), 2},
                {shape(3, 5, 7, 11), 1}, {shape(1, 1, 2, 2), 2}};
        for (Object[] c : cases) {
            Shape s = (Shape) c[0];
            int f = (int) c[1];
            Tensor[] x = pair(s);
            Tensor depth = cuda.spaceToDepth(x[0], f);
            assertExact("spaceToDepth " + s + " f=" + f, depth, CPU.spaceToDepth(x[1], f));
            assertExact("depthToSpace back " + s + " f=" + f, cuda.depthToSpace(depth, f), x[1]);
            Tensor[] d = pair(depth.shape());
            assertExact("depthToSpace " + depth.shape() + " f=" + f, cuda.depthToSpace(d[0], f), CPU.depthToSpace(d[1], f));
        }
    }

    @Test void badArgumentsFailAsOnTheCpu() {
        Tensor x = cuda.full(shape(1, 3, 5, 6), 1), cx = CPU.full(shape(1, 3, 5, 6), 1);
        assertEquals(assertThrows(IllegalArgumentException.class, () -> CPU.spaceToDepth(cx, 2)).getMessage(),
                assertThrows(IllegalArgumentException.class, () -> cuda.spaceToDepth(x, 2)).getMessage());
        assertEquals(assertThrows(IllegalArgumentException.class, () -> CPU.depthToSpace(cx, 2)).getMessage(),
                assertThrows(IllegalArgumentException.class, () -> cuda.depthToSpace(x, 2)).getMessage());
        assertEquals(assertThrows(IllegalArgumentException.class, () -> CPU.narrow(cx, 3, 4, 3)).getMessage(),
                assertThrows(IllegalArgumentException.class, () -> cuda.narrow(x, 3, 4, 3)).getMessage());
        int[] neg = {0, 0, -1, 0}, zero = {0, 0, 0, 0};
        assertEquals(assertThrows(IllegalArgumentException.class, () -> CPU.pad(cx, neg, zero, 0)).getMessage(),
                assertThrows(IllegalArgumentException.class, () -> cuda.pad(x, neg, zero, 0)).getMessage());
        assertEquals(assertThrows(IllegalArgumentException.class, () -> CPU.concat(new Tensor[] {cx, CPU.full(shape(1, 2, 5, 5), 1)}, 1)).getMessage(),
                assertThrows(IllegalArgumentException.class, () -> cuda.concat(new Tensor[] {x, cuda.full(shape(1, 2, 5, 5), 1)}, 1)).getMessage());
    }
}
