package frl.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import frl.backend.ConvGeometry;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Matmul and the three convolution ops against the direct float64 definitions below, for both the OpenBLAS
 * and the Java GEMM, on awkward shapes: batch 1, 1 and 3 channels, H ≠ W, 17 and 33, strides 2 and 2×1,
 * padding, 2×3 / 2×2 / 5×5 kernels, 1×1 with and without the fast path, transposed-conv output padding.
 */
class CpuConvTest {
    private static final CpuBackend B = CpuBackend.instance();

    /** x [n,c,h,w] ⋆ w [k,c,kh,kw]; extraH/W enlarge x for backwardInput (a transposed conv's output padding). */
    record Case(int n, int c, int h, int w, int k, int kh, int kw, int sh, int sw, int ph, int pw, int extraH, int extraW) {
        ConvGeometry g() { return new ConvGeometry(sh, sw, ph, pw); }

        Shape x() { return Shape.of(n, c, h, w); }

        Shape wt() { return Shape.of(k, c, kh, kw); }

        Shape xPadded() { return Shape.of(n, c, h + extraH, w + extraW); }

        @Override public String toString() { return "x" + x() + " w" + wt() + " s" + sh + "×" + sw + " p" + ph + "×" + pw + " +" + extraH + "×" + extraW; }
    }

    static final List<Case> CASES = List.of(
            new Case(1, 1, 5, 7, 1, 1, 1, 1, 1, 0, 0, 0, 0),      // 1×1 fast path, batch 1, C = 1
            new Case(2, 3, 17, 33, 4, 3, 3, 1, 1, 1, 1, 0, 0),
            new Case(3, 3, 17, 16, 5, 2, 3, 2, 1, 1, 0, 1, 0),    // 2×3 kernel, stride 2×1, output padding in H
            new Case(2, 2, 9, 12, 3, 2, 2, 2, 2, 0, 0, 1, 1),     // 2×2 kernel, output padding in H and W
            new Case(2, 4, 16, 16, 8, 4, 4, 2, 2, 1, 1, 1, 1),    // the DCGAN up/down-sampling layer
            new Case(9, 3, 8, 8, 6, 5, 5, 1, 1, 2, 2, 0, 0),      // 64 pixels: 4 images per GEMM, 2 parallel chunks
            new Case(6, 3, 5, 5, 4, 1, 1, 1, 1, 0, 0, 0, 0),      // 1×1 on small images: one GEMM per image all the same
            new Case(2, 3, 7, 9, 2, 1, 1, 2, 2, 0, 0, 1, 0),      // 1×1 but strided: im2col path
            new Case(3, 5, 16, 17, 7, 1, 1, 1, 1, 0, 0, 0, 0),    // 1×1 fast path, parallel over the batch
            new Case(2, 1, 3, 3, 2, 5, 5, 1, 1, 1, 1, 0, 0),      // kernel larger than the image
            new Case(1, 16, 33, 33, 32, 3, 3, 1, 1, 1, 1, 0, 0),  // batch 1: the GEMM itself is split
            new Case(1, 150, 16, 16, 2, 3, 3, 1, 1, 1, 1, 0, 0),  // 150 channels: two channel blocks of columns
            new Case(4, 45, 8, 8, 3, 5, 5, 1, 1, 2, 2, 0, 0),     // grouped images and two channel blocks
            new Case(2, 32, 32, 32, 5, 4, 4, 2, 2, 1, 1, 0, 0),   // the VAE's last decoder layer: sub-pixel backward-input
            new Case(1, 33, 33, 37, 3, 4, 2, 2, 2, 1, 0, 1, 1),   // sub-pixel with H ≠ W, 4×2 kernel, output padding
            new Case(2, 40, 24, 48, 3, 3, 3, 3, 3, 0, 2, 2, 0),   // sub-pixel, stride 3, left/right padding only
            new Case(3, 300, 8, 9, 2, 4, 4, 2, 2, 1, 1, 1, 0),    // phase planes: 3 images per GEMM, 3 channel blocks, W odd
            new Case(5, 4, 16, 16, 9, 3, 3, 1, 1, 1, 1, 0, 0),    // Glow's first 3×3, K not a multiple of the kernel's 8 rows
            new Case(170, 2, 8, 8, 10, 3, 3, 1, 1, 1, 1, 0, 0),   // direct: chunks of 20 (81 for the weight gradient) images and a short one
            new Case(2, 5, 7, 6, 3, 3, 2, 1, 1, 0, 0, 0, 0),      // direct without padding, 3×2 kernel
            new Case(2, 8, 4, 4, 9, 1, 1, 1, 1, 0, 0, 0, 0),      // 1×1 at 4×4, an image a chunk: one vector of columns, the narrow tile
            new Case(11, 3, 30, 30, 9, 3, 3, 1, 1, 1, 1, 0, 0),   // direct weight gradient by tiles: chunks of 8 images and a short one, a row's tiles on two cores
            new Case(228, 1, 6, 6, 2, 3, 3, 1, 1, 0, 0, 0, 0));   // by tiles, chunks of 227 and 1 without padding: at 16 lanes the 1's 48 columns run into a 2nd plane

