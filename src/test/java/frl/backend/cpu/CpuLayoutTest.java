package frl.backend.cpu;

import frl.backend.Backend;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Layout ops only move values, so they must match the float64 index loops below exactly. Shapes are awkward
 * (batch 1, C = 1 or 3, H ≠ W, sizes 17 and 33) and a few are large enough to run on several threads.
 */
class CpuLayoutTest {
    private final Backend be = CpuBackend.instance();
    private Scope scope;

    @BeforeEach void open() { scope = Scope.open(); }

    @AfterEach void close() { scope.close(); }

    private static final int[][] SHAPES = {{1, 3, 17, 33}, {2, 1, 33, 17}, {3, 5}, {17}, {2, 64, 33, 17}};

    private Tensor random(Shape s, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] v = new double[(int) s.numel()];
        for (int i = 0; i < v.length; i++) v[i] = r.nextDouble(-2, 2);
        return be.fromHost(s, v);
    }

    /** A reference tensor whose element at each multi-index of {@code s} comes from {@code value}. */
    private static double[] byIndex(Shape s, Function<int[], Double> value) {
        double[] out = new double[(int) s.numel()];
        int[] idx = new int[s.rank()];
        for (int flat = 0; flat < out.length; flat++) {
            for (int i = s.rank() - 1, rest = flat; i >= 0; i--) { idx[i] = rest % s.dim(i); rest /= s.dim(i); }
            out[flat] = value.apply(idx);
        }
        return out;
    }

    private static double at(Tensor t, int[] idx) {
        long flat = 0;
        for (int i = 0; i < idx.length; i++) flat = flat * t.dim(i) + idx[i];
        return t.get(flat);
    }

    private static void assertExact(double[] expected, Tensor actual) {
        double[] a = actual.toDoubles();
        assertEquals(expected.length, a.length, "element count");
        for (int i = 0; i < a.length; i++) if (expected[i] != a[i]) fail("element " + i + ": expected " + expected[i] + ", got " + a[i]);
    }

    @Test void concatMatchesReferenceOnEveryAxis() {
        for (int[] dims : SHAPES) {
            Shape s = Shape.of(dims);
            for (int axis = 0; axis < s.rank(); axis++) {
                int a = axis;
                Tensor[] parts = {random(s.with(a, 1), 1), random(s, 2), random(s.with(a, 3), 3)};
                Tensor out = be.concat(parts, a);
                assertEquals(s.with(a, s.dim(a) + 4), out.shape());
                assertExact(byIndex(out.shape(), idx -> {
                    int[] j = idx.clone();
                    for (Tensor p : parts) {
                        if (j[a] < p.dim(a)) return at(p, j);
                        j[a] -= p.dim(a);
                    }
                    throw new AssertionError();
                }), out);
            }
        }
    }

    @Test void concatTakesANegativeAxis() {
        Tensor x = random(Shape.of(2, 3, 5), 4), y = random(Shape.of(2, 3, 2), 5);
        Tensor out = be.concat(new Tensor[] {x, y}, -1);
        assertEquals(Shape.of(2, 3, 7), out.shape());
        assertExact(y.toDoubles(), be.narrow(out, 2, 5, 2));
    }

    @Test void narrowMatchesReferenceOnEveryAxis() {
        for (int[] dims : SHAPES) {
            Shape s = Shape.of(dims);
            Tensor x = random(s, 6);
            for (int axis = 0; axis < s.rank(); axis++) {
                int a = axis, start = s.dim(a) / 3, length = s.dim(a) - start - (s.dim(a) > 2 ? 1 : 0);
                Tensor out = be.narrow(x, a, start, length);
                assertEquals(s.with(a, length), out.shape());
                assertExact(byIndex(out.shape(), idx -> {
                    int[] j = idx.clone();
                    j[a] += start;
                    return at(x, j);
                }), out);
            }
        }
    }

    @Test void padMatchesReference() {
        int[][][] pads = { // {before, after}: outermost only, innermost only, a middle axis, every axis, none
                {{1, 0, 0, 0}, {2, 0, 0, 0}}, {{0, 0, 0, 3}, {0, 0, 0, 1}}, {{0, 2, 0, 0}, {0, 0, 0, 0}},
                {{1, 1, 2, 1}, {1, 2, 1, 3}}, {{0, 0, 0, 0}, {0, 0, 0, 0}}};
        for (int[] dims : new int[][] {{1, 3, 17, 33}, {2, 1, 5, 3}, {2, 64, 33, 17}}) {
            Shape s = Shape.of(dims);
            Tensor x = random(s, 7);
            for (int[][] p : pads) {
                int[] before = p[0], after = p[1];
                for (double value : new double[] {0, -1.5}) {
                    Tensor out = be.pad(x, before, after, value);
                    assertExact(byIndex(out.shape(), idx -> {
                        int[] j = new int[idx.length];
                        for (int i = 0; i < idx.length; i++) {
                            j[i] = idx[i] - before[i];
                            if (j[i] < 0 || j[i] >= s.dim(i)) return value;
                        }
                        return at(x, j);
                    }), out);
                }
            }
        }
    }

    @Test void narrowOfPadIsIdentity() {
        Shape s = Shape.of(1, 3, 17, 33);
        Tensor x = random(s, 8);
        int[] before = {2, 0, 1, 3}, after = {1, 4, 0, 2};
        Tensor y = be.pad(x, before, after, 7);
        for (int i = 0; i < s.rank(); i++) y = be.narrow(y, i, before[i], s.dim(i));
        assertExact(x.toDoubles(), y);
    }

    @Test void concatThenNarrowGivesThePiecesBack() {
        for (int axis = 0; axis < 4; axis++) {
            Shape s = Shape.of(2, 3, 17, 5);
            Tensor[] parts = {random(s, 9), random(s.with(axis, 1), 10), random(s.with(axis, 33), 11)};
            Tensor joined = be.concat(parts, axis);
            int start = 0;
            for (Tensor p : parts) {
                assertExact(p.toDoubles(), be.narrow(joined, axis, start, p.dim(axis)));
                start += p.dim(axis);
            }
        }
    }

    /** x.view(N,C,H/f,f,W/f,f).permute(0,1,3,5,2,4).reshape(N,C·f²,H/f,W/f), indexed literally. */
    private static double[] torchSqueeze(Tensor x, int f) {
        int n = x.dim(0), c = x.dim(1), ho = x.dim(2) / f, wo = x.dim(3) / f;
        double[] in = x.toDoubles(), out = new double[in.length];
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int i = 0; i < f; i++)
                    for (int j = 0; j < f; j++)
                        for (int h = 0; h < ho; h++)
                            for (int w = 0; w < wo; w++) {
                                int viewed = ((((b * c + ch) * ho + h) * f + i) * wo + w) * f + j; // view (n,c,h,i,w,j)
                                int permuted = ((((b * c + ch) * f + i) * f + j) * ho + h) * wo + w; // (n,c,i,j,h,w)
                                out[permuted] = in[viewed];
                            }
        return out;
    }

    @Test void spaceToDepthIsGlowSqueeze() {
        int[][] cases = {{1, 3, 34, 66, 2}, {2, 1, 9, 33, 3}, {1, 1, 6, 4, 1}, {3, 3, 4, 8, 4}, {2, 16, 64, 32, 2}};
        for (int[] k : cases) {
            int f = k[4];
            Tensor x = random(Shape.of(k[0], k[1], k[2], k[3]), 12);
            Tensor y = be.spaceToDepth(x, f);
            assertEquals(Shape.of(k[0], k[1] * f * f, k[2] / f, k[3] / f), y.shape());
            assertExact(torchSqueeze(x, f), y);
            // the javadoc's statement: channel c·f²+i·f+j at (h, w) is pixel (f·h+i, f·w+j) of channel c
            int n = k[0] - 1, h = y.dim(2) - 1, w = y.dim(3) / 2;
            for (int c = 0; c < k[1]; c++)
                for (int i = 0; i < f; i++)
                    for (int j = 0; j < f; j++)
                        assertEquals(at(x, new int[] {n, c, f * h + i, f * w + j}), at(y, new int[] {n, c * f * f + i * f + j, h, w}));
        }
    }

    @Test void depthToSpaceInvertsSpaceToDepth() {
        for (int[] k : new int[][] {{1, 3, 34, 66, 2}, {2, 1, 9, 33, 3}, {2, 16, 64, 32, 2}}) {
            Tensor x = random(Shape.of(k[0], k[1], k[2], k[3]), 13);
            assertExact(x.toDoubles(), be.depthToSpace(be.spaceToDepth(x, k[4]), k[4]));
            Tensor z = random(Shape.of(k[0], k[1] * k[4] * k[4], k[2], k[3]), 14);
            assertExact(z.toDoubles(), be.spaceToDepth(be.depthToSpace(z, k[4]), k[4]));
        }
    }

    private static void assertRejects(String messagePart, Runnable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
        assertTrue(e.getMessage().contains(messagePart), () -> "message \"" + e.getMessage() + "\" should mention " + messagePart);
    }

    @Test void badArgumentsAreRejectedClearly() {
        Tensor x = random(Shape.of(2, 3, 4, 6), 15);
        assertRejects("concat", () -> be.concat(new Tensor[] {x, random(Shape.of(2, 3, 5, 6), 16)}, 1));
        assertRejects("concat", () -> be.concat(new Tensor[] {x, random(Shape.of(2, 3, 4), 17)}, 1));
        assertRejects("concat: no tensors", () -> be.concat(new Tensor[0], 0));
        assertRejects("axis 4 out of range", () -> be.concat(new Tensor[] {x}, 4));
        assertRejects("narrow", () -> be.narrow(x, 3, 4, 3));
        assertRejects("narrow", () -> be.narrow(x, 0, -1, 1));
        assertRejects("axis -5 out of range", () -> be.narrow(x, -5, 0, 1));
        assertRejects("pad: negative", () -> be.pad(x, new int[] {0, 0, -1, 0}, new int[4], 0));
        assertRejects("pad: need one before/after pair", () -> be.pad(x, new int[3], new int[3], 0));
        assertRejects("spaceToDepth", () -> be.spaceToDepth(x, 4));
        assertRejects("spaceToDepth", () -> be.spaceToDepth(x, 0));
        assertRejects("spaceToDepth", () -> be.spaceToDepth(random(Shape.of(4, 4), 18), 2));
        assertRejects("depthToSpace", () -> be.depthToSpace(x, 2));
    }
}
