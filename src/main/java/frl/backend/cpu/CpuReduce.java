package frl.backend.cpu;

import frl.backend.Shapes;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/** Sums down to a broadcast source shape, broadcasts up to a shape, and log-sum-exp over one axis. */
final class CpuReduce {
    private CpuReduce() {}

    /**
     * Each parallel chunk of x adds its runs into its own double accumulator of the output's size; the
     * partial sums are then added in chunk order, so the result does not depend on thread timing. There are
     * at most x.numel / out.numel chunks, so the accumulators never hold more numbers than x.
     */
    static Tensor sumTo(Tensor x, Shape shape) {
        Shapes.requireBroadcastable("sumTo", shape, x.shape());
        Tensor out = CpuBackend.alloc(shape);
        if (shape.numel() == x.numel()) {   // nothing to sum (autograd asks this of every same-shape binary op)
            MemorySegment.copy(x.segment(), 0, out.segment(), 0, x.numel() * 4);
            return out;
        }
        BroadcastWalk walk = new BroadcastWalk(x.shape(), shape, null);
        boolean summedRuns = walk.repeatsA();   // a run of x adds into one output element, else into a run of them
        int axis = BroadcastWalk.channelAxis(x.shape(), shape);
        long run = axis < 0 || !summedRuns ? 0 : x.shape().size(axis + 1, x.shape().rank());   // one sum per channel: runs of this in turn
        MemorySegment xs = x.segment();
        Kernels k = Kernels.active();
        int size = (int) out.numel(), chunks = (int) Math.min(Chunks.count(x.numel()), Math.max(1, x.numel() / Math.max(1, size)));
        double[][] partial = new double[chunks][];
        Chunks.run(x.numel(), chunks, (c, from, to) -> {
            double[] acc = partial[c] = new double[size];
            if (run > 0) {   // the walk's runs, without its ~20 ns a run (Glow's actnorm sums 16-pixel runs)
                for (long pos = from, end; pos < to; pos = end) {
                    end = Math.min((pos / run + 1) * run, to);
                    acc[(int) (pos / run % size)] += k.sum(xs, pos, (int) (end - pos));
                }
            } else {
                walk.walk(from, to, (pos, o, unused, n) -> {
                    if (summedRuns) acc[(int) o] += k.sum(xs, pos, n);
                    else k.accumulate(acc, (int) o, xs, pos, n);
                });
            }
        });
        MemorySegment os = out.segment();
        for (int i = 0; i < size; i++) {
            double s = 0;
            for (double[] p : partial) s += p[i];
            os.setAtIndex(JAVA_FLOAT, i, (float) s);
        }
        return out;
    }

    static Tensor broadcastTo(Tensor x, Shape shape) {
        Shapes.requireBroadcastable("broadcastTo", x.shape(), shape);
        Tensor out = CpuBackend.alloc(shape);
        BroadcastWalk walk = new BroadcastWalk(shape, x.shape(), null);
        boolean repeat = walk.repeatsA();
        MemorySegment xs = x.segment(), os = out.segment();
        Chunks.run(out.numel(), (from, to) -> walk.walk(from, to, (pos, xo, unused, n) -> {
            if (repeat) CpuPointwise.fill(os, pos, pos + n, xs.getAtIndex(JAVA_FLOAT, xo));
            else MemorySegment.copy(xs, xo * 4, os, pos * 4, n * 4L);
        }));
        return out;
    }

    /** Max-shifted; a position whose inputs are all −∞ gives −∞, one with a +∞ input gives +∞. */
    static Tensor logSumExp(Tensor x, int axis) {
        int[] view = Shapes.aroundAxis(x.shape(), axis);
        Tensor out = CpuBackend.alloc(x.shape().with(axis, 1));
        MemorySegment os = out.segment();
        SoftmaxBlocks.forEach(Kernels.active(), x.segment(), view, (st, base, pos, n) -> {
            for (int j = 0; j < n; j++) os.setAtIndex(JAVA_FLOAT, pos + j, (float) st.logSumExp(j));
        });
        return out;
    }
}
