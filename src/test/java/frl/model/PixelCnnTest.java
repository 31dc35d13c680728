package frl.model;

import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.Rng;
import frl.backend.cuda.GpuTests;
import frl.data.Synthetic;
import frl.io.Safetensors;
import frl.nn.Parameter;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static frl.model.GoldenFiles.assertClose;
import static frl.model.GoldenFiles.ints;
import static frl.model.GoldenFiles.loadInto;
import static frl.model.GoldenFiles.on;
import static org.junit.jupiter.api.Assertions.*;

class PixelCnnTest {
    private static final Path GOLDEN = Path.of("src/test/resources/golden/pixelcnn_tiny.safetensors");
    private final Backend be = Backends.cpu();

    @Test void configRefusesSidesItCannotHalveTwice() {
        var e = assertThrows(IllegalArgumentException.class, () -> new PixelCnnConfig(30, 2, 1, 4, 2));
        assertTrue(e.getMessage().contains("multiple of 4, got 30"), e.getMessage());
    }

    @Test void samplingTakesNoTemperatureButOne() {
        try (PixelCnn m = new PixelCnn(be, new PixelCnnConfig(8, 2, 1, 4, 2), new Rng(1))) {
            var e = assertThrows(IllegalArgumentException.class, () -> m.sample(2, 0.7, new Rng(2)));
            assertTrue(e.getMessage().contains("no latent to cool: sample it at temperature 1, got 0.7"), e.getMessage());
        }
    }

    @Test void parameterCountIsTheModels() {
        for (PixelCnnConfig c : List.of(new PixelCnnConfig(8, 2, 1, 4, 2), new PixelCnnConfig(16, 4, 2, 6, 3), new PixelCnnConfig(32, 3, 3, 80, 10))) {
            try (PixelCnn m = new PixelCnn(be, c, new Rng(1))) {
                assertEquals(m.parameterCount(), c.parameterCount(), c.toString());
            }
        }
    }

    /** The parameters of pixel q depend on every channel of the pixels before it in raster order, and on none from q on. */
    @Test void eachPixelSeesOnlyThePixelsBeforeIt() {
        PixelCnnConfig c = new PixelCnnConfig(8, 2, 1, 4, 2);
        int hw = 64;
        try (PixelCnn m = new PixelCnn(be, c, new Rng(2))) {
            for (int q : new int[] {0, 9, 27, 36, 63}) {
                try (Scope _ = Scope.open()) {
                    Shape s = Shape.of(1, 2, 8, 8);
                    double[] x = new Random(q).doubles(s.numel(), -1, 1).toArray();
                    Var in = Var.leaf(be.fromHost(s, x));
                    Var out = m.network(in);
                    double[] seed = new double[(int) out.value().numel()];
                    for (int ch = 0; ch < c.outputChannels(); ch++) seed[ch * hw + q] = 1;
                    out.backward(be.fromHost(out.shape(), seed));
                    double[] g = in.grad().toDoubles();
                    for (int p = 0; p < hw; p++)
                        for (int ch = 0; ch < 2; ch++) {
                            double v = Math.abs(g[ch * hw + p]);
                            if (p >= q) assertEquals(0, v, "pixel " + q + "'s parameters depend on pixel " + p + " channel " + ch);
                            else if (p == q - 1 || p == q - 8) assertTrue(v > 0, "pixel " + q + " does not see pixel " + p + " channel " + ch);
                        }
                }
            }
        }
    }

    @Test void matchesPyTorch() throws IOException { matchesPyTorch(be); }

    @Test @Tag("gpu") void matchesPyTorchOnCuda() throws IOException { matchesPyTorch(GpuTests.cudaOrSkip()); }

    /** bench/pytorch/frl_pixelcnn.py's file (8×8, gray + HF, resnets 1, filters 4, mixtures 2, both tails in the input). */
    private static void matchesPyTorch(Backend be) throws IOException {
        try (Scope _ = Scope.open(); Safetensors.Contents g = Safetensors.read(GOLDEN)) {
            int[] v = ints(g.metadata(), "size", "channels", "resnets", "filters", "mixtures");
            PixelCnnConfig config = new PixelCnnConfig(v[0], v[1], v[2], v[3], v[4]);
            Map<String, Tensor> t = g.tensors();
            try (PixelCnn m = new PixelCnn(be, config, new Rng(1))) {
                loadInto(m, t, k -> false);
                Tensor pixels = on(be, t.get("pixels"));
                assertClose(t.get("params").toDoubles(), m.network(Var.constant(be.affine(pixels, 1 / 127.5, -1))).value().toDoubles(), 1e-4, "mixture parameters");
                DensityModel.LossParts parts = m.loss(Var.constant(pixels), Var.constant(pixels), m.noise(be, 3, new Rng(1)), 1);
                parts.loss().backward();
                assertClose(t.get("loss").toDoubles(), new double[] {parts.loss().value().item()}, 1e-4, "loss");
                for (Map.Entry<String, Parameter> p : m.namedParameters().entrySet())
                    assertClose(t.get("grad." + p.getKey()).toDoubles(), p.getValue().grad().toDoubles(), 1e-4, "grad " + p.getKey());
                double[][] w = m.logWeights(pixels, pixels, m.noise(be, 6, new Rng(2)).reshape(2, 3, 1));
                assertClose(t.get("nll").toDoubles(), DensityModel.nllFromTerms(w), 1e-4, "NLL per image");
                assertArrayEquals(w[0], w[1], "an exact likelihood: every sample the same");
            }
        }
    }

