package frl.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The Vector-API loops of {@link DirectConv}. The product holds an 8-row × 3-vector tile of the output in 24
 * accumulators; each tap costs three loads of the shifted planes and eight broadcasts of the packed kernel. The
 * weight gradient holds 4 rows of dy × 6 taps, one vector of columns at a time, and sums each one's lanes at the end.
 * The copies between tensors and planes move a row in vectors: a row is often one vector or less (16 floats at
 * 16×16), where a copy call per row cost more than its bytes.
 */
final class DirectConvKernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    /** Narrower vectors for the ends of rows shorter than a whole vector. */
    private static final VectorSpecies<Float> S8 = FloatVector.SPECIES_256, S4 = FloatVector.SPECIES_128;
    /** Output rows per panel of the packed kernel. */
    static final int ROWS = 8;
    /** Columns per tile. */
    static final int COLS = 3 * L;

    /**
     * The columns the product computes for the first n: whole tiles, or one vector past them where one is left (a 4×4
     * plane's 64 columns computed 96). Not two: a narrow tile makes 9 loads per 8 FMAs where a whole one makes 11 per 24,
     * and with two of them the small Glow's short scoring runs came out slower more often than not (here, 2026-11-28).
     */
    static int columns(int n) {
        int v = Math.ceilDiv(n, L) * L;
        return v % COLS == L ? v : Math.ceilDiv(n, COLS) * COLS;
    }

    /** n rounded up to whole vectors: the columns a product over n columns takes (with no tile past them). */
    static int wholeVectors(int n) { return Math.ceilDiv(n, L) * L; }

    /** Rows of dy and taps per tile of the weight gradient. */
    static final int GRAD_ROWS = 4, GRAD_TAPS = 6;

    private DirectConvKernels() {}

    /**
     * y[r·ld + q] = Σ_t w[(r / ROWS · taps + t) · ROWS + r % ROWS] · x[off[t] + q] for r &lt; rows (a multiple of
     * ROWS) and q &lt; cols (a multiple of the vector length; see {@link #columns}). The columns past the last whole
     * tile take {@link #narrowTile}.
     */
    static void product(float[] w, int taps, int[] off, float[] x, float[] y, int rows, int cols, int ld) {
        int q = 0;
        for (; q + COLS <= cols; q += COLS)
            for (int r = 0; r < rows; r += ROWS) tile(w, r * taps, taps, off, x, q, y, r * ld + q, ld);
        for (; q < cols; q += L)
            for (int r = 0; r < rows; r += ROWS) narrowTile(w, r * taps, taps, off, x, q, y, r * ld + q, ld);
    }

    /** {@link #tile}'s sums over one vector of columns, in the same order (the same bits). */
    private static void narrowTile(float[] w, int wAt, int taps, int[] off, float[] x, int q, float[] y, int yAt, int ld) {
        FloatVector z = FloatVector.zero(S), c0 = z, c1 = z, c2 = z, c3 = z, c4 = z, c5 = z, c6 = z, c7 = z;
        for (int t = 0, a = wAt; t < taps; t++, a += ROWS) {
            FloatVector b = FloatVector.fromArray(S, x, off[t] + q);
            c0 = FloatVector.broadcast(S, w[a]).fma(b, c0);
            c1 = FloatVector.broadcast(S, w[a + 1]).fma(b, c1);
            c2 = FloatVector.broadcast(S, w[a + 2]).fma(b, c2);
            c3 = FloatVector.broadcast(S, w[a + 3]).fma(b, c3);
            c4 = FloatVector.broadcast(S, w[a + 4]).fma(b, c4);
            c5 = FloatVector.broadcast(S, w[a + 5]).fma(b, c5);
            c6 = FloatVector.broadcast(S, w[a + 6]).fma(b, c6);
            c7 = FloatVector.broadcast(S, w[a + 7]).fma(b, c7);
        }
        c0.intoArray(y, yAt); c1.intoArray(y, yAt + ld); c2.intoArray(y, yAt + 2 * ld); c3.intoArray(y, yAt + 3 * ld);
        c4.intoArray(y, yAt + 4 * ld); c5.intoArray(y, yAt + 5 * ld); c6.intoArray(y, yAt + 6 * ld); c7.intoArray(y, yAt + 7 * ld);
    }

    private static void tile(float[] w, int wAt, int taps, int[] off, float[] x, int q, float[] y, int yAt, int ld) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c02 = z, c10 = z, c11 = z, c12 = z, c20 = z, c21 = z, c22 = z, c30 = z, c31 = z, c32 = z;
        FloatVector c40 = z, c41 = z, c42 = z, c50 = z, c51 = z, c52 = z, c60 = z, c61 = z, c62 = z, c70 = z, c71 = z, c72 = z;
        for (int t = 0, a = wAt; t < taps; t++, a += ROWS) {
            int b = off[t] + q;
            FloatVector b0 = FloatVector.fromArray(S, x, b), b1 = FloatVector.fromArray(S, x, b + L), b2 = FloatVector.fromArray(S, x, b + 2 * L);
            FloatVector v = FloatVector.broadcast(S, w[a]);
            c00 = v.fma(b0, c00); c01 = v.fma(b1, c01); c02 = v.fma(b2, c02);
            v = FloatVector.broadcast(S, w[a + 1]);
            c10 = v.fma(b0, c10); c11 = v.fma(b1, c11); c12 = v.fma(b2, c12);
            v = FloatVector.broadcast(S, w[a + 2]);
            c20 = v.fma(b0, c20); c21 = v.fma(b1, c21); c22 = v.fma(b2, c22);
            v = FloatVector.broadcast(S, w[a + 3]);
            c30 = v.fma(b0, c30); c31 = v.fma(b1, c31); c32 = v.fma(b2, c32);
            v = FloatVector.broadcast(S, w[a + 4]);
            c40 = v.fma(b0, c40); c41 = v.fma(b1, c41); c42 = v.fma(b2, c42);
            v = FloatVector.broadcast(S, w[a + 5]);
            c50 = v.fma(b0, c50); c51 = v.fma(b1, c51); c52 = v.fma(b2, c52);
            v = FloatVector.broadcast(S, w[a + 6]);
            c60 = v.fma(b0, c60); c61 = v.fma(b1, c61); c62 = v.fma(b2, c62);
            v = FloatVector.broadcast(S, w[a + 7]);
            c70 = v.fma(b0, c70); c71 = v.fma(b1, c71); c72 = v.fma(b2, c72);
        }
        c00.intoArray(y, yAt); c01.intoArray(y, yAt + L); c02.intoArray(y, yAt + 2 * L); yAt += ld;   // written out: a helper taking vectors would box them
        c10.intoArray(y, yAt); c11.intoArray(y, yAt + L); c12.intoArray(y, yAt + 2 * L); yAt += ld;
        c20.intoArray(y, yAt); c21.intoArray(y, yAt + L); c22.intoArray(y, yAt + 2 * L); yAt += ld;
        c30.intoArray(y, yAt); c31.intoArray(y, yAt + L); c32.intoArray(y, yAt + 2 * L); yAt += ld;
        c40.intoArray(y, yAt); c41.intoArray(y, yAt + L); c42.intoArray(y, yAt + 2 * L); yAt += ld;
        c50.intoArray(y, yAt); c51.intoArray(y, yAt + L); c52.intoArray(y, yAt + 2 * L); yAt += ld;
        c60.intoArray(y, yAt); c61.intoArray(y, yAt + L); c62.intoArray(y, yAt + 2 * L); yAt += ld;
        c70.intoArray(y, yAt); c71.intoArray(y, yAt + L); c72.intoArray(y, yAt + 2 * L);
    }

    /**
     * sums[r·taps + t] += Σ_{q &lt; cols} dy[r·ld + q] · x[off[t] + q] over the tiles [from, to) of GRAD_ROWS rows ×
     * GRAD_TAPS taps, row-major (taps = off.length, a multiple of GRAD_TAPS); cols is a multiple of the vector length.
     */
    static void weightGradient(float[] dy, int ld, float[] x, int[] off, int cols, float[] sums, int from, int to) {
        int taps = off.length, perRow = taps / GRAD_TAPS;
        for (int i = from; i < to; i++) {
            int r = i / perRow * GRAD_ROWS, t = i % perRow * GRAD_TAPS;
            gradTile(dy, r * ld, ld, x, off, t, cols, sums, r * taps + t, taps);
        }
    }

    private static void gradTile(float[] dy, int dyAt, int ld, float[] x, int[] off, int t, int cols, float[] sums, int at, int taps) {
        FloatVector z = FloatVector.zero(S);
        FloatVector s00 = z, s01 = z, s02 = z, s03 = z, s04 = z, s05 = z, s10 = z, s11 = z, s12 = z, s13 = z, s14 = z, s15 = z;
        FloatVector s20 = z, s21 = z, s22 = z, s23 = z, s24 = z, s25 = z, s30 = z, s31 = z, s32 = z, s33 = z, s34 = z, s35 = z;
        int o0 = off[t], o1 = off[t + 1], o2 = off[t + 2], o3 = off[t + 3], o4 = off[t + 4], o5 = off[t + 5];
        for (int q = 0; q < cols; q += L) {
            FloatVector d0 = FloatVector.fromArray(S, dy, dyAt + q), d1 = FloatVector.fromArray(S, dy, dyAt + ld + q);
            FloatVector d2 = FloatVector.fromArray(S, dy, dyAt + 2 * ld + q), d3 = FloatVector.fromArray(S, dy, dyAt + 3 * ld + q);
            FloatVector v = FloatVector.fromArray(S, x, o0 + q);
            s00 = d0.fma(v, s00); s10 = d1.fma(v, s10); s20 = d2.fma(v, s20); s30 = d3.fma(v, s30);
            v = FloatVector.fromArray(S, x, o1 + q);
            s01 = d0.fma(v, s01); s11 = d1.fma(v, s11); s21 = d2.fma(v, s21); s31 = d3.fma(v, s31);
            v = FloatVector.fromArray(S, x, o2 + q);
            s02 = d0.fma(v, s02); s12 = d1.fma(v, s12); s22 = d2.fma(v, s22); s32 = d3.fma(v, s32);
            v = FloatVector.fromArray(S, x, o3 + q);
            s03 = d0.fma(v, s03); s13 = d1.fma(v, s13); s23 = d2.fma(v, s23); s33 = d3.fma(v, s33);
            v = FloatVector.fromArray(S, x, o4 + q);
            s04 = d0.fma(v, s04); s14 = d1.fma(v, s14); s24 = d2.fma(v, s24); s34 = d3.fma(v, s34);
            v = FloatVector.fromArray(S, x, o5 + q);
            s05 = d0.fma(v, s05); s15 = d1.fma(v, s15); s25 = d2.fma(v, s25); s35 = d3.fma(v, s35);
        }
        float[] lanes = new float[L];   // each sum's lanes added in order (written out: a helper taking vectors would box them)
        sums[at] += lanesSum(s00, lanes); sums[at + 1] += lanesSum(s01, lanes); sums[at + 2] += lanesSum(s02, lanes);
        sums[at + 3] += lanesSum(s03, lanes); sums[at + 4] += lanesSum(s04, lanes); sums[at + 5] += lanesSum(s05, lanes);
        at += taps;
        sums[at] += lanesSum(s10, lanes); sums[at + 1] += lanesSum(s11, lanes); sums[at + 2] += lanesSum(s12, lanes);
        sums[at + 3] += lanesSum(s13, lanes); sums[at + 4] += lanesSum(s14, lanes); sums[at + 5] += lanesSum(s15, lanes);
        at += taps;
        sums[at] += lanesSum(s20, lanes); sums[at + 1] += lanesSum(s21, lanes); sums[at + 2] += lanesSum(s22, lanes);
        sums[at + 3] += lanesSum(s23, lanes); sums[at + 4] += lanesSum(s24, lanes); sums[at + 5] += lanesSum(s25, lanes);
        at += taps;
        sums[at] += lanesSum(s30, lanes); sums[at + 1] += lanesSum(s31, lanes); sums[at + 2] += lanesSum(s32, lanes);
        sums[at + 3] += lanesSum(s33, lanes); sums[at + 4] += lanesSum(s34, lanes); sums[at + 5] += lanesSum(s35, lanes);
    }

    /**
     * rows rows of width floats from src (floats from srcAt, srcStride apart) into dst (from dstAt, dstStride apart):
     * whole vectors, then an 8- and a 4-float one, then single floats (a masked last vector made Glow's 3×3 convs
     * at 8×8 and 4×4 4–16% slower).
     */
    static void copyRows(MemorySegment src, long srcAt, int srcStride, float[] dst, int dstAt, int dstStride, int rows, int width) {
        if (srcStride == width && dstStride == width) {   // one run
            width *= rows;
            rows = 1;
        }
        for (int i = 0; i < rows; i++, srcAt += srcStride, dstAt += dstStride) {
            int x = 0;
            for (; x <= width - L; x += L) FloatVector.fromMemorySegment(S, src, (srcAt + x) * Float.BYTES, ORDER).intoArray(dst, dstAt + x);
            if (width - x >= 8 && L > 8) {
                FloatVector.fromMemorySegment(S8, src, (srcAt + x) * Float.BYTES, ORDER).intoArray(dst, dstAt + x);
                x += 8;
            }
            if (width - x >= 4 && L > 4) {
                FloatVector.fromMemorySegment(S4, src, (srcAt + x) * Float.BYTES, ORDER).intoArray(dst, dstAt + x);
                x += 4;
            }
            for (; x < width; x++) dst[dstAt + x] = src.getAtIndex(ValueLayout.JAVA_FLOAT, srcAt + x);
        }
    }

    /**
     * The same from planes to a tensor. One method over two segments (the planes as a heap segment) made Glow's 3×3
     * convs 10–15% slower, so each direction has its own.
     */
    static void copyRows(float[] src, int srcAt, int srcStride, MemorySegment dst, long dstAt, int dstStride, int rows, int width) {
        if (srcStride == width && dstStride == width) {
            width *= rows;
            rows = 1;
        }
        for (int i = 0; i < rows; i++, srcAt += srcStride, dstAt += dstStride) {
            int x = 0;
            for (; x <= width - L; x += L) FloatVector.fromArray(S, src, srcAt + x).intoMemorySegment(dst, (dstAt + x) * Float.BYTES, ORDER);
            if (width - x >= 8 && L > 8) {
                FloatVector.fromArray(S8, src, srcAt + x).intoMemorySegment(dst, (dstAt + x) * Float.BYTES, ORDER);
                x += 8;
            }
            if (width - x >= 4 && L > 4) {
                FloatVector.fromArray(S4, src, srcAt + x).intoMemorySegment(dst, (dstAt + x) * Float.BYTES, ORDER);
                x += 4;
            }
            for (; x < width; x++) dst.setAtIndex(ValueLayout.JAVA_FLOAT, dstAt + x, src[srcAt + x]);
        }
    }

    /** y[at + q] = relu(y[at + q] + bias) for q &lt; n (a multiple of the vector length), as Kernels#biasRelu computes it. */
    static void biasRelu(float[] y, int at, int n, float bias) {
        FloatVector zero = FloatVector.zero(S);
        for (int q = at; q < at + n; q += L) {
            FloatVector v = FloatVector.fromArray(S, y, q).add(bias);
            zero.blend(v, v.compare(VectorOperators.GT, 0f)).intoArray(y, q);
        }
    }

    /** packed[at + t·ROWS + r] = w[row[r] + col[t]] for r &lt; ROWS, t &lt; col.length: one gather of a panel's 8 rows per tap. */
    static void gatherPanel(float[] w, int[] row, int[] col, float[] packed, int at) {
        for (int t = 0; t < col.length; t++, at += ROWS) FloatVector.fromArray(S8, w, col[t], row, 0).intoArray(packed, at);
    }

    /** The lanes of v summed first to last: reduceLanes's order may differ between the JIT's tiers, and so its bits. */
    private static float lanesSum(FloatVector v, float[] lanes) {
        v.intoArray(lanes, 0);
        float sum = 0;
        for (float x : lanes) sum += x;
        return sum;
    }
}
