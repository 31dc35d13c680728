package frl.model;

import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.OpCase;
import frl.backend.OpHarness;
import frl.backend.Rng;
import frl.data.ImageSet;
import frl.data.Synthetic;
import frl.nn.InvConv1x1Test;
import frl.nn.Lu;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class GlowTest {
    private final Backend be = Backends.cpu();

    private static double[] gaussian(int n, long seed, double std) {
        Random r = new Random(seed);
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = std * r.nextGaussian();
        return v;
    }

    /** A Glow whose actnorms were initialised on a batch and whose parameters were then moved, as training would. */
    private static Glow perturbed(Backend be, GlowConfig c, long seed) {
        Glow g = new Glow(be, c, new Rng(seed));
        Shape batch = Shape.of(8, c.channels(), c.imageSize(), c.imageSize());
        try (Scope _ = Scope.open()) {
            g.encode(Var.constant(be.fromHost(batch, gaussian((int) batch.numel(), seed, 0.3))));
        }
        InvConv1x1Test.perturb(g, be, seed + 1, 0.05);
        return g;
    }

    /** Σ log N(z; mean, exp(logs)²) per image, mean and logs per channel: against finite differences in float64. */
    @Test void gaussianLogDensityGradientCheck() {
        OpHarness.check(OpCase.named("Glow's Gaussian log-density").in(3, 4, 2, 5).in(1, 4, 1, 1).in(1, 4, 1, 1)
                .of(v -> Glow.gaussianLogDensity(v[0], v[1], v[2])), be);
    }

    @Test void configRefusesImagesThatTheLevelsCannotHalve() {
        var e = assertThrows(IllegalArgumentException.class, () -> new GlowConfig(28, 2, 8, 2, 3));
        assertTrue(e.getMessage().contains("must be a multiple of 8, got 28"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new GlowConfig(32, 2, 8, 0, 3));
    }

    @Test void parameterCountIsTheModels() {
        for (GlowConfig c : List.of(new GlowConfig(32, 2, 8, 2, 3), new GlowConfig(16, 4, 12, 3, 2), new GlowConfig(8, 1, 4, 1, 1))) {
            try (Glow g = new Glow(be, c, new Rng(1))) {
                assertEquals(g.parameterCount(), c.parameterCount(), c.toString());
            }
        }
    }

    /** log |det ∂z/∂x| as the model sums it, against the Jacobian of x ↦ (all latents) by central differences in float64. */
    @Test void logdetIsTheJacobiansLogDeterminant() {
        Backend ref = OpHarness.reference();
        GlowConfig c = new GlowConfig(4, 1, 4, 2, 2);
        int d = 16;
        try (Glow g = perturbed(ref, c, 3); Scope _ = Scope.open()) {
            double[] x = gaussian(d, 4, 0.3);
            double logdet = g.encode(Var.constant(ref.fromHost(Shape.of(1, 1, 4, 4), x))).logdet().value().item();
            double[][] jacobian = new double[d][d];
            double eps = 1e-6;
            for (int j = 0; j < d; j++) {
                double[] plus = x.clone(), minus = x.clone();
                plus[j] += eps;
                minus[j] -= eps;
                double[] zp = latents(g, ref, plus), zm = latents(g, ref, minus);
                for (int i = 0; i < d; i++) jacobian[i][j] = (zp[i] - zm[i]) / (2 * eps);
            }
            assertEquals(Lu.of(jacobian).logAbsDet(), logdet, 1e-6);
            assertTrue(Math.abs(logdet) > 0.1, "a map that is not volume-preserving: " + logdet);
        }
    }

    /** Every latent of one 1×4×4 image, flattened in order. */
    private static double[] latents(Glow g, Backend be, double[] x) {
        List<Double> out = new ArrayList<>();
        for (Var z : g.encode(Var.constant(be.fromHost(Shape.of(1, 1, 4, 4), x))).latents()) for (double v : z.value().toDoubles()) out.add(v);
        return out.stream().mapToDouble(Double::doubleValue).toArray();
    }

    @Test void decodeUndoesEncode() {
        GlowConfig c = new GlowConfig(16, 2, 8, 2, 3);
        try (Glow g = perturbed(be, c, 5); Scope _ = Scope.open()) {
            Shape s = Shape.of(3, 2, 16, 16);
            Tensor x = be.fromHost(s, gaussian((int) s.numel(), 6, 0.3));
            List<Tensor> z = g.encode(Var.constant(x)).latents().stream().map(Var::value).toList();
            assertEquals(List.of(Shape.of(3, 4, 8, 8), Shape.of(3, 8, 4, 4), Shape.of(3, 32, 2, 2)), z.stream().map(Tensor::shape).toList());
            assertArrayEquals(x.toDoubles(), g.decode(z).toDoubles(), 1e-4);
        }
    }

    /** One dequantisation per image: the log-weight is minus the image's training loss (discrete NLL in nats). */
    @Test void logWeightsOfOneSampleAreTheNegatedLoss() {
        ModelSpec spec = ModelSpec.glow(1, 5, 8, 2, 2);
        ImageSet set = Synthetic.noise(4, 1, 32, 32, 7);
        try (DensityModel g = spec.build(be, new Rng(1)); Scope _ = Scope.open()) {
            Batches.Batch b = spec.batches().of(be, set, 0, 4);
            Tensor u = g.noise(be, 4, new Rng(9));
            assertEquals(2 * 32 * 32, g.noisePerImage());
            double loss = g.loss(Var.constant(b.x()), Var.constant(b.targets()), u, 1).loss().value().item();
            double[] w = g.logWeights(b.x(), b.targets(), u.reshape(1, 4, g.noisePerImage()))[0];
            assertEquals(loss, -Arrays.stream(w).average().orElseThrow(), 1e-6 * Math.abs(loss));
            // uniform noise costs log 256 nats per sub-pixel under the best model; an untrained flow is no better
            assertTrue(loss > 2 * 1024 * Math.log(256) * 0.5, "loss " + loss);
        }
    }

    /**
     * Sampling temperature scales the latents' spread: 1 is the default draw bit for bit, 0 decodes the priors' means
     * (every image the same), and at 0.5 the images lie nearer that than at 1. Negative or infinite ones are refused.
     */
    @Test void temperatureScalesTheLatentsSpread() {
        try (Glow g = perturbed(be, new GlowConfig(32, 2, 8, 2, 2), 4)) {
            int n = 8, size = 2 * 32 * 32;
            assertArrayEquals(g.sample(n, new Rng(5)), g.sample(n, 1, new Rng(5)));
            byte[] cold = g.sample(n, 0, new Rng(5)), half = g.sample(n, 0.5, new Rng(5)), warm = g.sample(n, 1, new Rng(5));
            for (int i = 1; i < n; i++)
                assertArrayEquals(Arrays.copyOfRange(cold, 0, size), Arrays.copyOfRange(cold, i * size, (i + 1) * size), "image " + i + " at 0");
            assertTrue(distance(half, cold) < distance(warm, cold), "at 0.5 " + distance(half, cold) + ", at 1 " + distance(warm, cold));
            assertThrows(IllegalArgumentException.class, () -> g.sample(n, -0.1, new Rng(5)));
            assertThrows(IllegalArgumentException.class, () -> g.sample(n, Double.POSITIVE_INFINITY, new Rng(5)));
        }
    }

    private static double distance(byte[] a, byte[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) d += Math.abs((a[i] & 0xFF) - (b[i] & 0xFF));
        return d / a.length;
    }

    /** Training on constant images lowers the loss; the checkpoint gives back the same scores and samples. */
    @Test void trainsChecksAndRestoresThroughACheckpoint(@TempDir Path dir) throws Exception {
        ModelSpec spec = ModelSpec.glow(1, 5, 8, 2, 2);
        CheckpointRoundTrip r = CheckpointRoundTrip.run(be, spec, Synthetic.constant(64, 1, 32, 32, 3),
                new TrainConfig(4, 8, 2e-3, 0, 30, 0.5, 1, true, 2, 0, 0), dir.resolve("glow.safetensors"), 2, 5);
        for (Trainer.Progress p : r.progress()) {
            assertEquals(List.of("bpd"), List.copyOf(p.parts().keySet()));
            assertEquals(p.loss() / (2 * 1024 * Math.log(2)), p.parts().get("bpd"), 1e-9 * p.loss());
        }
        assertTrue(r.lastLoss() < 0.8 * r.firstLoss(), "loss " + r.firstLoss() + " → " + r.lastLoss());
        assertEquals(spec, r.loadedSpec());
        assertArrayEquals(r.scores(), r.scoresLoaded());
        assertArrayEquals(r.samples(), r.samplesLoaded());
        assertEquals(3 * 2 * 32 * 32, r.samples().length);
    }
}
