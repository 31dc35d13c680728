package frl.backend.cuda;

import frl.backend.Backend;
import frl.backend.Shapes;
import frl.tensor.Shape;
import frl.tensor.Tensor;

/**
 * Training-mode batch norm over every axis but 1 (src/main/cuda/norm.cu; CPU twin {@code CpuNorm}): x seen as
 * [N, C, inner], sums in double, the variance in a second pass over x as on the CPU. Each channel's
 * M = N·inner elements are split into S ranges; the grid is (C, S) and the S partial sums of a channel are
 * added in a fixed order by the next kernel, so the results are deterministic (no atomics) and depend only on
 * the shape, not on the GPU.
 */
final class CudaNorm {
    private static final int THREADS = 256;
    /** Aim for about this many blocks over all channels, each with at least MIN_PER_BLOCK elements. */
    private static final int TARGET_BLOCKS = 1024, MIN_PER_BLOCK = 4096;

    /** norm.cu's kernels with BN_U loads in flight per thread (-Dfrl.cuda.bnLoads=batched): the same sums, term for term. */
    private static final String BATCHED = "_batched";
    private static final Kernel SUM = new Kernel("norm", "bn_sum", "ppiii"), SUM_B = new Kernel("norm", "bn_sum" + BATCHED, "ppiii");
    private static final Kernel SQDEV = new Kernel("norm", "bn_sqdev", "pppiii"), SQDEV_B = new Kernel("norm", "bn_sqdev" + BATCHED, "pppiii");
    private static final Kernel APPLY = new Kernel("norm", "bn_apply", "ppppppppdiiii");
    private static final Kernel APPLY_B = new Kernel("norm", "bn_apply" + BATCHED, "ppppppppdiiii");
    private static final Kernel BWD_SUMS = new Kernel("norm", "bn_bwd_sums", "pppppdiiip");
    private static final Kernel BWD_SUMS_B = new Kernel("norm", "bn_bwd_sums" + BATCHED, "pppppdiiip");
    private static final Kernel BWD_APPLY = new Kernel("norm", "bn_bwd_apply", "pppppppppdiiip");
    private static final Kernel BWD_APPLY_B = new Kernel("norm", "bn_bwd_apply" + BATCHED, "pppppppppdiiip");
    private static final Kernel RUNNING = new Kernel("norm", "bn_running_stats", "pppppifff");

    private CudaNorm() {}

    /**
     * -Dfrl.cuda.bnLoads=batched: each thread issues BN_U loads before it adds them, in the same order (the same bits);
     * plain, the default (cifar training on the H200, 2026-11-28: 1.00× batched).
     */
    static boolean batchedLoads() { return CudaFlags.oneOf("frl.cuda.bnLoads", "plain", "plain", "batched").equals("batched"); }

    /**
     * -Dfrl.cuda.bnRelu=fused: a training BatchNorm2d followed by a ReLU (the VAE's every BN) runs as one op, the ReLU in
     * the normalising pass and its gradient in the backward's two reads of dy (the same bits as the two ops, each pass
     * over the activation and its launch saved): the default since the H200 run of 2026-11-28 (cifar training 1.05×
     * alone); apart, the two ops.
     */
    static boolean fusedRelu() { return CudaFlags.oneOf("frl.cuda.bnRelu", "fused", "apart", "fused").equals("fused"); }

    static Backend.BatchNormResult forward(Tensor x, Tensor gamma, Tensor beta, double eps) { return forward(x, gamma, beta, eps, false); }

    /** Batch norm, its output through a ReLU where relu (y > 0 ? y : 0, pointwise.cu's). */
    static Backend.BatchNormResult forward(Tensor x, Tensor gamma, Tensor beta, double eps, boolean relu) {
        Shapes.batchNorm(x, gamma, beta);
        Geometry g = Geometry.of("batchNorm", Shapes.batchNorm("batchNorm", x.shape(), eps), x);
        Tensor y = CudaBackend.alloc(x.shape());
        Tensor mean = CudaBackend.alloc(Shape.of(g.c)), var = CudaBackend.alloc(Shape.of(g.c));
        if (g.c > 0) {
            int s = g.segments();
            try (DeviceStorage sums = new DeviceStorage(CudaContext.get(), 8L * g.c * s);
                 DeviceStorage sqs = new DeviceStorage(CudaContext.get(), 8L * g.c * s)) {
                launchForward(g, x, gamma, beta, y, mean, var, sums.address(), sqs.address(), eps, relu);
            } // freed blocks are only reused by work queued after these kernels (one stream)
        }
        return new Backend.BatchNormResult(y, mean, var);
    }

