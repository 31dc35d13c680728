package frl.cli;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.Rng;
import frl.data.DataCache;
import frl.data.ImageSet;
import frl.data.Sources;
import frl.io.Checkpoint;
import frl.model.ModelSpec;
import frl.model.TrainConfig;
import frl.model.Trainer;
import frl.model.DensityModel;
import frl.model.GlowConfig;
import frl.model.ModelConfig;
import frl.model.PixelCnnConfig;
import frl.model.VaeConfig;
import frl.tensor.HostStorage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.concurrent.Callable;

/** Trains an FRL (image + HF channel) or plain VAE, Glow or PixelCNN++ and checkpoints it after every epoch. */
@Command(name = "train", mixinStandardHelpOptions = true, description = "Train an FRL-VAE, FRL-Glow or FRL-PixelCNN++ (or a plain model with --no-hf) on a data set.")
final class TrainCommand implements Callable<Integer> {
    @Option(names = "--data", defaultValue = "fashion-mnist:train", description = "Training set (see `frl data list`, or a path). Default: ${DEFAULT-VALUE}.") String data;
    @Option(names = "--channels", defaultValue = "1", description = "Image channels: 1 (gray) or 3 (RGB). Default: ${DEFAULT-VALUE}.") int channels;
    @Option(names = "--hf-kernel", defaultValue = "5", description = "Gaussian kernel size of the HF channel (odd, at least 3). Default: ${DEFAULT-VALUE}.") int hfKernel;
    @Option(names = "--no-hf", description = "Train a plain model of the image channels (for Input Complexity).") boolean noHf;
    @Option(names = "--model", defaultValue = "vae", description = "Model family: vae (DCGAN VAE, 256-way decoder), glow or pixelcnn (PixelCNN++). Default: ${DEFAULT-VALUE}.") String family;
    @Option(names = "--ngf", defaultValue = "32", description = "VAE base width (32 for 28/32-px gray data, 64 for RGB). Default: ${DEFAULT-VALUE}.") int ngf;
    @Option(names = "--nz", defaultValue = "200", description = "VAE latent size. Default: ${DEFAULT-VALUE}.") int nz;
    @Option(names = "--hidden", defaultValue = "512", description = "Glow coupling network width. Default: ${DEFAULT-VALUE}.") int hidden;
    @Option(names = "--depth", defaultValue = "32", description = "Glow flow steps per level. Default: ${DEFAULT-VALUE}.") int depth;
    @Option(names = "--levels", defaultValue = "3", description = "Glow levels (each halves the image side). Default: ${DEFAULT-VALUE}.") int levels;
    @Option(names = "--resnets", defaultValue = "5", description = "PixelCNN++ gated resnets per stage. Default: ${DEFAULT-VALUE}.") int resnets;
    @Option(names = "--filters", defaultValue = "160", description = "PixelCNN++ width. Default: ${DEFAULT-VALUE}.") int filters;
    @Option(names = "--mixtures", defaultValue = "10", description = "PixelCNN++ logistic mixture components. Default: ${DEFAULT-VALUE}.") int mixtures;
    @Option(names = "--epochs", defaultValue = "15", description = "Passes over the set. Default: ${DEFAULT-VALUE}.") int epochs;
    @Option(names = "--batch", defaultValue = "64", description = "Images per step. Default: ${DEFAULT-VALUE}.") int batch;
    @Option(names = "--lr", description = "Adam's learning rate (halved every 30 epochs). Default: 1e-3 for a VAE, 5e-4 for Glow, 2e-4 for PixelCNN++.") Double lr;
    @Option(names = "--max-images", defaultValue = "0", description = "Images per epoch at most (0 = the whole set). Default: ${DEFAULT-VALUE}.") long maxImages;
    @Option(names = "--dropout", description = "PixelCNN++'s dropout rate in its gated blocks, within [0, 1). Default: 0.5 (the paper's) for PixelCNN++; the other models have none.") Double dropout;
    @Option(names = "--warmup", description = "Raise the learning rate linearly over this many first steps (0: none). Default: 200 for Glow (the paper-size one overshoots on its first steps without it: README, Glow), 0 for the others.") Integer warmup;

    /** A paper-size Glow without warm-up read 5.4 bpd on its first batch, 34 on the next two, 10.6 on its 20th; with 200 steps of it, 4.6. */
    static final int GLOW_WARMUP = 200;
    @Option(names = "--perturb", defaultValue = "0", description = "Train a Likelihood Ratio background model: replace each sub-pixel with a uniform 8-bit value with this probability (the reference: 0.2). Default: ${DEFAULT-VALUE}.") double perturb;
    @Option(names = "--out", required = true, description = "Checkpoint file (safetensors), rewritten atomically after each epoch.") Path out;
    @Option(names = "--resume", description = "Continue from the checkpoint at --out, with its model options (any given must agree).") boolean resume;
    @Option(names = "--overwrite", description = "Start over even if --out holds a model (else that is refused).") boolean overwrite;
    @Mixin GraphOption graph;
    @Mixin RunOptions run;
    @Spec CommandSpec command;

