package frl.ood;

import frl.backend.Backends;
import frl.backend.Rng;
import frl.data.ImageSet;
import frl.data.Synthetic;
import frl.model.DensityModel;
import frl.model.ModelSpec;
import frl.model.TrainConfig;
import frl.model.Trainer;
import frl.model.Vae;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Likelihood Regret on a tiny plain VAE: fitting lowers the NLL, the noise lines up, the model is put back. */
class RegretTest {
    private static final ModelSpec SPEC = ModelSpec.of(1, 0, 4, 8);

    /** A tiny model trained a little on constant images (untrained, its decoder hardly reads z: nothing to fit). */
    private static Vae trained() throws Exception {
        Vae vae = (Vae) SPEC.build(Backends.cpu(), new Rng(3));
        try (Trainer t = new Trainer(Backends.cpu(), vae, SPEC.batches(), new TrainConfig(3, 16, 3e-3, 0, 30, 0.5, 1, true, 5, 0, 0), SPEC.toMap())) {
            t.run(Synthetic.constant(128, 1, 32, 32, 3), null, p -> {});
        }
        return vae;
    }

    private static Map<String, float[]> weights(Vae vae) {
        Map<String, float[]> w = new java.util.TreeMap<>();
        vae.stateDict().forEach((k, v) -> w.put(k, v.toFloats()));
        return w;
    }

    @Test void fittingTheEncoderLowersEachImagesNll() throws Exception {
        try (Vae vae = trained()) {
            Scorer scorer = new Scorer(Backends.cpu(), SPEC, vae, 4, 8);
            ImageSet set = Synthetic.noise(3, 1, 32, 32, 5);
            double[] before = scorer.nll(set, 7, d -> {});
            Map<String, float[]> untouched = weights(vae);
            int[] reported = {0};
            double[] regret = new Regret(scorer, new Regret.Config(20, 1e-2, 5e-5, 2)).regret(set, 7, before, d -> reported[0] = d);
            assertEquals(3, reported[0], "progress reaches the last image");
            for (int i = 0; i < regret.length; i++) assertTrue(regret[i] > 0.05, "image " + i + ": 20 steps at lr 1e-2 gain 0.13–0.68 nats (a still encoder: < 0.001), regret " + java.util.Arrays.toString(regret));
            Map<String, float[]> after = weights(vae);
            assertEquals(untouched.keySet(), after.keySet());
            untouched.forEach((k, v) -> assertArrayEquals(v, after.get(k), k + " is put back after fitting"));
            assertArrayEquals(before, scorer.nll(set, 7, d -> {}), "the model scores as before");
            assertTrue(vae.parameters().stream().allMatch(p -> p.requiresGrad()), "the decoder, fixed while fitting, trains again");
            double[] again = new Regret(scorer, new Regret.Config(20, 1e-2, 5e-5, 2)).regret(set, 7, before, d -> {});
            assertArrayEquals(regret, again, "the same seed fits the same way");
        }
    }

    /** A set fitted in parts (first, total) gets each image the fitting and scoring noise the whole set gives it. */
    @Test void partsOfASetHaveTheWholesRegret() throws Exception {
        try (Vae vae = trained()) {
            Scorer scorer = new Scorer(Backends.cpu(), SPEC, vae, 3, 8);
            ImageSet set = Synthetic.noise(4, 1, 32, 32, 9);
            Regret r = new Regret(scorer, new Regret.Config(5, 1e-2, 0, 4));
            double[] before = scorer.nll(set, 7, d -> {});
            double[] whole = r.regret(set, 7, before, d -> {});
            double[] tail = r.regret(set.slice(2, 4), 7, 2, 4, java.util.Arrays.copyOfRange(before, 2, 4), d -> {});
            // the decoder ran over 4 images, then over 2: its sums may round apart
            for (int i = 0; i < 2; i++) assertEquals(whole[2 + i], tail[i], 1e-5, "image " + (2 + i));
            double[] alone = r.regret(set.slice(2, 4), 7, java.util.Arrays.copyOfRange(before, 2, 4), d -> {});
            assertTrue(Math.abs(alone[0] - whole[2]) > 1e-3, "as a set of its own, image 2 would take image 0's noise: " + alone[0] + " vs " + whole[2]);
        }
    }

