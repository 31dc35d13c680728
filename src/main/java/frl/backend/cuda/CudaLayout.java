package frl.backend.cuda;

import frl.backend.Shapes;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.util.Arrays;

/**
 * Concat, narrow, pad and Glow's squeeze (src/main/cuda/layout.cu; CPU twin: CpuLayout). Concat and narrow
 * move runs that are contiguous in both tensors; pad and the squeeze compute each output element's source.
 */
final class CudaLayout {
    private static final String FAMILY = "layout";
    private static final Kernel COPY_ROWS = new Kernel(FAMILY, "copy_rows", "ppiillll");
    private static final Kernel PAD = new Kernel(FAMILY, "pad", "ppiaf");
    private static final Kernel SQUEEZE = new Kernel(FAMILY, "squeeze", "ppiiiii");

    private CudaLayout() {}

    /**
     * rows runs of run floats from src (row stride srcRow, first at srcOff) to dst (dstRow, dstOff), tensors or device
     * addresses.
     */
    static void copyRows(String op, Object src, Object dst, long rows, long run, long srcRow, long srcOff, long dstRow, long dstOff) {
        long n = rows * run;
        if (n == 0) return;
        IndexSpace.toInt(op, n);
        COPY_ROWS.launchN(n, src, dst, (int) rows, (int) run, srcRow, srcOff, dstRow, dstOff);
    }

    /** Each input, seen as [outer, d_k·inner], is one contiguous run per outer index in the output. */
    static Tensor concat(Tensor[] xs, int axis) {
        Shape outShape = Shapes.concat(xs, axis);
        int a = outShape.axis(axis);
        Tensor out = CudaBackend.alloc(outShape);
        long outer = outShape.size(0, a), inner = outShape.size(a + 1, outShape.rank()), outRow = outShape.dim(a) * inner;
        long offset = 0;
        for (Tensor x : xs) {
            long run = x.dim(a) * inner;
            copyRows("concat", x, out, outer, run, run, 0, outRow, offset);
            offset += run;
        }
        return out;
    }

    /** Per outer index, one contiguous run of length·inner elements. */
    static Tensor narrow(Tensor x, int axis, int start, int length) {
        Shape outShape = Shapes.narrow(x.shape(), axis, start, length);
        int a = outShape.axis(axis);
        Tensor out = CudaBackend.alloc(outShape);
        long outer = outShape.size(0, a), inner = outShape.size(a + 1, outShape.rank()), run = length * inner;
        copyRows("narrow", x, out, outer, run, x.dim(a) * inner, start * inner, run, 0);
        return out;
    }

    /** One thread per output element, reading its source or writing value (layout.cu). */
    static Tensor pad(Tensor x, int[] before, int[] after, float value) {
        Shape outShape = Shapes.pad(x.shape(), before, after);
        boolean padded = false;
        for (int i = 0; i < before.length; i++) padded |= before[i] != 0 || after[i] != 0;
        if (!padded) return CudaPointwise.copyOf(x, outShape);
        Tensor out = CudaBackend.alloc(outShape);
        long n = out.numel();
        if (n == 0) return out;
        launchPad(x, out, x.shape(), before, outShape, value);
        return out;
    }

    /** The pad kernel over tensors or device addresses: out of shape os (non-empty) from x of shape xs. */
    static void launchPad(Object x, Object out, Shape xs, int[] before, Shape os, float value) {
        long n = os.numel();
        String op = "pad " + xs + " → " + os;
        IndexSpace.toInt(op, n);
        PAD.launchN(n, x, out, (int) n, padSpace(op, xs, before, os), value);
    }

    /**
     * The pad kernel's FrlInts: the output's dims, the padding before each axis (list 0), the input's dims
     * (list 1). An axis without padding merges into the one before it (sizes and the padding before scale by
     * its size), so only padded axes, and the first, count towards the rank limit.
     */
    static int[] padSpace(String op, Shape x, int[] before, Shape outShape) {
        int r = x.rank(), k = 0;
        int[] outDims = new int[Math.max(r, 1)];
        long[] pre = new long[outDims.length], inDims = new long[outDims.length];
        for (int i = 0; i < r; i++) {
            int d = x.dim(i);
            boolean unpadded = outShape.dim(i) == d && before[i] == 0;
            if (k > 0 && unpadded) {
                outDims[k - 1] = IndexSpace.toInt(op, (long) outDims[k - 1] * d);
                pre[k - 1] *= d;
                inDims[k - 1] *= d;
            } else {
                outDims[k] = outShape.dim(i);
                pre[k] = before[i];
                inDims[k] = d;
                k++;
            }
        }
        return IndexSpace.pack(op, Arrays.copyOf(outDims, k), Arrays.copyOf(pre, k), Arrays.copyOf(inDims, k));
    }

    static Tensor spaceToDepth(Tensor x, int f) {
        Tensor out = CudaBackend.alloc(Shapes.spaceToDepth(x.shape(), f));
        squeeze(out, x, f, true);
        return out;
    }

    static Tensor depthToSpace(Tensor x, int f) {
        Tensor out = CudaBackend.alloc(Shapes.depthToSpace(x.shape(), f));
        squeeze(x, out, f, false);
        return out;
    }

    /** Between the depth layout [N, C·f², Ho, Wo] and the space layout [N, C, Ho·f, Wo·f] (see layout.cu). */
    private static void squeeze(Tensor depth, Tensor space, int f, boolean toDepth) {
        long n = depth.numel();
        if (n == 0) return;
        if (f == 1) {
            if (toDepth) CudaPointwise.copy(space, depth);
            else CudaPointwise.copy(depth, space);
            return;
        }
        launchSqueeze(depth, space, depth.shape(), f, toDepth);
    }

    /** The squeeze kernel over tensors or device addresses, depth of shape ds (non-empty), f > 1. */
    static void launchSqueeze(Object depth, Object space, Shape ds, int f, boolean toDepth) {
        long n = ds.numel();
        IndexSpace.toInt("squeeze ↔ " + ds, n);
        SQUEEZE.launchN(n, depth, space, (int) n, f, ds.dim(2), ds.dim(3), toDepth ? 1 : 0);
    }
}
