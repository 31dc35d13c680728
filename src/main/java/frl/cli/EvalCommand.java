package frl.cli;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.data.DataCache;
import frl.data.ImageSet;
import frl.data.Sources;
import frl.model.ModelSpec;
import frl.ood.Evaluation;
import frl.ood.Report;
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

/** Scores an in-distribution set and OOD sets with nll / ic / frl and writes the report. */
@Command(name = "eval", mixinStandardHelpOptions = true, description = "Evaluate OOD detection (AUROC, AUPR, FPR95) and write report.md, report.json and plots.")
final class EvalCommand implements Callable<Integer> {
    @Option(names = "--frl", description = "Checkpoint of the FRL model (image + HF channel).") Path frl;
    @Option(names = "--plain", description = "Checkpoint of the plain model (image only), for nll and ic.") Path plain;
    @Option(names = "--in", defaultValue = "fashion-mnist:test@1000", description = "In-distribution test set. Default: ${DEFAULT-VALUE}.") String in;
    @Option(names = "--ood", split = ",", defaultValue = "mnist@1000,letters@1000,noise:1000,constant:1000", description = "OOD sets, comma-separated. Default: ${DEFAULT-VALUE}.") List<String> ood;
    @Option(names = "-k", defaultValue = "20", description = "IWAE importance samples. Default: ${DEFAULT-VALUE}.") int k;
    @Option(names = "-r", defaultValue = "1", description = "Weight of the complexity term. Default: ${DEFAULT-VALUE}.") double r;
    @Option(names = "--out", defaultValue = "frl-eval", description = "Report folder. Default: ${DEFAULT-VALUE}.") Path out;
    @Mixin RunOptions run;

    @Override public Integer call() throws Exception {
        if (frl == null && plain == null) throw new IllegalArgumentException("give --frl, --plain or both");
        if (k < 1) throw new IllegalArgumentException("-k must be ≥ 1 importance sample, got " + k);
        Backend be = Backends.select(run.device);
        try (ModelSpec.Loaded f = frl == null ? null : ModelSpec.load(be, frl);
             ModelSpec.Loaded p = plain == null ? null : ModelSpec.load(be, plain)) {
            if (f != null && !f.spec().highFrequency())
                throw new IllegalArgumentException("--frl " + frl + " has no HF channel: a plain model (trained with --no-hf)? give it as --plain");
            if (p != null && p.spec().highFrequency())
                throw new IllegalArgumentException("--plain " + plain + " has an HF channel: an FRL model? give it as --frl");
            int channels = (f != null ? f : p).spec().imageChannels();
            if (f != null && p != null && f.spec().imageChannels() != p.spec().imageChannels())
                throw new IllegalArgumentException("--frl " + frl + " takes " + f.spec().imageChannels() + " image channels, --plain " + plain
                        + " takes " + p.spec().imageChannels() + ": models of one data set are needed");
            Sources sources = new Sources(DataCache.fromEnvironment(System.err::println), run.seed);
            ImageSet inSet = sources.load(in, channels);
            List<ImageSet> oodSets = new ArrayList<>();
            for (String o : ood) oodSets.add(sources.load(o, channels));
            Evaluation.Outcome o = evaluate(be, f, p, inSet, oodSets, k, r, run.seed);
            Map<String, String> about = new LinkedHashMap<>();
            if (frl != null) about.put("frl model", frl.toString());
            if (plain != null) about.put("plain model", plain.toString());
            about.put("K", Integer.toString(k));
            about.put("r", Double.toString(r));
            Report.write(out, o, about);
            System.out.print(Report.aurocTable(o));
            System.out.println("report: " + out.resolve("report.md"));
        }
        return 0;
    }

    /** Runs the evaluation with a progress line; shared with the demo. */
    static Evaluation.Outcome evaluate(Backend be, ModelSpec.Loaded frl, ModelSpec.Loaded plain, ImageSet in, List<ImageSet> oods,
                                       int k, double r, long seed) {
        int chunk = Scorer.defaultChunk(be);
        Scorer fs = frl == null ? null : new Scorer(be, frl.spec(), frl.model(), k, chunk);
        Scorer ps = plain == null ? null : new Scorer(be, plain.spec(), plain.model(), k, chunk);
        long start = System.nanoTime();
        return new Evaluation(ps, fs, r, seed).run(in, oods, (set, model, done, total) ->
                Console.status(String.format(Locale.ROOT, "scoring %s with the %s model: %d/%d (IWAE K=%d, %s elapsed)", set, model, done, total, k,
                        Console.duration((System.nanoTime() - start) / 1e9)), done == total));
    }
}
