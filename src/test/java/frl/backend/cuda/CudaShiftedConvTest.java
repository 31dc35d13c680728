package frl.backend.cuda;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.ConvGeometry;
import frl.backend.OpHarness;
import frl.backend.Shift;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Both CUDA paths of the shifted convolutions (the fused kernels and pad + cuDNN, each forced) and the path the
 * backend chooses by timing, against the CPU backend: forward, input gradient and weight gradient, NMSE ≤ 1e-7.
 * PixelCNN++ sizes (nr_filters 80, concat_elu doubling the channels to 160, 32×32, batch 32) and awkward ones
 * (tails of the 64-wide tiles, batch 1, H ≠ W, 1×1 images, kernels larger than the image).
 */
@Tag("gpu")
class CudaShiftedConvTest {
    record Case(Shift s, int n, int c, int h, int w, int k, int kh, int kw) {
        Shape x() { return Shape.of(n, c, h, w); }

        Shape wt() { return Shape.of(k, c, kh, kw); }

        Shape y() { return Shape.of(n, k, h, w); }

        @Override public String toString() { return s + " x" + x() + " w" + wt(); }
    }

    static List<Case> cases() {
        return List.of(
                new Case(Shift.DOWN, 32, 160, 32, 32, 80, 2, 3),         // gated_resnet conv_input, u stream
                new Case(Shift.DOWN, 32, 160, 32, 32, 160, 2, 3),        // gated_resnet second conv (2·nr_filters out)
                new Case(Shift.DOWN_RIGHT, 32, 160, 32, 32, 160, 2, 2),  // ul stream
                new Case(Shift.DOWN, 32, 4, 32, 32, 80, 2, 3),           // first layer: RGB + the ones channel
                new Case(Shift.DOWN_RIGHT, 32, 4, 32, 32, 80, 1, 3),     // first ul layer (1×3 down-right)
                new Case(Shift.DOWN_RIGHT, 32, 80, 16, 16, 80, 2, 2),    // after the first downsampling
                new Case(Shift.DOWN, 32, 80, 8, 8, 80, 2, 3),
                new Case(Shift.DOWN, 1, 3, 17, 33, 5, 2, 3),
                new Case(Shift.DOWN_RIGHT, 3, 17, 5, 9, 33, 2, 2),
                new Case(Shift.DOWN, 2, 65, 7, 3, 67, 3, 5),              // 65/67 channels: one row past a tile
                new Case(Shift.DOWN, 2, 1, 1, 1, 1, 2, 3),                // 1×1 image, kernel larger than it
                new Case(Shift.DOWN_RIGHT, 1, 2, 9, 4, 3, 1, 1),
                new Case(Shift.DOWN_RIGHT, 5, 33, 13, 11, 129, 3, 2));    // K = 129: three row tiles
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void bothPathsAndTheChosenOneMatchTheCpu(Case c) {
        Backend cuda = GpuTests.cudaOrSkip(), cpu = Backends.cpu();
        Random r = new Random(c.hashCode());
        float[] x = gauss(r, c.x()), w = gauss(r, c.wt()), dy = gauss(r, c.y());
        try (Scope scope = Scope.open()) {
            Tensor xc = cpu.fromHost(c.x(), x), wc = cpu.fromHost(c.wt(), w), dyc = cpu.fromHost(c.y(), dy);
            double[] y = cpu.shiftedConv2d(xc, wc, c.s()).toDoubles();
            double[] dx = cpu.shiftedConv2dBackwardInput(dyc, wc, c.x(), c.s()).toDoubles();
            double[] dw = cpu.shiftedConv2dBackwardWeight(xc, dyc, c.wt(), c.s()).toDoubles();
            Tensor xg = cuda.fromHost(c.x(), x), wg = cuda.fromHost(c.wt(), w), dyg = cuda.fromHost(c.y(), dy);
            for (FasterPath.Path p : FasterPath.Path.values()) {
                String at = c + " " + p;
                Tensor yg = CudaShiftedConv.forward(xg, wg, c.s(), p);
                assertEquals(c.y(), yg.shape(), at);
                close(at + " forward", yg.toDoubles(), y);
                close(at + " backward input", CudaShiftedConv.backwardInput(dyg, wg, c.x(), c.s(), p).toDoubles(), dx);
                close(at + " backward weight", CudaShiftedConv.backwardWeight(xg, dyg, c.wt(), c.s(), p).toDoubles(), dw);
            }
            String at = c + " chosen";
            close(at + " forward", cuda.shiftedConv2d(xg, wg, c.s()).toDoubles(), y);
            close(at + " backward input", cuda.shiftedConv2dBackwardInput(dyg, wg, c.x(), c.s()).toDoubles(), dx);
            close(at + " backward weight", cuda.shiftedConv2dBackwardWeight(xg, dyg, c.wt(), c.s()).toDoubles(), dw);
        }
        if (CudaShiftedConv.forced() == null) {
            var made = CudaShiftedConv.choices();
            assertTrue(made.keySet().stream().anyMatch(k -> k.startsWith("forward " + c.s() + " x" + c.x())), "no choice recorded for " + c + ": " + made);
        }
    }

    /**
     * The kernels on tensor cores (-Dfrl.cuda.shiftedKernel=mma, set here whatever the run's switch says) keep float32's
     * accuracy: NMSE ≤ 1e-10 against the CPU on PixelCNN++'s sizes and on tails of their 128 × 80 tiles, where one
     * TF32 pass gives about 1e-7; and their weight gradient repeats its bits.
     */
    @Test
    void theTensorCoreKernelsKeepFloat32Accuracy() {
        Backend cuda = GpuTests.cudaOrSkip(), cpu = Backends.cpu();
        Switches.with("frl.cuda.shiftedKernel", "mma", () -> {
            for (Case c : List.of(cases().get(1), cases().get(2), cases().get(3), cases().get(9), cases().get(12))) {
                Random r = new Random(c.hashCode() + 1);
                float[] x = gauss(r, c.x()), w = gauss(r, c.wt()), dy = gauss(r, c.y());
                try (Scope scope = Scope.open()) {
                    Tensor xc = cpu.fromHost(c.x(), x), wc = cpu.fromHost(c.wt(), w), dyc = cpu.fromHost(c.y(), dy);
                    Tensor xg = cuda.fromHost(c.x(), x), wg = cuda.fromHost(c.wt(), w), dyg = cuda.fromHost(c.y(), dy);
                    FasterPath.Path k = FasterPath.Path.KERNEL;
                    close(c + " forward on tensor cores", CudaShiftedConv.forward(xg, wg, c.s(), k).toDoubles(), cpu.shiftedConv2d(xc, wc, c.s()).toDoubles(), 1e-10);
                    close(c + " backward input on tensor cores", CudaShiftedConv.backwardInput(dyg, wg, c.x(), c.s(), k).toDoubles(),
                            cpu.shiftedConv2dBackwardInput(dyc, wc, c.x(), c.s()).toDoubles(), 1e-10);
                    float[] dw = CudaShiftedConv.backwardWeight(xg, dyg, c.wt(), c.s(), k).toFloats();
                    close(c + " backward weight on tensor cores", toDoubles(dw), cpu.shiftedConv2dBackwardWeight(xc, dyc, c.wt(), c.s()).toDoubles(), 1e-10);
                    assertTrue(java.util.Arrays.equals(dw, CudaShiftedConv.backwardWeight(xg, dyg, c.wt(), c.s(), k).toFloats()),
                            c + ": the tensor cores' weight gradient changed between runs");
                }
            }
        });
    }

    /**
     * Under -Dfrl.cuda.shiftedKernel=mma, CudaConv's 1×1 convolutions over more channels than its own 1×1 kernels take
     * (PixelCNN++'s nin layers) run on these kernels where -Dfrl.cuda.conv1x1 says kernel: all three ops within NMSE 1e-10
     * of the CPU's conv2d.
     */
    @Test
    void oneByOneConvolutionsRunOnTheTensorCoreKernels() {
        Backend cuda = GpuTests.cudaOrSkip(), cpu = Backends.cpu();
        ConvGeometry one = ConvGeometry.of(1, 0);
        Switches.with("frl.cuda.shiftedKernel", "mma", () -> { Switches.with("frl.cuda.conv1x1", "kernel", () -> {
            for (Shape[] c : new Shape[][] {{Shape.of(32, 320, 32, 32), Shape.of(80, 320, 1, 1)}, {Shape.of(32, 160, 8, 8), Shape.of(80, 160, 1, 1)},
                    {Shape.of(3, 100, 5, 7), Shape.of(150, 100, 1, 1)}}) {
                Shape xs = c[0], ws = c[1], ys = Shape.of(xs.dim(0), ws.dim(0), xs.dim(2), xs.dim(3));
                assertTrue(CudaShiftedConv.takesOneByOne(xs, ws, one) && !CudaConv1x1.applies(xs, ws, one), xs + " " + ws);
                Random r = new Random(xs.hashCode());
                float[] x = gauss(r, xs), w = gauss(r, ws), dy = gauss(r, ys);
                try (Scope scope = Scope.open()) {
                    Tensor xc = cpu.fromHost(xs, x), wc = cpu.fromHost(ws, w), dyc = cpu.fromHost(ys, dy);
                    Tensor xg = cuda.fromHost(xs, x), wg = cuda.fromHost(ws, w), dyg = cuda.fromHost(ys, dy);
                    String at = "1×1 x" + xs + " w" + ws;
                    close(at + " forward", cuda.conv2d(xg, wg, one).toDoubles(), cpu.conv2d(xc, wc, one).toDoubles(), 1e-10);
                    close(at + " backward input", cuda.conv2dBackwardInput(dyg, wg, xs, one).toDoubles(), cpu.conv2dBackwardInput(dyc, wc, xs, one).toDoubles(), 1e-10);
                    close(at + " backward weight", cuda.conv2dBackwardWeight(xg, dyg, ws, one).toDoubles(), cpu.conv2dBackwardWeight(xc, dyc, ws, one).toDoubles(), 1e-10);
                }
            }
        }); });
    }

    /**
     * Backend#shiftedConv2dOfConcatElu under -Dfrl.cuda.shiftedKernel=mma, each path forced (the kernel that reads
     * concatElu(x) as it loads x; concat-ELU then cuDNN) and by timing, within NMSE 1e-10 of the CPU's two ops at
     * PixelCNN++'s scoring sizes and a small one.
     */
    @Test
    void theForwardOfAConcatEluOnTensorCoresIsItsTwoOps() {
        Backend cuda = GpuTests.cudaOrSkip(), cpu = Backends.cpu();
        Switches.with("frl.cuda.shiftedKernel", "mma", () -> {
            for (Case c : List.of(new Case(Shift.DOWN, 128, 160, 32, 32, 80, 2, 3), new Case(Shift.DOWN_RIGHT, 128, 160, 8, 8, 160, 2, 2),
                    new Case(Shift.DOWN, 3, 34, 5, 9, 17, 2, 3))) {
                Shape xs = Shape.of(c.n(), c.c() / 2, c.h(), c.w());
                Random r = new Random(c.hashCode() + 2);
                float[] x = gauss(r, xs), w = gauss(r, c.wt());
                try (Scope scope = Scope.open()) {
                    double[] want = cpu.shiftedConv2d(cpu.concatElu(cpu.fromHost(xs, x)), cpu.fromHost(c.wt(), w), c.s()).toDoubles();
                    Tensor xg = cuda.fromHost(xs, x), wg = cuda.fromHost(c.wt(), w);
                    for (FasterPath.Path p : FasterPath.Path.values())
                        close(c + " forward of concat-ELU, " + p, CudaShiftedConv.forwardOfConcatElu(xg, wg, c.s(), p).toDoubles(), want, 1e-10);
                    close(c + " forward of concat-ELU, by timing", cuda.shiftedConv2dOfConcatElu(xg, wg, c.s()).toDoubles(), want, 1e-10);
                }
            }
        });
    }

    private static double[] toDoubles(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }

    @Test
    void theWeightGradientIsDeterministic() {
        Backend cuda = GpuTests.cudaOrSkip();
        Case c = new Case(Shift.DOWN, 32, 160, 32, 32, 80, 2, 3);
        Random r = new Random(7);
        try (Scope scope = Scope.open()) {
            Tensor x = cuda.fromHost(c.x(), gauss(r, c.x())), dy = cuda.fromHost(c.y(), gauss(r, c.y()));
            float[] first = CudaShiftedConv.backwardWeight(x, dy, c.wt(), c.s(), FasterPath.Path.KERNEL).toFloats();
            for (int i = 0; i < 3; i++)
                assertTrue(java.util.Arrays.equals(first, CudaShiftedConv.backwardWeight(x, dy, c.wt(), c.s(), FasterPath.Path.KERNEL).toFloats()),
                        "the kernels' weight gradient changed between runs");
        }
    }

    @Test
    void badShapesGiveTheCpuBackendsErrors() {
        Backend cuda = GpuTests.cudaOrSkip(), cpu = Backends.cpu();
        try (Scope scope = Scope.open()) {
            String want = assertThrows(IllegalArgumentException.class,
                    () -> cpu.shiftedConv2d(cpu.empty(Shape.of(1, 2, 3, 3)), cpu.empty(Shape.of(1, 2, 2, 2)), Shift.DOWN)).getMessage();
            String got = assertThrows(IllegalArgumentException.class,
                    () -> cuda.shiftedConv2d(cuda.empty(Shape.of(1, 2, 3, 3)), cuda.empty(Shape.of(1, 2, 2, 2)), Shift.DOWN)).getMessage();
            assertEquals(want, got);
        }
    }

    static void close(String what, double[] got, double[] want) { close(what, got, want, 1e-7); }

    static void close(String what, double[] got, double[] want, double tol) {
        assertEquals(want.length, got.length, what + ": sizes differ");
        double e = OpHarness.nmse(got, want);
        assertTrue(e <= tol, what + ": NMSE " + e + " > " + tol + firstDifference(got, want));
    }

    /** Where the worst element is, to tell a tail or an index mistake from rounding. */
    private static String firstDifference(double[] got, double[] want) {
        int worst = 0;
        for (int i = 0; i < got.length; i++) if (!(Math.abs(got[i] - want[i]) <= Math.abs(got[worst] - want[worst]))) worst = i;
        return " (worst at flat index " + worst + ": " + got[worst] + " vs " + want[worst] + ")";
    }

    static float[] gauss(Random r, Shape s) {
        float[] v = new float[(int) s.numel()];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return v;
    }
}