    @Override public Integer call() throws Exception {
        if (!noHf && (hfKernel < 3 || hfKernel % 2 == 0))
            throw new IllegalArgumentException("--hf-kernel must be odd and at least 3 (the blur the HF channel subtracts), got " + hfKernel);
        if (maxImages < 0) throw new IllegalArgumentException("--max-images must be ≥ 0 (0 = the whole set), got " + maxImages);
        if (maxImages > 0 && maxImages < batch) throw new IllegalArgumentException("--max-images " + maxImages + " is fewer than one --batch of " + batch + ": no step would run");
        if (!(perturb >= 0 && perturb <= 1)) throw new IllegalArgumentException("--perturb is a probability per sub-pixel, within [0, 1], got " + perturb);
        if (dropout != null && !(dropout >= 0 && dropout < 1)) throw new IllegalArgumentException("--dropout is a probability per value, within [0, 1), got " + dropout);
        if (warmup != null && warmup < 0) throw new IllegalArgumentException("--warmup is a number of steps, ≥ 0 (0: none), got " + warmup);
        if (resume && overwrite) throw new IllegalArgumentException("--resume continues the model at --out, --overwrite replaces it: give one");
        if (Files.isDirectory(out)) throw new IllegalArgumentException("--out " + out + " is a folder; give a file name for the checkpoint");
        if (Files.exists(out) && !resume && !overwrite)
            throw new IllegalArgumentException(out + " exists: --resume continues it, --overwrite starts over in its place");
        Backend be = Backends.select(run.device);
        boolean resuming = resume && Files.exists(out);
        ModelSpec spec = resuming ? resumedModel() : newModel();
        double rate = lr != null ? lr : switch (spec.model()) {
            case GlowConfig _ -> 5e-4;
            case PixelCnnConfig _ -> 2e-4;
            case VaeConfig _ -> 1e-3;
        };
        double dropoutRate = resuming ? resumedOption("dropout", dropout == null ? 0 : dropout) : dropout != null ? dropout : spec.model() instanceof PixelCnnConfig ? 0.5 : 0;
        if (dropoutRate != 0 && !(spec.model() instanceof PixelCnnConfig))
            throw new IllegalArgumentException("--dropout is PixelCNN++'s; a " + spec.model().family() + " has none");
        int warmupSteps = (int) (resuming ? resumedOption("warmup", warmup == null ? 0 : warmup)
                : warmup != null ? warmup : spec.model() instanceof GlowConfig ? GLOW_WARMUP : 0);
        TrainConfig config = new TrainConfig(epochs, batch, rate, 0, 30, 0.5, 1.0, true, run.seed, maxImages,
                resuming ? resumedOption("perturb", perturb) : perturb, dropoutRate, warmupSteps);
        requireMemory(be, spec.model(), config.batch());   // before the data is read
        ImageSet set = new Sources(DataCache.fromEnvironment(System.err::println), run.seed).load(data, spec.imageChannels());
        train(be, spec, set, config, out, resume, graph.records(be));
        return 0;
    }

    private ModelSpec newModel() {
        if (ModelConfig.fieldsOf(family) == null) throw new IllegalArgumentException("--model must be vae, glow or pixelcnn, got '" + family + "'");
        return ModelSpec.of(family, channels, noHf ? 0 : hfKernel, shapeOptions());
    }

    /** The model shape options by their checkpoint names, every family's. */
    private Map<String, Integer> shapeOptions() {
        Map<String, Integer> m = new LinkedHashMap<>();
        m.put("ngf", ngf);
        m.put("nz", nz);
        m.put("hidden", hidden);
        m.put("depth", depth);
        m.put("levels", levels);
        m.put("resnets", resnets);
        m.put("filters", filters);
        m.put("mixtures", mixtures);
        return m;
    }

    /** --resume: the checkpoint's model; a model option given on the command line must agree with it. */
    private ModelSpec resumedModel() throws java.io.IOException {
        ModelSpec saved = ModelSpec.fromMap(out, Checkpoint.peek(out).config());
        var parsed = command.commandLine().getParseResult();
        List<String> differ = new ArrayList<>();
        if (parsed.hasMatchedOption("--channels") && channels != saved.imageChannels()) differ.add("--channels " + saved.imageChannels());
        if (parsed.hasMatchedOption("--no-hf") && saved.highFrequency()) differ.add("an HF channel (k " + saved.hfKernel() + ", not --no-hf)");
        if (parsed.hasMatchedOption("--hf-kernel") && hfKernel != saved.hfKernel())
            differ.add(saved.highFrequency() ? "--hf-kernel " + saved.hfKernel() : "no HF channel (--no-hf)");
        Map<String, String> given = new LinkedHashMap<>(), had = saved.toMap();
        given.put("model", family);
        shapeOptions().forEach((k, v) -> given.put(k, Integer.toString(v)));
        for (var e : given.entrySet()) {
            String option = "--" + e.getKey();
            if (parsed.hasMatchedOption(option) && !e.getValue().equals(had.get(e.getKey())))
                differ.add(had.containsKey(e.getKey()) ? option + " " + had.get(e.getKey()) : "a " + had.get("model") + " (no " + option + ")");
        }
        if (!differ.isEmpty())
            throw new IllegalArgumentException("--resume: " + out + " was trained with " + String.join(", ", differ) + "; leave the model options out to take its own");
        return saved;
    }

