package frl.backend.cpu;

import frl.tensor.Shape;

import java.util.Arrays;

/**
 * Walks a row-major index space in runs along its innermost axis, tracking where each run starts in up to
 * two operands that broadcast into the space (stride 0 on their broadcast axes). Axes laid out alike in every
 * operand are merged first: a same-shape op is one run, and [1,C,1,1] against [N,C,H,W] is N·C runs of H·W
 * along which the small operand repeats one value.
 */
final class BroadcastWalk {
    /** One run: n elements from position pos of the space; operands start at a and b. */
    @FunctionalInterface
    interface Run { void run(long pos, long a, long b, int n); }

    private final int[] dims;
    private final long[] strideA, strideB;

    /** {@code b} may be null (one operand). Both must broadcast to {@code space}. */
    BroadcastWalk(Shape space, Shape a, Shape b) {
        int r = space.rank();
        long[] sa = strides(space, a), sb = b == null ? new long[r] : strides(space, b);
        int[] d = new int[Math.max(r, 1)];
        long[] ma = new long[d.length], mb = new long[d.length];
        int k = 0;
        for (int i = 0; i < r; i++) {
            int n = space.dim(i);
            if (n == 1) continue;
            if (k > 0 && ma[k - 1] == sa[i] * n && mb[k - 1] == sb[i] * n) {
                d[k - 1] *= n;
                ma[k - 1] = sa[i];
                mb[k - 1] = sb[i];
            } else {
                d[k] = n;
                ma[k] = sa[i];
                mb[k] = sb[i];
                k++;
            }
        }
        if (k == 0) d[k++] = 1;
        dims = Arrays.copyOf(d, k);
        strideA = Arrays.copyOf(ma, k);
        strideB = Arrays.copyOf(mb, k);
    }

    /**
     * The axis of {@code space} along which {@code small} (right-aligned to it) holds one value per index, every
     * other of its dims 1, as [1, C, 1, 1] to [N, C, H, W]; −1 if it is not so, or is a single value.
     */
    static int channelAxis(Shape space, Shape small) {
        int axis = -1, shift = space.rank() - small.rank();
        if (shift < 0) return -1;
        for (int i = 0; i < small.rank(); i++) {
            if (small.dim(i) == 1) continue;
            if (axis >= 0 || small.dim(i) != space.dim(i + shift)) return -1;
            axis = i + shift;
        }
        return axis;
    }

    /** Element strides of operand {@code s} over the axes of {@code space} (right-aligned, 0 where broadcast). */
    private static long[] strides(Shape space, Shape s) {
        long[] own = s.strides(), out = new long[space.rank()];
        int shift = space.rank() - s.rank();
        for (int i = shift; i < out.length; i++) out[i] = s.dim(i - shift) == 1 ? 0 : own[i - shift];
        return out;
    }

    /** True when operand a repeats one value along each run (else it runs with stride 1). */
    boolean repeatsA() { return strideA[dims.length - 1] == 0; }

    boolean repeatsB() { return strideB[dims.length - 1] == 0; }

    /** Calls body for each run covering positions [from, to) of the space. */
    void walk(long from, long to, Run body) {
        if (from >= to) return;
        int last = dims.length - 1;
        int[] idx = new int[dims.length];
        long rest = from;
        for (int i = last; i >= 0; i--) { idx[i] = (int) (rest % dims[i]); rest /= dims[i]; }
        for (long pos = from; pos < to; ) {
            long a = 0, b = 0;
            for (int i = 0; i <= last; i++) { a += idx[i] * strideA[i]; b += idx[i] * strideB[i]; }
            int n = (int) Math.min(dims[last] - idx[last], to - pos);
            body.run(pos, a, b, n);
            pos += n;
            idx[last] += n;
            for (int i = last; i > 0 && idx[i] == dims[i]; i--) { idx[i] = 0; idx[i - 1]++; }
        }
    }
}