    /**
     * Each image is fitted through its own encoder: one at a time, two or three at once give the same regret (to the
     * decoder's rounding), where images that shared an encoder, or one loss normalised by their number, would not.
     */
    @Test void imagesFittedTogetherAreFittedAsAlone() throws Exception {
        try (Vae vae = trained()) {
            Scorer scorer = new Scorer(Backends.cpu(), SPEC, vae, 3, 8);
            ImageSet set = Synthetic.noise(3, 1, 32, 32, 4);
            double[] before = scorer.nll(set, 7, d -> {});
            Regret.Config fit = new Regret.Config(5, 1e-2, 5e-5, 1);
            double[] alone = new Regret(scorer, fit).regret(set, 7, before, d -> {});
            for (int batch : new int[] {2, 3}) {
                double[] together = new Regret(scorer, fit.withBatch(batch)).regret(set, 7, before, d -> {});
                for (int i = 0; i < 3; i++) assertEquals(alone[i], together[i], 1e-5, batch + " at once, image " + i);   // rounding: ~2e-9
            }
        }
    }

    /** With a learning rate too small to move the encoder, after = before: both use the image's own IWAE noise. */
    @Test void aStillEncoderHasNoRegret() {
        try (DensityModel vae = SPEC.build(Backends.cpu(), new Rng(4))) {
            Scorer scorer = new Scorer(Backends.cpu(), SPEC, vae, 4, 8);
            ImageSet set = Synthetic.constant(4, 1, 32, 32, 6);
            double[] regret = new Regret(scorer, new Regret.Config(2, 1e-30, 0, 3)).regret(set, 7, scorer.nll(set, 7, d -> {}), d -> {});
            // other noise than the image's own would move its NLL by ~0.1 nats or more
            for (int i = 0; i < regret.length; i++) assertEquals(0, regret[i], 1e-3, "image " + i);
        }
    }

    /** On a GPU the same model fits and scores as on the CPU, to rounding (the fit is 5 Adam steps at lr 1e-2 over 3 images at once). */
    @org.junit.jupiter.api.Tag("gpu")
    @Test void regretOnCudaIsTheCpusRegret(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        frl.backend.Backend cuda = frl.backend.cuda.GpuTests.cudaOrSkip();
        java.nio.file.Path file = dir.resolve("tiny.safetensors");
        ImageSet set = Synthetic.noise(3, 1, 32, 32, 4);
        Regret.Config fit = new Regret.Config(5, 1e-2, 5e-5, 3);
        double[] onCpu;
        try (Vae vae = trained()) {
            frl.io.Checkpoint.save(file, vae, null, null, SPEC.toMap());
            Scorer s = new Scorer(Backends.cpu(), SPEC, vae, 3, 8);
            onCpu = new Regret(s, fit).regret(set, 7, s.nll(set, 7, d -> {}), d -> {});
        }
        try (ModelSpec.Loaded m = ModelSpec.load(cuda, file)) {
            Scorer s = new Scorer(cuda, m.spec(), m.model(), 3, 8);
            double[] onCuda = new Regret(s, fit).regret(set, 7, s.nll(set, 7, d -> {}), d -> {});
            for (int i = 0; i < 3; i++) assertEquals(onCpu[i], onCuda[i], 1e-3 + 1e-3 * Math.abs(onCpu[i]), "image " + i);
        }
    }

    @Test void badSettingsAndMismatchedNllsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new Regret.Config(0, 2e-4, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> new Regret.Config(10, 0, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> new Regret.Config(10, 2e-4, 0, 0));
        try (DensityModel vae = SPEC.build(Backends.cpu(), new Rng(4))) {
            Regret r = new Regret(new Scorer(Backends.cpu(), SPEC, vae, 2, 8), Regret.Config.reference());
            ImageSet set = Synthetic.constant(3, 1, 32, 32, 6).withName("three");
            Exception e = assertThrows(IllegalArgumentException.class, () -> r.regret(set, 1, new double[2], d -> {}));
            assertTrue(e.getMessage().contains("three") && e.getMessage().contains("3 images but 2"), e.getMessage());
        }
    }
}
