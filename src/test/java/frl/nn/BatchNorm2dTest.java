package frl.nn;

import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.Backends;
import frl.tensor.Scope;
import frl.tensor.Shape;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Needs the cpu batch-norm op (layoutnorm branch) and the pointwise ops (pointwise branch). */
class BatchNorm2dTest {
    private final Backend be = Backends.cpu();

    /**
     * x[n,c,h,w] = 12n + 4c + 2h + w. Channel c holds {0,1,2,3,12,13,14,15} + 4c: mean 7.5 + 4c, biased
     * variance 298/8 = 37.25, unbiased 298/7. After one step with momentum 0.1:
     * running_mean = 0.1·(7.5 + 4c), running_var = 0.9 + 0.1·298/7.
     */
    @Test void oneTrainingStepUpdatesRunningStatsLikeTorch() {
        double[] x = new double[24];
        for (int i = 0; i < 24; i++) x[i] = i;
        try (BatchNorm2d bn = new BatchNorm2d(be, 3); Scope _ = Scope.open()) {
            Var y = bn.forward(Var.constant(be.fromHost(Shape.of(2, 3, 2, 2), x)));
            assertArrayEquals(new double[] {0.75, 1.15, 1.55}, bn.runningMean().toDoubles(), 1e-6);
            double rv = 0.9 + 0.1 * 298 / 7;
            assertArrayEquals(new double[] {rv, rv, rv}, bn.runningVar().toDoubles(), 1e-5);
            assertEquals(1, bn.numBatchesTracked().item());
            // γ = 1, β = 0: y = (x − mean)/√(37.25 + 1e-5); x[0] belongs to channel 0
            assertEquals(-7.5 / Math.sqrt(37.25 + 1e-5), y.value().get(0), 1e-5);
            bn.forward(Var.constant(be.fromHost(Shape.of(2, 3, 2, 2), x)));
            assertEquals(2, bn.numBatchesTracked().item());
            assertEquals(0.9 * 0.75 + 0.75, bn.runningMean().get(0), 1e-6);
        }
    }

    /**
     * Norm.batchNormRelu (the op a fusing backend runs for a BatchNorm2d then ReLU) gives the two ops' values and
     * gradients bit for bit: here by the Backend's composition, through the op's own backward (which passes the ReLU's
     * output, not its input, for the mask). And a Sequential of the two gives the same in training and in eval.
     */
    @Test void batchNormWithReluIsTheTwoOpsBitForBit() {
        java.util.Random r = new java.util.Random(9);
        double[] xv = new double[2 * 3 * 4 * 5], gv = {0.5, -1.25, 2}, bv = {0.1, 0.3, -0.7}, dyv = new double[xv.length];
        for (int i = 0; i < xv.length; i++) { xv[i] = r.nextGaussian(); dyv[i] = r.nextGaussian(); }
        Shape s = Shape.of(2, 3, 4, 5);
        double[][] got = new double[4][], want = new double[4][];
        for (int fused = 0; fused < 2; fused++)
            try (Scope _ = Scope.open()) {
                Var x = Var.leaf(be.fromHost(s, xv)), g = Var.leaf(be.fromHost(Shape.of(3), gv)), b = Var.leaf(be.fromHost(Shape.of(3), bv));
                Var y = fused == 1 ? frl.autograd.Norm.batchNormRelu(x, g, b, 1e-5).y() : frl.autograd.Pointwise.relu(frl.autograd.Norm.batchNorm(x, g, b, 1e-5).y());
                y.backward(be.fromHost(s, dyv));
                double[][] out = {y.value().toDoubles(), x.grad().toDoubles(), g.grad().toDoubles(), b.grad().toDoubles()};
                if (fused == 1) got = out; else want = out;
            }
        String[] names = {"y", "dx", "dgamma", "dbeta"};
        for (int i = 0; i < 4; i++) assertArrayEquals(want[i], got[i], 0, names[i]);
        assertTrue(java.util.Arrays.stream(want[0]).anyMatch(v -> v == 0) && java.util.Arrays.stream(want[0]).anyMatch(v -> v > 0), "the ReLU cuts somewhere");
        try (BatchNorm2d bn = new BatchNorm2d(be, 3); Scope _ = Scope.open()) {
            Sequential seq = new Sequential(bn, new ReLU());
            Var x = Var.constant(be.fromHost(s, xv));
            assertArrayEquals(frl.autograd.Pointwise.relu(bn.forward(x)).value().toDoubles(), seq.forward(x).value().toDoubles(), 0, "training");
            seq.eval();
            assertArrayEquals(frl.autograd.Pointwise.relu(bn.forward(x)).value().toDoubles(), seq.forward(x).value().toDoubles(), 0, "eval");
        }
    }

    @Test void evalUsesRunningStatsAndPassesGradientsToGammaAndBeta() {
        try (BatchNorm2d bn = new BatchNorm2d(be, 2); Scope _ = Scope.open()) {
            be.copyInto(be.fromHost(Shape.of(2), new double[] {1, -2}), bn.runningMean());
            be.copyInto(be.fromHost(Shape.of(2), new double[] {4, 0.25}), bn.runningVar());
            be.copyInto(be.fromHost(Shape.of(2), new double[] {2, 3}), bn.weight.value());
            be.copyInto(be.fromHost(Shape.of(2), new double[] {0.5, -1}), bn.bias.value());
            bn.eval();
            double[] x = {3, 5, -2, 0};   // [1,2,1,2]
            Var out = bn.forward(Var.constant(be.fromHost(Shape.of(1, 2, 1, 2), x)));
            double e = 1e-5;
            double[] want = {(3 - 1) / Math.sqrt(4 + e) * 2 + 0.5, (5 - 1) / Math.sqrt(4 + e) * 2 + 0.5,
                    (-2 + 2) / Math.sqrt(0.25 + e) * 3 - 1, (0 + 2) / Math.sqrt(0.25 + e) * 3 - 1};
            assertArrayEquals(want, out.value().toDoubles(), 1e-5);
            out.backward(be.full(out.shape(), 1));
            assertArrayEquals(new double[] {2, 2}, bn.bias.grad().toDoubles(), 1e-6);
            assertArrayEquals(new double[] {(2 + 4) / Math.sqrt(4 + e), (0 + 2) / Math.sqrt(0.25 + e)}, bn.weight.grad().toDoubles(), 1e-5);
            assertEquals(0, bn.numBatchesTracked().item(), "eval does not count batches");
        }
    }

    @Test void rejectsWrongChannelsAndSingleValues() {
        try (BatchNorm2d bn = new BatchNorm2d(be, 3); Scope _ = Scope.open()) {
            assertThrows(IllegalArgumentException.class, () -> bn.forward(Var.constant(be.full(Shape.of(2, 4, 2, 2), 0))));
            assertThrows(IllegalArgumentException.class, () -> bn.forward(Var.constant(be.full(Shape.of(1, 3, 1, 1), 0))));
        }
    }
}
