package frl.cli;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.data.DataCache;
import frl.data.ImageSet;
import frl.data.Sources;
import frl.io.Checkpoint;
import frl.model.ModelSpec;
import frl.ood.Evaluation;
import frl.ood.Report;
import frl.ood.Regret;
import frl.ood.Scorer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** Scores an in-distribution set and OOD sets with nll / ic / frl (and the ratio / regret baselines) and writes the report. */
@Command(name = "eval", mixinStandardHelpOptions = true, description = "Evaluate OOD detection (AUROC, AUPR, FPR95) and write report.md, report.json and plots.")
final class EvalCommand implements Callable<Integer> {
    @Option(names = "--frl", description = "Checkpoint of the FRL model (image + HF channel).") Path frl;
    @Option(names = "--plain", description = "Checkpoint of the plain model (image only), for nll and ic.") Path plain;
    @Option(names = "--background", description = "Checkpoint of a plain model trained with --perturb, for the Likelihood Ratio score (ratio = nll − its NLL; needs --plain).") Path background;
    @Option(names = "--regret", description = "Add the Likelihood Regret score of the plain model (each image fits a copy of the encoder: --regret-steps Adam steps per image).") boolean regret;
    @Option(names = "--regret-steps", defaultValue = "100", description = "Adam steps per image for --regret. Default: ${DEFAULT-VALUE}, as the reference.") int regretSteps;
    @Option(names = "--in", defaultValue = "fashion-mnist:test@1000", description = "In-distribution test set. Default: ${DEFAULT-VALUE}.") String in;
    @Option(names = "--ood", split = ",", defaultValue = "mnist@1000,letters@1000,noise:1000,constant:1000", description = "OOD sets, comma-separated. Default: ${DEFAULT-VALUE}.") List<String> ood;
    @Option(names = "-k", defaultValue = "20", description = "IWAE importance samples. Default: ${DEFAULT-VALUE}.") int k;
    @Option(names = "-r", defaultValue = "1", description = "Weight of the complexity term. Default: ${DEFAULT-VALUE}.") double r;
    @Option(names = "--out", defaultValue = "frl-eval", description = "Report folder. Default: ${DEFAULT-VALUE}.") Path out;
    @Mixin RunOptions run;
    @Mixin ScoreGraphOption scoreGraph;

    @Override public Integer call() throws Exception {
        if (frl == null && plain == null) throw new IllegalArgumentException("give --frl, --plain or both");
        if (k < 1) throw new IllegalArgumentException("-k must be ≥ 1 importance sample, got " + k);
        if ((background != null || regret) && plain == null)
            throw new IllegalArgumentException((regret ? "--regret" : "--background") + " is a baseline of the plain model: give --plain too");
        Regret.Config fit = regret ? Regret.Config.reference().withSteps(regretSteps) : null;
        Backend be = Backends.select(run.device);
        try (ModelSpec.Loaded f = frl == null ? null : ModelSpec.load(be, frl);
             ModelSpec.Loaded p = plain == null ? null : ModelSpec.load(be, plain);
             ModelSpec.Loaded b = background == null ? null : ModelSpec.load(be, background)) {
            if (f != null && !f.spec().highFrequency())
                throw new IllegalArgumentException("--frl " + frl + " has no HF channel: a plain model (trained with --no-hf)? give it as --plain");
            if (p != null && p.spec().highFrequency())
                throw new IllegalArgumentException("--plain " + plain + " has an HF channel: an FRL model? give it as --frl");
            requireBackgroundOf(b, background, p, "--plain " + plain);
            int channels = (f != null ? f : p).spec().imageChannels();
            if (f != null && p != null && f.spec().imageChannels() != p.spec().imageChannels())
                throw new IllegalArgumentException("--frl " + frl + " takes " + f.spec().imageChannels() + " image channels, --plain " + plain
                        + " takes " + p.spec().imageChannels() + ": models of one data set are needed");
            Sources sources = new Sources(DataCache.fromEnvironment(System.err::println), run.seed);
            ImageSet inSet = sources.load(in, channels);
            List<ImageSet> oodSets = new ArrayList<>();
            for (String o : ood) oodSets.add(sources.load(o, channels));
            Evaluation.Outcome o = evaluate(be, f, p, b, fit, inSet, oodSets, k, r, run.seed, scoreGraph.records(be));
            Map<String, String> about = new LinkedHashMap<>();
            if (frl != null) about.put("frl model", frl + " (" + f.spec().model().describe() + ")");
            if (plain != null) about.put("plain model", plain + " (" + p.spec().model().describe() + ")");
            if (background != null) about.put("background model", background + " (" + b.spec().model().describe() + ", perturb "
                    + Checkpoint.peek(background).config().getOrDefault("perturb", "0") + ")");
            if (fit != null) about.put("regret", fit.describe());
            about.put("K", Integer.toString(k));
            about.put("r", Double.toString(r));
            Report.write(out, o, about);
            System.out.print(Report.aurocTable(o));
            System.out.println("report: " + out.resolve("report.md"));
        }
        return 0;
    }

    /**
     * Runs the evaluation with a progress line; shared with the demo. Background and fit may be null (no ratio, no
     * regret); record: scoring chunks replay recorded graphs (Scorer#recordChunks).
     */
    static Evaluation.Outcome evaluate(Backend be, ModelSpec.Loaded frl, ModelSpec.Loaded plain, ModelSpec.Loaded background, Regret.Config fit,
                                       ImageSet in, List<ImageSet> oods, int k, double r, long seed, boolean record) {
        Evaluation e = new Evaluation(scorer(be, plain, k, record), scorer(be, frl, k, record), r, seed);
        if (background != null) e = e.withRatio(scorer(be, background, k, record));
        if (fit != null) e = e.withRegret(fit);
        long start = System.nanoTime();
        return e.run(in, oods, (set, model, done, total) ->
                Console.status(String.format(Locale.ROOT, "scoring %s with the %s model: %d/%d (K=%d samples, %s elapsed)", set, model, done, total, k,
                        Console.duration((System.nanoTime() - start) / 1e9)), done == total));
    }

    /** A background model (may be null) must be of its model's kind: the same family, shape and channels. */
    static void requireBackgroundOf(ModelSpec.Loaded b, Path background, ModelSpec.Loaded model, String modelOption) {
        if (b != null && !b.spec().equals(model.spec()))
            throw new IllegalArgumentException("--background " + background + " is not a model of " + modelOption + "'s kind (" + b.spec() + " against "
                    + model.spec() + "): train it as that model was, with --perturb");
    }

    /** The model's scorer (null for no model), its chunks recorded as graphs where asked. */
    static Scorer scorer(Backend be, ModelSpec.Loaded model, int k, boolean record) {
        return model == null ? null : new Scorer(be, model.spec(), model.model(), k, Scorer.defaultChunk(be)).recordChunks(record);
    }
}
