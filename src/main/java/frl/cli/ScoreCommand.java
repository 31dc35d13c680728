package frl.cli;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.data.DataCache;
import frl.data.ImageSet;
import frl.data.Sources;
import frl.io.AtomicFile;
import frl.model.ModelSpec;
import frl.ood.Scorer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** Writes per-image scores of a set to CSV: nll (nats), complexity L (bits), score = nll − r·L. */
@Command(name = "score", mixinStandardHelpOptions = true, description = "Score every image of a set with a model; write a CSV.")
final class ScoreCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "Checkpoint to score with.") Path model;
    @Option(names = "--data", required = true, description = "Set to score (see `frl data list`, or a path).") String data;
    @Option(names = "-k", defaultValue = "20", description = "IWAE importance samples. Default: ${DEFAULT-VALUE}.") int k;
    @Option(names = "-r", defaultValue = "1", description = "Weight of the complexity term. Default: ${DEFAULT-VALUE}.") double r;
    @Option(names = "--out", required = true, description = "CSV file (written atomically).") Path out;
    @Mixin RunOptions run;

    @Override public Integer call() throws Exception {
        if (k < 1) throw new IllegalArgumentException("-k must be ≥ 1 importance sample, got " + k);
        Backend be = Backends.select(run.device);
        try (ModelSpec.Loaded m = ModelSpec.load(be, model)) {
            ImageSet set = new Sources(DataCache.fromEnvironment(System.err::println), run.seed).load(data, m.spec().imageChannels());
            if (set.size() == 0) throw new IllegalArgumentException("data set '" + data + "' holds no images");
            double[] nll = new Scorer(be, m.spec(), m.model(), k, Scorer.defaultChunk(be)).nll(set, run.seed, done ->
                    Console.status("scoring " + set.name() + ": " + done + "/" + set.size(), done == set.size()));
            double[] l = Scorer.complexity(set);
            StringBuilder csv = new StringBuilder("index,nll_nats,complexity_bits,score\n");
            for (int i = 0; i < nll.length; i++)
                csv.append(String.format(Locale.ROOT, "%d,%.4f,%.0f,%.4f%n", i, nll[i], l[i], nll[i] - r * l[i]));
            AtomicFile.writeString(out, csv.toString());
            System.out.println("wrote " + nll.length + " scores to " + out);
        }
        return 0;
    }
}
