package frl.backend.cpu;

import frl.backend.ConvGeometry;
import frl.backend.Shapes;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Concat, narrow, pad and Glow's squeeze on dense row-major float32 tensors. Whatever is contiguous in both
 * tensors moves as one MemorySegment.copy; only the squeeze, whose innermost run has stride f, moves
 * element by element.
 */
final class CpuLayout {
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT;
    private static final long F = Float.BYTES;
    /** Elements per parallel chunk below which a loop stays on one thread. */
    private static final int GRAIN = 1 << 15;

    private CpuLayout() {}

    /** Each input, seen as [outer, d_k·inner], is one contiguous run per outer index in the output. */
    static Tensor concat(Tensor[] xs, int axis) {
        Shape outShape = Shapes.concat(xs, axis);
        int a = outShape.axis(axis);
        Tensor out = CpuBackend.alloc(outShape);
        int outer = (int) outShape.size(0, a);
        long inner = outShape.size(a + 1, outShape.rank()), outRow = outShape.dim(a) * inner;
        MemorySegment dst = out.segment();
        long offset = 0;
        for (Tensor x : xs) {
            long run = x.dim(a) * inner, start = offset;
            MemorySegment src = x.segment();
            Parallel.forRange(outer, rowGrain(run), (from, to) -> {
                for (int o = from; o < to; o++) MemorySegment.copy(src, o * run * F, dst, (o * outRow + start) * F, run * F);
            });
            offset += run;
        }
        return out;
    }

    /** Per outer index, one contiguous run of length·inner elements. */
    static Tensor narrow(Tensor x, int axis, int start, int length) {
        Shape outShape = Shapes.narrow(x.shape(), axis, start, length);
        int a = outShape.axis(axis);
        Tensor out = CpuBackend.alloc(outShape);
        int outer = (int) outShape.size(0, a);
        long inner = outShape.size(a + 1, outShape.rank()), run = length * inner, inRow = x.dim(a) * inner;
        MemorySegment src = x.segment(), dst = out.segment();
        Parallel.forRange(outer, rowGrain(run), (from, to) -> {
            for (int o = from; o < to; o++) MemorySegment.copy(src, (o * inRow + start * inner) * F, dst, o * run * F, run * F);
        });
        return out;
    }

    /**
     * Fills the output with {@code value}, then copies the input in runs: the axes after the last padded one
     * are unchanged, so each run covers that axis and everything inside it.
     */
    static Tensor pad(Tensor x, int[] before, int[] after, float value) {
        Shape outShape = Shapes.pad(x.shape(), before, after);
        Tensor out = CpuBackend.alloc(outShape);
        MemorySegment src = x.segment(), dst = out.segment();
        int k = x.rank() - 1;
        while (k >= 0 && before[k] == 0 && after[k] == 0) k--;
        if (k < 0) {
            MemorySegment.copy(src, 0, dst, 0, x.numel() * F);
            return out;
        }
        fill(dst, out.numel(), value);
        int lastPadded = k;
        long inner = x.shape().size(k + 1, x.rank()), run = x.dim(k) * inner;
        int[] inDims = x.shape().dims();
        long[] outStrides = outShape.strides();
        long shift = before[k] * inner;
        Parallel.forRange((int) x.shape().size(0, k), rowGrain(run), (from, to) -> {
            for (int r = from; r < to; r++) {
                long o = shift, rest = r;
                for (int i = lastPadded - 1; i >= 0; i--) {
                    o += (rest % inDims[i] + before[i]) * outStrides[i];
                    rest /= inDims[i];
                }
                MemorySegment.copy(src, r * run * F, dst, o * F, run * F);
            }
        });
        return out;
    }

    private static void fill(MemorySegment dst, long n, float value) {
        if (Float.floatToRawIntBits(value) == 0) {
            dst.fill((byte) 0);
            return;
        }
        Parallel.forRange((int) n, GRAIN, (from, to) -> {
            for (int i = from; i < to; i++) dst.setAtIndex(FLOAT, i, value);
        });
    }

