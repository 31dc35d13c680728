package frl.cli;

import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.ProfilingBackend;
import frl.backend.Rng;
import frl.io.AtomicFile;
import frl.io.Json;
import frl.data.ImageSet;
import frl.model.DensityModel;
import frl.model.ModelConfig;
import frl.model.ModelSpec;
import frl.model.VaeConfig;
import frl.nn.Adam;
import frl.nn.RecordedPass;
import frl.nn.RecordedStep;
import frl.ood.Regret;
import frl.ood.Scorer;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

/** Times training steps and importance-weighted scoring of an FRL model on random 8-bit data (end-to-end img/s). */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Time FRL-VAE, FRL-Glow or FRL-PixelCNN++ training steps and K-sample scoring on random 8-bit images.")
final class BenchCommand implements Callable<Integer> {
    @Option(names = "--model", defaultValue = "vae", description = "vae, glow or pixelcnn. Default: ${DEFAULT-VALUE}.") String model;
    @Option(names = "--config", defaultValue = "fmnist", description = "fmnist (2 channels; VAE ngf 32) or cifar (4 channels; VAE ngf 64); 32×32, VAE nz 200. Default: ${DEFAULT-VALUE}.") String config;
    @Option(names = "--hidden", defaultValue = "512", description = "Glow coupling width. Default: ${DEFAULT-VALUE}.") int hidden;
    @Option(names = "--depth", defaultValue = "32", description = "Glow steps per level. Default: ${DEFAULT-VALUE}.") int depth;
    @Option(names = "--levels", defaultValue = "3", description = "Glow levels. Default: ${DEFAULT-VALUE}.") int levels;
    @Option(names = "--resnets", defaultValue = "3", description = "PixelCNN++ gated resnets per stage (the anchor's 3). Default: ${DEFAULT-VALUE}.") int resnets;
    @Option(names = "--filters", defaultValue = "80", description = "PixelCNN++ width (the anchor's 80). Default: ${DEFAULT-VALUE}.") int filters;
    @Option(names = "--mixtures", defaultValue = "10", description = "PixelCNN++ mixture components. Default: ${DEFAULT-VALUE}.") int mixtures;
    @Option(names = "--dropout", defaultValue = "0", description = "PixelCNN++ dropout rate in training steps (frl train's default is the paper's 0.5; the PyTorch twin has none). Default: ${DEFAULT-VALUE}.") double dropout;
    @Mixin RunOptions run;
    @Option(names = "--batch", defaultValue = "64", description = "Training batch. Default: ${DEFAULT-VALUE}.") int batch;
    @Option(names = "--score-batch", defaultValue = "32", description = "Images per IWAE scoring batch. Default: ${DEFAULT-VALUE}.") int scoreBatch;
    @Option(names = "-k", defaultValue = "20", description = "Importance samples per image. Default: ${DEFAULT-VALUE}.") int k;
    @Option(names = "--steps", defaultValue = "5", description = "Timed training steps per repeat (after --warmup steps). Default: ${DEFAULT-VALUE}.") int steps;
    @Option(names = "--warmup", defaultValue = "2", description = "Untimed training steps and scoring passes first (cuDNN picks its algorithms there). Default: ${DEFAULT-VALUE}.") int warmup;
    @Option(names = "--repeats", defaultValue = "1", description = "Timed repeats; the median is reported. Default: ${DEFAULT-VALUE}.") int repeats;
    @Option(names = "--json", description = "Also write the result as JSON to this file.") Path json;
    @Mixin GraphOption graph;
    @Mixin ScoreGraphOption scoreGraph;
    @Option(names = "--regret", defaultValue = "0", description = "VAE: also time FRL's score (the IWAE NLL and the PNG complexity) and Likelihood Regret (the reference's 100 Adam steps an image, its NLL before fitting the scorer's) over this many random images through frl score's scorer, each once. Default: ${DEFAULT-VALUE} (not timed).") int regret;
    @Option(names = "--requests", defaultValue = "0", description = "Also time scoring requests of this many random images each, as the library's Detector serves them (one scorer call a request, the NLLs back on the host; with --score-graph on a GPU each request from the third on replays the pass kept recorded): the median of --repeats × 5 requests after two untimed. Default: ${DEFAULT-VALUE} (not timed).") int requests;
    @Option(names = "--profile", description = "After timing, profile training steps and scoring passes per op (host time to queue each op; on a GPU, each op's device time and the share of a step the GPU is busy; then host time with each op waited for) and print the tables as JSON lines.") boolean profile;

