package frl.ood;

import frl.backend.Backends;
import frl.backend.Rng;
import frl.data.ImageSet;
import frl.data.Synthetic;
import frl.model.DensityModel;
import frl.model.ModelSpec;
import org.junit.jupiter.api.Test;

import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/** The IWAE noise of an image is fixed by the seed and the image's index, not by how images are chunked; chunks replayed from a recorded pass score as chunks run as usual. */
class ScorerTest {
    @Test void scoresDoNotDependOnTheChunkSize() {
        ModelSpec spec = ModelSpec.of(1, 5, 4, 8);
        try (DensityModel vae = spec.build(Backends.cpu(), new Rng(1))) {
            ImageSet set = Synthetic.noise(7, 1, 32, 32, 3);
            double[] one = new Scorer(Backends.cpu(), spec, vae, 3, 1).nll(set, 11, d -> {});
            double[] three = new Scorer(Backends.cpu(), spec, vae, 3, 3).nll(set, 11, d -> {});
            double[] all = new Scorer(Backends.cpu(), spec, vae, 3, 256).nll(set, 11, d -> {});
            for (int i = 0; i < one.length; i++) {
                // other batches may round apart; other noise would move an NLL by ~0.1 nats
                assertEquals(one[i], three[i], 1e-3, "image " + i + ": chunks of 1 vs 3");
                assertEquals(one[i], all[i], 1e-3, "image " + i + ": chunks of 1 vs 256");
            }
            double[] otherSeed = new Scorer(Backends.cpu(), spec, vae, 3, 3).nll(set, 12, d -> {});
            assertNotEquals(one[0], otherSeed[0], "another seed draws other noise");
        }
    }