    static Tensor spaceToDepth(Tensor x, int f) {
        Tensor out = CpuBackend.alloc(Shapes.spaceToDepth(x.shape(), f));
        squeeze(out, x, f, true);
        return out;
    }

    static Tensor depthToSpace(Tensor x, int f) {
        Tensor out = CpuBackend.alloc(Shapes.depthToSpace(x.shape(), f));
        squeeze(x, out, f, false);
        return out;
    }

    /**
     * Moves between the depth layout [N, C·f², Ho, Wo] and the space layout [N, C, Ho·f, Wo·f]: depth row
     * (n, c·f²+i·f+j, h) holds space elements (n, c, f·h+i, f·w+j) for w in [0, Wo).
     */
    private static void squeeze(Tensor depth, Tensor space, int f, boolean toDepth) {
        MemorySegment d = depth.segment(), s = space.segment();
        if (f == 1) {
            MemorySegment.copy(toDepth ? s : d, 0, toDepth ? d : s, 0, depth.numel() * F);
            return;
        }
        int ho = depth.dim(2), wo = depth.dim(3), w = space.dim(3);
        long plane = (long) space.dim(2) * w;
        int rows = depth.dim(0) * depth.dim(1) * ho;
        Parallel.forRange(rows, rowGrain(wo), (from, to) -> {
            for (int r = from; r < to; r++) {
                int h = r % ho, depthChannel = r / ho, j = depthChannel % f, i = depthChannel / f % f, nc = depthChannel / (f * f);
                long dBase = (long) r * wo, sBase = nc * plane + (long) (f * h + i) * w + j;
                if (toDepth) for (int q = 0; q < wo; q++) d.setAtIndex(FLOAT, dBase + q, s.getAtIndex(FLOAT, sBase + (long) f * q));
                else for (int q = 0; q < wo; q++) s.setAtIndex(FLOAT, sBase + (long) f * q, d.getAtIndex(FLOAT, dBase + q));
            }
        });
    }

    static Tensor toPhases(Tensor x, ConvGeometry g) {
        Tensor out = CpuBackend.alloc(Shapes.phases("toPhases", x.shape(), g));
        movePhases(x, out, g, true);
        return out;
    }

    static Tensor fromPhases(Tensor phases, Shape xShape, ConvGeometry g) {
        Shapes.requirePhases("fromPhases", phases, xShape, g);
        Tensor x = CpuBackend.alloc(xShape);
        movePhases(x, phases, g, false);
        return x;
    }

    /** Between x [N,C,H,W] and its phases [R, C, N, q]: row (r, c, n) of the phases is phase r of plane (n, c) of x. */
    private static void movePhases(Tensor x, Tensor phases, ConvGeometry g, boolean toPhases) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        java.util.List<ConvGeometry.Phase> all = g.subPixelPhases(h, w);
        int q = all.get(0).q();
        MemorySegment xs = x.segment(), ps = phases.segment();
        Parallel.forRange(all.size() * c * n, rowGrain(q), (from, to) -> {
            for (int row = from; row < to; row++) {
                ConvGeometry.Phase p = all.get(row / (c * n));
                int img = row % n, ci = row / n % c, x0 = p.qx0() * g.strideW() + p.rx() - g.padW();
                long plane = ((long) img * c + ci) * h * w, at = (long) row * q;
                for (int a = 0; a < p.qh(); a++) {
                    long src = plane + (long) ((p.qy0() + a) * g.strideH() + p.ry() - g.padH()) * w + x0;
                    for (int b = 0; b < p.qw(); b++, at++) {
                        long xi = src + (long) b * g.strideW();
                        if (toPhases) ps.setAtIndex(FLOAT, at, xs.getAtIndex(FLOAT, xi));
                        else xs.setAtIndex(FLOAT, xi, ps.getAtIndex(FLOAT, at));
                    }
                }
            }
        });
    }

    /** Rows per chunk so that a chunk moves about GRAIN elements. */
    private static int rowGrain(long run) { return (int) Math.max(1, GRAIN / Math.max(1, run)); }
}