    /** The training batch, random 8-bit values made once before the warm-up. */
    private Tensor trainPixels;
    /** Tensors' peak bytes on the host and (on a GPU; else −1) on the device, through the timed training and scoring. */
    private long hostPeak, devicePeak;
    /** Under --regret: {FRL score, Likelihood Regret} images a second. */
    private double[] regretRates;
    /** Under --requests: the median ms a request, and whether the requests replayed a recorded pass. */
    private double requestMs;
    private boolean requestsReplayed;

    @Override public Integer call() throws Exception {
        if (batch < 2 || scoreBatch < 1 || k < 1 || steps < 1 || warmup < 0 || repeats < 1)
            throw new IllegalArgumentException("need --batch ≥ 2 (batch norm), --score-batch ≥ 1, -k ≥ 1, --steps ≥ 1, --warmup ≥ 0 and --repeats ≥ 1; got "
                    + batch + ", " + scoreBatch + ", " + k + ", " + steps + ", " + warmup + ", " + repeats);
        int channels = switch (config) {
            case "fmnist" -> 2;
            case "cifar" -> 4;
            default -> throw new IllegalArgumentException("--config " + config + ": expected fmnist or cifar");
        };
        if (ModelConfig.fieldsOf(model) == null) throw new IllegalArgumentException("--model " + model + ": expected vae, glow or pixelcnn");
        if (requests < 0) throw new IllegalArgumentException("--requests: images a request, ≥ 0; got " + requests);
        if (regret < 0 || regret > 0 && !model.equals("vae"))
            throw new IllegalArgumentException("--regret times Likelihood Regret, which fits a VAE's encoder, over ≥ 0 images; got " + regret + " with --model " + model);
        Map<String, Integer> shape = Map.of("ngf", channels == 2 ? 32 : 64, "nz", 200, "hidden", hidden, "depth", depth, "levels", levels,
                "resnets", resnets, "filters", filters, "mixtures", mixtures);
        ModelConfig c = ModelConfig.of(model, 32, channels, ModelConfig.shapeOf(model, shape));
        Backend be = Backends.select(run.device);
        Rng rng = new Rng(run.seed);
        double[] train = new double[repeats], score = new double[repeats];
        boolean recorded = false;
        String scoring = null;
        try (Scope data = Scope.open()) {
            // one batch for every step, the noise drawn on the device each step: as the PyTorch twin does
            trainPixels = randomPixels(be, batch, c, rng);
            try (DensityModel m = c.build(be, rng); Adam opt = new Adam(m.parameters(), 1e-3)) {
                m.train(true);
                for (int s = 0; s < warmup; s++) step(be, m, opt, rng);
                try (RecordedStep replayed = graph.records(be) ? record(be, m, opt, rng) : null) {
                    Runnable timedStep = replayed != null ? () -> replay(be, m, replayed, rng) : () -> step(be, m, opt, rng);
                    for (int r = 0; r < repeats; r++) train[r] = (double) steps * batch / seconds(be, steps, timedStep);
                    recorded = replayed != null && replayed.recorded();
                }
                m.eval();
                scoring = timeScoring(be, m, rng, score);
                if (regret > 0) regretRates = timeRegret(be, m, channels - 1);
                if (requests > 0) timeRequests(be, m, channels - 1);
            }
            hostPeak = frl.tensor.HostStorage.peakBytes();
            devicePeak = be instanceof frl.backend.cuda.CudaBackend cb ? cb.context().peakBytes() : -1;
            if (profile) profileSteps(be, c, rng);
        }
        double trainMedian = median(train), scoreMedian = median(score);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("model", model);
        r.put("config", config);
        if (!(c instanceof VaeConfig)) r.put(c.family(), c.shape());
        r.put("device", be.name());
        r.put("batch", batch);
        r.put("score_batch", scoreBatch);
        r.put("k", k);
        if (dropout > 0) r.put("dropout", dropout);
        r.put("steps", steps);
        r.put("repeats", repeats);
        if (be.device().equals(frl.tensor.Device.CUDA)) {
            r.put("tf32", Boolean.getBoolean("frl.cuda.tf32"));
            Map<String, Object> flags = new java.util.TreeMap<>();
            System.getProperties().forEach((key, v) -> { if (key.toString().startsWith("frl.cuda.")) flags.put(key.toString(), v); });
            r.put("cuda_flags", flags);
        }
        if (graph.records(be)) r.put("graph", recorded ? "cuda graph of the training step" : "asked for; the step could not be recorded and ran op by op");
        if (scoring != null) r.put("score_graph", scoring);
        r.put("train_img_s", Math.round(trainMedian * 100) / 100.0);
        r.put("score_img_s", Math.round(scoreMedian * 1000) / 1000.0);
        if (regretRates != null) {
            r.put("regret_images", regret);
            r.put("frl_score_img_s", Math.round(regretRates[0] * 1000) / 1000.0);
            r.put("regret_img_s", Math.round(regretRates[1] * 1000) / 1000.0);
            r.put("frl_vs_regret", Math.round(regretRates[0] / regretRates[1] * 10) / 10.0);
        }
        if (requests > 0) {
            r.put("request_images", requests);
            r.put("request_ms", Math.round(requestMs * 1000) / 1000.0);
            r.put("request_img_s", Math.round(requests / requestMs * 1e3 * 10) / 10.0);
            r.put("request_graph", requestsReplayed);
        }
        r.put("host_memory_peak_mib", hostPeak >> 20);   // the most that tensors held at once, training and scoring (not the profiles)
        if (devicePeak >= 0) r.put("device_memory_peak_mib", devicePeak >> 20);
        String out = Json.write(r);
        System.out.println(out);
        if (json != null) AtomicFile.writeString(json, out + "\n");
        return 0;
    }

