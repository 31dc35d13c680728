package frl.backend.cuda;

import frl.tensor.Shape;

import java.util.Arrays;

/**
 * A row-major index space with operands that broadcast into it, for the strided kernels: size-1 axes are
 * dropped and neighbouring axes laid out alike in every operand are merged (a same-shape op becomes one axis,
 * [1,C,1,1] against [N,C,H,W] becomes [N, C, H·W] with strides [0, 1, 0]). {@link #pack} writes dims and
 * strides as the FrlInts that native/include/frl_index.cuh reads.
 */
final class IndexSpace {
    static final int MAX_RANK = 8;
    /** Merged dims, outermost first; at least one axis ([1] for a single element). */
    final int[] dims;
    /** strides[k][axis]: operand k's element strides over the merged axes, 0 where it broadcasts. */
    final long[][] strides;

    private IndexSpace(int[] dims, long[][] strides) {
        this.dims = dims;
        this.strides = strides;
    }

    /** The space of shape {@code space}; each operand must broadcast to it (checked by the caller). */
    static IndexSpace of(Shape space, Shape... operands) {
        int r = space.rank(), m = operands.length;
        long[][] own = new long[m][];
        for (int k = 0; k < m; k++) own[k] = broadcastStrides(space, operands[k]);
        int[] d = new int[Math.max(r, 1)];
        long[][] st = new long[m][d.length];
        int n = 0;
        for (int i = 0; i < r; i++) {
            int size = space.dim(i);
            if (size == 1) continue;
            boolean merge = n > 0;
            for (int k = 0; merge && k < m; k++) merge = st[k][n - 1] == own[k][i] * size;
            if (merge) {
                d[n - 1] *= size;
                for (int k = 0; k < m; k++) st[k][n - 1] = own[k][i];
            } else {
                d[n] = size;
                for (int k = 0; k < m; k++) st[k][n] = own[k][i];
                n++;
            }
        }
        if (n == 0) d[n++] = 1;
        long[][] strides = new long[m][];
        for (int k = 0; k < m; k++) strides[k] = Arrays.copyOf(st[k], n);
        return new IndexSpace(Arrays.copyOf(d, n), strides);
    }

    /** Element strides of {@code s} over the axes of {@code space} (right-aligned, 0 where s has size 1 or no axis). */
    private static long[] broadcastStrides(Shape space, Shape s) {
        long[] own = s.strides(), out = new long[space.rank()];
        int shift = space.rank() - s.rank();
        for (int i = Math.max(0, shift); i < out.length; i++) out[i] = s.dim(i - shift) == 1 ? 0 : own[i - shift];
        return out;
    }

    int rank() { return dims.length; }

    /** Row-major strides of the merged dims: what a dense tensor of the whole space has. */
    long[] denseStrides() { return denseStrides(dims); }

    static long[] denseStrides(int[] dims) {
        long[] s = new long[dims.length];
        long acc = 1;
        for (int i = dims.length - 1; i >= 0; i--) { s[i] = acc; acc *= dims[i]; }
        return s;
    }

    /** True when operand k covers the whole space densely (no broadcast axis). */
    boolean dense(int k) { return Arrays.equals(strides[k], denseStrides()); }

    /**
     * When operand k is one value per index of a single axis and its strides there are 1 (a per-channel
     * vector, a scalar, a row repeated over the outer axes), {inner, count}: the operand's element at
     * position i is (i / inner) % count. Otherwise null.
     */
    long[] singleAxis(int k) {
        int axis = -1;
        for (int i = 0; i < dims.length; i++) {
            if (strides[k][i] == 0) continue;
            if (axis >= 0 || strides[k][i] != 1) return null;
            axis = i;
        }
        if (axis < 0) return new long[] {1, 1};
        long inner = 1;
        for (int i = axis + 1; i < dims.length; i++) inner *= dims[i];
        return new long[] {inner, dims[axis]};
    }

    /** This space as FrlInts with the strides of operands 0 and (when present) 1. */
    int[] pack(String op) { return pack(op, dims, strides); }

    /**
     * FrlInts for frl_index.cuh: rank, dims, and up to two per-axis lists (strides, or another per-axis
     * quantity). Rejects ranks over {@value #MAX_RANK} and values that do not fit the kernels' 32-bit ints.
     */
    static int[] pack(String op, int[] dims, long[]... lists) {
        if (dims.length > MAX_RANK)
            throw new IllegalArgumentException(op + ": the cuda kernels take at most " + MAX_RANK + " axes after merging, got " + dims.length + " " + Arrays.toString(dims));
        if (lists.length > 2) throw new IllegalArgumentException(op + ": at most two per-axis lists, got " + lists.length);
        int[] v = new int[1 + 3 * MAX_RANK];
        v[0] = dims.length;
        for (int i = 0; i < dims.length; i++) v[1 + i] = dims[i];
        for (int k = 0; k < lists.length; k++) {
            if (lists[k].length != dims.length) throw new IllegalArgumentException(op + ": list " + k + " has " + lists[k].length + " entries for " + dims.length + " axes");
            for (int i = 0; i < dims.length; i++) v[1 + MAX_RANK * (k + 1) + i] = toInt(op, lists[k][i]);
        }
        return v;
    }

    /** A count or stride as the kernels' int, or an error naming the op. */
    static int toInt(String op, long value) {
        if (value > Integer.MAX_VALUE || value < Integer.MIN_VALUE)
            throw new IllegalArgumentException(op + ": " + value + " does not fit the cuda kernels' 32-bit indices (tensors of at most 2^31 - 1 elements)");
        return (int) value;
    }
}
