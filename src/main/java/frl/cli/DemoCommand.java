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
@Command(name = "demo", mixinStandardHelpOptions = true, description = "Train FRL, plain and background models (VAEs by default) on FashionMNIST and show OOD detection on MNIST, letters, noise, constant.")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--out", defaultValue = "frl-demo", description = "Folder for models and report. Default: ${DEFAULT-VALUE}.") Path out;
    @Option(names = "--full", description = "Reference budget: 15 epochs over all 60k images, 1000 images per evaluation set.") boolean full;
    @Option(names = "--model", defaultValue = "vae", description = "Model family: vae, glow (hidden 64, depth 8, levels 3) or pixelcnn (resnets 1, filters 32, mixtures 5). Default: ${DEFAULT-VALUE}.") String family;
    @Option(names = "--train-images", description = "Training images per model in the short budget. Default: 19200 (vae, glow), 6400 (pixelcnn).") Integer trainImages;
    @Option(names = "--eval-images", defaultValue = "200", description = "Images per evaluation set in the short budget. Default: ${DEFAULT-VALUE}.") int evalImages;
    @Option(names = "--regret", description = "Add Likelihood Regret (100 Adam steps per image: 1.2 images/s on 2 cores, so about 14 minutes more for the 1000 images of the short budget).") boolean regret;
    @Option(names = "-k", description = "Importance samples per image. Default: 20 (vae), 4 (glow), 1 (pixelcnn: its likelihood is exact).") Integer k;
    @Mixin RunOptions run;

    /** Ren et al.'s (and the Likelihood Regret reference's) perturbation rate for the background model. */
    private static final double BACKGROUND_PERTURB = 0.2;

    @Override public Integer call() throws Exception {
        long start = System.nanoTime();
        Family m = Family.of(family);
        if (regret && m != Family.VAE) throw new IllegalArgumentException("--regret fits a VAE's encoder to each image: not with --model " + family);
        int images = trainImages != null ? trainImages : m.trainImages, samples = k != null ? k : m.samples;
        Backend be = Backends.select(run.device);
        DataCache cache = DataCache.fromEnvironment(System.err::println);
        System.err.println("data: " + cache.fetchFashionMnist() + ", " + cache.fetchMnist());
        cache.fetchFonts();
        Sources sources = new Sources(cache, run.seed);
        ImageSet train = sources.load("fashion-mnist:train", 1);
        int epochs = full ? 15 : 1, perSet = full ? 1000 : evalImages;
        // PixelCNN++ drops out at the paper's rate on the reference budget; one short epoch is too short to gain from it
        TrainConfig config = TrainConfig.reference(epochs, run.seed).withMaxImagesPerEpoch(full ? 0 : images).withLr(m.lr)
                .withDropout(full && m == Family.PIXELCNN ? 0.5 : 0);
        String name = m.name().toLowerCase(java.util.Locale.ROOT);
        Path frlModel = out.resolve("frl-" + name + ".safetensors"), plainModel = out.resolve("plain-" + name + ".safetensors");
        Path backgroundModel = out.resolve("background-" + name + ".safetensors");
        boolean graph = !be.device().isHost();   // as frl train and frl eval do by default
        TrainCommand.train(be, m.spec(5), train, config, frlModel, false, graph);
        TrainCommand.train(be, m.spec(0), train, config, plainModel, false, graph);
        TrainCommand.train(be, m.spec(0), train, config.withPerturb(BACKGROUND_PERTURB), backgroundModel, false, graph);

        ImageSet in = sources.load("fashion-mnist:test@" + perSet, 1);
        List<ImageSet> oods = new ArrayList<>();
        for (String s : new String[] {"mnist@" + perSet, "letters@" + perSet, "noise:" + perSet, "constant:" + perSet}) oods.add(sources.load(s, 1));
        try (ModelSpec.Loaded f = ModelSpec.load(be, frlModel); ModelSpec.Loaded p = ModelSpec.load(be, plainModel);
             ModelSpec.Loaded b = ModelSpec.load(be, backgroundModel)) {
            Regret.Config fit = regret ? Regret.Config.reference() : null;
            Evaluation.Outcome o = EvalCommand.evaluate(be, f, p, b, fit, in, oods, samples, 1.0, run.seed, graph);
            Map<String, String> about = new LinkedHashMap<>();
            about.put("training", (full ? "15 epochs × 60000 FashionMNIST images" : images + " FashionMNIST images (1 short epoch) per model") + ", Adam lr " + m.lr
                    + (config.dropout() > 0 ? ", dropout " + config.dropout() : ""));
            about.put("models", f.spec().model().describe() + "; FRL: gray + HF channel (5×5 Gaussian); plain: gray; background: gray, "
                    + BACKGROUND_PERTURB + " of the sub-pixels replaced by uniform values");
            if (fit != null) about.put("regret", fit.describe());
            about.put("K", Integer.toString(samples));
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

    /** The demo's model of each family (for 2 cores: small Glow and PixelCNN++), its learning rate and short budget. */
    private enum Family {
        VAE(1e-3, 19200, 20), GLOW(5e-4, 19200, 4), PIXELCNN(1e-3, 6400, 1);

        final double lr;
        final int trainImages, samples;

        Family(double lr, int trainImages, int samples) {
            this.lr = lr;
            this.trainImages = trainImages;
            this.samples = samples;
        }

        static Family of(String name) {
            for (Family f : values()) if (f.name().equalsIgnoreCase(name)) return f;
            throw new IllegalArgumentException("--model must be vae, glow or pixelcnn, got '" + name + "'");
        }

        /** A gray model, with the 5×5 HF channel when hfKernel is 5 (FRL), without when it is 0. */
        ModelSpec spec(int hfKernel) {
            return switch (this) {
                case VAE -> ModelSpec.of(1, hfKernel, 32, 200);
                case GLOW -> ModelSpec.glow(1, hfKernel, 64, 8, 3);
                case PIXELCNN -> ModelSpec.pixelCnn(1, hfKernel, 1, 32, 5);
            };
        }
    }
}