    /** Wall seconds for {@code runs} runs of {@code body}, the device idle before and after. */
    private static double seconds(Backend be, int runs, Runnable body) {
        be.synchronize();
        long t = System.nanoTime();
        for (int i = 0; i < runs; i++) body.run();
        be.synchronize();
        return (System.nanoTime() - t) / 1e9;
    }

    /**
     * K-sample scoring of one random batch per repeat, after one untimed pass: images/s into {@code rates}. With
     * --score-graph on a GPU the pass is then recorded and each repeat replays it; returns what became of that (or null).
     */
    private String timeScoring(Backend be, DensityModel m, Rng rng, double[] rates) {
        try (Scope scope = Scope.open()) {
            Tensor[] in = scoringInputs(be, m, rng);
            Runnable pass = () -> m.logWeights(in[0], in[1], in[2]);
            boolean record = scoreGraph.records(be);
            if (!record) for (int w = 0; w < Math.min(warmup, 1); w++) pass.run();
            try (RecordedPass recorded = record ? recordScoring(be, m, in) : null) {
                Runnable timed = recorded == null ? pass : () -> m.logWeightsOf(recorded.replay(in).toFloats(), k, scoreBatch);
                for (int r = 0; r < rates.length; r++) rates[r] = scoreBatch / seconds(be, 1, timed);
                return !record ? null : recorded != null && recorded.recorded() ? "cuda graph of each scoring pass" : "asked for; the pass could not be recorded and ran op by op";
            }
        }
    }

    /**
     * --regret: FRL's score of {@link #regret} random images (the scorer's IWAE NLL with -k samples, then the PNG
     * complexity of each image) and Likelihood Regret over them (Regret.Config.reference(); its NLL before fitting is that
     * score's), each timed once through the scorer frl score uses (its chunks recorded as graphs as --score-graph says):
     * {FRL score, regret} images a second. The paper reports FRL 147× faster; ANCHORS.md asks the engine for 150×.
     */
    private double[] timeRegret(Backend be, DensityModel m, int imageChannels) {
        ImageSet set = randomSet(regret, imageChannels);
        Scorer scorer = scorer(be, m, imageChannels);
        be.synchronize();
        long t0 = System.nanoTime();
        double[] nll = scorer.nll(set, run.seed, d -> {});
        double[] scores = Scorer.minusComplexity(nll, Scorer.complexity(set), 1);   // the score itself, as frl score writes it
        be.synchronize();
        long t1 = System.nanoTime();
        new Regret(scorer, Regret.Config.reference()).regret(set, run.seed, nll, d -> {});
        be.synchronize();
        long t2 = System.nanoTime();
        return new double[] {regret / ((t1 - t0) * 1e-9), regret / ((t2 - t0) * 1e-9)};
    }

