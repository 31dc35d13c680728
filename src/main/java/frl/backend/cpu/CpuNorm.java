package frl.backend.cpu;

import frl.backend.Backend;
import frl.backend.Shapes;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Training-mode batch norm over every axis but 1. x is seen as [N, C, inner]; channel c owns the N runs
 * x[n, c, 0..inner), so each parallel chunk handles whole channels and sums in double.
 */
final class CpuNorm {
    /** Elements per parallel chunk below which the channels stay on one thread. */
    private static final int GRAIN = 1 << 15;

    private CpuNorm() {}

    static Backend.BatchNormResult forward(Tensor x, Tensor gamma, Tensor beta, double eps) {
        Shapes.batchNorm(x, gamma, beta);
        Geometry g = Geometry.of(Shapes.batchNorm("batchNorm", x.shape(), eps));
        Tensor y = CpuBackend.alloc(x.shape());
        Tensor mean = CpuBackend.alloc(Shape.of(g.c)), var = CpuBackend.alloc(Shape.of(g.c));
        MemorySegment xs = x.segment(), ys = y.segment(), gs = gamma.segment(), bs = beta.segment();
        MemorySegment means = mean.segment(), vars = var.segment();
        Parallel.forRange(g.c, g.channelGrain(), (from, to) -> {
            for (int c = from; c < to; c++) {
                double sum = 0, sq = 0;
                for (int n = 0; n < g.n; n++) {
                    for (long k = g.start(n, c), end = k + g.inner; k < end; k++) sum += get(xs, k);
                }
                double mu = sum / g.m;
                // two passes: the variance never suffers the cancellation of E[x²] − E[x]²
                for (int n = 0; n < g.n; n++) {
                    for (long k = g.start(n, c), end = k + g.inner; k < end; k++) sq += (get(xs, k) - mu) * (get(xs, k) - mu);
                }
                double v = sq / g.m, scale = get(gs, c) / Math.sqrt(v + eps), shift = get(bs, c);
                for (int n = 0; n < g.n; n++) {
                    for (long k = g.start(n, c), end = k + g.inner; k < end; k++) set(ys, k, (get(xs, k) - mu) * scale + shift);
                }
                set(means, c, mu);
                set(vars, c, v);
            }
        });
        return new Backend.BatchNormResult(y, mean, var);
    }

    /** dbeta = Σdy, dgamma = Σdy·x̂, dx = gamma·invstd/M·(M·dy − Σdy − x̂·Σdy·x̂), sums over the channel. */
    static Backend.BatchNormGrads backward(Tensor x, Tensor gamma, Tensor mean, Tensor var, double eps, Tensor dy) {
        Geometry g = Geometry.of(Shapes.batchNormBackward(x, gamma, mean, var, eps, dy));
        Tensor dx = CpuBackend.alloc(x.shape());
        Tensor dgamma = CpuBackend.alloc(gamma.shape()), dbeta = CpuBackend.alloc(gamma.shape());
        MemorySegment xs = x.segment(), dys = dy.segment(), dxs = dx.segment(), gs = gamma.segment();
        MemorySegment means = mean.segment(), vars = var.segment(), dgs = dgamma.segment(), dbs = dbeta.segment();
        Parallel.forRange(g.c, g.channelGrain(), (from, to) -> {
            for (int c = from; c < to; c++) {
                double mu = get(means, c), invstd = 1 / Math.sqrt(get(vars, c) + eps), sumDy = 0, sumDyXhat = 0;
                for (int n = 0; n < g.n; n++) {
                    for (long k = g.start(n, c), end = k + g.inner; k < end; k++) {
                        double d = get(dys, k);
                        sumDy += d;
                        sumDyXhat += d * (get(xs, k) - mu) * invstd;
                    }
                }
                double scale = get(gs, c) * invstd, meanDy = sumDy / g.m, meanDyXhat = sumDyXhat / g.m;
                for (int n = 0; n < g.n; n++) {
                    for (long k = g.start(n, c), end = k + g.inner; k < end; k++) {
                        double xhat = (get(xs, k) - mu) * invstd;
                        set(dxs, k, scale * (get(dys, k) - meanDy - xhat * meanDyXhat));
                    }
                }
                set(dgs, c, sumDyXhat);
                set(dbs, c, sumDy);
            }
        });
        return new Backend.BatchNormGrads(dx, dgamma, dbeta);
    }

    /** x as [n, c, inner] with m = n·inner elements per channel. */
    private record Geometry(int n, int c, long inner, long m) {
        static Geometry of(Shapes.NormView v) { return new Geometry(v.n(), v.c(), v.inner(), v.m()); }

        long start(int batch, int channel) { return ((long) batch * c + channel) * inner; }

        int channelGrain() { return (int) Math.max(1, GRAIN / m); }
    }


    private static double get(MemorySegment s, long i) { return s.getAtIndex(ValueLayout.JAVA_FLOAT, i); }

    private static void set(MemorySegment s, long i, double v) { s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) v); }
}
