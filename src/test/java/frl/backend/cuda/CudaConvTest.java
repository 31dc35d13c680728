package frl.backend.cuda;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.ConvGeometry;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.bytedeco.cuda.global.cudnn;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * cuDNN convolutions against the CPU backend: forward, backward-input (also a transposed conv's forward) and
 * backward-weight at the VAE's layer shapes (CIFAR-like config: 4 channels, ngf 64, nz 200, 32×32, batch 64)
 * and at awkward ones (batch 1, H ≠ W, 17 × 9, stride 2 on odd sizes so backward-input has rows no window
 * reaches, 2×3 kernels, stride 2×1, kernel larger than the image). NMSE ≤ 1e-7 with TF32 off.
 */
@Tag("gpu")
class CudaConvTest {
    /** TF32 keeps 10 mantissa bits: its error is ~1e-3 relative, so only a loose check is meaningful then. */
    static final double TOL = CudaBackend.TF32 ? 1e-5 : 1e-7;

    /** x [n,c,h,w] ⋆ w [k,c,kh,kw], stride sh×sw, padding ph×pw. */
    record Case(String name, int n, int c, int h, int w, int k, int kh, int kw, int sh, int sw, int ph, int pw) {
        ConvGeometry g() { return new ConvGeometry(sh, sw, ph, pw); }

        Shape x() { return Shape.of(n, c, h, w); }

        Shape wt() { return Shape.of(k, c, kh, kw); }

        Shape y() { return Shape.of(n, k, g().outH(h, kh), g().outW(w, kw)); }

        @Override public String toString() { return name + ": x" + x() + " w" + wt() + " s" + sh + "×" + sw + " p" + ph + "×" + pw; }
    }

    /**
     * Every conv of the VAE, as (input, filter) of the convolution; a transposed conv [in → out] is the
     * backward-input of the conv with x [N, out, H', W'] and w [in, out, k, k], so both directions share a row.
     */
    static final List<Case> VAE = List.of(
            new Case("encoder input 4→64", 64, 4, 32, 32, 64, 4, 4, 2, 2, 1, 1),
            new Case("encoder 64→128 | decoder convT 128→64", 64, 64, 16, 16, 128, 4, 4, 2, 2, 1, 1),
            new Case("encoder 128→256 | decoder convT 256→128", 64, 128, 8, 8, 256, 4, 4, 2, 2, 1, 1),
            new Case("encoder heads 256→200 | decoder convT 200→256 (1→4)", 64, 256, 4, 4, 200, 4, 4, 1, 1, 0, 0),
            new Case("decoder final convT 64→1024 (16→32)", 64, 1024, 32, 32, 64, 4, 4, 2, 2, 1, 1),
            new Case("fmnist encoder input 2→32", 64, 2, 32, 32, 32, 4, 4, 2, 2, 1, 1));

    static final List<Case> AWKWARD = List.of(
            new Case("1×1, batch 1, C = K = 1", 1, 1, 5, 7, 1, 1, 1, 1, 1, 0, 0),
            new Case("3×3 on 17×9", 2, 3, 17, 9, 4, 3, 3, 1, 1, 1, 1),
            new Case("4×4 s2 on odd 17×9, batch 1", 1, 3, 17, 9, 5, 4, 4, 2, 2, 1, 1),
            new Case("4×4 s2 on odd 15×15, batch 33", 33, 8, 15, 15, 16, 4, 4, 2, 2, 1, 1),
            new Case("2×3 kernel, stride 2×1, pad 1×0", 3, 3, 17, 16, 5, 2, 3, 2, 1, 1, 0),
            new Case("2×2 s2 unpadded on 9×13", 2, 2, 9, 13, 3, 2, 2, 2, 2, 0, 0),
            new Case("5×5 s2 p2 on 11×13", 1, 2, 11, 13, 3, 5, 5, 2, 2, 2, 2),
            new Case("kernel larger than the image", 2, 1, 3, 3, 2, 5, 5, 1, 1, 1, 1),
            new Case("1×1 strided", 2, 3, 7, 9, 2, 1, 1, 2, 2, 0, 0),
            new Case("stride 3, padding in W only", 2, 40, 24, 48, 3, 3, 3, 3, 3, 0, 2),
            new Case("150 channels, batch 1", 1, 150, 16, 16, 2, 3, 3, 1, 1, 1, 1),
            new Case("33×33, batch 1", 1, 16, 33, 33, 32, 3, 3, 1, 1, 1, 1));

    static Stream<Case> cases() { return Stream.concat(VAE.stream(), AWKWARD.stream()); }

    @AfterAll static void printAlgorithms() {
        if (Backends.cuda().isPresent()) System.out.print("cuDNN algorithms chosen:\n" + CudaConv.describeAlgorithms());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void forwardMatchesCpu(Case c) {
        Backend cuda = GpuTests.cudaOrSkip();
        Backend cpu = Backends.cpu();
        try (Scope s = Scope.open()) {
            Random r = new Random(c.hashCode());
            float[] x = uniform(r, c.x()), w = uniform(r, c.wt());
            Tensor want = cpu.conv2d(cpu.fromHost(c.x(), x), cpu.fromHost(c.wt(), w), c.g());
            Tensor got = cuda.conv2d(cuda.fromHost(c.x(), x), cuda.fromHost(c.wt(), w), c.g());
            assertClose("conv2d " + c, got, want);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void backwardInputMatchesCpu(Case c) {
        Backend cuda = GpuTests.cudaOrSkip();
        Backend cpu = Backends.cpu();
        try (Scope s = Scope.open()) {
            Random r = new Random(c.hashCode() + 1);
            float[] dy = uniform(r, c.y()), w = uniform(r, c.wt());
            Tensor want = cpu.conv2dBackwardInput(cpu.fromHost(c.y(), dy), cpu.fromHost(c.wt(), w), c.x(), c.g());
            Tensor got = cuda.conv2dBackwardInput(cuda.fromHost(c.y(), dy), cuda.fromHost(c.wt(), w), c.x(), c.g());
            assertClose("conv2dBackwardInput " + c, got, want);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void backwardWeightMatchesCpu(Case c) {
        Backend cuda = GpuTests.cudaOrSkip();
        Backend cpu = Backends.cpu();
        try (Scope s = Scope.open()) {
            Random r = new Random(c.hashCode() + 2);
            float[] x = uniform(r, c.x()), dy = uniform(r, c.y());
            Tensor want = cpu.conv2dBackwardWeight(cpu.fromHost(c.x(), x), cpu.fromHost(c.y(), dy), c.wt(), c.g());
            Tensor got = cuda.conv2dBackwardWeight(cuda.fromHost(c.x(), x), cuda.fromHost(c.y(), dy), c.wt(), c.g());
            assertClose("conv2dBackwardWeight " + c, got, want);
        }
    }

    /** The other ways of choosing an algorithm (heuristics, Find restricted to deterministic ones) are right too. */
    @Test void everyPolicyMatchesCpu() {
        GpuTests.cudaOrSkip();
        Backend cpu = Backends.cpu();
        List<CudaConv.Policy> policies = List.of(new CudaConv.Policy(false, false), new CudaConv.Policy(true, true), new CudaConv.Policy(false, true));
        for (Case c : List.of(VAE.get(1), AWKWARD.get(2), AWKWARD.get(4))) {
            try (Scope s = Scope.open()) {
                Random r = new Random(c.hashCode() + 3);
                float[] x = uniform(r, c.x()), w = uniform(r, c.wt()), dy = uniform(r, c.y());
                Tensor cx = cpu.fromHost(c.x(), x), cw = cpu.fromHost(c.wt(), w), cdy = cpu.fromHost(c.y(), dy);
                Tensor gx = CudaBackend.instance().fromHost(c.x(), x), gw = CudaBackend.instance().fromHost(c.wt(), w),
                        gdy = CudaBackend.instance().fromHost(c.y(), dy);
                Tensor y = cpu.conv2d(cx, cw, c.g()), dx = cpu.conv2dBackwardInput(cdy, cw, c.x(), c.g()), dw = cpu.conv2dBackwardWeight(cx, cdy, c.wt(), c.g());
                for (CudaConv.Policy p : policies) {
                    assertClose("conv2d " + p + " " + c, CudaConv.conv2d(gx, gw, c.g(), p), y);
                    assertClose("conv2dBackwardInput " + p + " " + c, CudaConv.backwardInput(gdy, gw, c.x(), c.g(), p), dx);
                    assertClose("conv2dBackwardWeight " + p + " " + c, CudaConv.backwardWeight(gx, gdy, c.wt(), c.g(), p), dw);
                }
            }
        }
    }

    /** Deterministic mode: the chosen algorithms say so, and two runs give the same bits (dw sums over the batch). */
    @Test void deterministicPolicyRepeatsBitForBit() {
        GpuTests.cudaOrSkip();
        CudaConv.Policy det = new CudaConv.Policy(true, true);
        Case c = VAE.get(0);
        try (Scope s = Scope.open()) {
            Random r = new Random(7);
            Tensor x = CudaBackend.instance().fromHost(c.x(), uniform(r, c.x())), w = CudaBackend.instance().fromHost(c.wt(), uniform(r, c.wt())),
                    dy = CudaBackend.instance().fromHost(c.y(), uniform(r, c.y()));
            assertArrayEquals(CudaConv.backwardWeight(x, dy, c.wt(), c.g(), det).toFloats(), CudaConv.backwardWeight(x, dy, c.wt(), c.g(), det).toFloats());
            assertArrayEquals(CudaConv.backwardInput(dy, w, c.x(), c.g(), det).toFloats(), CudaConv.backwardInput(dy, w, c.x(), c.g(), det).toFloats());
            assertArrayEquals(CudaConv.conv2d(x, w, c.g(), det).toFloats(), CudaConv.conv2d(x, w, c.g(), det).toFloats());
        }
        for (CudaConv.Plan p : CudaConv.plans())
            if (p.key().policy().equals(det)) assertTrue(p.deterministic(), "deterministic policy chose " + p);
    }

    /**
     * One plan per (op, shapes, geometry, policy) and math (CudnnMath: two where auto times both), made at the first
     * call and reused by later ones; FMA math unless TF32 is on or the plan runs on 3xTF32 parts.
     */
    @Test void plansAreCachedPerShapeAndUseFmaMath() {
        Backend cuda = GpuTests.cudaOrSkip();
        Case c = new Case("cache probe", 3, 5, 11, 7, 6, 3, 2, 1, 2, 1, 0);
        int before = CudaConv.plans().size(), afterFirst = 0;
        try (Scope s = Scope.open()) {
            Random r = new Random(11);
            Tensor x = cuda.fromHost(c.x(), uniform(r, c.x())), w = cuda.fromHost(c.wt(), uniform(r, c.wt())), dy = cuda.fromHost(c.y(), uniform(r, c.y()));
            for (int i = 0; i < 3; i++) {
                cuda.conv2d(x, w, c.g());
                cuda.conv2dBackwardInput(dy, w, c.x(), c.g());
                cuda.conv2dBackwardWeight(x, dy, c.wt(), c.g());
                if (i == 0) afterFirst = CudaConv.plans().size();
            }
        }
        List<CudaConv.Plan> mine = CudaConv.plans().subList(before, afterFirst);
        assertEquals(afterFirst, CudaConv.plans().size(), "later calls made plans: " + CudaConv.plans().subList(afterFirst, CudaConv.plans().size()));
        assertEquals(3 * CudnnMath.allowed().size(), mine.size(), "one plan per op and math: " + mine);
        assertEquals(3, mine.stream().map(p -> p.key().op()).distinct().count());
        for (CudaConv.Plan p : CudaConv.plans()) {
            if (!CudaBackend.TF32 && !p.key().policy().tf32Parts())
                assertEquals(cudnn.CUDNN_FMA_MATH, p.mathType(), "TF32 is off but " + p.key() + " runs with " + CudaConv.mathName(p.mathType()));
            assertTrue(p.workspace() >= 0);
        }
        String text = CudaConv.describeAlgorithms();
        assertTrue(text.contains("conv2dBackwardWeight x"), text);
    }

    /**
     * -Dfrl.cuda.cudnnMath=3xtf32: the three ops on TF32 tensor cores over 3xTF32 parts keep float32's accuracy (NMSE ≤
     * 1e-10 against the CPU, where one TF32 pass gives about 1e-7), by plans on the parts whose algorithms sum directly.
     * Cases: a VAE layer, a 2×3 kernel with stride 2×1, PixelCNN++'s shifted 2×3 as its padded valid convolution.
     */
    @Test void tf32PartsKeepFloat32Accuracy() {
        Backend cuda = GpuTests.cudaOrSkip();
        Backend cpu = Backends.cpu();
        Switches.with("frl.cuda.cudnnMath", "3xtf32", () -> {
            for (Case c : List.of(VAE.get(1), AWKWARD.get(4), new Case("shifted 2×3 160→80 as padded", 4, 160, 17, 18, 80, 2, 3, 1, 1, 0, 0))) {
                try (Scope s = Scope.open()) {
                    Random r = new Random(c.hashCode() + 4);
                    float[] x = uniform(r, c.x()), w = uniform(r, c.wt()), dy = uniform(r, c.y());
                    Tensor cx = cpu.fromHost(c.x(), x), cw = cpu.fromHost(c.wt(), w), cdy = cpu.fromHost(c.y(), dy);
                    Tensor gx = cuda.fromHost(c.x(), x), gw = cuda.fromHost(c.wt(), w), gdy = cuda.fromHost(c.y(), dy);
                    CudaConv.Policy p = CudaConv.Policy.DEFAULT;
                    assertNmseBelow(1e-10, "conv2d on parts " + c, CudaConv.conv2d(gx, gw, c.g(), p), cpu.conv2d(cx, cw, c.g()));
                    assertNmseBelow(1e-10, "conv2dBackwardInput on parts " + c, CudaConv.backwardInput(gdy, gw, c.x(), c.g(), p),
                            cpu.conv2dBackwardInput(cdy, cw, c.x(), c.g()));
                    assertNmseBelow(1e-10, "conv2dBackwardWeight on parts " + c, CudaConv.backwardWeight(gx, gdy, c.wt(), c.g(), p),
                            cpu.conv2dBackwardWeight(cx, cdy, c.wt(), c.g()));
                }
            }
        });
        List<CudaConv.Plan> onParts = CudaConv.plans().stream().filter(p -> p.key().policy().tf32Parts()).toList();
        assertTrue(onParts.size() >= 9, "a plan on parts per op and case: " + onParts);
        for (CudaConv.Plan p : onParts) assertTrue(CudaConv.directSum(p.key().op(), p.algo()), p.key() + " took " + CudaConv.algorithmName(p.key().op(), p.algo()));
    }

    /** beta = 0: a recycled block full of NaN must not leak into any output (checked once the plans exist). */
    @Test void outputsDoNotReadRecycledMemory() {
        Backend cuda = GpuTests.cudaOrSkip();
        Case c = AWKWARD.get(3);
        try (Scope s = Scope.open()) {
            Random r = new Random(5);
            Tensor x = cuda.fromHost(c.x(), uniform(r, c.x())), w = cuda.fromHost(c.wt(), uniform(r, c.wt())), dy = cuda.fromHost(c.y(), uniform(r, c.y()));
            List<Supplier<Tensor>> ops = List.of(() -> cuda.conv2d(x, w, c.g()), () -> cuda.conv2dBackwardInput(dy, w, c.x(), c.g()),
                    () -> cuda.conv2dBackwardWeight(x, dy, c.wt(), c.g()));
            for (Supplier<Tensor> op : ops) {
                Shape out;
                try (Scope t = Scope.open()) { out = op.get().shape(); } // plan chosen (Find writes the output itself)
                float[] nan = new float[Math.toIntExact(out.numel())];
                Arrays.fill(nan, Float.NaN);
                try (Scope t = Scope.open()) { cuda.fromHost(out, nan); } // freed: the allocator hands this block out next
                try (Scope t = Scope.open()) {
                    for (float v : op.get().toFloats()) assertFalse(Float.isNaN(v), "NaN in the output of shape " + out);
                }
            }
        }
    }

    /** Empty batches and channel-free inputs: no cuDNN call, the right shapes, zeros where a sum is empty. */
    @Test void emptyInputs() {
        Backend cuda = GpuTests.cudaOrSkip();
        ConvGeometry g = ConvGeometry.of(2, 1);
        try (Scope s = Scope.open()) {
            Tensor x = cuda.empty(Shape.of(0, 3, 8, 8)), w = cuda.fromHost(Shape.of(4, 3, 4, 4), new float[4 * 3 * 16]);
            assertEquals(Shape.of(0, 4, 4, 4), cuda.conv2d(x, w, g).shape());
            Tensor dw = cuda.conv2dBackwardWeight(x, cuda.empty(Shape.of(0, 4, 4, 4)), w.shape(), g);
            assertEquals(w.shape(), dw.shape());
            for (float v : dw.toFloats()) assertEquals(0f, v);
            Tensor x0 = cuda.empty(Shape.of(2, 0, 8, 8)), w0 = cuda.empty(Shape.of(4, 0, 4, 4));
            Tensor y = cuda.conv2d(x0, w0, g);
            assertEquals(Shape.of(2, 4, 4, 4), y.shape());
            for (float v : y.toFloats()) assertEquals(0f, v);
            // from no output channels back to the input, and a shifted convolution over no channels (as CpuConvTest)
            Tensor dx = cuda.conv2dBackwardInput(cuda.empty(Shape.of(2, 0, 4, 4)), cuda.empty(Shape.of(0, 3, 4, 4)), Shape.of(2, 3, 8, 8), g);
            assertEquals(Shape.of(2, 3, 8, 8), dx.shape());
            for (float v : dx.toFloats()) assertEquals(0f, v);
            Tensor shifted = cuda.shiftedConv2d(cuda.empty(Shape.of(1, 0, 3, 4)), cuda.empty(Shape.of(5, 0, 2, 3)), frl.backend.Shift.DOWN);
            assertArrayEquals(new float[60], shifted.toFloats(), "shifted forward");
        }
    }

    /** Bad shapes are refused by the shared checks in frl.backend.Shapes, with the CPU backend's words. */
    @Test void badShapesRaiseTheCpuErrors() {
        Backend cuda = GpuTests.cudaOrSkip();
        Backend cpu = Backends.cpu();
        ConvGeometry g = ConvGeometry.of(2, 1);
        try (Scope s = Scope.open()) {
            Shape xs = Shape.of(2, 3, 8, 8), ws = Shape.of(4, 5, 4, 4), dys = Shape.of(2, 4, 5, 4), w3 = Shape.of(4, 3, 4, 4);
            assertEquals(message(() -> cpu.conv2d(cpu.empty(xs), cpu.empty(ws), g)), message(() -> cuda.conv2d(cuda.empty(xs), cuda.empty(ws), g)));
            assertEquals(message(() -> cpu.conv2dBackwardInput(cpu.empty(dys), cpu.empty(w3), xs, g)),
                    message(() -> cuda.conv2dBackwardInput(cuda.empty(dys), cuda.empty(w3), xs, g)));
            assertEquals(message(() -> cpu.conv2dBackwardWeight(cpu.empty(xs), cpu.empty(dys), w3, g)),
                    message(() -> cuda.conv2dBackwardWeight(cuda.empty(xs), cuda.empty(dys), w3, g)));
            assertThrows(IllegalArgumentException.class, () -> cuda.conv2d(cuda.empty(xs), cpu.empty(w3), g)); // a host tensor
        }
    }

    private static String message(Runnable r) { return assertThrows(IllegalArgumentException.class, r::run).getMessage(); }

    static float[] uniform(Random r, Shape s) {
        float[] v = new float[Math.toIntExact(s.numel())];
        for (int i = 0; i < v.length; i++) v[i] = (float) (2 * r.nextDouble() - 1);
        return v;
    }

    /** Same shape, finite, NMSE = Σ(got−want)² / Σwant² ≤ {@link #TOL}. */
    static void assertClose(String what, Tensor got, Tensor want) { assertNmseBelow(TOL, what, got, want); }

    /** Same shape, finite, NMSE = Σ(got−want)² / Σwant² ≤ tol. */
    static void assertNmseBelow(double tol, String what, Tensor got, Tensor want) {
        assertEquals(want.shape(), got.shape(), what + ": shape");
        float[] g = got.toFloats(), w = want.toFloats();
        double num = 0, den = 0;
        for (int i = 0; i < w.length; i++) {
            if (!Float.isFinite(g[i])) fail(what + ": got " + g[i] + " at flat index " + i + ", want " + w[i]);
            double d = (double) g[i] - w[i];
            num += d * d;
            den += (double) w[i] * w[i];
        }
        double nmse = den == 0 ? num : num / den;
        assertTrue(nmse <= tol, what + ": NMSE " + nmse + " > " + tol);
    }
}