    /**
     * The forward's three launches over tensors or device addresses (sums and sqs: 8·c·segments bytes of scratch each),
     * with the kernels -Dfrl.cuda.bnLoads picks.
     */
    static void launchForward(Geometry g, Object x, Object gamma, Object beta, Object y, Object mean, Object var, long sums, long sqs, double eps,
                              boolean relu) {
        int s = g.segments();
        boolean b = batchedLoads();
        (b ? SUM_B : SUM).launch(g.c, s, 1, THREADS, 1, 1, 0, x, sums, g.c, g.inner, g.m);
        (b ? SQDEV_B : SQDEV).launch(g.c, s, 1, THREADS, 1, 1, 0, x, sums, sqs, g.c, g.inner, g.m);
        (b ? APPLY_B : APPLY).launch(g.c, s, 1, THREADS, 1, 1, 0, x, gamma, beta, sums, sqs, y, mean, var, eps, g.c, g.inner, g.m, relu ? 1 : 0);
    }

    /** dbeta = Σdy, dgamma = Σdy·x̂, dx = gamma·invstd/M·(M·dy − Σdy − x̂·Σdy·x̂), sums over the channel. */
    static Backend.BatchNormGrads backward(Tensor x, Tensor gamma, Tensor mean, Tensor var, double eps, Tensor dy) {
        return backward(x, gamma, mean, var, eps, null, dy);
    }

    /** The same with dy through the ReLU whose output is act (dy where act > 0, else 0), where act is not null. */
    static Backend.BatchNormGrads backward(Tensor x, Tensor gamma, Tensor mean, Tensor var, double eps, Tensor act, Tensor dy) {
        Geometry g = Geometry.of("batchNormBackward", Shapes.batchNormBackward(x, gamma, mean, var, eps, dy), x);
        if (act != null) Shapes.requireSameShape("batchNormReluBackward", x, act);
        long pa = act == null ? 0L : act.storage().address();
        Tensor dx = CudaBackend.alloc(x.shape());
        Tensor dgamma = CudaBackend.alloc(gamma.shape()), dbeta = CudaBackend.alloc(gamma.shape());
        if (g.c > 0) {
            try (DeviceStorage part = new DeviceStorage(CudaContext.get(), 16L * g.c * g.segments())) {
                launchBackward(g, x, dy, gamma, mean, var, pa, dx, dgamma, dbeta, part.address(), eps);
            }
        }
        return new Backend.BatchNormGrads(dx, dgamma, dbeta);
    }

    /** The backward's two launches over tensors or device addresses (part: 16·c·segments bytes of scratch; act 0: no ReLU). */
    static void launchBackward(Geometry g, Object x, Object dy, Object gamma, Object mean, Object var, long act, Object dx, Object dgamma, Object dbeta,
                               long part, double eps) {
        int s = g.segments();
        boolean b = batchedLoads();
        (b ? BWD_SUMS_B : BWD_SUMS).launch(g.c, s, 1, THREADS, 1, 1, 0, x, dy, mean, var, part, eps, g.c, g.inner, g.m, act);
        (b ? BWD_APPLY_B : BWD_APPLY).launch(g.c, s, 1, THREADS, 1, 1, 0, x, dy, gamma, mean, var, part, dx, dgamma, dbeta, eps, g.c, g.inner, g.m, act);
    }

    /** Backend#batchNormRunningStats in one launch: the same float arithmetic as its axpys, so the same bits. */
    static void runningStats(Tensor runningMean, Tensor runningVar, Tensor count, Tensor mean, Tensor var, double momentum, double varScale) {
        Shapes.batchNormRunningStats(runningMean, runningVar, count, mean, var);
        int c = runningMean.dim(0);
        RUNNING.launchN(Math.max(1, c), runningMean, runningVar, count, mean, var, c,
                (float) -momentum, (float) momentum, (float) (momentum * varScale));
    }

    /** x as [n, c, inner] with m = n·inner elements per channel; the CPU's checks and messages. */
    record Geometry(int n, int c, int inner, int m) {
        static Geometry of(String op, Shapes.NormView v, Tensor x) {
            if (x.numel() > Integer.MAX_VALUE)
                throw new IllegalArgumentException(op + ": x " + x.shape() + " exceeds the cuda kernels' 2^31 − 1 elements");
            return new Geometry(v.n(), v.c(), (int) v.inner(), (int) v.m());
        }

        /** Ranges per channel: enough blocks to fill the GPU, none smaller than MIN_PER_BLOCK elements (≥ 1, ≤ 1024). */
        int segments() {
            long byWork = (m + MIN_PER_BLOCK - 1) / MIN_PER_BLOCK;
            long byGrid = (TARGET_BLOCKS + c - 1) / c;
            return (int) Math.max(1, Math.min(byWork, byGrid));
        }
    }

    /** For tests: the (C, S) grid a shape runs on. */
    static int[] grid(Shape x) { return new int[] {x.dim(1), geometry(x).segments()}; }

    /** For tests: x [N, C, ...] as the kernels take it. */
    static Geometry geometry(Shape x) {
        long inner = x.size(2, x.rank());
        return new Geometry(x.dim(0), x.dim(1), (int) inner, (int) (x.dim(0) * inner));
    }

}
