package frl.backend.cpu;

import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Random;

import static frl.backend.cpu.CpuTesting.CPU;
import static frl.backend.cpu.CpuTesting.REF;
import static frl.backend.cpu.CpuTesting.assertClose;
import static frl.backend.cpu.CpuTesting.cpu;
import static frl.backend.cpu.CpuTesting.shape;
import static frl.backend.cpu.CpuTesting.uniform;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Fused softmax cross-entropy against a direct float64 log-softmax, and PixelCNN++'s mixture against float64, under each kernel implementation. */
class CpuLossTest {
    /** Loss and dlogits in float64: log p = x − max − log Σ exp(x − max); dlogits = (p − onehot) · dloss. */
    private static Tensor[] float64(Shape s, int axis, float[] x, float[] t, float[] g) {
        int[] v = frl.backend.Shapes.aroundAxis(s, axis);
        double[] loss = new double[v[0] * v[2]], dx = new double[x.length];
        for (int o = 0; o < v[0]; o++) for (int j = 0; j < v[2]; j++) {
            int pos = o * v[2] + j, target = (int) t[pos];
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int c = 0; c < v[1]; c++) max = Math.max(max, x[(o * v[1] + c) * v[2] + j]);
            for (int c = 0; c < v[1]; c++) sum += Math.exp(x[(o * v[1] + c) * v[2] + j] - max);
            for (int c = 0; c < v[1]; c++) {
                int i = (o * v[1] + c) * v[2] + j;
                double logp = x[i] - max - Math.log(sum);
                if (c == target) loss[pos] = -logp;
                dx[i] = (Math.exp(logp) - (c == target ? 1 : 0)) * g[pos];
            }
        }
        return new Tensor[] {REF.fromHost(s.without(axis), loss), REF.fromHost(s, dx)};
    }

    private static void check(String what, Shape s, int axis, float[] x, Random r) {
        int classes = s.dim(axis);
        Shape ts = s.without(axis);
        float[] t = new float[(int) ts.numel()], g = uniform(r, ts.numel(), -1, 1);
        for (int i = 0; i < t.length; i++) t[i] = r.nextInt(classes);
        Tensor[] want = float64(s, axis, x, t, g);
        assertClose(what + " loss", CPU.crossEntropy(cpu(s, x), cpu(ts, t), axis), want[0]);
        assertClose(what + " dlogits", CPU.crossEntropyBackward(cpu(s, x), cpu(ts, t), cpu(ts, g), axis), want[1]);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("frl.backend.cpu.CpuTesting#kernels")
    void matchesFloat64LogSoftmax(Kernels k) {
        Object[][] cases = {   // classes on axis; inner sizes 1, 3·4, 7, 5·7, 300 (two blocks, the second partial)
                {shape(2, 5, 3, 4), 1}, {shape(4, 20), 1}, {shape(3, 7), 0}, {shape(1, 2, 256, 5, 7), 2},
                {shape(1, 2, 256, 300), 2}, {shape(3, 4, 10), -1}, {shape(1, 1, 1), 1}};
        Random r = new Random(8);
        try (var on = CpuTesting.use(k); Scope s = Scope.open()) {
            for (Object[] c : cases) {
                Shape sh = (Shape) c[0];
                int axis = (int) c[1];
                check("crossEntropy " + sh + " axis " + axis + " on " + k, sh, axis, uniform(r, sh.numel(), -8, 8), r);
            }
        }
    }

    /** Logits of ±80 overflow exp in float without the max shift; targets hit both the winning and the losing classes. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("frl.backend.cpu.CpuTesting#kernels")
    void extremeLogitsStayFinite(Kernels k) {
        Random r = new Random(9);
        try (var on = CpuTesting.use(k); Scope s = Scope.open()) {
            for (Object[] c : new Object[][] {{shape(2, 256, 5, 7), 1}, {shape(6, 40), 1}}) {
                Shape sh = (Shape) c[0];
                int axis = (int) c[1];
                float[] x = new float[(int) sh.numel()];
                for (int i = 0; i < x.length; i++) x[i] = r.nextInt(8) == 0 ? 80 : -80;
                check("crossEntropy ±80 " + sh + " on " + k, sh, axis, x, r);
            }
        }
    }

    @Test
    void invalidTargetsNameTheirPosition() {
        try (Scope s = Scope.open()) {
            Tensor logits = CPU.full(shape(2, 5, 3), 0);
            for (float bad : new float[] {5, -1, 1.5f, Float.NaN}) {
                float[] t = new float[6];
                t[4] = bad;
                Tensor targets = cpu(shape(2, 3), t);
                for (var op : new java.util.function.Supplier<?>[] {() -> CPU.crossEntropy(logits, targets, 1),
                        () -> CPU.crossEntropyBackward(logits, targets, CPU.full(shape(2, 3), 1), 1)}) {
                    var e = assertThrows(IllegalArgumentException.class, op::get);
                    assertTrue(e.getMessage().contains("flat position 4") && e.getMessage().contains("[0, 5)"), e.getMessage());
                }
            }
            var e = assertThrows(IllegalArgumentException.class, () -> CPU.crossEntropy(logits, CPU.full(shape(2, 5), 0), 1));
            assertTrue(e.getMessage().startsWith("crossEntropy: targets [2, 5]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> CPU.crossEntropyBackward(logits, CPU.full(shape(2, 3), 0), CPU.full(shape(3, 2), 1), 1));
            assertTrue(e.getMessage().startsWith("crossEntropyBackward"), e.getMessage());
        }
    }

    /**
     * PixelCNN++'s mixture under each kernel implementation against MixtureMath in float64 (the reference backend's
     * default): the NLL and every parameter's gradient, for gray, two-channel and RGB pixels, planes of 45 and 32 pixels
     * (whole vectors and a tail), bytes at 0, 255 and between, log-scales below −7 (clamped) and narrow logistics far
     * from their bins (the density branch).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("frl.backend.cpu.CpuTesting#kernels")
    void mixtureMatchesFloat64(Kernels k) {
        Random r = new Random(10);
        try (var on = CpuTesting.use(k); Scope sc = Scope.open()) {
            for (Shape xs : new Shape[] {shape(2, 2, 5, 9), shape(1, 3, 4, 8), shape(3, 1, 6, 6)}) {
                for (double top : new double[] {0, -6.5}) {   // log-scales up to 0, or all narrow: mostly the density branch
                    int m = 3, pc = frl.backend.MixtureMath.parameterChannels(xs.dim(1), m);
                    Shape ps = shape(xs.dim(0), pc, xs.dim(2), xs.dim(3)), out = shape(xs.dim(0), 1, xs.dim(2), xs.dim(3));
                    float[][] in = frl.backend.MixtureInputs.of(r, xs, m, top);
                    float[] x = in[0], p = in[1], g = uniform(r, out.numel(), -1, 1);
                    p[m * (1 + xs.dim(1)) * xs.dim(2) * xs.dim(3) + 16] = Float.NaN;   // a log-scale of pixel 16 (in a vector): NaN in, NaN out
                    String what = "mixture " + xs + " with log-scales up to " + top + " on " + k;
                    assertClose(what + " NLL", CPU.mixtureNll(cpu(xs, x), cpu(ps, p), m), REF.mixtureNll(REF.fromHost(xs, x), REF.fromHost(ps, p), m));
                    assertClose(what + " dparams", CPU.mixtureNllBackward(cpu(xs, x), cpu(ps, p), m, cpu(out, g)),
                            REF.mixtureNllBackward(REF.fromHost(xs, x), REF.fromHost(ps, p), m, REF.fromHost(out, g)));
                }
            }
            var e = assertThrows(IllegalArgumentException.class, () -> CPU.mixtureNll(CPU.full(shape(1, 2, 3, 3), 0), CPU.full(shape(1, 17, 3, 3), 0), 3));
            assertTrue(e.getMessage().contains("needs parameters [1, 18, 3, 3], got [1, 17, 3, 3]"), e.getMessage());
        }
    }
}
