package frl.ood;

import java.util.Arrays;

/**
 * OOD detection metrics from two score lists where a HIGHER score means MORE out-of-distribution.
 * <ul>
 * <li>AUROC: P(s_ood &gt; s_in) + ½·P(s_ood = s_in) (Mann–Whitney U with ties counted half); it is the same
 *     whichever side is called positive.
 * <li>AUPR-In / AUPR-Out: average precision with in-distribution (ranked by −s) / OOD (ranked by s) as the
 *     positive class, sklearn's step interpolation Σ (R_k − R_{k−1})·P_k over the distinct thresholds (tied
 *     scores enter together).
 * <li>FPR at 95% TPR, the usual convention of the OOD literature: in-distribution is positive, an image
 *     is accepted as in-distribution when s ≤ t, t is the smallest score that accepts at least 95% of the
 *     in-distribution images, and FPR is the fraction of OOD images accepted (s_ood ≤ t, ties included).
 * </ul>
 */
public final class Metrics {
    /** All four numbers for one pair of score lists. */
    public record Summary(double auroc, double auprIn, double auprOut, double fpr95) {}

    private Metrics() {}

    public static Summary evaluate(double[] in, double[] ood) {
        return new Summary(auroc(in, ood), auprIn(in, ood), auprOut(in, ood), fprAtTpr(in, ood, 0.95));
    }

    public static double auroc(double[] in, double[] ood) {
        check(in, ood);
        double[] a = in.clone(), b = ood.clone();
        Arrays.sort(a);
        Arrays.sort(b);
        double wins = 0;
        int below = 0, upTo = 0; // in-scores < s and <= s, for the current OOD score s
        for (double s : b) {
            while (below < a.length && a[below] < s) below++;
            upTo = Math.max(upTo, below);
            while (upTo < a.length && a[upTo] <= s) upTo++;
            wins += below + 0.5 * (upTo - below);
        }
        return wins / ((double) a.length * b.length);
    }

    /**
     * The ROC curve with OOD as positive: points (FPR, TPR) as the threshold falls through the distinct
     * scores, from (0,0) to (1,1). Index 0 holds the FPRs, index 1 the TPRs.
     */
    public static double[][] rocCurve(double[] in, double[] ood) {
        check(in, ood);
        double[] a = in.clone(), b = ood.clone();
        Arrays.sort(a);
        Arrays.sort(b);
        double[] all = new double[a.length + b.length];
        System.arraycopy(a, 0, all, 0, a.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        double[] thresholds = Arrays.stream(all).distinct().sorted().toArray();
        double[] fpr = new double[thresholds.length + 1], tpr = new double[thresholds.length + 1];
        int ia = a.length, ib = b.length;
        for (int k = thresholds.length - 1, p = 1; k >= 0; k--, p++) {
            while (ia > 0 && a[ia - 1] >= thresholds[k]) ia--;
            while (ib > 0 && b[ib - 1] >= thresholds[k]) ib--;
            fpr[p] = (a.length - ia) / (double) a.length;
            tpr[p] = (b.length - ib) / (double) b.length;
        }
        return new double[][] {fpr, tpr};
    }

    /** Average precision with OOD as positive. */
    public static double auprOut(double[] in, double[] ood) {
        check(in, ood);
        return averagePrecision(ood, in);
    }

    /** Average precision with in-distribution as positive (ranked by −score). */
    public static double auprIn(double[] in, double[] ood) {
        check(in, ood);
        return averagePrecision(negate(in), negate(ood));
    }

    /** The smallest threshold t that accepts (score ≤ t) at least a fraction tpr of the in-distribution scores. */
    public static double threshold(double[] in, double tpr) {
        if (in.length == 0) throw new IllegalArgumentException("Metrics: no in-distribution scores to set a threshold on");
        if (!(tpr > 0 && tpr <= 1)) throw new IllegalArgumentException("Metrics: TPR level must be in (0, 1], got " + tpr);
        double[] sorted = in.clone();
        Arrays.sort(sorted);
        // the fewest in-distribution images that make up the level; the guard keeps 0.07·100 = 7.000000000000001 at 7
        int m = Math.max(1, (int) Math.ceil(tpr * in.length - 1e-9));
        return sorted[m - 1];
    }

    /** FPR (OOD accepted) at the smallest threshold whose TPR (in-distribution accepted) is ≥ tpr. */
    public static double fprAtTpr(double[] in, double[] ood, double tpr) {
        check(in, ood);
        double t = threshold(in, tpr);
        int accepted = 0;
        for (double s : ood) if (s <= t) accepted++;
        return accepted / (double) ood.length;
    }

    /** Σ (R_k − R_{k−1})·P_k over distinct scores, highest first; pos/neg ranked by higher = positive. */
    private static double averagePrecision(double[] pos, double[] neg) {
        double[] p = pos.clone(), q = neg.clone();
        Arrays.sort(p);
        Arrays.sort(q);
        int i = p.length - 1, j = q.length - 1;
        long tp = 0, fp = 0;
        double ap = 0, prevRecall = 0;
        while (i >= 0) {
            double t = Math.max(p[i], j >= 0 ? q[j] : Double.NEGATIVE_INFINITY);
            while (i >= 0 && p[i] == t) { tp++; i--; }
            while (j >= 0 && q[j] == t) { fp++; j--; }
            double recall = tp / (double) p.length;
            ap += (recall - prevRecall) * tp / (double) (tp + fp);
            prevRecall = recall;
        }
        return ap;
    }

    private static double[] negate(double[] a) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) out[i] = -a[i];
        return out;
    }

    private static void check(double[] in, double[] ood) {
        if (in.length == 0 || ood.length == 0)
            throw new IllegalArgumentException("Metrics: expected scores on both sides, found " + in.length
                    + " in-distribution and " + ood.length + " OOD");
        for (int i = 0; i < in.length; i++)
            if (Double.isNaN(in[i])) throw new IllegalArgumentException("Metrics: in-distribution score " + i + " is NaN");
        for (int i = 0; i < ood.length; i++)
            if (Double.isNaN(ood[i])) throw new IllegalArgumentException("Metrics: OOD score " + i + " is NaN");
    }
}
