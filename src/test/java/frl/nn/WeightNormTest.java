package frl.nn;

import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.OpCase;
import frl.backend.OpHarness;
import frl.backend.Rng;
import frl.tensor.Scope;
import frl.tensor.Shape;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class WeightNormTest {
    private final Backend be = Backends.cpu();

    /** w = g·v/‖v‖ against finite differences in float64 (v away from zero, so that its norm is), and the CPU against the reference. */
    @Test void weightGradientCheck() {
        OpHarness.check(OpCase.named("weight norm").in(OpCase.Kind.AWAY_FROM_ZERO, 4, 3, 2, 3).in(4, 1, 1, 1)
                .of(v -> WeightNorm.weight(v[0], v[1])), be);
    }

    /** A layer's g starts as ‖v‖ per output row, so its weight starts as v. */
    @Test void aLayerStartsWithItsWeightEqualToV() {
        try (Nin nin = new Nin(be, new Rng(3), 5, 7); Scope _ = Scope.open()) {
            var p = nin.namedParameters();
            assertEquals(Shape.of(7, 1, 1, 1), p.get("weight_g").shape());
            double[] w = WeightNorm.weight(p.get("weight_v"), p.get("weight_g")).value().toDoubles();
            assertArrayEquals(p.get("weight_v").value().toDoubles(), w, 1e-6);
            try (Var.NoGrad _ = Var.noGrad()) {
                assertTrue(OpHarness.nmse(p.get("weight_g").value().toDoubles(), WeightNorm.norm(p.get("weight_v")).value().toDoubles()) < 1e-14);
            }
        }
    }
}
