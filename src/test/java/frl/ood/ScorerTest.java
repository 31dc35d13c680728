package frl.ood;

import frl.backend.Backends;
import frl.backend.Rng;
import frl.data.ImageSet;
import frl.data.Synthetic;
import frl.model.DensityModel;
import frl.model.ModelSpec;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/** The IWAE noise of an image is fixed by the seed and the image's index, not by how images are chunked. */
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
}
