package frl.backend.cpu;

import frl.backend.ConvGeometry;
import frl.backend.PhasesByComposition;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static frl.backend.cpu.CpuTesting.CPU;
import static frl.backend.cpu.CpuTesting.assertClose;
import static frl.backend.cpu.CpuTesting.cpu;
import static frl.backend.cpu.CpuTesting.uniform;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CPU's direct phase convolutions against their definitions (the NCHW op, then the layout change) at sizes the
 * op cases do not reach: several image groups with a short last one, two weight-gradient parts, the VAE's last layer, and
 * (PhasePanels, where a phase is whole vectors) rows and taps that are not whole panels or tiles.
 */
class SubPixelPhasesTest {
    /** x (the large tensor) [N,C,H,W], w [K,C,kh,kw]. */
    private record Case(Shape x, Shape w, ConvGeometry g) {
        Shape dy() { return Shape.of(x.dim(0), w.dim(0), g.outH(x.dim(2), w.dim(2)), g.outW(x.dim(3), w.dim(3))); }
    }

    private static final Case[] CASES = {
        new Case(Shape.of(70, 8, 16, 16), Shape.of(4, 8, 4, 4), ConvGeometry.of(2, 1)),           // groups of 8 and of 32 images
        new Case(Shape.of(37, 6, 9, 8), Shape.of(5, 6, 6, 4), new ConvGeometry(3, 2, 2, 1)),      // odd sizes, stride 3×2
        new Case(Shape.of(3, 1024, 32, 32), Shape.of(64, 1024, 4, 4), ConvGeometry.of(2, 1)),     // the cifar VAE's last layer
        new Case(Shape.of(300, 6, 8, 8), Shape.of(5, 6, 4, 4), ConvGeometry.of(2, 1)),            // whole-vector phases (the panels), 6 rows, depth 20; short groups
    };

    @Test void theDirectOpsMatchTheirDefinitions() {
        Random r = new Random(11);
        for (Case c : CASES) {
            try (Scope s = Scope.open()) {
                Tensor dy = cpu(c.dy(), uniform(r, c.dy().numel(), -1, 1)), w = cpu(c.w(), uniform(r, c.w().numel(), -1, 1));
                Tensor xp = cpu(CPU.toPhases(CPU.empty(c.x()), c.g()).shape(), uniform(r, c.x().numel(), -1, 1));
                assertClose("conv2dBackwardInputToPhases " + c, CPU.conv2dBackwardInputToPhases(dy, w, c.x(), c.g()),
                        PhasesByComposition.conv2dBackwardInputToPhases(CPU, dy, w, c.x(), c.g()));
                assertClose("conv2dFromPhases " + c, CPU.conv2dFromPhases(xp, w, c.x(), c.g()), PhasesByComposition.conv2dFromPhases(CPU, xp, w, c.x(), c.g()));
                assertClose("conv2dBackwardWeightFromPhases " + c, CPU.conv2dBackwardWeightFromPhases(xp, dy, c.x(), c.w(), c.g()),
                        PhasesByComposition.conv2dBackwardWeightFromPhases(CPU, xp, dy, c.x(), c.w(), c.g()));
            }
        }
    }

