package frl.backend.cuda;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.ConvGeometry;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The sub-pixel transposed convolution against the CPU's conv2dBackwardInput: on the GPU (tagged gpu), and,
 * everywhere, a host emulation of its plan (the three kernels of subpixel.cu ported loop for loop, and the
 * strided-batched GEMM with the exact column-major arguments CudaSubPixel passes to cuBLAS).
 */
class CudaSubPixelTest {
    /** x (the transposed conv's output) [N,C,H,W], w [K,C,kh,kw], geometry. */
    private record Case(int n, int c, int h, int w, int k, int kh, int kw, ConvGeometry g) {
        Shape x() { return Shape.of(n, c, h, w); }

        Shape wt() { return Shape.of(k, c, kh, kw); }

        Shape dy() { return Shape.of(n, k, g.outH(h, kh), g.outW(w, kw)); }

        @Override public String toString() { return "x" + x() + " w" + wt() + " " + g; }
    }

    private static final Case[] CASES = {
        new Case(4, 64, 32, 32, 16, 4, 4, ConvGeometry.of(2, 1)),     // the VAE's last layer, narrower
        new Case(2, 8, 17, 9, 3, 4, 4, ConvGeometry.of(2, 1)),        // odd sizes: a row no window reaches
        new Case(1, 5, 9, 12, 4, 2, 2, ConvGeometry.of(2, 0)),
        new Case(3, 6, 15, 14, 2, 6, 3, new ConvGeometry(3, 3, 2, 1)),
        new Case(2, 3, 8, 10, 5, 4, 2, new ConvGeometry(2, 1, 1, 0)), // stride 1 across
    };

    private static float[] random(Random r, Shape s) {
        float[] v = new float[Math.toIntExact(s.numel())];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    @Test void hostEmulationOfThePlanMatchesTheCpu() {
        Backend cpu = Backends.cpu();
        Random r = new Random(3);
        for (Case c : CASES) {
            try (Scope s = Scope.open()) {
                float[] dy = random(r, c.dy()), w = random(r, c.wt());
                double[] want = cpu.conv2dBackwardInput(cpu.fromHost(c.dy(), dy), cpu.fromHost(c.wt(), w), c.x(), c.g()).toDoubles();
                float[] got = emulate(c, dy, w);
                double num = 0, den = 0;
                for (int i = 0; i < want.length; i++) { num += (got[i] - want[i]) * (got[i] - want[i]); den += want[i] * want[i]; }
                assertTrue(num / den <= 1e-10, c + ": NMSE " + num / den);
            }
        }
    }

    @Test @Tag("gpu") void matchesTheCpuOnTheGpu() {
        Backend cuda = GpuTests.cudaOrSkip(), cpu = Backends.cpu();
        Random r = new Random(4);
        Case[] cases = java.util.Arrays.copyOf(CASES, CASES.length + 1);
        cases[CASES.length] = new Case(64, 1024, 32, 32, 64, 4, 4, ConvGeometry.of(2, 1)); // the cifar VAE's last layer
        for (Case c : cases) {
            try (Scope s = Scope.open()) {
                float[] dy = random(r, c.dy()), w = random(r, c.wt());
                Tensor want = cpu.conv2dBackwardInput(cpu.fromHost(c.dy(), dy), cpu.fromHost(c.wt(), w), c.x(), c.g());
                Tensor got = CudaSubPixel.backwardInput(cuda.fromHost(c.dy(), dy), cuda.fromHost(c.wt(), w), c.x(), c.g());
                CudaVsCpu.assertClose(c.toString(), got, want);
            }
        }
    }

    /** CudaSubPixel.backwardInput with its kernels and its GEMM run on the host. */
    private static float[] emulate(Case c, float[] dy, float[] w) {
        ConvGeometry g = c.g();
        int n = c.n(), ch = c.c(), h = c.h(), wd = c.w(), k = c.k(), kh = c.kh(), kw = c.kw(), sh = g.strideH(), sw = g.strideW();
        int th = kh / sh, tw = kw / sw, oh = c.dy().dim(2), ow = c.dy().dim(3), depth = k * th * tw;
        float[] phases = new float[sh * sw * ch * depth], dx = new float[Math.toIntExact(c.x().numel())];
        for (int i = 0; i < phases.length; i++) { // subpixel_split_weights
            int row = i % depth, rest = i / depth, ci = rest % ch, rr = rest / ch, ry = rr / sw, rx = rr % sw;
            int u = row % tw, t = (row / tw) % th, o = row / (th * tw);
            phases[i] = w[((o * ch + ci) * kh + ry + sh * t) * kw + rx + sw * u];
        }
        for (ConvGeometry.Phase p : g.subPixelPhases(h, wd)) {
            int q = p.q();
            float[] cols = new float[n * depth * q], part = new float[n * ch * q];
            for (int i = 0; i < cols.length; i++) { // subpixel_gather
                int col = i % q, rest = i / q, row = rest % depth, img = rest / depth, a = col / p.qw(), b = col % p.qw();
                int u = row % tw, t = (row / tw) % th, o = row / (th * tw), oy = p.qy0() + a - t, ox = p.qx0() + b - u;
                cols[i] = oy >= 0 && oy < oh && ox >= 0 && ox < ow ? dy[((img * k + o) * oh + oy) * ow + ox] : 0f;
            }
            columnMajorBatched(q, ch, depth, cols, 0, q, (long) depth * q, phases, (p.ry() * sw + p.rx()) * ch * depth, depth, 0,
                    part, q, (long) ch * q, n);
            for (int i = 0; i < part.length; i++) { // subpixel_scatter
                int col = i % q, plane = i / q, a = col / p.qw(), b = col % p.qw();
                int y = (p.qy0() + a) * sh + p.ry() - g.padH(), x = (p.qx0() + b) * sw + p.rx() - g.padW();
                dx[(plane * h + y) * wd + x] = part[i];
            }
        }
        return dx;
    }

    /** cublasSgemmStridedBatched with no transposes, as CudaBlas.stridedBatched calls it: C_i = A_i · B_i, column-major. */
    private static void columnMajorBatched(int m, int n, int k, float[] a, int aOff, int lda, long strideA, float[] b, int bOff, int ldb,
                                           long strideB, float[] c, int ldc, long strideC, int batch) {
        for (int i = 0; i < batch; i++)
            for (int col = 0; col < n; col++)
                for (int row = 0; row < m; row++) {
                    double sum = 0;
                    for (int l = 0; l < k; l++)
                        sum += a[(int) (aOff + i * strideA + (long) l * lda + row)] * b[(int) (bOff + i * strideB + (long) col * ldb + l)];
                    c[(int) (i * strideC + (long) col * ldc + row)] = (float) sum;
                }
    }
}