    /** --resume: the checkpoint's value of {@code key} (perturb, dropout, warmup; absent: 0); an option --key given must agree with it. */
    private double resumedOption(String key, double given) throws java.io.IOException {
        String text = Checkpoint.peek(out).config().getOrDefault(key, "0");
        double saved;
        try {
            saved = Double.parseDouble(text);
        } catch (NumberFormatException e) {
            throw new java.io.IOException(out + ": its config's " + key + " '" + text + "' is not a number");
        }
        if (command.commandLine().getParseResult().hasMatchedOption("--" + key) && given != saved)
            throw new IllegalArgumentException("--resume: " + out + " was trained with --" + key + " " + (saved == Math.rint(saved) ? Long.toString((long) saved) : Double.toString(saved))
                    + "; leave --" + key + " out to take its own");
        return saved;
    }

    /**
     * Refuses a model whose training cannot fit in the backend's memory, before any of it is allocated (the host
     * kernel would otherwise kill the process, or the GPU fail deep in a step).
     */
    private static void requireMemory(Backend be, ModelConfig model, int batch) {
        long need = model.trainingBytesAtLeast(batch), have = be.memoryBytes();
        String smaller = switch (model) {
            case VaeConfig _ -> "--ngf";
            case GlowConfig _ -> "--hidden, --depth";
            case PixelCnnConfig _ -> "--filters, --resnets";
        };
        if (need > have)
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "this model (%s: %,d parameters) needs at least %.1f GiB to train at batch %d (weights, gradients, Adam's moments, the largest activations),"
                            + " more than the %.1f GiB of memory the %s backend has; a smaller %s or --batch fits",
                    model.describe(), model.parameterCount(), need / GIB, batch, have / GIB, be.name(), smaller));
    }

    private static final double GIB = 1024.0 * 1024 * 1024;

    /** Trains with a progress line; shared with the demo. */
    static void train(Backend be, ModelSpec spec, ImageSet set, TrainConfig config, Path out, boolean resume, boolean graph) throws Exception {
        String kind = (spec.highFrequency() ? "FRL (x + HF k=" + spec.hfKernel() + ")" : "plain")
                + (config.perturb() > 0 ? " background (perturb " + config.perturb() + ")" : "");
        String dropout = (config.dropout() > 0 ? ", dropout " + config.dropout() : "") + (config.warmupSteps() > 0 ? ", warm-up " + config.warmupSteps() + " steps" : "");
        System.err.printf(Locale.ROOT, "training %s %s%s on %s (%d images, %s backend) → %s%n", kind, spec.model().describe(), dropout, set.name(), set.size(), be.name(), out);
        try (DensityModel model = spec.build(be, new Rng(config.seed()));
             Trainer trainer = new Trainer(be, model, spec.batches(), config, spec.toMap()).recordSteps(graph)) {
            if (resume) {
                if (!Files.exists(out)) throw new IllegalArgumentException("--resume: no checkpoint at " + out);
                trainer.resume(out);
                System.err.printf("resuming after epoch %d of %d%n", trainer.epochsDone(), config.epochs());
            }
            trainer.run(set, out, p -> {
                double eta = (p.imagesInEpoch() - p.images()) / p.imagesPerSecond();
                String device = be instanceof frl.backend.cuda.CudaBackend cb ? String.format(Locale.ROOT, ", device memory peak %d MiB", cb.context().peakBytes() >> 20) : "";
                List<String> parts = new ArrayList<>();
                p.parts().forEach((name, v) -> parts.add(String.format(Locale.ROOT, Math.abs(v) < 10 ? "%s %.3f" : "%s %.1f", name, v)));
                Console.status(String.format(Locale.ROOT, "epoch %d/%d %s %d/%d loss %.1f (%s) %.1f img/s eta %s, host memory peak %d MiB%s",
                        p.epoch(), p.epochs(), Console.bar(p.images() / (double) p.imagesInEpoch(), 20), p.images(), p.imagesInEpoch(),
                        p.loss(), String.join(", ", parts), p.imagesPerSecond(), Console.duration(eta), HostStorage.peakBytes() >> 20, device), p.epochDone());
            });
        }
    }
}
