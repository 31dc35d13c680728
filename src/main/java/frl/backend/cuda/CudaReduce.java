package frl.backend.cuda;

import frl.backend.Shapes;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.util.Arrays;

/**
 * Sums down to a broadcast source shape, broadcasts up to a shape, and log-sum-exp over one axis
 * (src/main/cuda/reduce.cu; CPU twin: CpuReduce). Sums accumulate in double like the CPU's, in a fixed order
 * (no atomics), so every result is deterministic.
 */
final class CudaReduce {
    private static final String FAMILY = "reduce";
    private static final Kernel SUM_TO_BLOCKS = new Kernel(FAMILY, "sum_to_blocks", "ppiiiiaa");
    private static final Kernel SUM_TO_PARTIALS = new Kernel(FAMILY, "sum_to_partials", "ppiiiiaa");
    private static final Kernel SUM_PARTIALS = new Kernel(FAMILY, "sum_partials", "ppii");
    private static final Kernel RELU_SUM_TO_BLOCKS = new Kernel(FAMILY, "relu_backward_sum_to_blocks", "ppppiiiiaa");
    private static final Kernel BROADCAST_TO = new Kernel(FAMILY, "broadcast_to", "ppla");
    private static final Kernel LSE_BLOCKS = new Kernel(FAMILY, "lse_blocks", "ppiii");
    private static final Kernel LSE_THREADS = new Kernel(FAMILY, "lse_threads", "ppiii");
    /** Most blocks of the block-per-item kernels (they loop grid-stride over the rest). */
    private static final int MAX_GRID = 65535;
    /** Threads the partial sums aim for: enough to fill the GPU when the output is small. */
    private static final int PARTIAL_THREADS = 1 << 16;
    /** Blocks the block sums aim for, each adding at least BLOCK_CHUNK floats (16 per thread). */
    private static final int BLOCK_TARGET = 1024, BLOCK_CHUNK = 4096;
    /** A summed innermost run at least this long is added by blocks (a warp reads 32 floats in one go). */
    private static final int WARP = 32;
    /** logSumExp takes a thread per position from this many positions (with short or strided class axes). */
    private static final int THREAD_POSITIONS = 4096;

    private CudaReduce() {}

    /**
     * How sumTo runs: x's merged axes split into kept ones (the output's, in its order) and summed ones, as
     * FrlInts with x's strides. The summed positions of each output are split into {@code chunks} chunks; each
     * (chunk, output) pair writes a double partial, and a second kernel adds the partials in chunk order.
     * {@code blocks}: x's innermost axis is summed in runs of at least a warp (or shorter ones, {@link #shortRunsByBlocks}),
     * so a block takes each pair, its threads striding along the runs; otherwise a thread takes each pair (consecutive
     * outputs are then consecutive floats).
     */
    record SumPlan(int outN, int rows, int[] kept, int[] summed, boolean blocks, int chunk, int chunks) {}

    /** The plan for x of shape {@code x} summed to {@code target}: both non-empty, of different sizes. */
    static SumPlan sumPlan(String op, Shape x, Shape target) {
        int outN = IndexSpace.toInt(op, target.numel());
        IndexSpace.toInt(op, x.numel());
        IndexSpace s = IndexSpace.of(x, target);
        long[] xStrides = s.denseStrides(), t = s.strides[0];
        int r = s.rank(), nk = 0, ns = 0;
        int[] keptDims = new int[r], sumDims = new int[r];
        long[] keptStrides = new long[r], keptTarget = new long[r], sumStrides = new long[r];
        for (int k = 0; k < r; k++) {
            if (t[k] != 0) {
                keptDims[nk] = s.dims[k];
                keptTarget[nk] = t[k];
                keptStrides[nk++] = xStrides[k];
            } else {
                sumDims[ns] = s.dims[k];
                sumStrides[ns++] = xStrides[k];
            }
        }
        keptDims = Arrays.copyOf(keptDims, nk);
        if (!Arrays.equals(Arrays.copyOf(keptTarget, nk), IndexSpace.denseStrides(keptDims)))
            throw new IllegalStateException(op + ": kept axes " + Arrays.toString(keptDims) + " are not laid out as the output");
        int[] kept = IndexSpace.pack(op, keptDims, Arrays.copyOf(keptStrides, nk));
        int[] summed = IndexSpace.pack(op, Arrays.copyOf(sumDims, ns), Arrays.copyOf(sumStrides, ns));
        int rows = (int) (x.numel() / outN);
        boolean blocks = t[r - 1] == 0 && (s.dims[r - 1] >= WARP || shortRunsByBlocks() && rows >= Kernel.BLOCK);
        int chunks = (int) Math.max(1, blocks ? Math.min(ceilDiv(BLOCK_TARGET, outN), ceilDiv(rows, BLOCK_CHUNK))
                : Math.min(rows, ceilDiv(PARTIAL_THREADS, outN)));
        int chunk = (int) ceilDiv(rows, chunks);
        return new SumPlan(outN, rows, kept, summed, blocks, chunk, (int) ceilDiv(rows, chunk));
    }

    /**
     * -Dfrl.cuda.sumBlocks: where x's innermost axis is summed, add by blocks only where its runs are a warp long (warp,
     * the default until a GPU has run the other) or also where they are shorter but each output sums a block's worth
     * of positions (any): the channel sums of 4×4 planes (Glow's and the VAE's bias gradients), which by threads are
     * 1,024 partials an output that one thread then adds in turn (46 µs for [64, 64, 4, 4] on the H200, 2026-11-28).
     */
    static boolean shortRunsByBlocks() { return CudaFlags.oneOf("frl.cuda.sumBlocks", "warp", "warp", "any").equals("any"); }

