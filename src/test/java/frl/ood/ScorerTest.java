package frl.ood;

import frl.backend.Backends;
import frl.backend.Rng;
import frl.data.ImageSet;
import frl.data.Synthetic;
import frl.model.ModelSpec;
import frl.model.Vae;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/** The IWAE noise of an image is fixed by the seed and the image's index, not by how images are chunked. */
class ScorerTest {
    @Test void scoresDoNotDependOnTheChunkSize() {
        ModelSpec spec = ModelSpec.of(1, 5, 4, 8);
        try (Vae vae = new Vae(Backends.cpu(), spec.vae(), new Rng(1))) {
            ImageSet set = Synthetic.noise(7, 1, 32, 32, 3);
            double[] one = new Scorer(Backends.cpu(), spec, vae, 3, 1).nll(set, 11, d -> {});
            double[] three = new Scorer(Backends.cpu(), spec, vae, 3, 3).nll(set, 11, d -> {});
            double[] all = new Scorer(Backends.cpu(), spec, vae, 3, 256).nll(set, 11, d -> {});
            for (int i = 0; i < one.length; i++) {
                assertEquals(one[i], three[i], 1e-4 * Math.abs(one[i]), "image " + i + ": chunks of 1 vs 3");
                assertEquals(one[i], all[i], 1e-4 * Math.abs(one[i]), "image " + i + ": chunks of 1 vs 256");
            }
            double[] otherSeed = new Scorer(Backends.cpu(), spec, vae, 3, 3).nll(set, 12, d -> {});
            assertNotEquals(one[0], otherSeed[0], "another seed draws other noise");
        }
    }
}
