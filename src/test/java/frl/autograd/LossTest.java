package frl.autograd;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.ConvGeometry;
import frl.tensor.Scope;
import frl.tensor.Shape;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class LossTest {
    private final Backend be = Backends.cpu();

    /**
     * Loss.crossEntropyOfPhases (the VAE's last layer and its loss as one node, whose backward a backend may fuse) gives
     * the values and gradients of the convT-to-phases, reshape and crossEntropy nodes bit for bit on the CPU, with
     * a seed that is not uniform (each position's loss weighted), and with only one input taking gradients. At the
     * fmnist VAE's last layer (phases of 16×16 pixels) the CPU's fused backward takes Vector-API panels, whose weight
     * gradient sums in another order than conv2dBackwardWeightFromPhases' GEMMs: dw there within 1e-5 of its largest
     * element, the rest bit for bit.
     */
    @Test void crossEntropyOfPhasesIsTheThreeNodesBitForBit() {
        threeNodesBitForBit(7, Shape.of(3, 5, 4, 6), Shape.of(5, 14, 4, 4), Shape.of(4, 2, 3 * 4 * 6), 0);   // phases [4, 14, 3, 24]
        threeNodesBitForBit(256, Shape.of(3, 32, 16, 16), Shape.of(32, 512, 4, 4), Shape.of(4, 2, 3 * 256), 1e-5);
    }

    private void threeNodesBitForBit(int classes, Shape xs, Shape ws, Shape ts, double dwTolerance) {
        Random r = new Random(4);
        ConvGeometry g = ConvGeometry.of(2, 1);
        int n = xs.dim(0), q = (int) (ts.dim(2) / n);
        double[] xv = gaussian(r, xs), wv = gaussian(r, ws), tv = new double[(int) ts.numel()], seed = gaussian(r, ts);
        for (int i = 0; i < tv.length; i++) tv[i] = r.nextInt(classes);
        for (int grads = 0; grads < 3; grads++) { // 0: both inputs, 1: x only, 2: w only
            double[][] out = new double[2][], fused = null;
            for (int one = 0; one < 2; one++)
                try (Scope _ = Scope.open()) {
                    Var x = grads == 2 ? Var.constant(be.fromHost(xs, xv)) : Var.leaf(be.fromHost(xs, xv));
                    Var w = grads == 1 ? Var.constant(be.fromHost(ws, wv)) : Var.leaf(be.fromHost(ws, wv));
                    Var t = Var.constant(be.fromHost(ts, tv));
                    Var loss;
                    if (one == 1) loss = Loss.crossEntropyOfPhases(x, w, g, t, classes);
                    else {
                        Var phases = Linear.convTranspose2dToPhases(x, w, null, g);
                        loss = Loss.crossEntropy(Layout.reshape(phases, 4, 2, classes, n * q), t, 2);
                    }
                    loss.backward(be.fromHost(ts, seed));
                    double[] dx = x.grad() == null ? new double[0] : x.grad().toDoubles(), dw = w.grad() == null ? new double[0] : w.grad().toDoubles();
                    double[][] got = {loss.value().toDoubles(), dx, dw};
                    if (one == 1) fused = got;
                    else out = got;
                    if (one == 1) assertEquals(grads == 0 ? "crossEntropyOfPhases" : "crossEntropy", loss.op(), "the node taken");
                }
            String[] names = {"loss", "dx", "dw"};
            for (int i = 0; i < 2; i++) assertArrayEquals(out[i], fused[i], 0, names[i] + " (case " + grads + ")");
            double largest = 0;
            for (double v : out[2]) largest = Math.max(largest, Math.abs(v));
            assertArrayEquals(out[2], fused[2], dwTolerance * largest, "dw (case " + grads + ")");
            assertEquals(grads == 2 ? 0 : xv.length, fused[1].length, "dx where x takes gradients");
        }
    }

    /**
     * Where no gradient is wanted, the CPU scores the last layer's product as it is made (Backend#crossEntropyOfPhases,
     * the logits never stored): the loss of the three nodes bit for bit, at the fmnist VAE's last layer.
     */
    @Test void crossEntropyOfPhasesWithoutGradientsIsTheThreeNodesBitForBit() {
        Random r = new Random(5);
        ConvGeometry g = ConvGeometry.of(2, 1);
        Shape xs = Shape.of(3, 32, 16, 16), ws = Shape.of(32, 512, 4, 4), ts = Shape.of(4, 2, 3 * 256);
        double[] tv = new double[(int) ts.numel()];
        for (int i = 0; i < tv.length; i++) tv[i] = r.nextInt(256);
        try (Scope _ = Scope.open(); Var.NoGrad _ = Var.noGrad()) {
            Var x = Var.leaf(be.fromHost(xs, gaussian(r, xs))), w = Var.leaf(be.fromHost(ws, gaussian(r, ws))), t = Var.constant(be.fromHost(ts, tv));
            Var fused = Loss.crossEntropyOfPhases(x, w, g, t, 256);
            Var phases = Linear.convTranspose2dToPhases(x, w, null, g);
            Var nodes = Loss.crossEntropy(Layout.reshape(phases, 4, 2, 256, 3 * 256), t, 2);
            assertArrayEquals(nodes.value().toFloats(), fused.value().toFloats());
            assertEquals(be.fusesCrossEntropyOfPhases() ? "constant" : "crossEntropy", fused.op(), "the node taken");
        }
    }

    @Test void crossEntropyOfPhasesNamesAChannelCountThatIsNotAMultipleOfTheClasses() {
        try (Scope _ = Scope.open()) {
            Var x = Var.leaf(be.full(Shape.of(1, 2, 2, 2), 0.5)), w = Var.leaf(be.full(Shape.of(2, 9, 4, 4), 0.1));
            var e = assertThrows(IllegalArgumentException.class,
                    () -> Loss.crossEntropyOfPhases(x, w, ConvGeometry.of(2, 1), Var.constant(be.full(Shape.of(4, 2, 4), 0)), 4));
            assertTrue(e.getMessage().contains("does not hold 4 classes per channel"), e.getMessage());
        }
    }

    private static double[] gaussian(Random r, Shape s) {
        double[] v = new double[(int) s.numel()];
        for (int i = 0; i < v.length; i++) v[i] = r.nextGaussian();
        return v;
    }
}