    static Stream<Arguments> cases() {
        return GemmTest.gemms().stream().limit(2).flatMap(g -> CASES.stream().map(c -> Arguments.of(g, c)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void forwardMatchesDirectConvolution(Gemm gemm, Case c) {
        try (Scope s = Scope.open()) {
            Random rnd = new Random(c.hashCode());
            double[] x = random(rnd, c.x()), w = random(rnd, c.wt());
            Tensor y = CpuConv.conv2d(gemm, B.fromHost(c.x(), x), B.fromHost(c.wt(), w), c.g());
            Reference ref = new Reference(c, c.x());
            assertEquals(Shape.of(c.n(), c.k(), ref.oh, ref.ow), y.shape());
            assertClose(ref.forward(x, w), y, gemm + " forward " + c);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void backwardInputMatchesAdjoint(Gemm gemm, Case c) {
        try (Scope s = Scope.open()) {
            Reference ref = new Reference(c, c.xPadded());
            Shape dyShape = Shape.of(c.n(), c.k(), ref.oh, ref.ow);
            Random rnd = new Random(c.hashCode() + 1);
            double[] dy = random(rnd, dyShape), w = random(rnd, c.wt());
            Tensor dx = CpuConv.backwardInput(gemm, B.fromHost(dyShape, dy), B.fromHost(c.wt(), w), c.xPadded(), c.g());
            assertEquals(c.xPadded(), dx.shape());
            assertClose(ref.backwardInput(dy, w), dx, gemm + " backwardInput " + c);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void backwardWeightMatchesDefinition(Gemm gemm, Case c) {
        try (Scope s = Scope.open()) {
            Reference ref = new Reference(c, c.x());
            Shape dyShape = Shape.of(c.n(), c.k(), ref.oh, ref.ow);
            Random rnd = new Random(c.hashCode() + 2);
            double[] x = random(rnd, c.x()), dy = random(rnd, dyShape);
            Tensor dw = CpuConv.backwardWeight(gemm, B.fromHost(c.x(), x), B.fromHost(dyShape, dy), c.wt(), c.g());
            assertClose(ref.backwardWeight(x, dy), dw, gemm + " backwardWeight " + c);
        }
    }

    /** PhaseConv on every case whose stride divides the kernel, whether or not CpuConv would take it (stride 1, C = 1 too). */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void phasePlanesMatchDefinition(Gemm gemm, Case c) {
        if (c.kh() % c.sh() != 0 || c.kw() % c.sw() != 0) return;
        try (Scope s = Scope.open()) {
            Reference ref = new Reference(c, c.x()), padded = new Reference(c, c.xPadded());
            Shape dyShape = Shape.of(c.n(), c.k(), ref.oh, ref.ow), dyPadded = Shape.of(c.n(), c.k(), padded.oh, padded.ow);
            Random rnd = new Random(c.hashCode() + 3);
            double[] x = random(rnd, c.x()), w = random(rnd, c.wt()), dy = random(rnd, dyShape), dyp = random(rnd, dyPadded);
            Tensor xt = B.fromHost(c.x(), x), wt = B.fromHost(c.wt(), w), dyt = B.fromHost(dyShape, dy);
            assertClose(ref.forward(x, w), PhaseConv.conv2d(gemm, xt, wt, Im2col.of(c.x(), c.wt(), c.g()), dyShape), gemm + " forward " + c);
            assertClose(ref.backwardWeight(x, dy), PhaseConv.backwardWeight(gemm, xt, dyt, c.wt(), Im2col.of(c.x(), c.wt(), c.g())), gemm + " backwardWeight " + c);
            assertClose(padded.backwardInput(dyp, w), PhaseConv.backwardInput(gemm, B.fromHost(dyPadded, dyp), wt, c.xPadded(), Im2col.of(c.xPadded(), c.wt(), c.g())),
                    gemm + " backwardInput " + c);
        }
    }

    /** DirectConv's columns: whole tiles, or one vector past them where one is left (its narrow tile), never two. */
    @Test void directConvColumnsAreWholeTilesOrOneVectorMore() {
        int l = DirectConvKernels.COLS / 3;
        assertEquals(l, DirectConvKernels.columns(1));
        assertEquals(4 * l, DirectConvKernels.columns(4 * l));   // a 4×4 plane, 4 images: 64 columns at 16 lanes, not 96
        assertEquals(3 * l, DirectConvKernels.columns(2 * l));   // two vectors left: a whole tile
        assertEquals(3 * l, DirectConvKernels.columns(3 * l));
        assertEquals(6 * l, DirectConvKernels.columns(5 * l + 1));
    }

    /**
     * Which convs DirectConv takes: the stride-1 cases above whose planes are not mostly padding (so its three ops are
     * what those cases check), Glow's and PixelCNN++'s; not strided ones, plain 1×1s, nor the VAE's 4×4 conv to 1×1.
     * Plain 1×1s it takes forward and for the input gradient.
     */
    @Test void stride1ConvsTakeTheDirectPath() {
        for (Case c : CASES) {
            boolean direct = c.sh() == 1 && c.sw() == 1 && (c.kh() > 1 || c.kw() > 1) && c.kh() <= c.h();   // the one kernel larger than its image is not
            assertEquals(direct, DirectConv.applies(Im2col.of(c.x(), c.wt(), c.g())), c.toString());
        }
        Shape x = Shape.of(2, 80, 32, 32), down = Shape.of(80, 80, 2, 3), downRight = Shape.of(80, 80, 2, 2);
        assertTrue(DirectConv.applies(Im2col.shifted(x, down, frl.backend.Shift.DOWN)), "PixelCNN++'s down-shifted conv");
        assertTrue(DirectConv.applies(Im2col.shifted(x, downRight, frl.backend.Shift.DOWN_RIGHT)), "PixelCNN++'s down-right-shifted conv");
        assertTrue(DirectConv.applies(Im2col.of(Shape.of(64, 16, 4, 4), Shape.of(64, 16, 3, 3), ConvGeometry.of(1, 1))), "Glow's 3×3 at 4×4: 1.56 plane pixels per output");
        assertFalse(DirectConv.applies(Im2col.of(Shape.of(64, 128, 4, 4), Shape.of(200, 128, 4, 4), ConvGeometry.of(1, 0))), "the VAE's 4×4 conv to 1×1");
        // plain 1×1s: forward and input gradient only
        for (Case c : CASES) {
            Im2col g = Im2col.of(c.x(), c.wt(), c.g());
            boolean plain = c.kh() == 1 && c.kw() == 1 && c.sh() == 1 && c.sw() == 1 && c.ph() == 0 && c.pw() == 0;
            assertEquals(plain || DirectConv.applies(g), DirectConv.appliesForward(g), c.toString());
        }
    }

    /** conv2dBiasRelu is conv2d then biasRelu, bit for bit, on the direct path (3×3, a 1×1 at 16×16) and off it (stride 2). */
    @Test void convBiasReluIsTheConvThenBiasRelu() {
        Shape[][] cases = {{Shape.of(3, 5, 16, 16), Shape.of(9, 5, 3, 3)}, {Shape.of(3, 6, 16, 16), Shape.of(7, 6, 1, 1)}, {Shape.of(2, 3, 8, 8), Shape.of(4, 3, 4, 4)}};
        ConvGeometry[] geometries = {ConvGeometry.of(1, 1), ConvGeometry.of(1, 0), ConvGeometry.of(2, 1)};
        frl.backend.Rng rng = new frl.backend.Rng(3);
        try (Scope s = Scope.open()) {
            for (int i = 0; i < cases.length; i++) {
                Tensor x = B.uniform(cases[i][0], -1, 1, rng), w = B.uniform(cases[i][1], -1, 1, rng), bias = B.uniform(Shape.of(cases[i][1].dim(0)), -0.5, 0.5, rng);
                float[] want = B.biasRelu(B.conv2d(x, w, geometries[i]), bias).toFloats(), got = B.conv2dBiasRelu(x, w, bias, geometries[i]).toFloats();
                assertArrayEquals(want, got, cases[i][0] + " by " + cases[i][1]);
                int zeros = 0;
                for (float v : got) if (v == 0) zeros++;
                assertTrue(zeros > got.length / 5 && zeros < got.length * 4 / 5, "both signs before the ReLU: " + zeros + " of " + got.length);
            }
        }
    }

    @Test void transposedConvLeavesOutputPaddingZeroWhereNoWindowReaches() {
        // stride 3 with a 2×2 kernel on 7×7 covers rows and columns 0, 1, 3, 4 only
        try (Scope s = Scope.open()) {
            Shape xs = Shape.of(1, 1, 7, 7);
            Tensor dy = filled(Shape.of(1, 1, 2, 2), 1), w = filled(Shape.of(1, 1, 2, 2), 1);
            float[] dx = B.conv2dBackwardInput(dy, w, xs, ConvGeometry.of(3, 0)).toFloats();
            for (int i = 0; i < 7; i++)
                for (int j = 0; j < 7; j++)
                    assertEquals(i < 6 && i % 3 != 2 && j < 6 && j % 3 != 2 ? 1f : 0f, dx[i * 7 + j], "dx at " + i + "," + j);
        }
    }

    static Stream<Arguments> matmuls() {
        return GemmTest.gemms().stream().limit(2).flatMap(g -> Stream.of(
                Arguments.of(g, false, false), Arguments.of(g, true, false), Arguments.of(g, false, true), Arguments.of(g, true, true)));
    }

    @ParameterizedTest(name = "{0} ta={1} tb={2}")
    @MethodSource("matmuls")
    void matmulAllTransposes(Gemm gemm, boolean ta, boolean tb) {
        int m = 17, k = 33, n = 3;
        try (Scope s = Scope.open()) {
            Random rnd = new Random(7);
            Shape as = ta ? Shape.of(k, m) : Shape.of(m, k), bs = tb ? Shape.of(n, k) : Shape.of(k, n);
            double[] a = random(rnd, as), b = random(rnd, bs), expect = new double[m * n];
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                    for (int p = 0; p < k; p++)
                        expect[i * n + j] += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
            Tensor c = CpuConv.matmul(gemm, B.fromHost(as, a), ta, B.fromHost(bs, b), tb);
            assertEquals(Shape.of(m, n), c.shape());
            assertClose(expect, c, gemm + " matmul");
        }
    }

    @Test void backendDispatchesToTheseOps() {
        Case c = CASES.get(4);
        try (Scope s = Scope.open()) {
            Random rnd = new Random(3);
            double[] x = random(rnd, c.x()), w = random(rnd, c.wt());
            Tensor xt = B.fromHost(c.x(), x), wt = B.fromHost(c.wt(), w);
            assertArrayEquals(CpuConv.conv2d(Gemm.active(), xt, wt, c.g()).toFloats(), B.conv2d(xt, wt, c.g()).toFloats());
            assertEquals(Shape.of(5, 4), B.matmul(filled(Shape.of(3, 5), 1), true, filled(Shape.of(3, 4), 1), false).shape());
        }
    }

    /** A convolution that sums nothing, over no input channels (forward) or from no output channels (input gradient), is zeros: it divided by zero. */
    @Test void convolutionsOverNoChannelsGiveZeros() {
        try (Scope s = Scope.open()) {
            for (ConvGeometry g : List.of(ConvGeometry.of(1, 1), ConvGeometry.of(1, 0))) {
                Tensor y = B.conv2d(filled(Shape.of(2, 0, 6, 5), 1), filled(Shape.of(4, 0, 3, 3), 1), g);
                assertArrayEquals(new float[(int) y.numel()], y.toFloats(), "forward " + g);
                Shape xs = Shape.of(2, 3, 6, 5), ys = frl.backend.Shapes.conv2d(xs, Shape.of(0, 3, 3, 3), g);
                Tensor dx = B.conv2dBackwardInput(filled(ys, 1), filled(Shape.of(0, 3, 3, 3), 1), xs, g);
                assertArrayEquals(new float[(int) xs.numel()], dx.toFloats(), "input gradient " + g);
            }
            Tensor shifted = B.shiftedConv2d(filled(Shape.of(1, 0, 3, 4), 1), filled(Shape.of(5, 0, 2, 3), 1), frl.backend.Shift.DOWN);
            assertArrayEquals(new float[60], shifted.toFloats(), "shifted forward");
        }
    }

    @Test void rejectsMismatchedShapes() {
        try (Scope s = Scope.open()) {
            Tensor x = filled(Shape.of(2, 3, 8, 8), 0), w = filled(Shape.of(4, 2, 3, 3), 0);
            var e = assertThrows(IllegalArgumentException.class, () -> B.conv2d(x, w, ConvGeometry.of(1, 1)));
            assertTrue(e.getMessage().contains("3 channels"), e.getMessage());
            Tensor dy = filled(Shape.of(2, 4, 8, 8), 0), w3 = filled(Shape.of(4, 3, 3, 3), 0);
            var e2 = assertThrows(IllegalArgumentException.class,
                    () -> B.conv2dBackwardInput(dy, w3, Shape.of(2, 3, 9, 9), ConvGeometry.of(1, 1)));
            assertTrue(e2.getMessage().contains("conv2d backward"), e2.getMessage());
            assertThrows(IllegalArgumentException.class, () -> B.matmul(filled(Shape.of(3, 5), 1), false, filled(Shape.of(4, 5), 1), false));
        }
    }

    /** The direct definitions, in float64. */
    static final class Reference {
        final Case c;
        final int h, w, oh, ow;

        Reference(Case c, Shape x) {
            this.c = c;
            h = x.dim(2);
            w = x.dim(3);
            oh = (h + 2 * c.ph() - c.kh()) / c.sh() + 1;
            ow = (w + 2 * c.pw() - c.kw()) / c.sw() + 1;
        }

        /** Calls f(xIndex, wIndex, yIndex) for every input pixel · weight pair that meets in an output. */
        void forEachTap(Tap f) {
            for (int n = 0; n < c.n(); n++)
                for (int k = 0; k < c.k(); k++)
                    for (int oy = 0; oy < oh; oy++)
                        for (int ox = 0; ox < ow; ox++)
                            for (int ch = 0; ch < c.c(); ch++)
                                for (int i = 0; i < c.kh(); i++)
                                    for (int j = 0; j < c.kw(); j++) {
                                        int iy = oy * c.sh() - c.ph() + i, ix = ox * c.sw() - c.pw() + j;
                                        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                        f.at(((n * c.c() + ch) * h + iy) * w + ix, ((k * c.c() + ch) * c.kh() + i) * c.kw() + j,
                                                ((n * c.k() + k) * oh + oy) * ow + ox);
                                    }
        }

        double[] forward(double[] x, double[] wt) {
            double[] y = new double[c.n() * c.k() * oh * ow];
            forEachTap((xi, wi, yi) -> y[yi] += x[xi] * wt[wi]);
            return y;
        }

        double[] backwardInput(double[] dy, double[] wt) {
            double[] dx = new double[c.n() * c.c() * h * w];
            forEachTap((xi, wi, yi) -> dx[xi] += dy[yi] * wt[wi]);
            return dx;
        }

        double[] backwardWeight(double[] x, double[] dy) {
            double[] dw = new double[c.k() * c.c() * c.kh() * c.kw()];
            forEachTap((xi, wi, yi) -> dw[wi] += dy[yi] * x[xi]);
            return dw;
        }
    }

    @FunctionalInterface
    interface Tap { void at(int x, int w, int y); }

    static double[] random(Random rnd, Shape s) {
        double[] v = new double[(int) s.numel()];
        for (int i = 0; i < v.length; i++) v[i] = (float) (rnd.nextDouble() * 2 - 1);   // exactly representable in float32
        return v;
    }

    static Tensor filled(Shape s, double v) {
        double[] d = new double[(int) s.numel()];
        java.util.Arrays.fill(d, v);
        return B.fromHost(s, d);
    }

    static void assertClose(double[] expect, Tensor got, String what) {
        float[] g = got.toFloats();
        assertEquals(expect.length, g.length, what + ": size");
        double err = 0, ref = 0;
        for (int i = 0; i < g.length; i++) {
            err += (g[i] - expect[i]) * (g[i] - expect[i]);
            ref += expect[i] * expect[i];
        }
        assertTrue(ref > 0 && err / ref <= 1e-7, what + ": NMSE " + err / ref);
    }
}
