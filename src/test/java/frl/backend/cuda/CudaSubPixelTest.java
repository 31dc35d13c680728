package frl.backend.cuda;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.ConvGeometry;
import frl.backend.ConvGeometry.Phase;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The sub-pixel convolution ops against the CPU's conv2d, conv2dBackwardInput and conv2dBackwardWeight: on the GPU
 * (tagged gpu), and, everywhere, a host emulation of their plans (the kernels of subpixel.cu ported loop for loop,
 * float offsets for device addresses, and the GEMMs with the exact column-major arguments CudaSubPixel passes to
 * CudaBlas.gemm). The emulated GEMM sums in double, the kernels in float as on the device.
 */
class CudaSubPixelTest {
    /** x (the large tensor: the transposed conv's output) [N,C,H,W], w [K,C,kh,kw], geometry. */
    private record Case(int n, int c, int h, int w, int k, int kh, int kw, ConvGeometry g) {
        Shape x() { return Shape.of(n, c, h, w); }

        Shape wt() { return Shape.of(k, c, kh, kw); }

        Shape dy() { return Shape.of(n, k, g.outH(h, kh), g.outW(w, kw)); }

        CudaSubPixel.Dims dims() { return CudaSubPixel.Dims.of(x(), wt(), g); }

        @Override public String toString() { return "x" + x() + " w" + wt() + " " + g; }
    }

    private static final Case[] CASES = {
        new Case(4, 64, 32, 32, 16, 4, 4, ConvGeometry.of(2, 1)),     // the VAE's last layer, narrower
        new Case(2, 8, 17, 9, 3, 4, 4, ConvGeometry.of(2, 1)),        // odd sizes: a row no window reaches
        new Case(1, 5, 9, 12, 4, 2, 2, ConvGeometry.of(2, 0)),        // batch 1: plain cublasSgemm
        new Case(3, 6, 15, 14, 2, 6, 3, new ConvGeometry(3, 3, 2, 1)),
        new Case(2, 3, 8, 10, 5, 4, 2, new ConvGeometry(2, 1, 1, 0)), // stride 1 across
        new Case(2, 4, 2, 5, 3, 3, 3, ConvGeometry.of(3, 1)),         // x 2 rows high: phase row 0 owns no pixel
    };

    /** The VAE's last layer (1024 channels from 64) at batch 2, emulated too; the GPU test runs it at batch 64. */
    private static final Case VAE = new Case(2, 1024, 32, 32, 64, 4, 4, ConvGeometry.of(2, 1));

