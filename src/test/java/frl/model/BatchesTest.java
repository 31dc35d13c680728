package frl.model;

import frl.backend.Backends;
import frl.backend.Rng;
import frl.data.ImageSet;
import frl.data.Synthetic;
import frl.freq.FrlInput;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Ren et al.'s perturbation of training batches (Likelihood Ratio's background model). */
class BatchesTest {
    private static final int N = 16, HW = 32 * 32;

    @Test void aFifthOfTheSubPixelsGetUniformValuesAndTheHfChannelFollows() {
        Batches frl = new Batches(new FrlInput(5));
        ImageSet set = Synthetic.constant(N, 1, 32, 32, 2);
        int[] all = java.util.stream.IntStream.range(0, N).toArray();
        Rng rng = new Rng(8);
        Batches.Batch b = frl.gather(Backends.cpu(), set, all, null, 0.2, rng);
        assertEquals(2L * N * HW, rng.counter(), "two draws per sub-pixel");
        float[] x = b.x().toFloats();   // [N, 2, 32, 32]: the image, then its HF channel
        byte[] perturbed = new byte[N * HW];
        int changed = 0;
        double changedSum = 0;
        for (int i = 0; i < N; i++)
            for (int q = 0; q < HW; q++) {
                int v = Math.round(x[(2 * i) * HW + q] * 255), was = set.image(i)[q] & 0xFF;
                perturbed[i * HW + q] = (byte) v;
                if (v != was) { changed++; changedSum += v; }
            }
        // a replaced sub-pixel keeps its value 1 time in 256: 0.2 · 255/256 of them change, ± 4 standard deviations
        double expected = 0.2 * 255 / 256 * N * HW, sd = Math.sqrt(expected * (1 - 0.2));
        assertEquals(expected, changed, 4 * sd, "sub-pixels changed");
        assertEquals(127.5, changedSum / changed, 4 * 74 / Math.sqrt(changed), "new values are uniform over 0..255");

        ImageSet asDrawn = new ImageSet("perturbed", N, 1, 32, 32, perturbed, null);
        Batches.Batch again = frl.of(Backends.cpu(), asDrawn, 0, N);
        assertArrayEquals(again.x().toFloats(), x, "the HF channel is that of the perturbed image");
        assertArrayEquals(again.targets().toFloats(), b.targets().toFloats(), "and so are the targets");
    }

    @Test void noPerturbationLeavesImagesAndTheRngAlone() {
        Batches plain = new Batches(null);
        ImageSet set = Synthetic.noise(N, 1, 32, 32, 3);
        int[] all = java.util.stream.IntStream.range(0, N).toArray();
        Rng rng = new Rng(8);
        Batches.Batch b = plain.gather(Backends.cpu(), set, all, null, 0, rng);
        assertEquals(0, rng.counter(), "no draws");
        assertArrayEquals(plain.of(Backends.cpu(), set, 0, N).targets().toFloats(), b.targets().toFloats());
        Batches.Batch every = plain.gather(Backends.cpu(), set, all, null, 1, rng);
        float[] t = every.targets().toFloats(), before = b.targets().toFloats();
        int same = 0;
        for (int j = 0; j < t.length; j++) if (t[j] == before[j]) same++;
        assertTrue(same < 3 * t.length / 256, "at rate 1 every sub-pixel is drawn anew (1 in 256 keeps its value): " + same + " of " + t.length);
    }
}
