package frl.backend;

import frl.autograd.Layout;
import frl.autograd.Linear;
import frl.autograd.Loss;
import frl.autograd.Norm;
import frl.autograd.Pointwise;
import frl.autograd.Reduce;
import frl.autograd.Var;
import frl.tensor.Shape;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static frl.backend.OpCase.Kind.AWAY_FROM_ZERO;
import static frl.backend.OpCase.Kind.POSITIVE;
import static frl.backend.OpCase.named;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every op of the backend interface, through the autograd layer: float64 gradient check on the reference
 * backend, then the CPU backend against the reference. Shapes are deliberately awkward.
 */
public class BackendOpsTest {
    public static List<OpCase> cases() {
        List<OpCase> c = new ArrayList<>();
        for (UnaryOp op : UnaryOp.values()) {
            OpCase.Kind kind = switch (op) {
                case LOG, SQRT -> POSITIVE;
                case RELU, ELU, CLAMP -> AWAY_FROM_ZERO;
                default -> OpCase.Kind.NORMAL;
            };
            double a = op == UnaryOp.CLAMP ? -0.5 : 1.0, b = op == UnaryOp.CLAMP ? 0.7 : 0;
            c.add(named("unary " + op).in(kind, 1, 3, 17, 5).of(x -> Pointwise.unary(op, x[0], a, b)));
        }
        for (BinaryOp op : BinaryOp.values()) {
            c.add(named("binary " + op + " same").in(2, 3, 5).in(POSITIVE, 2, 3, 5).of(x -> Pointwise.binary(op, x[0], x[1])));
            c.add(named("binary " + op + " broadcast").in(3, 1, 5).in(POSITIVE, 4, 1).of(x -> Pointwise.binary(op, x[0], x[1])));
            c.add(named("binary " + op + " channel").in(2, 3, 4, 5).in(POSITIVE, 1, 3, 1, 1).of(x -> Pointwise.binary(op, x[0], x[1])));
        }
        c.add(named("affine").in(3, 17).of(x -> Pointwise.affine(x[0], -1.7, 0.3)));
        // z away from zero and a bias within ±0.05: no element sits on ReLU's kink
        c.add(named("biasRelu 4-D").in(AWAY_FROM_ZERO, 3, 4, 5, 2).in(4).of(x -> Pointwise.biasRelu(x[0], Pointwise.scale(x[1], 0.01))));
        c.add(named("biasRelu 2-D").in(AWAY_FROM_ZERO, 5, 3).in(3).of(x -> Pointwise.biasRelu(x[0], Pointwise.scale(x[1], 0.01))));
        // PixelCNN++'s and Glow's fused ops (checked before through the models' own tests)
        c.add(named("concat-ELU").in(AWAY_FROM_ZERO, 2, 3, 4, 5).of(x -> Pointwise.concatElu(x[0])));
        c.add(named("gate").in(2, 6, 3, 5).of(x -> Pointwise.gate(x[0])));
        c.add(named("gate with bias and residual").in(2, 6, 3, 5).in(6).in(2, 3, 3, 5).of(x -> Pointwise.gate(x[0], x[1], x[2])));
        c.add(named("biasedSum").in(2, 3, 4, 5).in(3).in(2, 3, 4, 5).in(3).of(x -> Pointwise.biasedSum(x[0], x[1], x[2], x[3])));
        c.add(named("coupling").in(2, 3, 4, 5).in(2, 6, 4, 5).of(x -> Pointwise.coupling(x[0], x[1])));
        c.add(named("coupling logdet").in(2, 6, 4, 5).of(x -> Pointwise.couplingLogdet(x[0])));
        c.add(named("sumTo").in(2, 3, 4, 5).of(x -> Reduce.sumTo(x[0], Shape.of(3, 1, 5))));
        c.add(named("sum all").in(33, 3).of(x -> Reduce.sumAll(x[0])));
        c.add(named("mean").in(2, 3, 4).of(x -> Reduce.mean(x[0], 0, 2)));
        c.add(named("broadcastTo").in(3, 1).of(x -> Reduce.broadcastTo(x[0], Shape.of(2, 3, 5))));
        c.add(named("logSumExp axis 1").in(2, 7, 3).of(x -> Reduce.logSumExp(x[0], 1)));
        c.add(named("logSumExp last").in(4, 20).of(x -> Reduce.logSumExp(x[0], -1)));
        c.add(named("matmul").in(3, 17).in(17, 5).of(x -> Linear.matmul(x[0], false, x[1], false)));
        c.add(named("matmul Aᵀ").in(17, 3).in(17, 5).of(x -> Linear.matmul(x[0], true, x[1], false)));
        c.add(named("matmul Bᵀ").in(3, 17).in(5, 17).of(x -> Linear.matmul(x[0], false, x[1], true)));
        c.add(named("matmul AᵀBᵀ").in(17, 3).in(5, 17).of(x -> Linear.matmul(x[0], true, x[1], true)));
        c.add(named("linear").in(1, 33).in(4, 33).in(4).of(x -> Linear.linear(x[0], x[1], x[2])));
        c.add(named("conv 3×3 s1 p1").in(2, 3, 17, 9).in(4, 3, 3, 3).in(4).of(x -> Linear.conv2d(x[0], x[1], x[2], ConvGeometry.of(1, 1))));
        // outputs of both signs (the bias within ±0.5); none lands within a gradient check's step of ReLU's kink
        c.add(named("conv bias ReLU 3×3 s1 p1").in(2, 3, 6, 5).in(4, 3, 3, 3).in(4)
                .of(x -> Linear.conv2dBiasRelu(x[0], x[1], Pointwise.scale(x[2], 0.5), ConvGeometry.of(1, 1))));
        c.add(named("conv bias ReLU 1×1 at 16×16").in(2, 3, 16, 16).in(5, 3, 1, 1).in(5)
                .of(x -> Linear.conv2dBiasRelu(x[0], x[1], Pointwise.scale(x[2], 0.5), ConvGeometry.of(1, 0))));
        c.add(named("conv bias ReLU 4×4 s2 p1").in(1, 3, 8, 6).in(5, 3, 4, 4).in(5)
                .of(x -> Linear.conv2dBiasRelu(x[0], x[1], Pointwise.scale(x[2], 0.5), ConvGeometry.of(2, 1))));
        c.add(named("conv 4×4 s2 p1").in(1, 3, 16, 10).in(5, 3, 4, 4).of(x -> Linear.conv2d(x[0], x[1], null, ConvGeometry.of(2, 1))));
        c.add(named("conv 2×3 shifted").in(2, 1, 7, 9).in(3, 1, 2, 3).of(x -> Linear.conv2d(x[0], x[1], null, new ConvGeometry(1, 1, 0, 1))));
        c.add(named("conv 2×2").in(1, 3, 5, 6).in(2, 3, 2, 2).of(x -> Linear.conv2d(x[0], x[1], null, ConvGeometry.of(1, 0))));
        c.add(named("conv 1×1").in(2, 5, 3, 7).in(3, 5, 1, 1).of(x -> Linear.conv2d(x[0], x[1], null, ConvGeometry.of(1, 0))));
        c.add(named("conv 5×5 s2 p2").in(1, 2, 11, 13).in(3, 2, 5, 5).of(x -> Linear.conv2d(x[0], x[1], null, ConvGeometry.of(2, 2))));
        c.add(named("shifted DOWN 2×3").in(2, 3, 5, 7).in(4, 3, 2, 3).in(4).of(x -> Linear.shiftedConv2d(x[0], x[1], x[2], Shift.DOWN)));
        c.add(named("shifted DOWN_RIGHT 2×2").in(2, 3, 6, 4).in(5, 3, 2, 2).of(x -> Linear.shiftedConv2d(x[0], x[1], null, Shift.DOWN_RIGHT)));
        c.add(named("shifted DOWN 1×3 batch 1").in(1, 2, 3, 9).in(3, 2, 1, 3).of(x -> Linear.shiftedConv2d(x[0], x[1], null, Shift.DOWN)));
        c.add(named("shifted DOWN_RIGHT 3×2 batch 1").in(1, 1, 7, 3).in(2, 1, 3, 2).of(x -> Linear.shiftedConv2d(x[0], x[1], null, Shift.DOWN_RIGHT)));
        c.add(named("shifted DOWN 3×5 kernel over a 2×3 image").in(2, 2, 2, 3).in(3, 2, 3, 5).of(x -> Linear.shiftedConv2d(x[0], x[1], null, Shift.DOWN)));
        c.add(named("shifted DOWN_RIGHT 1×1").in(1, 5, 3, 2).in(2, 5, 1, 1).of(x -> Linear.shiftedConv2d(x[0], x[1], null, Shift.DOWN_RIGHT)));
        c.add(named("convT 4×4 s2 p1").in(2, 3, 4, 5).in(3, 2, 4, 4).in(2).of(x -> Linear.convTranspose2d(x[0], x[1], x[2], ConvGeometry.of(2, 1), 0, 0)));
        c.add(named("convT 3×3 s2 p1 outpad 1").in(1, 2, 5, 3).in(2, 3, 3, 3).of(x -> Linear.convTranspose2d(x[0], x[1], null, ConvGeometry.of(2, 1), 1, 1)));
        c.add(named("convT 4×4 s1 p0 (1→4)").in(2, 6, 1, 1).in(6, 3, 4, 4).of(x -> Linear.convTranspose2d(x[0], x[1], null, ConvGeometry.of(1, 0), 0, 0)));
        c.add(named("convT 4×4 s2 p1 to phases").in(2, 3, 4, 5).in(3, 2, 4, 4).in(2).of(x -> Linear.convTranspose2dToPhases(x[0], x[1], x[2], ConvGeometry.of(2, 1))));
        c.add(named("convT 4×2 s(2,1) p(1,0) to phases").in(3, 2, 3, 4).in(2, 3, 4, 2).of(x -> Linear.convTranspose2dToPhases(x[0], x[1], null, new ConvGeometry(2, 1, 1, 0))));
        // one gradient alone (the other input constant): conv2dFromPhases, conv2dBackwardWeightFromPhases; both: the two together
        c.add(named("convT 4×4 s2 p1 to phases, w fixed").in(2, 3, 4, 5).fixed(3, 2, 4, 4).of(x -> Linear.convTranspose2dToPhases(x[0], x[1], null, ConvGeometry.of(2, 1))));
        c.add(named("convT 4×4 s2 p1 to phases, x fixed").fixed(2, 3, 4, 5).in(3, 2, 4, 4).of(x -> Linear.convTranspose2dToPhases(x[0], x[1], null, ConvGeometry.of(2, 1))));
        c.add(named("convT 4×4 s3 p2 to phases (stride not dividing the kernel)").in(1, 2, 3, 3).in(2, 3, 4, 4)
                .of(x -> Linear.convTranspose2dToPhases(x[0], x[1], null, ConvGeometry.of(3, 2))));
        c.add(named("actnorm then 1×1 conv").in(2, 3, 4, 5).in(1, 3, 1, 1).in(1, 3, 1, 1).in(4, 3, 1, 1)
                .of(x -> Linear.actNormConv1x1(x[0], x[1], x[2], x[3])));
        c.add(named("toPhases s2 p1").in(2, 3, 6, 4).of(x -> Layout.toPhases(x[0], ConvGeometry.of(2, 1))));
        c.add(named("fromPhases s(3,2) p(1,0)").in(6, 2, 3, 4).of(x -> Layout.fromPhases(x[0], Shape.of(3, 2, 6, 4), new ConvGeometry(3, 2, 1, 0))));
        c.add(named("batchNorm 4-D").in(3, 3, 5, 4).in(POSITIVE, 3).in(3).of(x -> Norm.batchNorm(x[0], x[1], x[2], 1e-5).y()));
        c.add(named("batchNorm 2-D").in(5, 17).in(POSITIVE, 17).in(17).of(x -> Norm.batchNorm(x[0], x[1], x[2], 1e-5).y()));
        c.add(named("batchNorm+ReLU 4-D").in(3, 3, 5, 4).in(POSITIVE, 3).in(3).of(x -> Norm.batchNormRelu(x[0], x[1], x[2], 1e-5).y()));
        c.add(named("concat channels").in(2, 3, 4, 5).in(2, 1, 4, 5).of(x -> Layout.concat(1, x[0], x[1])));
        c.add(named("concat last").in(3, 2).in(3, 5).in(3, 1).of(x -> Layout.concat(-1, x[0], x[1], x[2])));
        c.add(named("split").in(2, 5, 3).of(x -> {
            Var[] p = Layout.split(x[0], 1, 2, 3);
            return Pointwise.mul(Layout.narrow(p[1], 1, 0, 2), p[0]);
        }));
        c.add(named("pad").in(2, 3, 4).of(x -> Layout.pad(x[0], new int[] {0, 1, 2}, new int[] {1, 0, 3}, 0.25)));
        c.add(named("downShift").in(2, 3, 5, 4).of(x -> Layout.downShift(x[0])));
        c.add(named("rightShift").in(1, 2, 3, 6).of(x -> Layout.rightShift(x[0])));
        c.add(named("squeeze").in(2, 3, 4, 6).of(x -> Layout.squeeze(x[0], 2)));
        c.add(named("unsqueeze").in(1, 8, 3, 2).of(x -> Layout.unsqueeze(x[0], 2)));
        c.add(named("reshape").in(2, 3, 4).of(x -> Pointwise.square(Layout.reshape(x[0], 6, 4))));
        c.add(named("weightNorm as one op").in(4, 3, 2, 3).in(POSITIVE, 4, 1, 1, 1).of(x -> Norm.weightNorm(x[0], x[1])));
        c.add(named("mixtureNll, 2 channels, 3 components").classes(256, 2, 2, 5, 4).in(2, MixtureMath.parameterChannels(2, 3), 5, 4)
                .of(x -> Loss.mixtureNll(Pointwise.affine(x[0], 1 / 127.5, -1), x[1], 3)));
        c.add(named("crossEntropy K=5").in(2, 5, 3, 4).classes(5, 2, 3, 4).of(x -> Loss.crossEntropy(x[0], x[1], 1)));
        c.add(named("crossEntropy K=256").in(1, 2, 256, 3, 2).classes(256, 1, 2, 3, 2).of(x -> Loss.crossEntropy(x[0], x[1], 2)));
        c.add(named("crossEntropy K=3 of a convT 4×4 s2 p1 in phases").in(2, 3, 2, 3).in(3, 6, 4, 4).classes(3, 4, 2, 2 * 2 * 3)
                .of(x -> Loss.crossEntropyOfPhases(x[0], x[1], ConvGeometry.of(2, 1), x[2], 3)));
        c.add(named("crossEntropy K=3 of a convT 4×4 s2 p1 in phases of 16 pixels (whole vectors: the CPU's panels)").in(1, 2, 4, 4).in(2, 6, 4, 4)
                .classes(3, 4, 2, 16).of(x -> Loss.crossEntropyOfPhases(x[0], x[1], ConvGeometry.of(2, 1), x[2], 3)));
        c.add(named("backward from scalar").in(3, 4).of(x -> {
            Var y = Reduce.sumAll(Pointwise.square(x[0]));
            return y;
        }));
        return c;
    }

    @TestFactory
    Stream<DynamicTest> referenceGradientsAndCpuParity() {
        return cases().stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> OpHarness.check(c, Backends.cpu())));
    }

    /** Fails when an op of the backend interface has no gradient check; writes the coverage report. */
    @AfterAll
    static void everyDifferentiableOpIsGradientChecked() throws Exception {
        var missing = OpHarness.uncovered();
        Path report = Path.of("target", "gradcheck-coverage.txt");
        Files.createDirectories(report.getParent());
        Files.writeString(report, "reached by gradient checks: " + new java.util.TreeSet<>(OpHarness.REACHED)
                + "\nnever gradient-checked: " + missing + "\n");
        assertTrue(missing.isEmpty(), "backend ops without a gradient check: " + missing);
    }
}
