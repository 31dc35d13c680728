package frl.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector-API micro-kernel of {@link JavaGemm}: a 6 × (2 vectors) tile held in twelve accumulators, each
 * step one broadcast of A times two vector loads of B. Loaded only when jdk.incubator.vector is present.
 */
final class JavaGemmVector implements JavaGemm.Kernel {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length(), MR = 6, NR = 2 * L;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    @Override public int mr() { return MR; }

    @Override public int nr() { return NR; }

    @Override public String describe() { return "Vector API " + S.vectorBitSize() + "-bit " + MR + "×" + NR + " kernel"; }

    @Override public void run(int kc, float[] a, int aOff, float[] b, int bOff, float alpha, MemorySegment c, long cOff, int ldc, int rows, int cols) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
        for (int p = 0, ai = aOff, bi = bOff; p < kc; p++, ai += MR, bi += NR) {
            FloatVector b0 = FloatVector.fromArray(S, b, bi), b1 = FloatVector.fromArray(S, b, bi + L);
            FloatVector av = FloatVector.broadcast(S, a[ai]);
            c00 = av.fma(b0, c00); c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[ai + 1]);
            c10 = av.fma(b0, c10); c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, a[ai + 2]);
            c20 = av.fma(b0, c20); c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, a[ai + 3]);
            c30 = av.fma(b0, c30); c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, a[ai + 4]);
            c40 = av.fma(b0, c40); c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(S, a[ai + 5]);
            c50 = av.fma(b0, c50); c51 = av.fma(b1, c51);
        }
        if (rows == MR && cols == NR) {   // full tile: straight into C (written out so no accumulator is boxed)
            FloatVector al = FloatVector.broadcast(S, alpha);
            long r = cOff * Float.BYTES, step = (long) ldc * Float.BYTES, h = (long) L * Float.BYTES;
            addTo(c00, al, c, r); addTo(c01, al, c, r + h); r += step;
            addTo(c10, al, c, r); addTo(c11, al, c, r + h); r += step;
            addTo(c20, al, c, r); addTo(c21, al, c, r + h); r += step;
            addTo(c30, al, c, r); addTo(c31, al, c, r + h); r += step;
            addTo(c40, al, c, r); addTo(c41, al, c, r + h); r += step;
            addTo(c50, al, c, r); addTo(c51, al, c, r + h);
        } else {                          // an edge tile: spill, then add the valid part
            float[] tile = new float[MR * NR];
            c00.intoArray(tile, 0); c01.intoArray(tile, L); c10.intoArray(tile, 2 * L); c11.intoArray(tile, 3 * L);
            c20.intoArray(tile, 4 * L); c21.intoArray(tile, 5 * L); c30.intoArray(tile, 6 * L); c31.intoArray(tile, 7 * L);
            c40.intoArray(tile, 8 * L); c41.intoArray(tile, 9 * L); c50.intoArray(tile, 10 * L); c51.intoArray(tile, 11 * L);
            JavaGemm.addTile(tile, NR, alpha, c, cOff, ldc, rows, cols);
        }
    }

    /** C[at..at+L) += alpha · acc. */
    private static void addTo(FloatVector acc, FloatVector alpha, MemorySegment c, long at) {
        acc.fma(alpha, FloatVector.fromMemorySegment(S, c, at, ORDER)).intoMemorySegment(c, at, ORDER);
    }
}
