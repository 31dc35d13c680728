package frl.nn;

import frl.backend.Backend;
import frl.backend.Backend.AdamConfig;
import frl.backend.Backends;
import frl.tensor.Scope;
import frl.tensor.Shape;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Needs the cpu fill op (pointwise branch) to allocate zero moments. */
class OptimizerTest {
    private final Backend be = Backends.cpu();
    private static final double[][] GRADS = {{0.1, -0.2, 0.3}, {-0.4, 0.05, 0.0}};

    /** Same numbers as CpuOptimTest (torch.optim.Adam by hand, weight decay 0.1), now through Parameters. */
    @Test void adamTwoStepsAndStepCounts() {
        try (Parameter p = param(0.5, -1.0, 2.0); Parameter unused = param(7);
             Adam opt = new Adam(List.of(p, unused), new AdamConfig(0.01, 0.9, 0.999, 1e-8, 0.1))) {
            runTwoSteps(opt, p);
            assertArrayEquals(new double[] {0.49421122910693693, -0.9821870199993421, 1.981021888843838}, p.value().toDoubles(), 1e-6);
            assertArrayEquals(new long[] {2, 0}, opt.steps());
            assertEquals(7, unused.value().get(0), "a parameter without gradient is not touched, weight decay included");
            assertEquals(List.of("0.exp_avg", "0.exp_avg_sq", "1.exp_avg", "1.exp_avg_sq"), List.copyOf(opt.state().keySet()));
            assertArrayEquals(new double[] {-0.0216, -0.0319, 0.0649}, opt.state().get("0.exp_avg").toDoubles(), 1e-7);
        }
    }

    @Test void adamaxTwoSteps() {
        try (Parameter p = param(0.5, -1.0, 2.0); Adamax opt = new Adamax(List.of(p), new AdamConfig(0.002, 0.9, 0.999, 1e-3, 0.1))) {
            runTwoSteps(opt, p);
            assertArrayEquals(new double[] {0.49865825008973785, -0.996887145356751, 1.9966373550792065}, p.value().toDoubles(), 1e-6);
            assertArrayEquals(new double[] {0.35119867549668876, 0.300699, 0.500499}, opt.state().get("0.exp_inf").toDoubles(), 1e-7);
        }
    }

    /** Saving the state after one step and loading it into a fresh optimizer continues identically. */
    @Test void loadStateResumes() {
        AdamConfig c = new AdamConfig(0.01, 0.9, 0.999, 1e-8, 0.1);
        try (Parameter p = param(0.5, -1.0, 2.0); Parameter q = param(0.5, -1.0, 2.0);
             Adam a = new Adam(List.of(p), c); Adam b = new Adam(List.of(q), c); Scope _ = Scope.open()) {
            p.accumulate(be.fromHost(Shape.of(3), GRADS[0]));
            a.step();
            a.setLr(0.005);
            b.loadState(a.state(), a.steps(), a.lr());
            be.copyInto(p.value(), q.value());
            assertEquals(0.005, b.lr());
            a.zeroGrad();
            p.accumulate(be.fromHost(Shape.of(3), GRADS[1]));
            q.accumulate(be.fromHost(Shape.of(3), GRADS[1]));
            a.step();
            b.step();
            assertArrayEquals(p.value().toFloats(), q.value().toFloats());
            var e = assertThrows(IllegalArgumentException.class, () -> b.loadState(Map.of("0.exp_avg", p.value()), new long[] {1}, 0.1));
            assertTrue(e.getMessage().contains("0.exp_avg_sq"), e.getMessage());
        }
    }

    @Test void rejectsDuplicatesAndBadHyperparameters() {
        try (Parameter p = param(1)) {
            assertThrows(IllegalArgumentException.class, () -> new Adam(List.of(p, p), 0.1));
            assertThrows(IllegalArgumentException.class, () -> new AdamConfig(-1, 0.9, 0.999, 1e-8, 0));
        }
    }

    private void runTwoSteps(Optimizer opt, Parameter p) {
        for (double[] g : GRADS) {
            opt.zeroGrad();
            try (Scope _ = Scope.open()) {
                p.accumulate(be.fromHost(Shape.of(3), g));
            }
            opt.step();
        }
    }

    private Parameter param(double... v) {
        try (Scope _ = Scope.open()) {
            return Parameter.of(be.fromHost(Shape.of(v.length), v));
        }
    }
}