    static Tensor sumTo(Tensor x, Shape shape) {
        Shapes.requireBroadcastable("sumTo", shape, x.shape());
        if (shape.numel() == x.numel()) return CudaPointwise.copyOf(x, shape);   // nothing to sum
        Tensor out = CudaBackend.alloc(shape);
        if (out.numel() == 0) return out;
        if (x.numel() == 0) {
            CudaPointwise.fill(out, 0);
            return out;
        }
        SumPlan p = sumPlan("sumTo " + x.shape() + " → " + shape, x.shape(), shape);
        try (DeviceStorage partial = new DeviceStorage(CudaContext.get(), (long) p.chunks() * p.outN() * Double.BYTES)) {
            launchSumTo(p, x, partial.address(), out); // freed into the cache once queued: only work queued later can reuse it
        }
        return out;
    }

    /**
     * Backend#biasReluBackward in two launches, {dz, dbias}, where sumTo would add the channels by blocks: ReLU's
     * backward written as the partial sums read it, then the partials added (the composed ops' bits, one pass over
     * dz fewer); else null (the composed ops).
     */
    static Tensor[] reluBackwardSumTo(Tensor y, Tensor dy) {
        Shapes.requireSameShape("biasReluBackward", y, dy);
        Shape channel = Shapes.channelAxis(y.shape());
        if (y.numel() == 0 || channel.numel() == y.numel()) return null;
        SumPlan p = sumPlan("biasReluBackward " + y.shape(), y.shape(), channel);
        if (!p.blocks()) return null;
        Tensor dz = CudaBackend.alloc(y.shape()), dbias = CudaBackend.alloc(Shape.of(y.dim(1)));
        try (DeviceStorage partial = new DeviceStorage(CudaContext.get(), (long) p.chunks() * p.outN() * Double.BYTES)) {
            launchReluBackwardSumTo(p, y, dy, dz, partial.address(), dbias);
        }
        return new Tensor[] {dz, dbias};
    }

    /** Its two launches over tensors or device addresses (a plan that adds by blocks). */
    static void launchReluBackwardSumTo(SumPlan p, Object y, Object dy, Object dz, long partial, Object out) {
        long partials = (long) p.chunks() * p.outN();
        RELU_SUM_TO_BLOCKS.launch((int) Math.min(partials, MAX_GRID), 1, 1, Kernel.BLOCK, 1, 1, 0,
                y, dy, dz, partial, p.outN(), p.rows(), p.chunk(), p.chunks(), p.kept(), p.summed());
        SUM_PARTIALS.launchN(p.outN(), partial, out, p.outN(), p.chunks());
    }

    /** A plan's two launches over tensors or device addresses: the partial sums (chunks · outN doubles at partial), then out. */
    static void launchSumTo(SumPlan p, Object x, long partial, Object out) {
        long partials = (long) p.chunks() * p.outN();
        Object[] args = {x, partial, p.outN(), p.rows(), p.chunk(), p.chunks(), p.kept(), p.summed()};
        if (p.blocks()) SUM_TO_BLOCKS.launch((int) Math.min(partials, MAX_GRID), 1, 1, Kernel.BLOCK, 1, 1, 0, args);
        else SUM_TO_PARTIALS.launchN(partials, args);
        SUM_PARTIALS.launchN(p.outN(), partial, out, p.outN(), p.chunks());
    }

    private static long ceilDiv(long a, long b) { return (a + b - 1) / b; }

    static Tensor broadcastTo(Tensor x, Shape shape) {
        Shapes.requireBroadcastable("broadcastTo", x.shape(), shape);
        if (x.numel() == shape.numel()) return CudaPointwise.copyOf(x, shape);   // only size-1 axes added
        String op = "broadcastTo " + x.shape() + " → " + shape;
        Tensor out = CudaBackend.alloc(shape);
        long n = out.numel();
        if (n == 0) return out;
        IndexSpace.toInt(op, n);
        BROADCAST_TO.launchN(n, x, out, n, IndexSpace.of(shape, x.shape()).pack(op));
        return out;
    }

    /** Max-shifted; a position whose inputs are all −∞ gives −∞, one with a +∞ input gives +∞ (as the CPU's). */
    static Tensor logSumExp(Tensor x, int axis) {
        int[] view = Shapes.aroundAxis(x.shape(), axis);
        Tensor out = CudaBackend.alloc(x.shape().with(axis, 1));
        int positions = IndexSpace.toInt("logSumExp " + x.shape(), out.numel()), classes = view[1], inner = view[2];
        if (positions == 0) return out;
        if (classes == 0) {
            CudaPointwise.fill(out, Float.NEGATIVE_INFINITY);
            return out;
        }
        launchLogSumExp(x, out, positions, classes, inner);
        return out;
    }

    /** logSumExp's launch over tensors or device addresses: a thread per position where there are many, else a block per position. */
    static void launchLogSumExp(Object x, Object out, int positions, int classes, int inner) {
        if (positions >= THREAD_POSITIONS && (inner > 1 || classes <= WARP))
            LSE_THREADS.launchN(positions, x, out, positions, classes, inner);
        else
            LSE_BLOCKS.launch(Math.min(positions, MAX_GRID), 1, 1, Kernel.BLOCK, 1, 1, 0, x, out, positions, classes, inner);
    }
}
