package frl.model;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.Rng;
import frl.data.ImageSet;
import frl.data.Synthetic;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Training on a tiny FRL model: the loss falls, and save → stop → resume gives the uninterrupted run. */
class TrainerTest {
    static final ModelSpec TINY = ModelSpec.of(1, 5, 4, 8);

    /** 128 gray images: constant patches of 8 levels, so there is something to learn quickly. */
    static ImageSet tinySet() {
        return Synthetic.constant(128, 1, 32, 32, 3);
    }

    private static List<Double> train(Backend be, TrainConfig c, Path checkpoint, Path resumeFrom, Map<String, float[]> weightsOut) throws Exception {
        return train(be, c, checkpoint, resumeFrom, weightsOut, false);
    }

    private static List<Double> train(Backend be, TrainConfig c, Path checkpoint, Path resumeFrom, Map<String, float[]> weightsOut, boolean record) throws Exception {
        List<Double> losses = new ArrayList<>();
        try (DensityModel vae = TINY.build(be, new Rng(c.seed())); Trainer t = new Trainer(be, vae, TINY.batches(), c, TINY.toMap()).recordSteps(record)) {
            if (resumeFrom != null) t.resume(resumeFrom);
            t.run(tinySet(), checkpoint, p -> { if (p.epochDone()) losses.add(p.loss()); });
            // a GPU records the step; a backend that runs ops at once never does
            assertEquals(record && !be.device().isHost(), t.stepsRecorded(), "steps recorded as a graph");
            vae.stateDict().forEach((k, v) -> weightsOut.put(k, v.toFloats()));
        }
        return losses;
    }

    @Test void lossFallsOverEpochs() throws Exception {
        TrainConfig c = new TrainConfig(4, 16, 3e-3, 0, 30, 0.5, 1, true, 5, 0, 0);
        List<Double> losses = train(Backends.cpu(), c, null, null, new java.util.HashMap<>());
        assertEquals(4, losses.size());
        for (int e = 1; e < 4; e++) assertTrue(losses.get(e) < losses.get(e - 1), "mean loss per epoch should fall: " + losses);
        assertTrue(losses.get(3) < 0.9 * losses.get(0), "loss should fall by 10% in 4 epochs: " + losses);
    }

    @Test void resumeContinuesExactlyWhereTheRunStopped(@TempDir Path dir) throws Exception {
        Backend be = Backends.cpu();
        TrainConfig two = new TrainConfig(2, 16, 1e-3, 0, 1, 0.5, 1, true, 9, 64, 0);
        Map<String, float[]> straight = new java.util.HashMap<>(), resumed = new java.util.HashMap<>();
        train(be, two, dir.resolve("straight.safetensors"), null, straight);

        TrainConfig one = new TrainConfig(1, 16, 1e-3, 0, 1, 0.5, 1, true, 9, 64, 0);
        Path ckpt = dir.resolve("stopped.safetensors");
        train(be, one, ckpt, null, new java.util.HashMap<>());   // the process "dies" after epoch 1
        train(be, two, ckpt, ckpt, resumed);                    // a new one resumes from the file
        assertEquals(straight.keySet(), resumed.keySet());
        // Equal up to float rounding: the Vector API's exp may round differently before and after JIT compilation.
        for (String k : straight.keySet()) {
            float[] a = straight.get(k), b = resumed.get(k);
            double scale = 1e-12;
            for (float v : a) scale = Math.max(scale, Math.abs(v));
            for (int i = 0; i < a.length; i++) assertEquals(a[i], b[i], 1e-5 * scale, k + "[" + i + "] differs after resume");
        }
    }

    /** A warm-up of 4 steps gives its first step a quarter of the rate: the weights of a run at a quarter of it, bit for bit. */
    @Test void warmupGivesTheFirstStepsTheirShareOfTheRate() throws Exception {
        Map<String, float[]> warm = new java.util.HashMap<>(), quarter = new java.util.HashMap<>(), full = new java.util.HashMap<>();
        train(Backends.cpu(), new TrainConfig(1, 16, 4e-3, 0, 30, 0.5, 1, true, 5, 16, 0, 0, 4), null, null, warm);
        train(Backends.cpu(), new TrainConfig(1, 16, 1e-3, 0, 30, 0.5, 1, true, 5, 16, 0, 0, 0), null, null, quarter);
        train(Backends.cpu(), new TrainConfig(1, 16, 4e-3, 0, 30, 0.5, 1, true, 5, 16, 0, 0, 0), null, null, full);
        boolean moved = false;
        for (String k : warm.keySet()) {
            org.junit.jupiter.api.Assertions.assertArrayEquals(quarter.get(k), warm.get(k), k);
            moved |= !java.util.Arrays.equals(full.get(k), warm.get(k));
        }
        assertTrue(moved, "the warm-up changed nothing");
        assertEquals(0.25, new TrainConfig(1, 16, 1e-3, 0, 30, 0.5, 1, true, 5, 0, 0, 0, 4).warmupFactor(0));
        assertEquals(1.0, new TrainConfig(1, 16, 1e-3, 0, 30, 0.5, 1, true, 5, 0, 0, 0, 4).warmupFactor(9));
        assertThrows(IllegalArgumentException.class, () -> new TrainConfig(1, 16, 1e-3, 0, 30, 0.5, 1, true, 5, 0, 0, 0, -1));
    }

