package frl.model;

import frl.autograd.Loss;
import frl.autograd.Reduce;
import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.Rng;
import frl.nn.Parameter;
import frl.tensor.Scope;
import frl.tensor.Shape;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VaeTest {
    private static final VaeConfig TINY = new VaeConfig(16, 2, 4, 3);

    @Test void samplingFromFlatLogitsIsUniformOverTheByteRange() {
        try (Vae vae = new Vae(Backends.cpu(), TINY, new Rng(1))) {
            for (var e : vae.namedParameters().entrySet())
                if (e.getKey().startsWith("decoder.main.final")) Backends.cpu().fill(e.getValue().value(), 0);
            vae.eval();
            byte[] b = vae.sample(8, new Rng(3));
            assertEquals(8 * 2 * 16 * 16, b.length);
            double mean = 0;
            int[] seen = new int[256];
            for (byte v : b) { mean += (v & 0xFF) / (double) b.length; seen[v & 0xFF]++; }
            assertEquals(127.5, mean, 6, "uniform bytes average 127.5 (σ of the mean ≈ 1.6)");
            int distinct = 0;
            for (int s : seen) if (s > 0) distinct++;
            assertTrue(distinct > 240, "most byte values appear among 4096 uniform draws, saw " + distinct);
        }
    }

    /** Temperature scales z's spread: at 1 the default draw bit for bit, at 0 another one (z = 0). */
    @Test void samplingTemperatureScalesTheLatent() {
        try (Vae vae = new Vae(Backends.cpu(), TINY, new Rng(1))) {
            vae.eval();
            assertArrayEquals(vae.sample(4, new Rng(3)), vae.sample(4, 1, new Rng(3)));
            assertFalse(Arrays.equals(vae.sample(4, new Rng(3)), vae.sample(4, 0, new Rng(3))), "z = 0 decodes other logits");
            assertThrows(IllegalArgumentException.class, () -> vae.sample(4, Double.NaN, new Rng(3)));
        }
    }

    /** The loss reads the last layer's output in its sub-pixel phases: the same sums, per image, and the same gradients as over NCHW logits. */
    @Test void theDecoderSumsTheSameNllInPhasesAsOverNchwLogits() {
        Backend be = Backends.cpu();
        int n = 3;
        try (Vae vae = new Vae(be, TINY, new Rng(1)); Scope s = Scope.open()) {
            Vae.Decoder d = vae.decoder();
            Var z = Var.constant(be.normal(Shape.of(n, TINY.nz(), 1, 1), 0, 1, new Rng(2)));
            Shape ts = Shape.of(n, TINY.channels(), TINY.imageSize(), TINY.imageSize());
            double[] t = new double[(int) ts.numel()];
            Rng rng = new Rng(4);
            for (int i = 0; i < t.length; i++) t[i] = Math.floor(rng.nextDouble() * 256);
            Var targets = Var.constant(be.fromHost(ts, t));
            Var phases = d.pixelNll(z, d.targetsFor(targets)), nchw = Loss.crossEntropy(d.logits(z), targets, 2);
            assertEquals(3, phases.shape().rank(), "the CPU convolves the last layer in phases");
            assertArrayEquals(Vae.Decoder.perImage(nchw, n).value().toDoubles(), Vae.Decoder.perImage(phases, n).value().toDoubles(), 1e-3);
            Parameter w = vae.namedParameters().entrySet().stream().filter(e -> e.getKey().startsWith("decoder.main.final")).findFirst().orElseThrow().getValue();
            double[][] grads = new double[2][];
            Var[] losses = {Reduce.sumAll(nchw), Reduce.sumAll(phases)};
            for (int i = 0; i < 2; i++) {
                vae.zeroGrad();
                losses[i].backward();
                grads[i] = w.grad().toDoubles();
            }
            assertTrue(frl.backend.OpHarness.nmse(grads[1], grads[0]) < 1e-10, "last layer's weight gradient");
            assertTrue(Math.abs(grads[0][7]) > 0, "a gradient that could differ");
        }
    }

    @Test void configRejectsSizesTheArchitectureCannotTake() {
        assertThrows(IllegalArgumentException.class, () -> new VaeConfig(28, 1, 32, 200));
        assertThrows(IllegalArgumentException.class, () -> new VaeConfig(8, 1, 32, 200));
    }

    @Test void parameterCountOfTheFashionMnistConfig() {
        try (Vae vae = new Vae(Backends.cpu(), VaeConfig.fmnist(2), new Rng(1))) {
            long n = vae.parameters().stream().mapToLong(Parameter::numel).sum();
            // encoder convs 2·32·16 + 32·64·16 + 64·128·16 + 2·(128·200·16 + 200), decoder 200·128·16 + 128·64·16 + 64·32·16 + 32·512·16,
            // batch norms 2·(32 + 64 + 128) + 2·(128 + 64 + 32)
            long expect = 2 * 32 * 16 + 32 * 64 * 16 + 64 * 128 * 16 + 2 * (128 * 200 * 16 + 200)
                    + 200 * 128 * 16 + 128 * 64 * 16 + 64 * 32 * 16 + 32 * 512 * 16 + 2 * (32 + 64 + 128) + 2 * (128 + 64 + 32);
            assertEquals(expect, n);
        }
    }
}