    /** Dropout masks are exactly 0 or 1/(1 − rate), kept at that rate; without a rate the noise is the scorer's. */
    @Test void dropoutMasksKeepTheirShareAndScale() {
        PixelCnnConfig c = new PixelCnnConfig(8, 2, 1, 4, 2);
        try (PixelCnn m = new PixelCnn(be, c, new Rng(3)); Scope _ = Scope.open()) {
            assertEquals(2 * 4 * 2 * (64 + 16 + 4) + 2 * 4 * 2 * (4 + 2 * 16 + 2 * 64), m.maskValuesPerImage(), "2F values per pixel of every block");
            for (double rate : new double[] {0.5, 0.2}) {
                float[] mask = m.trainingNoise(be, 16, new Rng(4), rate).toFloats();
                assertEquals(16L * m.maskValuesPerImage(), mask.length);
                int kept = 0;
                for (float v : mask) {
                    assertTrue(v == 0f || v == (float) (1 / (1 - rate)), "mask value " + v);
                    if (v != 0) kept++;
                }
                assertEquals(1 - rate, kept / (double) mask.length, 0.01, "share kept at rate " + rate);
            }
            assertEquals(m.noiseShape(16), m.trainingNoise(be, 16, new Rng(4), 0).shape());
            assertEquals(m.noiseShape(16), m.trainingNoiseShape(16, 0));
            var e = assertThrows(IllegalArgumentException.class, () -> m.trainingNoise(be, 2, new Rng(4), 1));
            assertTrue(e.getMessage().contains("within [0, 1)"), e.getMessage());
        }
    }

    /** Masks of ones leave the loss as it is (every block takes its slice, all of it used); dropping changes it. */
    @Test void dropoutActsOnEveryBlockAndOnlyThroughItsMasks() {
        PixelCnnConfig c = new PixelCnnConfig(8, 2, 1, 4, 2);
        try (PixelCnn m = new PixelCnn(be, c, new Rng(3)); Scope _ = Scope.open()) {
            Random r = new Random(5);
            double[] values = new double[3 * 2 * 64];
            for (int i = 0; i < values.length; i++) values[i] = r.nextInt(256);
            Tensor bytes = be.fromHost(Shape.of(3, 2, 8, 8), values);
            Var x = Var.constant(be.affine(bytes, 1 / 255.0, 0)), t = Var.constant(bytes);
            double plain = m.loss(x, t, m.noise(be, 3, new Rng(6)), 1).loss().value().get(0);
            double ones = m.loss(x, t, be.full(Shape.of(3, m.maskValuesPerImage()), 1), 1).loss().value().get(0);
            double dropped = m.loss(x, t, m.trainingNoise(be, 3, new Rng(6), 0.5), 1).loss().value().get(0);
            assertEquals(plain, ones, "masks of ones");
            assertNotEquals(plain, dropped, "masks at rate 0.5");
        }
    }

    /** A Glow or a VAE has no dropout: a rate is refused, naming the model. */
    @Test void otherModelsRefuseADropoutRate() {
        try (Glow g = new Glow(be, new GlowConfig(8, 2, 4, 1, 1), new Rng(1))) {
            var e = assertThrows(IllegalArgumentException.class, () -> g.trainingNoise(be, 2, new Rng(1), 0.5));
            assertTrue(e.getMessage().contains("Glow has no dropout"), e.getMessage());
            assertEquals(g.noiseShape(2), g.trainingNoiseShape(2, 0));
        }
    }

    /** Training on constant images lowers the loss; the checkpoint gives back the same scores and samples. */
    @Test void trainsAndRestoresThroughACheckpoint(@TempDir Path dir) throws Exception {
        ModelSpec spec = ModelSpec.pixelCnn(1, 5, 1, 8, 2);
        CheckpointRoundTrip r = CheckpointRoundTrip.run(be, spec, Synthetic.constant(32, 1, 32, 32, 3),
                new TrainConfig(3, 8, 1e-2, 0, 30, 0.5, 1, true, 2, 0, 0), dir.resolve("pixelcnn.safetensors"), 1, 4);
        assertTrue(r.lastLoss() < 0.9 * r.firstLoss(), "loss " + r.firstLoss() + " → " + r.lastLoss());
        assertEquals(spec, r.loadedSpec());
        assertArrayEquals(r.scores(), r.scoresLoaded());
        assertArrayEquals(r.samples(), r.samplesLoaded());
        assertEquals(3 * 2 * 32 * 32, r.samples().length);
    }
}