    /** A set scored in parts (first, total) gets each image the noise the whole set gives it. */
    @Test void partsOfASetScoreAsTheWhole() {
        ModelSpec spec = ModelSpec.of(1, 5, 4, 8);
        try (DensityModel vae = spec.build(Backends.cpu(), new Rng(1))) {
            ImageSet set = Synthetic.noise(7, 1, 32, 32, 3);
            Scorer s = new Scorer(Backends.cpu(), spec, vae, 3, 2);
            double[] whole = s.nll(set, 11, d -> {});
            double[] head = s.nll(set.slice(0, 4), 11, 0, 7, d -> {}), tail = s.nll(set.slice(4, 7), 11, 4, 7, d -> {});
            for (int i = 0; i < 7; i++) {
                double part = i < 4 ? head[i] : tail[i - 4];
                assertEquals(whole[i], part, 0.0, "image " + i + ": the same noise, and chunks of the same images");
            }
            double[] alone = s.nll(set.slice(4, 7), 11, d -> {});
            assertNotEquals(whole[4], alone[0], "scored as a set of its own, image 4 would draw image 0's noise");
            org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> s.nll(set.slice(4, 7), 11, 5, 7, d -> {}));
        }
    }

    /**
     * Chunks replayed from a recorded pass score as chunks run as usual, for each family (on the CPU a replay reruns the
     * pass into the recorded output): 7 images in chunks of 3, the first run and recorded, the second replayed, the
     * last, shorter, run as usual.
     */
    @Test void recordedChunksScoreAsChunksRunAsUsual() {
        for (ModelSpec spec : new ModelSpec[] {ModelSpec.of(1, 5, 4, 8), ModelSpec.glow(1, 5, 8, 1, 2), ModelSpec.pixelCnn(1, 5, 1, 8, 2)}) {
            try (DensityModel m = spec.build(Backends.cpu(), new Rng(1))) {
                ImageSet set = Synthetic.noise(7, 1, 32, 32, 3);
                double[] usual = new Scorer(Backends.cpu(), spec, m, 2, 3).nll(set, 11, d -> {});
                double[] recorded = new Scorer(Backends.cpu(), spec, m, 2, 3).recordChunks(true).nll(set, 11, d -> {});
                org.junit.jupiter.api.Assertions.assertArrayEquals(usual, recorded, 0.0, m.getClass().getSimpleName());
            }
        }
    }

    /**
     * A scorer that keeps its graphs records a pass size once it has run as usual in an earlier call (or another chunk
     * of it follows), replays it in later calls with the scores of passes run as usual, keeps at most MOST_KEPT sizes,
     * and frees them on close.
     */
    @Test void keptGraphsAreReplayedByLaterCallsOfTheirSize() {
        ModelSpec spec = ModelSpec.of(1, 5, 4, 8);
        try (DensityModel m = spec.build(Backends.cpu(), new Rng(1))) {
            ImageSet set = Synthetic.noise(7, 1, 32, 32, 3);
            double[] usual = new Scorer(Backends.cpu(), spec, m, 2, 3).nll(set, 11, d -> {});
            Scorer s = new Scorer(Backends.cpu(), spec, m, 2, 3).recordChunks(true).keepGraphs(true);
            assertArrayEquals(usual, s.nll(set, 11, d -> {}), 0.0);
            assertEquals(Set.of(3), s.keptPassSizes(), "chunks of 3, as another followed the first; the last, of 1, ran as usual");
            assertArrayEquals(usual, s.nll(set, 11, d -> {}), 0.0);
            assertEquals(Set.of(1, 3), s.keptPassSizes(), "the chunk of 1 had run as usual in the call before");
            assertArrayEquals(usual, s.nll(set, 11, d -> {}), 0.0, "every chunk replayed");
            s.close();
            assertEquals(Set.of(), s.keptPassSizes());

            try (Scorer wide = new Scorer(Backends.cpu(), spec, m, 2, 8).recordChunks(true).keepGraphs(true)) {
                for (int n = 1; n <= 6; n++)
                    for (int call = 0; call < 2; call++) {
                        double[] part = wide.nll(set.slice(0, n), 11, 0, 7, d -> {});
                        for (int i = 0; i < n; i++) assertEquals(usual[i], part[i], 1e-3, "size " + n + ", image " + i);
                    }
                assertEquals(Set.of(1, 2, 3, 4), wide.keptPassSizes(), "at most " + Scorer.MOST_KEPT + " sizes");
            }
            Scorer once = new Scorer(Backends.cpu(), spec, m, 2, 3).recordChunks(true);
            once.nll(set, 11, d -> {});
            assertEquals(Set.of(), once.keptPassSizes(), "without keepGraphs a call frees what it recorded");
        }
    }

    /** {NLL, complexity} together are each alone: on the CPU one after the other; on a GPU the PNGs while the device scores. */
    @Test void nllAndComplexityAreEachAlone() {
        nllAndComplexityAreEachAlone(Backends.cpu());
    }

    @org.junit.jupiter.api.Tag("gpu")
    @Test void nllAndComplexityOnCudaAreEachAlone() {
        nllAndComplexityAreEachAlone(frl.backend.cuda.GpuTests.cudaOrSkip());
    }

    private static void nllAndComplexityAreEachAlone(frl.backend.Backend be) {
        ModelSpec spec = ModelSpec.of(1, 5, 4, 8);
        try (DensityModel m = spec.build(be, new Rng(1))) {
            ImageSet set = Synthetic.noise(5, 1, 32, 32, 3);
            Scorer s = new Scorer(be, spec, m, 2, 3);
            double[][] both = s.nllAndComplexity(set.slice(1, 5), 11, 1, 5);
            assertArrayEquals(java.util.Arrays.copyOfRange(s.nll(set, 11, d -> {}), 1, 5), both[0], 1e-3, "the NLLs of images 1..4 of 5 (other batches may round apart)");
            assertArrayEquals(Scorer.complexity(set.slice(1, 5)), both[1], 0.0);
        }
    }

    /** With kept graphs on a GPU, a pass size's third call replays what its second recorded, with the same scores. */
    @org.junit.jupiter.api.Tag("gpu")
    @Test void keptGraphsOnCudaReplayInLaterCalls() {
        frl.backend.Backend cuda = frl.backend.cuda.GpuTests.cudaOrSkip();
        ModelSpec spec = ModelSpec.glow(1, 5, 8, 1, 2);
        try (DensityModel m = spec.build(cuda, new Rng(1)); Scorer s = new Scorer(cuda, spec, m, 2, 3).recordChunks(true).keepGraphs(true)) {
            ImageSet set = Synthetic.noise(3, 1, 32, 32, 3);
            double[] usual = new Scorer(cuda, spec, m, 2, 3).nll(set, 11, d -> {});
            for (int call = 0; call < 3; call++) {
                double[] scores = s.nll(set, 11, d -> {});
                assertEquals(call == 2, s.replayedGraphs(), "call " + call);
                for (int i = 0; i < usual.length; i++) assertEquals(usual[i], scores[i], 1e-9 * Math.abs(usual[i]), "call " + call + ", image " + i);
            }
            assertEquals(Set.of(3), s.keptPassSizes());
        }
    }

    /** On a GPU the chunks after the first replay a CUDA graph, and score as chunks run op by op (the same kernels). */
    @org.junit.jupiter.api.Tag("gpu")
    @Test void recordedChunksOnCudaScoreAsChunksRunAsUsual() {
        frl.backend.Backend cuda = frl.backend.cuda.GpuTests.cudaOrSkip();
        for (ModelSpec spec : new ModelSpec[] {ModelSpec.of(1, 5, 4, 8), ModelSpec.glow(1, 5, 8, 1, 2), ModelSpec.pixelCnn(1, 5, 1, 8, 2)}) {
            try (DensityModel m = spec.build(cuda, new Rng(1))) {
                ImageSet set = Synthetic.noise(7, 1, 32, 32, 3);
                double[] usual = new Scorer(cuda, spec, m, 2, 3).nll(set, 11, d -> {});
                Scorer s = new Scorer(cuda, spec, m, 2, 3).recordChunks(true);
                double[] recorded = s.nll(set, 11, d -> {});
                org.junit.jupiter.api.Assertions.assertTrue(s.replayedGraphs(), m.getClass().getSimpleName() + ": no chunk replayed a graph");
                for (int i = 0; i < usual.length; i++) assertEquals(usual[i], recorded[i], 1e-9 * Math.abs(usual[i]), m.getClass().getSimpleName() + " image " + i);
            }
        }
    }
}