    /**
     * --requests: {@link #requests} random images scored as one request (NLL and complexity), over and over, through a
     * scorer that keeps its recorded passes as the Detector's does; the median wall time of a request after two untimed
     * (the second records).
     */
    private void timeRequests(Backend be, DensityModel m, int imageChannels) {
        ImageSet set = randomSet(requests, imageChannels);
        try (Scorer scorer = scorer(be, m, imageChannels).keepGraphs(true)) {
            for (int w = 0; w < 2; w++) scorer.nllAndComplexity(set, run.seed, 0, requests);
            double[] ms = new double[5 * repeats];
            for (int i = 0; i < ms.length; i++) {
                long t = System.nanoTime();
                scorer.nllAndComplexity(set, run.seed, 0, requests);   // the NLLs back on the host and the PNG sizes: a request's whole time
                ms[i] = (System.nanoTime() - t) / 1e6;
            }
            requestMs = median(ms);
            requestsReplayed = scorer.replayedGraphs();
        }
    }

    /** n random 8-bit images of the model's image channels, 32×32. */
    private ImageSet randomSet(int n, int imageChannels) {
        byte[] pixels = new byte[n * imageChannels * 32 * 32];
        new java.util.Random(run.seed).nextBytes(pixels);
        return new ImageSet("random", n, imageChannels, 32, 32, pixels, null);
    }

    /** The scorer frl score would make for the model (its chunks recorded as --score-graph says). */
    private Scorer scorer(Backend be, DensityModel m, int imageChannels) {
        return new Scorer(be, new ModelSpec(m.config(), imageChannels, 5), m, k, Scorer.defaultChunk(be)).recordChunks(scoreGraph.records(be));
    }

    /**
     * The scoring pass recorded over inputs shaped as {@code in}, or null (with a warning) where it cannot be; first run
     * once as usual, untimed: every algorithm chosen, and the shape of its output.
     */
    private RecordedPass recordScoring(Backend be, DensityModel m, Tensor[] in) {
        Shape terms;
        try (Scope _ = Scope.open()) {
            terms = m.logWeightTerms(in[0], in[1], in[2]).shape();
        }
        return Scorer.recordPass(be, m, new Shape[] {in[0].shape(), in[1].shape(), in[2].shape()}, terms, "timing it op by op");
    }

    /** {x, pixels, noise} of a K-sample scoring pass over a random batch, made now (in the caller's scope) on {@code be}. */
    private Tensor[] scoringInputs(Backend be, DensityModel m, Rng rng) {
        Tensor pixels = randomPixels(be, scoreBatch, m.config(), rng);
        return new Tensor[] {be.affine(pixels, 1 / 255.0, 0), pixels, m.noise(be, k * scoreBatch, rng).reshape(k, scoreBatch, m.noisePerImage())};
    }

    /** One K-sample scoring pass over a random batch and its noise, made now (in the caller's scope) on {@code be}. */
    private Runnable scoringPass(Backend be, DensityModel m, Rng rng) {
        Tensor[] in = scoringInputs(be, m, rng);
        return () -> m.logWeights(in[0], in[1], in[2]);
    }

    private void step(Backend be, DensityModel m, Adam opt, Rng rng) { step(be, be, m, opt, rng, () -> {}); }

    /** One training step: the batch and noise made on {@code be}, then, after {@code beforeOps}, the step's ops on {@code ops}. */
    private void step(Backend be, Backend ops, DensityModel m, Adam opt, Rng rng, Runnable beforeOps) {
        try (Scope scope = Scope.open()) {
            Tensor noise = m.trainingNoise(be, batch, rng, dropout);
            beforeOps.run();
            forwardBackward(ops, m, opt, trainPixels, noise);
            opt.step();
        }
    }

    private static void forwardBackward(Backend be, DensityModel m, Adam opt, Tensor pixels, Tensor noise) {
        opt.zeroGrad();
        m.loss(Var.constant(be.affine(pixels, 1 / 255.0, 0)), Var.constant(pixels), noise, 1.0).loss().backward();
    }

    /** The training step recorded over persistent pixels and noise, after one whole step run as usual. */
    private RecordedStep record(Backend be, DensityModel m, Adam opt, Rng rng) {
        step(be, m, opt, rng);   // every algorithm and kernel chosen before recording
        ModelConfig c = m.config();
        Shape[] inputs = {Shape.of(batch, c.channels(), c.imageSize(), c.imageSize()), m.trainingNoiseShape(batch, dropout)};
        return new RecordedStep(be, opt, inputs, in -> forwardBackward(be, m, opt, in[0], in[1]));
    }

    private void replay(Backend be, DensityModel m, RecordedStep step, Rng rng) {
        try (Scope scope = Scope.open()) {
            step.replay(trainPixels, m.trainingNoise(be, batch, rng, dropout));
        }
    }

