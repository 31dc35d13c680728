package frl.backend.cuda;

import frl.tensor.Shape;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CPU-only: the index spaces that the strided CUDA kernels are given, evaluated here exactly as
 * native/include/frl_index.cuh evaluates them, against direct multi-index arithmetic.
 */
class IndexSpaceTest {
    /** frl_offset of frl_index.cuh: position i of the packed space, in stride list {@code list}. */
    static long offset(int[] v, int list, long i) {
        long off = 0;
        for (int k = v[0] - 1; k >= 0; k--) {
            int d = v[1 + k];
            off += (i % d) * v[1 + IndexSpace.MAX_RANK * (list + 1) + k];
            i /= d;
        }
        return off;
    }

    /** Flat index in {@code s} of the element that position pos of {@code space} broadcasts from (NumPy rules). */
    static long source(Shape space, Shape s, long pos) {
        long flat = 0, stride = 1;
        for (int i = space.rank() - 1; i >= 0; i--) {
            long idx = pos % space.dim(i);
            pos /= space.dim(i);
            int j = i - (space.rank() - s.rank());
            if (j < 0) continue;
            if (s.dim(j) != 1) flat += idx * stride;
            stride *= s.dim(j);
        }
        return flat;
    }

    private static Shape sh(int... d) { return Shape.of(d); }

    @Test
    void binaryOperandsAreIndexedAsNumPyBroadcasts() {
        Shape[][] cases = {
                {sh(4, 3, 5, 7), sh(1, 3, 1, 1)}, {sh(1, 3, 1, 1), sh(4, 3, 5, 7)}, {sh(6, 1), sh(1, 9)}, {sh(), sh(3, 4)},
                {sh(2, 3, 4, 5), sh(3, 1, 5)}, {sh(1, 1), sh(1)}, {sh(5, 1, 7), sh(1, 6, 1)}, {sh(17), sh(17)},
                {sh(2, 3, 4, 5), sh(5)}, {sh(2, 3, 4, 5), sh(2, 1, 1, 1)}, {sh(3, 1, 4), sh(1)}, {sh(2, 3), sh(2, 3)},
                {sh(2, 1, 3, 1, 2, 1, 3, 2, 2), sh(1, 2, 1, 2, 1, 2, 1, 2, 2)}};   // nine axes that merge to eight
        for (Shape[] c : cases) {
            Shape out = Shape.broadcast(c[0], c[1]);
            IndexSpace s = IndexSpace.of(out, c[0], c[1]);
            int[] v = s.pack("test");
            long n = out.numel();
            for (long pos = 0; pos < n; pos++) {
                assertEquals(source(out, c[0], pos), offset(v, 0, pos), c[0] + " op " + c[1] + ": a at " + pos);
                assertEquals(source(out, c[1], pos), offset(v, 1, pos), c[0] + " op " + c[1] + ": b at " + pos);
            }
            for (int k = 0; k < 2; k++) {
                long[] axis = s.singleAxis(k);
                if (axis == null) continue;
                for (long pos = 0; pos < n; pos++)
                    assertEquals(source(out, c[k], pos), pos / axis[0] % axis[1], c[0] + " op " + c[1] + ": single-axis operand " + k + " at " + pos);
            }
        }
    }

    @Test
    void kernelChoicesForTheCommonShapes() {
        IndexSpace channel = IndexSpace.of(sh(64, 4, 32, 32), sh(64, 4, 32, 32), sh(1, 4, 1, 1));
        assertArrayEquals(new int[] {64, 4, 1024}, channel.dims);
        assertTrue(channel.dense(0));
        assertArrayEquals(new long[] {1024, 4}, channel.singleAxis(1));
        IndexSpace same = IndexSpace.of(sh(2, 3, 4), sh(2, 3, 4), sh(2, 3, 4));
        assertTrue(same.dense(0) && same.dense(1));
        assertArrayEquals(new int[] {24}, same.dims);
        IndexSpace scalar = IndexSpace.of(sh(3, 5), sh(3, 5), sh());
        assertArrayEquals(new long[] {1, 1}, scalar.singleAxis(1));
        IndexSpace outer = IndexSpace.of(sh(6, 9), sh(6, 1), sh(1, 9));
        assertFalse(outer.dense(0) || outer.dense(1));
        assertNull(IndexSpace.of(sh(2, 3, 4), sh(2, 3, 4), sh(2, 1, 4)).singleAxis(1));
    }

