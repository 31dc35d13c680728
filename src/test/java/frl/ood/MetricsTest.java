package frl.ood;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Hand-computed cases; the first three were also checked with sklearn's roc_auc_score / average_precision_score. */
class MetricsTest {
    @Test
    void perfectSeparation() {
        Metrics.Summary m = Metrics.evaluate(new double[] {0.1, 0.2, 0.3}, new double[] {0.5, 0.9});
        assertEquals(new Metrics.Summary(1, 1, 1, 0), m);
    }

    @Test
    void reversedScores() {
        double[] in = {5, 6}, ood = {1, 2};
        assertEquals(0, Metrics.auroc(in, ood));
        // OOD positive, ranked 6(in) 5(in) 2(ood) 1(ood): R=1/2 at P=1/3, R=1 at P=1/2
        assertEquals(1 / 2.0 / 3 + 1 / 2.0 / 2, Metrics.auprOut(in, ood), 1e-15);
        assertEquals(5 / 12.0, Metrics.auprIn(in, ood), 1e-15);
        assertEquals(1, Metrics.fprAtTpr(in, ood, 0.95));
    }

    @Test
    void tiesCountHalfAndEnterTogether() {
        double[] in = {1, 2, 2, 3}, ood = {2, 3, 4};
        // pairs won by OOD: vs 2 -> 1 + 2·½; vs 3 -> 3 + ½; vs 4 -> 4: 9.5 of 12
        assertEquals(9.5 / 12, Metrics.auroc(in, ood), 1e-15);
        // OOD positive, thresholds 4, 3, 2: (R, P) = (1/3, 1), (2/3, 2/3), (1, 1/2)
        assertEquals(1 / 3.0 + 1 / 3.0 * 2 / 3 + 1 / 3.0 / 2, Metrics.auprOut(in, ood), 1e-15);   // 13/18
        // in positive, thresholds s ≤ 1, 2, 3: (R, P) = (1/4, 1), (3/4, 3/4), (1, 2/3)
        assertEquals(0.25 + 0.5 * 0.75 + 0.25 * 2 / 3, Metrics.auprIn(in, ood), 1e-15);        // 19/24
        // 95% of 4 in-images needs all 4: t = 3 accepts OOD 2 and 3
        assertEquals(2 / 3.0, Metrics.fprAtTpr(in, ood, 0.95), 1e-15);
    }

    @Test
    void fprCountsOodTiedWithTheThresholdAsAccepted() {
        double[] in = new double[100];
        for (int i = 0; i < 100; i++) in[i] = i;                       // 95% of them: scores 0..94, t = 94
        assertEquals(0.25, Metrics.fprAtTpr(in, new double[] {94, 94.5, 95, 200}, 0.95));
        assertEquals(0.25, Metrics.fprAtTpr(in, new double[] {6, 7, 8, 9}, 0.07), "7 of 100 (not 8, as ceil(0.07·100) says): t = 6");
    }

    @Test
    void aurocAgreesWithCountingAllPairs() {
        SplittableRandom rng = new SplittableRandom(3);
        double[] in = new double[57], ood = new double[31];
        for (int i = 0; i < in.length; i++) in[i] = rng.nextInt(20);     // many ties
        for (int i = 0; i < ood.length; i++) ood[i] = rng.nextInt(25);
        double wins = 0;
        for (double o : ood) for (double i : in) wins += o > i ? 1 : o == i ? 0.5 : 0;
        assertEquals(wins / (57 * 31), Metrics.auroc(in, ood), 1e-15);
        assertEquals(1 - Metrics.auroc(in, ood), Metrics.auroc(ood, in), 1e-15, "swapping sides flips AUROC");
    }

    @Test
    void badInputIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Metrics.auroc(new double[0], new double[] {1}));
        assertEquals("Metrics: expected scores on both sides, found 0 in-distribution and 1 OOD", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Metrics.evaluate(new double[] {1}, new double[] {2, Double.NaN}));
        assertEquals("Metrics: OOD score 1 is NaN", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Metrics.fprAtTpr(new double[] {1}, new double[] {2}, 0));
    }
}
