package frl.cli;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.data.DataCache;
import frl.data.ImageSet;
import frl.data.Sources;
import frl.model.ModelSpec;
import frl.model.TrainConfig;
import frl.ood.Evaluation;
import frl.ood.Regret;
import frl.ood.Report;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * The whole FRL story on FashionMNIST: fetch the data, train an FRL model, a plain model and a background model
 * (the plain model on perturbed images, for Likelihood Ratio), score FashionMNIST-test against MNIST, letters,
 * noise and constant images with nll / ic / ratio / nll_frl / frl (and regret, when asked), print the AUROC
 * table and leave the report. The default budget ends within about 15 minutes on 2 cores;
 * --full trains the reference schedule (15 epochs) and scores 1000 images per set.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, description = "Train FRL, plain and background VAEs on FashionMNIST and show OOD detection on MNIST, letters, noise, constant.")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--out", defaultValue = "frl-demo", description = "Folder for models and report. Default: ${DEFAULT-VALUE}.") Path out;
    @Option(names = "--full", description = "Reference budget: 15 epochs over all 60k images, 1000 images per evaluation set.") boolean full;
    @Option(names = "--train-images", defaultValue = "19200", description = "Training images per model in the short budget. Default: ${DEFAULT-VALUE}.") int trainImages;
    @Option(names = "--eval-images", defaultValue = "200", description = "Images per evaluation set in the short budget. Default: ${DEFAULT-VALUE}.") int evalImages;
    @Option(names = "--regret", description = "Add Likelihood Regret (100 Adam steps per image: 1.2 images/s on 2 cores, so about 14 minutes more for the 1000 images of the short budget).") boolean regret;
    @Option(names = "-k", defaultValue = "20", description = "IWAE importance samples. Default: ${DEFAULT-VALUE}.") int k;
    @Mixin RunOptions run;

    /** Ren et al.'s (and the Likelihood Regret reference's) perturbation rate for the background model. */
    private static final double BACKGROUND_PERTURB = 0.2;

    @Override public Integer call() throws Exception {
        long start = System.nanoTime();
        Backend be = Backends.select(run.device);
        DataCache cache = DataCache.fromEnvironment(System.err::println);
        System.err.println("data: " + cache.fetchFashionMnist() + ", " + cache.fetchMnist());
        cache.fetchFonts();
        Sources sources = new Sources(cache, run.seed);
        ImageSet train = sources.load("fashion-mnist:train", 1);
        int epochs = full ? 15 : 1, perSet = full ? 1000 : evalImages;
        TrainConfig config = TrainConfig.reference(epochs, run.seed).withMaxImagesPerEpoch(full ? 0 : trainImages);
        Path frlModel = out.resolve("frl-vae.safetensors"), plainModel = out.resolve("plain-vae.safetensors");
        Path backgroundModel = out.resolve("background-vae.safetensors");
        boolean graph = !be.device().isHost();   // as frl train does by default
        TrainCommand.train(be, ModelSpec.of(1, 5, 32, 200), train, config, frlModel, false, graph);
        TrainCommand.train(be, ModelSpec.of(1, 0, 32, 200), train, config, plainModel, false, graph);
        TrainCommand.train(be, ModelSpec.of(1, 0, 32, 200), train, config.withPerturb(BACKGROUND_PERTURB), backgroundModel, false, graph);

        ImageSet in = sources.load("fashion-mnist:test@" + perSet, 1);
        List<ImageSet> oods = new ArrayList<>();
        for (String s : new String[] {"mnist@" + perSet, "letters@" + perSet, "noise:" + perSet, "constant:" + perSet}) oods.add(sources.load(s, 1));
        try (ModelSpec.Loaded f = ModelSpec.load(be, frlModel); ModelSpec.Loaded p = ModelSpec.load(be, plainModel);
             ModelSpec.Loaded b = ModelSpec.load(be, backgroundModel)) {
            Regret.Config fit = regret ? Regret.Config.reference() : null;
            Evaluation.Outcome o = EvalCommand.evaluate(be, f, p, b, fit, in, oods, k, 1.0, run.seed);
            Map<String, String> about = new LinkedHashMap<>();
            about.put("training", full ? "15 epochs × 60000 FashionMNIST images" : trainImages + " FashionMNIST images (1 short epoch) per model");
            about.put("models", "DCGAN VAE ngf 32 nz 200; FRL: gray + HF channel (5×5 Gaussian); plain: gray; background: gray, "
                    + BACKGROUND_PERTURB + " of the sub-pixels replaced by uniform values");
            if (fit != null) about.put("regret", fit.describe());
            about.put("K", Integer.toString(k));
            about.put("backend", be.name());
            about.put("wall time", Console.duration((System.nanoTime() - start) / 1e9));
            Report.write(out, o, about);
            System.out.println("\nAUROC, FashionMNIST-test vs each set (higher score = more OOD):\n");
            System.out.print(Report.aurocTable(o));
            System.out.println("\nnll: raw likelihood of the plain model; ic: nll − L (Input Complexity); ratio: nll − the background model's (Likelihood Ratio);"
                    + (fit != null ? "\nregret: nll − nll after fitting the encoder to the image (Likelihood Regret);" : "")
                    + "\nnll_frl: likelihood of the FRL model; frl: nll_frl − L (FRL). L = PNG size in bits. Report: " + out.resolve("report.md")
                    + " (" + Console.duration((System.nanoTime() - start) / 1e9) + ")");
        }
        return 0;
    }
}
