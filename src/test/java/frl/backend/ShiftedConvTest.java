package frl.backend;

import frl.backend.reference.ReferenceBackend;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The shifted convolutions against their definition in PixelCNN++ (tf.pad with the causal padding, then a valid
 * conv2d) on the reference and CPU backends, and the same argument errors from both.
 */
class ShiftedConvTest {
    private static final List<Backend> BACKENDS = List.of(new ReferenceBackend(), Backends.cpu());   // not the recording one: no gradient-check credit

    /** PixelCNN++'s down_shifted_conv2d / down_right_shifted_conv2d, written with pad + conv2d: y, dx, dw. */
    private static double[][] byDefinition(Backend b, Tensor x, Tensor w, Tensor dy, Shift s) {
        int kh = w.dim(2), kw = w.dim(3), h = x.dim(2), wd = x.dim(3);
        int left = s == Shift.DOWN ? (kw - 1) / 2 : kw - 1, right = s == Shift.DOWN ? (kw - 1) / 2 : 0;
        ConvGeometry valid = ConvGeometry.of(1, 0);
        Tensor xp = b.pad(x, new int[] {0, 0, kh - 1, left}, new int[] {0, 0, 0, right}, 0);
        Tensor dxp = b.conv2dBackwardInput(dy, w, xp.shape(), valid);
        Tensor dx = b.narrow(b.narrow(dxp, 2, kh - 1, h), 3, left, wd);
        return new double[][] {b.conv2d(xp, w, valid).toDoubles(), dx.toDoubles(), b.conv2dBackwardWeight(xp, dy, w.shape(), valid).toDoubles()};
    }

    @ParameterizedTest
    @EnumSource(Shift.class)
    void forwardAndGradientsArePadThenValidConvolution(Shift s) {
        // {n, c, h, w, k, kh, kw}: PixelCNN++'s kernels, 1×1 images, kernels wider than the image, several images
        // per CPU GEMM (64 pixels) and several channel blocks of columns (150 channels).
        int[][] shapes = s == Shift.DOWN
                ? new int[][] {{2, 3, 5, 7, 4, 2, 3}, {1, 2, 4, 4, 3, 1, 5}, {3, 1, 1, 2, 2, 2, 3}, {9, 3, 8, 8, 6, 2, 3}, {1, 150, 16, 16, 2, 2, 3}}
                : new int[][] {{2, 3, 5, 7, 4, 2, 2}, {1, 2, 6, 3, 3, 3, 1}, {1, 1, 1, 1, 2, 2, 2}, {9, 3, 8, 8, 6, 2, 2}, {1, 150, 16, 16, 2, 2, 2}};
        for (int[] d : shapes) {
            Shape xs = Shape.of(d[0], d[1], d[2], d[3]), ws = Shape.of(d[4], d[1], d[5], d[6]), ys = Shape.of(d[0], d[4], d[2], d[3]);
            Random r = new Random(xs.hashCode() * 31L + ws.hashCode());
            double[] x = gauss(r, xs), w = gauss(r, ws), dy = gauss(r, ys);
            for (Backend b : BACKENDS) {
                try (Scope scope = Scope.open()) {
                    Tensor xt = b.fromHost(xs, x), wt = b.fromHost(ws, w), dyt = b.fromHost(ys, dy);
                    Tensor y = b.shiftedConv2d(xt, wt, s);
                    assertEquals(ys, y.shape(), b.name());
                    double[][] want = byDefinition(b, xt, wt, dyt, s);
                    double[][] got = {y.toDoubles(), b.shiftedConv2dBackwardInput(dyt, wt, xs, s).toDoubles(), b.shiftedConv2dBackwardWeight(xt, dyt, ws, s).toDoubles()};
                    String[] what = {"forward", "backward input", "backward weight"};
                    for (int i = 0; i < 3; i++) {
                        double e = OpHarness.nmse(got[i], want[i]);
                        assertTrue(e <= 1e-12, b.name() + " " + s + " x" + xs + " w" + ws + " " + what[i] + ": NMSE " + e);
                    }
                }
            }
        }
    }

    @Test
    void causality() {
        // Output pixel (i, j) must not depend on input rows below i (DOWN) nor, for DOWN_RIGHT, on (i, j' > j).
        Shape xs = Shape.of(1, 1, 4, 5);
        for (Shift s : Shift.values()) {
            Shape ws = s == Shift.DOWN ? Shape.of(1, 1, 2, 3) : Shape.of(1, 1, 2, 2);
            double[] w = new double[(int) ws.numel()];
            java.util.Arrays.fill(w, 1);
            for (int at = 0; at < xs.numel(); at++) {
                double[] x = new double[(int) xs.numel()];
                x[at] = 1;
                int pi = at / 5, pj = at % 5;
                try (Scope scope = Scope.open()) {
                    double[] y = Backends.cpu().shiftedConv2d(Backends.cpu().fromHost(xs, x), Backends.cpu().fromHost(ws, w), s).toDoubles();
                    for (int i = 0; i < 4; i++) for (int j = 0; j < 5; j++) {
                        boolean seen = y[i * 5 + j] != 0;
                        boolean allowed = s == Shift.DOWN ? pi <= i && pi >= i - 1 && Math.abs(pj - j) <= 1
                                : pi <= i && pi >= i - 1 && pj <= j && pj >= j - 1;
                        assertEquals(allowed, seen, s + ": input (" + pi + "," + pj + ") → output (" + i + "," + j + ")");
                    }
                }
            }
        }
    }

    @Test
    void badArgumentsGiveTheSameErrorOnEveryBackend() {
        String[] messages = new String[BACKENDS.size()];
        for (int i = 0; i < BACKENDS.size(); i++) {
            Backend b = BACKENDS.get(i);
            try (Scope scope = Scope.open()) {
                Tensor x = b.fromHost(Shape.of(1, 2, 3, 3), new double[18]);
                var even = assertThrows(IllegalArgumentException.class, () -> b.shiftedConv2d(x, b.fromHost(Shape.of(1, 2, 2, 2), new double[8]), Shift.DOWN));
                assertTrue(even.getMessage().contains("odd"), even.getMessage());
                var channels = assertThrows(IllegalArgumentException.class, () -> b.shiftedConv2d(x, b.fromHost(Shape.of(1, 3, 2, 2), new double[12]), Shift.DOWN_RIGHT));
                var grad = assertThrows(IllegalArgumentException.class, () -> b.shiftedConv2dBackwardInput(
                        b.fromHost(Shape.of(1, 1, 3, 2), new double[6]), b.fromHost(Shape.of(1, 2, 2, 2), new double[8]), x.shape(), Shift.DOWN_RIGHT));
                var gradW = assertThrows(IllegalArgumentException.class, () -> b.shiftedConv2dBackwardWeight(
                        x, b.fromHost(Shape.of(1, 4, 3, 3), new double[36]), Shape.of(1, 2, 2, 3), Shift.DOWN));
                messages[i] = even.getMessage() + " | " + channels.getMessage() + " | " + grad.getMessage() + " | " + gradW.getMessage();
            }
        }
        for (String m : messages) assertEquals(messages[0], m);
    }

    private static double[] gauss(Random r, Shape s) {
        double[] v = new double[(int) s.numel()];
        for (int i = 0; i < v.length; i++) v[i] = r.nextGaussian();
        return v;
    }
}
