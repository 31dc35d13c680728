package frl.nn;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.Rng;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Builds BatchNorm2d, which needs the cpu fill op from the pointwise branch. */
class ModuleTest {
    private final Backend be = Backends.cpu();

    /** A two-level model shaped like the VAE's encoder: encoder.main is a Sequential. */
    static final class Net extends Module {
        final Sequential main;
        final Linear head;

        Net(Backend be, Rng rng) {
            Module encoder = addModule("encoder", new Module() {});
            main = encoder.addModule("main", new Sequential(
                    new Conv2d(be, rng, 3, 4, 3, 1, 1, false),
                    new BatchNorm2d(be, 4),
                    new LeakyReLU(0.2),
                    new ConvTranspose2d(be, rng, 4, 2, 4, 2, 1, 0, true)));
            head = addModule("head", new Linear(be, rng, 5, 6, true));
        }
    }

    @Test void stateDictNamesShapesAndOrderFollowTorch() {
        try (Net net = new Net(be, new Rng(1))) {
            Map<String, Tensor> sd = net.stateDict();
            List<String> names = new ArrayList<>(sd.keySet());
            assertEquals(List.of("encoder.main.0.weight", "encoder.main.1.weight", "encoder.main.1.bias", "encoder.main.1.running_mean",
                    "encoder.main.1.running_var", "encoder.main.1.num_batches_tracked", "encoder.main.3.weight", "encoder.main.3.bias",
                    "head.weight", "head.bias"), names);
            assertEquals(Shape.of(4, 3, 3, 3), sd.get("encoder.main.0.weight").shape());
            assertEquals(Shape.of(4, 2, 4, 4), sd.get("encoder.main.3.weight").shape());
            assertEquals(Shape.of(), sd.get("encoder.main.1.num_batches_tracked").shape());
            assertEquals(Shape.of(6, 5), sd.get("head.weight").shape());
            assertEquals(List.of("encoder.main.0.weight", "encoder.main.1.weight", "encoder.main.1.bias", "encoder.main.3.weight",
                    "encoder.main.3.bias", "head.weight", "head.bias"), new ArrayList<>(net.namedParameters().keySet()));
            assertEquals(108 + 4 + 4 + 128 + 2 + 30 + 6, net.parameterCount());
        }
    }

    @Test void trainAndEvalReachEveryDescendant() {
        try (Net net = new Net(be, new Rng(1))) {
            assertTrue(net.main.get(1).isTraining());
            net.eval();
            assertFalse(net.main.get(1).isTraining());
            assertFalse(net.head.isTraining());
            net.train(true);
            assertTrue(net.main.get(3).isTraining());
        }
    }

    @Test void loadStateDictCopiesValuesAndChecksNamesAndShapes() {
        try (Net a = new Net(be, new Rng(1)); Net b = new Net(be, new Rng(2)); Scope _ = Scope.open()) {
            assertFalse(java.util.Arrays.equals(a.head.weight.value().toFloats(), b.head.weight.value().toFloats()));
            b.loadStateDict(a.stateDict(), true);
            for (var e : a.stateDict().entrySet())
                assertArrayEquals(e.getValue().toFloats(), b.stateDict().get(e.getKey()).toFloats(), e.getKey());
            assertNotSame(a.head.weight.value(), b.head.weight.value(), "values are copied, not shared");

            Map<String, Tensor> missing = new HashMap<>(a.stateDict());
            missing.remove("head.bias");
            var e1 = assertThrows(IllegalArgumentException.class, () -> b.loadStateDict(missing, true));
            assertTrue(e1.getMessage().contains("missing 'head.bias'"), e1.getMessage());
            b.loadStateDict(missing, false);

            Map<String, Tensor> extra = new HashMap<>(a.stateDict());
            extra.put("head.scale", be.full(Shape.of(1), 1));
            var e2 = assertThrows(IllegalArgumentException.class, () -> b.loadStateDict(extra, true));
            assertTrue(e2.getMessage().contains("unexpected 'head.scale'"), e2.getMessage());

            Map<String, Tensor> wrong = new HashMap<>(a.stateDict());
            wrong.put("head.weight", be.full(Shape.of(5, 6), 0));
            var e3 = assertThrows(IllegalArgumentException.class, () -> b.loadStateDict(wrong, false));
            assertTrue(e3.getMessage().contains("'head.weight': expected shape [6, 5], found [5, 6]"), e3.getMessage());
            assertArrayEquals(a.head.weight.value().toFloats(), b.head.weight.value().toFloats(), "a failed load changes nothing");
        }
    }

    @Test void closeFreesEveryTensor() {
        Net net = new Net(be, new Rng(1));
        List<Tensor> all = new ArrayList<>(net.stateDict().values());
        net.close();
        for (Tensor t : all) assertTrue(t.storage().isFreed());
        net.close();
    }

    @Test void rejectsBadNames() {
        try (Sequential s = new Sequential()) {
            assertThrows(IllegalArgumentException.class, () -> s.addModule("a.b", new ReLU()));
            s.addModule("x", new ReLU());
            assertThrows(IllegalArgumentException.class, () -> s.addModule("x", new ReLU()));
        }
    }
}