    /**
     * The cross-entropy scored as each group's product is made gives the bits of the product stored and then scored, at
     * the fmnist VAE's last layer (a phase of 16×16, whole vectors) over three groups, the last short; at the odd case
     * (a phase of 3×4, not a whole vector) the op takes those two ops, and so the same bits again. With the logits kept
     * for a backward, they are the product's bits too.
     */
    @Test void theCrossEntropyOfPhasesGivesTheBitsOfTheProductThenTheLoss() {
        Random r = new Random(12);
        Case[] cases = {new Case(Shape.of(5, 512, 32, 32), Shape.of(32, 512, 4, 4), ConvGeometry.of(2, 1)), CASES[1]};
        int[] classes = {256, 3};
        for (int i = 0; i < cases.length; i++) {
            Case c = cases[i];
            try (Scope s = Scope.open()) {
                Tensor dy = cpu(c.dy(), uniform(r, c.dy().numel(), -1, 1)), w = cpu(c.w(), uniform(r, c.w().numel(), -1, 1));
                Tensor logits = CPU.conv2dBackwardInputToPhases(dy, w, c.x(), c.g());
                Shape ls = Shape.of(logits.dim(0), logits.dim(1) / classes[i], classes[i], logits.dim(2) * logits.dim(3));
                float[] t = new float[(int) ls.without(2).numel()];
                for (int j = 0; j < t.length; j++) t[j] = r.nextInt(classes[i]);
                Tensor targets = cpu(ls.without(2), t);
                Tensor fused = CPU.crossEntropyOfPhases(dy, w, c.x(), c.g(), targets, classes[i]);
                float[] loss = CPU.crossEntropy(logits.reshape(ls), targets, 2).toFloats();
                assertArrayEquals(loss, fused.toFloats(), c.toString());
                Tensor[] kept = CPU.crossEntropyOfPhasesAndLogits(dy, w, c.x(), c.g(), targets, classes[i]);
                assertArrayEquals(loss, kept[0].toFloats(), "the losses with the logits kept, " + c);
                assertArrayEquals(logits.toFloats(), kept[1].toFloats(), "the logits kept, " + c);
                assertTrue(fused.toFloats()[0] > 0, "a loss over " + classes[i] + " random logits is positive");
            }
        }
    }

    @Test void theCrossEntropyOfPhasesNamesWhatDoesNotFit() {
        Case c = CASES[0];
        try (Scope s = Scope.open()) {
            Tensor dy = CPU.empty(c.dy()), w = CPU.empty(c.w());
            var groups = assertThrows(IllegalArgumentException.class, () -> CPU.crossEntropyOfPhases(dy, w, c.x(), c.g(), CPU.empty(Shape.of(4, 1, 70 * 64)), 3));
            assertTrue(groups.getMessage().contains("8 channels are not groups of 3 classes"), groups.getMessage());
            var targets = assertThrows(IllegalArgumentException.class, () -> CPU.crossEntropyOfPhases(dy, w, c.x(), c.g(), CPU.empty(Shape.of(4, 2, 64)), 4));
            assertTrue(targets.getMessage().contains("targets [4, 2, 64] must be [4, 2, 4480]"), targets.getMessage());
        }
    }

    @Test void theLayoutRoundTripsBitForBitAndPutsEachPhaseWhereItSays() {
        ConvGeometry g = ConvGeometry.of(2, 1);
        Shape xs = Shape.of(2, 3, 4, 6);
        float[] v = new float[(int) xs.numel()];
        for (int i = 0; i < v.length; i++) v[i] = i;
        try (Scope s = Scope.open()) {
            Tensor p = CPU.toPhases(cpu(xs, v), g);
            assertArrayEquals(new int[] {4, 3, 2, 6}, p.shape().dims());
            // phase (ry, rx) = (0, 1) holds pixels y = 2a + 0 − 1 (rows 1, 3), x = 2b + 1 − 1 (columns 0, 2, 4); image 1, channel 2 comes first
            float[] f = p.toFloats();
            int at = ((1 * 3 + 2) * 2 + 1) * 6;
            int plane = (1 * 3 + 2) * 24;
            assertArrayEquals(new float[] {plane + 6, plane + 8, plane + 10, plane + 18, plane + 20, plane + 22}, java.util.Arrays.copyOfRange(f, at, at + 6));
            assertArrayEquals(v, CPU.fromPhases(p, xs, g).toFloats());
        }
    }

    @Test void refusesPhasesOfDifferentSizesAndMismatchedTensors() {
        try (Scope s = Scope.open()) {
            var odd = assertThrows(IllegalArgumentException.class, () -> CPU.toPhases(CPU.empty(Shape.of(1, 2, 5, 4)), ConvGeometry.of(2, 1)));
            assertTrue(odd.getMessage().contains("toPhases") && odd.getMessage().contains("[1, 2, 5, 4]"), odd.getMessage());
            var wrong = assertThrows(IllegalArgumentException.class, () -> CPU.fromPhases(CPU.empty(Shape.of(4, 2, 1, 5)), Shape.of(1, 2, 4, 4), ConvGeometry.of(2, 1)));
            assertTrue(wrong.getMessage().contains("fromPhases") && wrong.getMessage().contains("[4, 2, 1, 4]"), wrong.getMessage());
        }
    }
}
