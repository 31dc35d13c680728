package frl.ood;

import frl.data.ImageSet;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Scores an in-distribution test set and OOD sets with every available score and summarises each pair.
 * Scores: {@code nll} (plain model), {@code ic} (plain model NLL − r·L), {@code nll_frl} (FRL model) and
 * {@code frl} (FRL model NLL − r·L); a score whose model is absent is skipped. Two baselines of the plain model
 * when asked: {@code ratio} (Likelihood Ratio: nll − the NLL of a background model, {@link #withRatio}) and
 * {@code regret} (Likelihood Regret, {@link #withRegret}).
 */
public final class Evaluation {
    /** Metrics of one score on one OOD set, against the in-distribution set. */
    public record Result(String ood, String score, int inCount, int oodCount, Metrics.Summary metrics) {}

    /** Per-set score arrays, kept for plots and CSV. */
    public record SetScores(String set, Map<String, double[]> scores) {}

    /** Everything an evaluation produced, plus timing per score (images per second). */
    public record Outcome(String inDistribution, List<SetScores> sets, List<Result> results, Map<String, Double> imagesPerSecond) {}

    private final Scorer plain, frl, background;
    private final Regret regret;
    private final double r;
    private final long seed;

    /** Either scorer may be null (then its scores are skipped), not both. */
    public Evaluation(Scorer plain, Scorer frl, double r, long seed) { this(plain, frl, null, null, r, seed); }

    private Evaluation(Scorer plain, Scorer frl, Scorer background, Regret regret, double r, long seed) {
        if (plain == null && frl == null) throw new IllegalArgumentException("evaluation needs a plain model, an FRL model, or both");
        if (plain == null && (background != null || regret != null))
            throw new IllegalArgumentException("Likelihood Ratio and Likelihood Regret are baselines of the plain model: give one");
        this.plain = plain;
        this.frl = frl;
        this.background = background;
        this.regret = regret;
        this.r = r;
        this.seed = seed;
    }

    /** Adds {@code ratio}: the plain model's NLL − the background model's (trained on perturbed images). */
    public Evaluation withRatio(Scorer backgroundModel) { return new Evaluation(plain, frl, backgroundModel, regret, r, seed); }

    /** Adds {@code regret}: the plain model's Likelihood Regret with these fitting settings. */
    public Evaluation withRegret(Regret.Config config) {
        if (plain == null) throw new IllegalArgumentException("Likelihood Regret is a baseline of the plain model: give one");
        return new Evaluation(plain, frl, background, new Regret(plain, config), r, seed);
    }

    /** The score names this evaluation produces, in report order. */
    public List<String> scoreNames() {
        List<String> names = new ArrayList<>();
        if (plain != null) { names.add("nll"); names.add("ic"); }
        if (background != null) names.add("ratio");
        if (regret != null) names.add("regret");
        if (frl != null) { names.add("nll_frl"); names.add("frl"); }
        return names;
    }

    public Outcome run(ImageSet in, List<ImageSet> oods, Progress progress) {
        Map<String, Double> seconds = new LinkedHashMap<>();
        Map<String, Long> images = new LinkedHashMap<>();
        List<SetScores> sets = new ArrayList<>();
        List<ImageSet> all = new ArrayList<>();
        all.add(in);
        all.addAll(oods);
        for (ImageSet set : all) sets.add(score(set, seconds, images, progress));
        List<Result> results = new ArrayList<>();
        Map<String, double[]> inScores = sets.get(0).scores();
        for (int i = 1; i < sets.size(); i++)
            for (String name : scoreNames()) {
                double[] a = inScores.get(name), b = sets.get(i).scores().get(name);
                results.add(new Result(sets.get(i).set(), name, a.length, b.length, Metrics.evaluate(a, b)));
            }
        Map<String, Double> rate = new LinkedHashMap<>();
        seconds.forEach((k, s) -> rate.put(k, images.get(k) / Math.max(s, 1e-9)));
        return new Outcome(in.name(), sets, results, rate);
    }

    /** Hears which set and model is being scored and how far it got. */
    @FunctionalInterface
    public interface Progress { void update(String set, String model, int done, int total); }

    private SetScores score(ImageSet set, Map<String, Double> seconds, Map<String, Long> images, Progress progress) {
        Map<String, double[]> s = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        double[] complexity = Scorer.complexity(set);
        double tL = (System.nanoTime() - t0) / 1e9;
        double nllSeconds = scoreWith(plain, "plain", "nll", "ic", set, complexity, tL, s, seconds, images, progress);
        if (background != null) {
            long t = System.nanoTime();
            double[] nll = s.get("nll"), bg = background.nll(set, seed, done -> progress.update(set.name(), "background", done, set.size()));
            double[] ratio = new double[nll.length];
            for (int i = 0; i < ratio.length; i++) ratio[i] = nll[i] - bg[i];
            s.put("ratio", ratio);
            add(seconds, images, "ratio", nllSeconds + (System.nanoTime() - t) / 1e9, set.size());
        }
        if (regret != null) {
            long t = System.nanoTime();
            s.put("regret", regret.regret(set, seed, s.get("nll"), done -> progress.update(set.name(), "regret-fitted plain", done, set.size())));
            add(seconds, images, "regret", nllSeconds + (System.nanoTime() - t) / 1e9, set.size());
        }
        scoreWith(frl, "frl", "nll_frl", "frl", set, complexity, tL, s, seconds, images, progress);
        return new SetScores(set.name(), s);
    }

    /** Adds one model's NLL and NLL − r·L to {@code s} (nothing when the model is absent), with their timing; returns the NLL's seconds. */
    private double scoreWith(Scorer scorer, String model, String nllName, String scoreName, ImageSet set, double[] complexity, double tL,
                           Map<String, double[]> s, Map<String, Double> seconds, Map<String, Long> images, Progress progress) {
        if (scorer == null) return 0;
        long t = System.nanoTime();
        double[] nll = scorer.nll(set, seed, done -> progress.update(set.name(), model, done, set.size()));
        double dt = (System.nanoTime() - t) / 1e9;
        s.put(nllName, nll);
        s.put(scoreName, Scorer.minusComplexity(nll, complexity, r));
        add(seconds, images, nllName, dt, set.size());
        add(seconds, images, scoreName, dt + tL, set.size());
        return dt;
    }

    private static void add(Map<String, Double> seconds, Map<String, Long> images, String k, double dt, int n) {
        seconds.merge(k, dt, Double::sum);
        images.merge(k, (long) n, Long::sum);
    }
}