    /**
     * Where training steps and scoring passes go, per op: host time to queue each; on a device with a clock, device
     * time with the device held while each step or pass is queued (so ops run back to back and each is timed alone),
     * and the share of the queued step's wall time the device spends in ops; then host time with every op waited for.
     */
    private void profileSteps(Backend be, ModelConfig c, Rng rng) {
        double[] queuedMs = new double[2];   // a training step's and a scoring pass's, from the QUEUED mode
        for (ProfilingBackend.Mode mode : ProfilingBackend.Mode.values()) {
            if (mode == ProfilingBackend.Mode.DEVICE && be.clock() == null) continue;
            String defeated = mode == ProfilingBackend.Mode.DEVICE ? be.clock().holdDefeatedBy() : null;
            if (defeated != null) {
                System.out.println(Json.write(Map.of("profile", mode.label, "skipped", defeated)));
                continue;
            }
            ProfilingBackend prof = new ProfilingBackend(be, mode);
            Backends.register(prof.backend());
            try (DensityModel m = c.build(prof.backend(), rng); Adam opt = new Adam(m.parameters(), 1e-3)) {
                m.train(true);
                for (int s = 0; s < warmup; s++) step(be, prof.backend(), m, opt, rng, () -> {});
                // the batch and noise are made outside the profile
                boolean queued = mode == ProfilingBackend.Mode.QUEUED;   // its wall times set the device pass's holds
                double trainingMs = profiled(be, prof, "training", queuedMs[0], beforeOps -> step(be, prof.backend(), m, opt, rng, beforeOps));
                if (queued) queuedMs[0] = trainingMs;
                m.eval();
                try (Scope scope = Scope.open()) {
                    Runnable pass = scoringPass(be, m, rng);
                    pass.run();
                    double scoringMs = profiled(be, prof, "scoring", queuedMs[1], beforeOps -> {
                        beforeOps.run();
                        pass.run();
                    });
                    if (queued) queuedMs[1] = scoringMs;
                }
            } finally {
                Backends.register(be);
            }
        }
    }

    /**
     * {@code --steps} runs of {@code pass} (given what to run before its ops) under {@code prof}; prints a head row and
     * the per-op and per-shape tables, each row marked with {@code pass}, and returns the wall milliseconds per run.
     * In the device mode the GPU is held longer than the host takes to queue a run ({@code queuedMs}, twice, plus 5).
     */
    private double profiled(Backend be, ProfilingBackend prof, String pass, double queuedMs, Consumer<Runnable> run) {
        ProfilingBackend.Mode mode = prof.mode();
        double hold = 2 * queuedMs + 5;
        Runnable beforeOps = mode == ProfilingBackend.Mode.DEVICE ? () -> be.clock().hold(hold) : () -> {};
        be.synchronize();
        prof.reset();
        long t = System.nanoTime();
        for (int s = 0; s < steps; s++) run.accept(beforeOps);
        be.synchronize();
        double ms = (System.nanoTime() - t) / 1e6 / steps;
        prof.harvest();
        Map<String, Object> head = new LinkedHashMap<>();
        head.put("profile", mode.label);
        head.put("model", model);
        head.put("pass", pass);
        if (mode == ProfilingBackend.Mode.DEVICE) {   // the share of a queued run the device is busy: the rest it waits for the host
            double device = prof.deviceMillis() / steps;
            head.put("device_ms_per_step", Math.round(device * 100) / 100.0);
            head.put("device_busy", Math.round(device / queuedMs * 1000) / 1000.0);
        } else {
            head.put("ms_per_step", Math.round(ms * 100) / 100.0);
        }
        System.out.println(Json.write(head));
        List<Map<String, Object>> rows = new ArrayList<>(prof.table(steps));
        rows.addAll(prof.shapeTable(steps, 40));
        for (Map<String, Object> row : rows) {
            row.put("pass", pass);
            System.out.println(Json.write(row));
        }
        return ms;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        java.util.Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /** Uniform random 8-bit values as floats 0..255. */
    private static Tensor randomPixels(Backend be, int n, ModelConfig c, Rng rng) {
        Shape s = Shape.of(n, c.channels(), c.imageSize(), c.imageSize());
        float[] v = new float[(int) s.numel()];
        for (int i = 0; i < v.length; i++) v[i] = rng.nextInt(256);
        return be.fromHost(s, v);
    }
}