    /** The warm-up counts steps over the whole run, so a run resumed in the middle of it goes on where it was. */
    @Test void aResumedRunGoesOnWithItsWarmup(@TempDir Path dir) throws Exception {
        Backend be = Backends.cpu();
        TrainConfig two = new TrainConfig(2, 16, 1e-3, 0, 30, 0.5, 1, true, 9, 64, 0, 0, 6), one = new TrainConfig(1, 16, 1e-3, 0, 30, 0.5, 1, true, 9, 64, 0, 0, 6);
        Map<String, float[]> straight = new java.util.HashMap<>(), resumed = new java.util.HashMap<>(), fresh = new java.util.HashMap<>();
        train(be, two, null, null, straight);
        Path ckpt = dir.resolve("stopped.safetensors");
        train(be, one, ckpt, null, new java.util.HashMap<>());
        train(be, two, ckpt, ckpt, resumed);
        train(be, new TrainConfig(2, 16, 1e-3, 0, 30, 0.5, 1, true, 9, 64, 0, 0, 0), null, null, fresh);
        double gap = 0;
        for (String k : straight.keySet()) {
            float[] a = straight.get(k), b = resumed.get(k), c = fresh.get(k);
            for (int i = 0; i < a.length; i++) {
                assertEquals(a[i], b[i], 1e-5 * Math.max(1e-12, Math.abs(a[i])) + 1e-7, k + "[" + i + "] differs after resume");
                gap = Math.max(gap, Math.abs(a[i] - c[i]));
            }
        }
        assertTrue(gap > 1e-4, "warm-up or not, the weights came out the same (largest gap " + gap + ")");
    }

    /** On the CPU a recorded step reruns its code over the persistent inputs: the same weights and losses, bit for bit. */
    @Test void recordedStepsTrainAsTheStepsRun() throws Exception {
        TrainConfig c = new TrainConfig(2, 16, 1e-3, 0, 1, 0.5, 1, true, 4, 64, 0);
        Map<String, float[]> plain = new java.util.HashMap<>(), recorded = new java.util.HashMap<>();
        List<Double> a = train(Backends.cpu(), c, null, null, plain, false), b = train(Backends.cpu(), c, null, null, recorded, true);
        assertEquals(a, b);
        assertEquals(plain.keySet(), recorded.keySet());
        for (String k : plain.keySet()) org.junit.jupiter.api.Assertions.assertArrayEquals(plain.get(k), recorded.get(k), k);
    }

    /**
     * On a GPU the recorded step is a CUDA graph: the same losses and weights as running the steps, to rounding
     * (cuDNN may pick a non-deterministic algorithm; Adam's first steps turn tiny differences into ±lr).
     */
    @org.junit.jupiter.api.Tag("gpu")
    @Test void recordedStepsTrainAsTheStepsRunOnCuda() throws Exception {
        Backend cuda = frl.backend.cuda.GpuTests.cudaOrSkip();
        TrainConfig c = new TrainConfig(2, 16, 1e-3, 0, 1, 0.5, 1, true, 4, 64, 0);
        Map<String, float[]> plain = new java.util.HashMap<>(), recorded = new java.util.HashMap<>();
        List<Double> a = train(cuda, c, null, null, plain, false), b = train(cuda, c, null, null, recorded, true);
        for (int e = 0; e < a.size(); e++) assertEquals(a.get(e), b.get(e), 1e-5 * Math.abs(a.get(e)), "epoch " + (e + 1) + " loss");
        for (String k : plain.keySet()) {
            double nmse = frl.backend.OpHarness.nmse(toDoubles(recorded.get(k)), toDoubles(plain.get(k)));
            assertTrue(nmse < 1e-6, k + ": NMSE " + nmse);
        }
    }

    private static double[] toDoubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    @Test void resumeRejectsAFileThatIsNotATrainingCheckpoint(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("weights.safetensors");
        try (DensityModel vae = TINY.build(Backends.cpu(), new Rng(1))) {
            frl.io.Checkpoint.save(f, vae, null, null, TINY.toMap());
        }
        TrainConfig c = new TrainConfig(1, 16, 1e-3, 0, 1, 0.5, 1, true, 9, 64, 0);
        try (DensityModel vae = TINY.build(Backends.cpu(), new Rng(1)); Trainer t = new Trainer(Backends.cpu(), vae, TINY.batches(), c, TINY.toMap())) {
            Exception e = assertThrows(Exception.class, () -> t.resume(f));
            assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        }
    }

    /** A background model's checkpoint says how it was perturbed; a plain run's config has no such entry, so its file is as before. */
    @Test void aPerturbedRunTrainsOnOtherImagesAndSaysSo(@TempDir Path dir) throws Exception {
        TrainConfig c = new TrainConfig(1, 16, 1e-3, 0, 1, 0.5, 1, true, 9, 64, 0);
        Map<String, float[]> plain = new java.util.HashMap<>(), background = new java.util.HashMap<>();
        Path p = dir.resolve("plain.safetensors"), b = dir.resolve("background.safetensors");
        train(Backends.cpu(), c, p, null, plain);
        train(Backends.cpu(), c.withPerturb(0.2), b, null, background);
        assertEquals(null, frl.io.Checkpoint.peek(p).config().get("perturb"));
        assertEquals("0.2", frl.io.Checkpoint.peek(b).config().get("perturb"));
        String k = "decoder.main.final:4-2:convt.weight";
        assertTrue(plain.containsKey(k), plain.keySet().toString());
        assertTrue(!java.util.Arrays.equals(plain.get(k), background.get(k)), "perturbed images train other weights");
    }
}