    private static float[] random(Random r, Shape s) {
        float[] v = new float[Math.toIntExact(s.numel())];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    /** Emulation and CPU over every case plus the VAE's; one op's inputs are x, w and dy (each op reads two). */
    private interface Op {
        Tensor cpu(Backend cpu, Case c, Tensor x, Tensor w, Tensor dy);

        float[] emulate(Case c, float[] x, float[] w, float[] dy);
    }

    private static void checkEmulation(String name, Op op) {
        Backend cpu = Backends.cpu();
        Random r = new Random(3);
        Case[] cases = java.util.Arrays.copyOf(CASES, CASES.length + 1);
        cases[CASES.length] = VAE;
        for (Case c : cases) {
            try (Scope s = Scope.open()) {
                float[] x = random(r, c.x()), w = random(r, c.wt()), dy = random(r, c.dy());
                float[] want = op.cpu(cpu, c, cpu.fromHost(c.x(), x), cpu.fromHost(c.wt(), w), cpu.fromHost(c.dy(), dy)).toFloats();
                CudaVsCpu.assertClose(name + " " + c, op.emulate(c, x, w, dy), want, 1e-10);
            }
        }
    }

    @Test void hostEmulationOfBackwardInputMatchesTheCpu() {
        checkEmulation("conv2dBackwardInput", new Op() {
            public Tensor cpu(Backend cpu, Case c, Tensor x, Tensor w, Tensor dy) { return cpu.conv2dBackwardInput(dy, w, c.x(), c.g()); }

            public float[] emulate(Case c, float[] x, float[] w, float[] dy) { return emulateBackwardInput(c.dims(), dy, w); }
        });
    }

    @Test void hostEmulationOfConv2dMatchesTheCpu() {
        checkEmulation("conv2d", new Op() {
            public Tensor cpu(Backend cpu, Case c, Tensor x, Tensor w, Tensor dy) { return cpu.conv2d(x, w, c.g()); }

            public float[] emulate(Case c, float[] x, float[] w, float[] dy) { return emulateConv2d(c.dims(), x, w); }
        });
    }

    @Test void hostEmulationOfBackwardWeightMatchesTheCpu() {
        checkEmulation("conv2dBackwardWeight", new Op() {
            public Tensor cpu(Backend cpu, Case c, Tensor x, Tensor w, Tensor dy) { return cpu.conv2dBackwardWeight(x, dy, c.wt(), c.g()); }

            public float[] emulate(Case c, float[] x, float[] w, float[] dy) { return emulateBackwardWeight(c.dims(), x, dy); }
        });
    }

    @Test void theSplitOfTheWeightsIsABijection() {
        for (Case c : CASES) {
            CudaSubPixel.Dims d = c.dims();
            float[] w = random(new Random(5), c.wt());
            assertEquals(java.util.Arrays.toString(w), java.util.Arrays.toString(unsplit(d, split(d, w))), c.toString());
        }
    }

    /** Its weight gradient hands cuBLAS n·q as an int: a batch whose pixels per phase overflow it goes to cuDNN. */
    @Test void refusesBatchesWhosePixelCountOverflowsAnInt() {
        Shape w = Shape.of(8, 3, 4, 4);
        ConvGeometry g = ConvGeometry.of(2, 1);
        assertTrue(CudaSubPixel.applies(Shape.of(64, 8, 32, 32), w, g));
        assertTrue(CudaSubPixel.applies(Shape.of(32767, 8, 512, 512), w, g));    // (2^15 − 1) · 256 · 256 pixels per phase fit
        assertFalse(CudaSubPixel.applies(Shape.of(32768, 8, 512, 512), w, g));   // 2^31 do not
    }

    @Test @Tag("gpu") void matchesTheCpuOnTheGpu() {
        Backend cuda = GpuTests.cudaOrSkip(), cpu = Backends.cpu();
        Random r = new Random(4);
        Case[] cases = java.util.Arrays.copyOf(CASES, CASES.length + 2);
        cases[CASES.length] = VAE;
        cases[CASES.length + 1] = new Case(64, 1024, 32, 32, 64, 4, 4, ConvGeometry.of(2, 1)); // the cifar VAE's last layer
        for (Case c : cases) {
            try (Scope s = Scope.open()) {
                float[] x = random(r, c.x()), w = random(r, c.wt()), dy = random(r, c.dy());
                Tensor cx = cpu.fromHost(c.x(), x), cw = cpu.fromHost(c.wt(), w), cdy = cpu.fromHost(c.dy(), dy);
                Tensor gx = cuda.fromHost(c.x(), x), gw = cuda.fromHost(c.wt(), w), gdy = cuda.fromHost(c.dy(), dy);
                CudaVsCpu.assertClose("conv2dBackwardInput " + c, CudaSubPixel.backwardInput(gdy, gw, c.x(), c.g()), cpu.conv2dBackwardInput(cdy, cw, c.x(), c.g()));
                CudaVsCpu.assertClose("conv2d " + c, CudaSubPixel.conv2d(gx, gw, c.g()), cpu.conv2d(cx, cw, c.g()));
                CudaVsCpu.assertClose("conv2dBackwardWeight " + c, CudaSubPixel.backwardWeight(gx, gdy, c.wt(), c.g()),
                        cpu.conv2dBackwardWeight(cx, cdy, c.wt(), c.g()));
            }
        }
    }

    /** Under -Dfrl.cuda.subpixel=auto the backend's three ops time both paths per shape and match the CPU either way. */
    @Test @Tag("gpu") void theBackendChoosesPerOpUnderAuto() {
        Backend cuda = GpuTests.cudaOrSkip(), cpu = Backends.cpu();
        Case c = CASES[3];
        Random r = new Random(6);
        String before = System.getProperty("frl.cuda.subpixel");
        System.setProperty("frl.cuda.subpixel", "auto");
        try (Scope s = Scope.open()) {
            float[] x = random(r, c.x()), w = random(r, c.wt()), dy = random(r, c.dy());
            Tensor cx = cpu.fromHost(c.x(), x), cw = cpu.fromHost(c.wt(), w), cdy = cpu.fromHost(c.dy(), dy);
            Tensor gx = cuda.fromHost(c.x(), x), gw = cuda.fromHost(c.wt(), w), gdy = cuda.fromHost(c.dy(), dy);
            CudaVsCpu.assertClose("conv2dBackwardInput", cuda.conv2dBackwardInput(gdy, gw, c.x(), c.g()), cpu.conv2dBackwardInput(cdy, cw, c.x(), c.g()));
            CudaVsCpu.assertClose("conv2d", cuda.conv2d(gx, gw, c.g()), cpu.conv2d(cx, cw, c.g()));
            CudaVsCpu.assertClose("conv2dBackwardWeight", cuda.conv2dBackwardWeight(gx, gdy, c.wt(), c.g()), cpu.conv2dBackwardWeight(cx, cdy, c.wt(), c.g()));
            Map<String, FasterPath.Choice> chosen = CudaConv.subPixelChoices();
            for (String op : new String[] {"conv2d ", "conv2dBackwardInput ", "conv2dBackwardWeight "})
                assertEquals(1, chosen.keySet().stream().filter(k -> k.startsWith(op + "x" + c.x())).count(), op + "not timed: " + chosen);
        } finally {
            if (before == null) System.clearProperty("frl.cuda.subpixel");
            else System.setProperty("frl.cuda.subpixel", before);
        }
    }

    // ---- CudaSubPixel's three plans on the host: each line one kernel launch or GEMM of the Java ------------------

    private static float[] emulateBackwardInput(CudaSubPixel.Dims d, float[] dy, float[] w) {
        float[] dx = new float[d.n() * d.c() * d.h() * d.w()], phases = split(d, w);
        float[] cols = new float[d.n() * d.depth() * d.qMax()], part = new float[d.n() * d.c() * d.qMax()];
        for (Phase p : d.phases()) {
            int q = p.q();
            gather(d, p, dy, cols, (long) d.depth() * q, q);
            gemm(false, false, q, d.c(), d.depth(), cols, 0, q, (long) d.depth() * q, phases, weights(d, p), d.depth(), 0,
                    part, 0, q, (long) d.c() * q, d.n());
            for (int i = 0; i < d.n() * d.c() * q; i++) dx[pixel(d, p, i)] = part[i]; // subpixel_scatter
        }
        return dx;
    }

    private static float[] emulateConv2d(CudaSubPixel.Dims d, float[] x, float[] w) {
        float[] y = new float[d.n() * d.k() * d.oh() * d.ow()], phases = split(d, w);
        long slot = (long) d.n() * d.depth() * d.qMax();
        int[] rows = d.ranges(true), cols = d.ranges(false);
        float[] part = new float[d.n() * d.c() * d.qMax()], outs = new float[(int) (d.sh() * d.sw() * slot)];
        for (Phase p : d.phases()) {
            int q = p.q();
            gatherPixels(d, p, x, part, (long) d.c() * q, q);
            gemm(false, true, q, d.depth(), d.c(), part, 0, q, (long) d.c() * q, phases, weights(d, p), d.depth(), 0,
                    outs, (p.ry() * d.sw() + p.rx()) * slot, q, (long) d.depth() * q, d.n());
        }
        for (int i = 0; i < y.length; i++) { // subpixel_sum_phases
            int ox = i % d.ow(), oy = i / d.ow() % d.oh(), plane = i / (d.oh() * d.ow()), o = plane % d.k(), img = plane / d.k();
            float sum = 0f;
            for (int ry = 0; ry < d.sh(); ry++)
                for (int rx = 0; rx < d.sw(); rx++)
                    for (int t = 0; t < d.th(); t++) {
                        int a = oy + t - rows[2 * ry], qh = rows[2 * ry + 1], qw = cols[2 * rx + 1];
                        if (a < 0 || a >= qh) continue;
                        for (int u = 0; u < d.tw(); u++) {
                            int b = ox + u - cols[2 * rx];
                            if (b >= 0 && b < qw)
                                sum += outs[(int) ((ry * d.sw() + rx) * slot + (((long) img * d.depth() + (o * d.th() + t) * d.tw() + u) * qh + a) * qw + b)];
                        }
                    }
            y[i] = sum;
        }
        return y;
    }

    private static float[] emulateBackwardWeight(CudaSubPixel.Dims d, float[] x, float[] dy) {
        long most = (long) d.n() * d.qMax();
        float[] phases = new float[d.sh() * d.sw() * d.c() * d.depth()]; // zeroed, as by cudaMemsetAsync
        float[] part = new float[(int) (d.c() * most)], cols = new float[(int) (d.depth() * most)];
        for (Phase p : d.phases()) {
            int q = p.q(), nq = d.n() * q;
            gatherPixels(d, p, x, part, q, nq);
            gather(d, p, dy, cols, q, nq);
            gemm(true, false, d.depth(), d.c(), nq, cols, 0, nq, 0, part, 0, nq, 0, phases, weights(d, p), d.depth(), 0, 1);
        }
        return unsplit(d, phases);
    }

    // ---- the kernels of subpixel.cu --------------------------------------------------------------------------

    /** subpixel_weight_index: where element i of the split weights [sh·sw, C, depth] lies in w [K, C, kh, kw]. */
    private static int weightIndex(CudaSubPixel.Dims d, int i) {
        int depth = d.depth(), row = i % depth, rest = i / depth, ci = rest % d.c(), r = rest / d.c(), ry = r / d.sw(), rx = r % d.sw();
        int u = row % d.tw(), t = row / d.tw() % d.th(), o = row / (d.th() * d.tw());
        return ((o * d.c() + ci) * d.kh() + ry + d.sh() * t) * d.kw() + rx + d.sw() * u;
    }

    private static float[] split(CudaSubPixel.Dims d, float[] w) { // subpixel_split_weights
        float[] out = new float[w.length];
        for (int i = 0; i < w.length; i++) out[i] = w[weightIndex(d, i)];
        return out;
    }

    private static float[] unsplit(CudaSubPixel.Dims d, float[] phases) { // subpixel_unsplit_weights
        float[] w = new float[phases.length];
        for (int i = 0; i < w.length; i++) w[weightIndex(d, i)] = phases[i];
        return w;
    }

    /** Dims.weights as a float offset. */
    private static long weights(CudaSubPixel.Dims d, Phase p) { return d.weights(0, p) / 4; }

    private static void gather(CudaSubPixel.Dims d, Phase p, float[] dy, float[] cols, long imgStride, long rowStride) { // subpixel_gather
        int q = p.q(), depth = d.depth();
        for (int i = 0; i < d.n() * depth * q; i++) {
            int col = i % q, rest = i / q, row = rest % depth, img = rest / depth, a = col / p.qw(), b = col % p.qw();
            int u = row % d.tw(), t = row / d.tw() % d.th(), o = row / (d.th() * d.tw()), oy = p.qy0() + a - t, ox = p.qx0() + b - u;
            cols[(int) (img * imgStride + row * rowStride + col)] =
                    oy >= 0 && oy < d.oh() && ox >= 0 && ox < d.ow() ? dy[((img * d.k() + o) * d.oh() + oy) * d.ow() + ox] : 0f;
        }
    }

    /** subpixel_pixel: where element i = (plane, (a, b)) of a phase's [N·C, q] pixels lies in x [N, C, h, w]. */
    private static int pixel(CudaSubPixel.Dims d, Phase p, int i) {
        int col = i % p.q(), plane = i / p.q();
        int y = (p.qy0() + col / p.qw()) * d.sh() + p.ry() - d.g().padH(), x = (p.qx0() + col % p.qw()) * d.sw() + p.rx() - d.g().padW();
        return (plane * d.h() + y) * d.w() + x;
    }

    private static void gatherPixels(CudaSubPixel.Dims d, Phase p, float[] x, float[] part, long imgStride, long cStride) { // subpixel_gather_pixels
        for (int i = 0; i < d.n() * d.c() * p.q(); i++) {
            int plane = i / p.q();
            part[(int) (plane / d.c() * imgStride + plane % d.c() * cStride + i % p.q())] = x[pixel(d, p, i)];
        }
    }

    /**
     * CudaBlas.gemm: column-major C_i [m, n] = op(A_i) · op(B_i), A_i at aOff + i·strideA (floats) stored [m, k] or,
     * transposed, [k, m] with leading dimension lda, likewise B ([k, n] or [n, k]); batch 1 ignores the strides.
     */
    private static void gemm(boolean transA, boolean transB, int m, int n, int k, float[] a, long aOff, int lda, long strideA,
                             float[] b, long bOff, int ldb, long strideB, float[] c, long cOff, int ldc, long strideC, int batch) {
        for (int i = 0; i < batch; i++) {
            long ai = aOff + (batch == 1 ? 0 : i * strideA), bi = bOff + (batch == 1 ? 0 : i * strideB), ci = cOff + (batch == 1 ? 0 : i * strideC);
            for (int col = 0; col < n; col++)
                for (int row = 0; row < m; row++) {
                    double sum = 0;
                    for (int l = 0; l < k; l++)
                        sum += (double) a[(int) (ai + (transA ? (long) row * lda + l : (long) l * lda + row))]
                                * b[(int) (bi + (transB ? (long) l * ldb + col : (long) col * ldb + l))];
                    c[(int) (ci + (long) col * ldc + row)] = (float) sum;
                }
        }
    }
}