    @Test
    void sumPlansAddEveryElementOnceIntoItsOutput() {
        Shape[][] cases = {   // {x, target}
                {sh(2, 3, 4, 5), sh(3, 1, 5)}, {sh(2, 3, 4, 5), sh(1, 3, 1, 1)}, {sh(2, 3, 4, 5), sh(1)}, {sh(2, 3, 4, 5), sh(5)},
                {sh(2, 3, 4, 5), sh(2, 1, 4, 1)}, {sh(33, 17), sh(33, 1)}, {sh(33, 17), sh()}, {sh(1, 3, 17, 33), sh(3, 1, 1)},
                {sh(3, 4, 5), sh(4, 1)}, {sh(17), sh(1)}, {sh(8, 4, 32, 32), sh(1, 4, 1, 1)}, {sh(64, 10), sh(10)},
                {sh(5, 40), sh(5, 1)}, {sh(3, 70000), sh(1, 70000)}, {sh(50000), sh(1)}, {sh(3, 9000, 2), sh(3, 1, 2)}, {sh(2, 1, 3, 1, 2, 1, 3, 1, 2), sh(1, 1, 3, 1, 1, 1, 3, 1, 1)}};
        for (Shape[] c : cases) {
            Shape x = c[0], target = c[1];
            CudaReduce.SumPlan p = CudaReduce.sumPlan("test", x, target);
            assertEquals(target.numel(), p.outN());
            assertEquals(x.numel(), (long) p.outN() * p.rows(), x + " → " + target + ": rows");
            assertTrue((long) p.chunk() * p.chunks() >= p.rows() && (long) p.chunk() * (p.chunks() - 1) < p.rows(), x + " → " + target + ": chunks");
            int[] hits = new int[(int) x.numel()];
            for (int o = 0; o < p.outN(); o++) {
                for (int r = 0; r < p.rows(); r++) {
                    long e = offset(p.kept(), 0, o) + offset(p.summed(), 0, r);
                    assertEquals(o, source(x, target, e), x + " → " + target + ": element " + e + " added into output " + o);
                    hits[(int) e]++;
                }
            }
            for (int e = 0; e < hits.length; e++) assertEquals(1, hits[e], x + " → " + target + ": element " + e + " added " + hits[e] + " times");
        }
        CudaReduce.SumPlan channels = CudaReduce.sumPlan("test", sh(64, 4, 32, 32), sh(1, 4, 1, 1));
        assertTrue(channels.blocks() && channels.chunks() == 16, "channel sums: 16 blocks of 4096 per channel (" + channels.chunks() + ")");
        CudaReduce.SumPlan all = CudaReduce.sumPlan("test", sh(1000000), sh());
        assertTrue(all.blocks() && all.chunks() == 245, "a long full sum: split over 245 blocks (" + all.chunks() + ")");
        assertFalse(CudaReduce.sumPlan("test", sh(64, 10), sh(10)).blocks(), "bias of a linear layer: partial sums over rows");
        CudaReduce.SumPlan wide = CudaReduce.sumPlan("test", sh(3, 70000), sh(1, 70000));
        assertEquals(1, wide.chunks(), "many outputs: one chunk");
        CudaReduce.SumPlan tall = CudaReduce.sumPlan("test", sh(100000, 4), sh(4));
        assertTrue(tall.chunks() > 1000, "few outputs, long sums: split into chunks (" + tall.chunks() + ")");
    }

    @Test
    void padSpacesPutEveryInputElementInItsPlace() {
        int[][][] cases = {   // {x dims, before, after}
                {{1, 3, 17, 33}, {0, 0, 2, 1}, {0, 0, 1, 2}}, {{2, 5}, {1, 0}, {0, 3}}, {{17}, {3}, {0}}, {{2, 3, 4}, {0, 1, 0}, {0, 0, 0}},
                {{2, 1, 3}, {1, 0, 0}, {1, 0, 0}}, {{2, 3, 4}, {0, 0, 0}, {0, 2, 0}}, {{1, 1, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1, 1, 1, 0}, {0, 0, 0, 0, 0, 0, 0, 0, 0}}};
        for (int[][] c : cases) {
            Shape x = sh(c[0]);
            int[] before = c[1], after = c[2];
            Shape out = frl.backend.Shapes.pad(x, before, after);
            int[] v = CudaLayout.padSpace("test", x, before, out);
            int[] seen = new int[(int) x.numel()];
            for (long pos = 0; pos < out.numel(); pos++) {
                long want = -1, rest = pos, flat = 0, stride = 1;   // direct: the input element at this output position, or −1
                boolean inside = true;
                for (int i = x.rank() - 1; i >= 0; i--) {
                    long idx = rest % out.dim(i) - before[i];
                    rest /= out.dim(i);
                    inside &= idx >= 0 && idx < x.dim(i);
                    flat += idx * stride;
                    stride *= x.dim(i);
                }
                if (inside) want = flat;
                assertEquals(want, padKernel(v, pos), Arrays.toString(c[0]) + " padded " + Arrays.toString(before) + "/" + Arrays.toString(after) + " at " + pos);
                if (inside) seen[(int) want]++;
            }
            for (int s : seen) assertEquals(1, s, Arrays.toString(c[0]) + ": every input element exactly once");
        }
    }

    /** The pad kernel of layout.cu: the input offset read at output position i, or −1 for the pad value. */
    private static long padKernel(int[] v, long i) {
        long off = 0, stride = 1;
        boolean inside = true;
        for (int k = v[0] - 1; k >= 0; k--) {
            int d = v[1 + k];
            long in = i % d - v[9 + k];
            int dIn = v[17 + k];
            inside &= in >= 0 && in < dIn;
            off += in * stride;
            stride *= dIn;
            i /= d;
        }
        return inside ? off : -1;
    }

    @Test
    void packRejectsWhatTheKernelsCannotIndex() {
        var e = assertThrows(IllegalArgumentException.class, () -> IndexSpace.pack("binary", new int[9], new long[9]));
        assertTrue(e.getMessage().startsWith("binary: the cuda kernels take at most 8 axes"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> IndexSpace.pack("sumTo", new int[] {2}, new long[] {1L << 31}));
        assertTrue(e.getMessage().contains("32-bit"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> IndexSpace.toInt("logSumExp", 1L << 31));
    }
}
