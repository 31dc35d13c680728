package frl.model;

import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.Rng;
import frl.data.ImageSet;
import frl.data.Permutation;
import frl.io.Checkpoint;
import frl.nn.Adam;
import frl.nn.LrSchedule;
import frl.nn.RecordedStep;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Trains a density model epoch by epoch: shuffled batches with random flips (and Ren et al.'s perturbation for a background
 * model), Adam with StepLR, and an atomic checkpoint (weights, optimizer, RNG, config, epoch) after every epoch,
 * from which {@link #resume} continues exactly.
 */
public final class Trainer implements AutoCloseable {
    /** One progress report: epoch (1-based), images done in it, running means of the loss and its parts, throughput. */
    public record Progress(int epoch, int epochs, long images, long imagesInEpoch, double loss, Map<String, Double> parts, double imagesPerSecond, boolean epochDone) {}

    private final DensityModel model;
    private final Batches batches;
    private final TrainConfig config;
    private final Backend backend;
    private final Adam optimizer;
    private final LrSchedule schedule;
    private final Map<String, String> modelInfo;
    private Rng rng;
    private int epochsDone;
    private boolean recordSteps;
    private RecordedStep recorded;
    /** What the recorded step writes [loss, parts...] into. */
    private Tensor recordedParts;
    /** The names of the loss parts, in the order of the steps' part tensors (known after the first step). */
    private List<String> partNames;

    /** @param modelInfo what a loader needs to rebuild the model (saved in each checkpoint's config). */
    public Trainer(Backend backend, DensityModel model, Batches batches, TrainConfig config, Map<String, String> modelInfo) {
        this.backend = backend;
        this.model = model;
        this.batches = batches;
        this.config = config;
        this.modelInfo = modelInfo;
        this.optimizer = new Adam(model.parameters(), new Backend.AdamConfig(config.lr(), 0.9, 0.999, 1e-8, config.weightDecay()));
        this.schedule = new LrSchedule.StepLr(config.stepEpochs(), config.gamma());
        this.rng = new Rng(config.seed());
    }

    public int epochsDone() { return epochsDone; }

    /** Continues from a checkpoint written by this trainer: weights, optimizer state, RNG and epoch count. */
    public void resume(Path checkpoint) throws IOException {
        Checkpoint.Info info = Checkpoint.load(checkpoint, model, optimizer);
        String done = info.config().get("epochs_done");
        if (done == null) throw new IOException(checkpoint + ": not a training checkpoint (no epochs_done in its config)");
        epochsDone = Integer.parseInt(done);
        if (info.rng() != null) rng = info.rng();
    }

    /** Runs the remaining epochs, reporting progress, and saves a checkpoint after each when a path is given. */
    public void run(ImageSet data, Path checkpoint, Consumer<Progress> progress) throws IOException {
        if (data.size() < config.batch()) throw new IllegalArgumentException("training set " + data.name() + " has " + data.size() + " images, fewer than one batch of " + config.batch());
        model.train(true);
        for (int epoch = epochsDone; epoch < config.epochs(); epoch++) {
            runEpoch(data, epoch, progress);
            epochsDone = epoch + 1;
            if (checkpoint != null) save(checkpoint);
        }
    }

    /**
     * One epoch. A step's loss parts are queued for the host right after the step and read after the next step
     * has been queued, so that on a GPU the host prepares and queues step s+1 while step s runs instead of
     * waiting for it (progress is reported one step late; the numbers are the same).
     */
    private void runEpoch(ImageSet data, int epoch, Consumer<Progress> progress) {
        int[] order = Permutation.of(data.size(), rng::nextInt);   // from the training RNG: a resumed run draws the same order
        long limit = config.maxImagesPerEpoch() > 0 ? Math.min(config.maxImagesPerEpoch(), data.size()) : data.size();
        int steps = (int) (limit / config.batch());
        double[] sums = null;   // loss, then each part
        long start = System.nanoTime();
        Supplier<double[]> previous = null;
        double epochLr = config.lr() * schedule.factor(epoch);
        for (int s = 0; s < steps; s++) {
            optimizer.setLr(epochLr * config.warmupFactor((long) epoch * steps + s));   // the warm-up's factor is 1 past it, or without one
            int[] idx = java.util.Arrays.copyOfRange(order, s * config.batch(), (s + 1) * config.batch());
            boolean[] flip = new boolean[idx.length];
            if (config.flips()) for (int i = 0; i < flip.length; i++) flip[i] = rng.nextInt(2) == 1;
            Supplier<double[]> current;
            Shape[] inputs;
            try (Scope scope = Scope.open()) {
                Batches.Batch b = batches.gather(backend, data, idx, flip, config.perturb(), rng);
                Tensor eps = model.trainingNoise(backend, idx.length, rng, config.dropout());
                inputs = new Shape[] {b.x().shape(), b.targets().shape(), eps.shape()};
                Tensor parts;
                if (recorded != null) {
                    recorded.replay(b.x(), b.targets(), eps);
                    parts = recordedParts;
                } else {
                    parts = forwardBackward(b.x(), b.targets(), eps);
                    optimizer.step();
                }
                current = parts.toDoublesLater();
            }
            if (recordSteps) record(inputs);   // after the scope: the graph reuses the step's memory (record turns recordSteps off)
            if (sums == null) sums = new double[1 + partNames.size()];
            if (previous != null) report(epoch, s - 1, steps, previous.get(), sums, start, progress);
            previous = current;
        }
        if (previous != null) report(epoch, steps - 1, steps, previous.get(), sums, start, progress);
    }

    /** A training step's forward and backward; returns [loss, parts...]. */
    private Tensor forwardBackward(Tensor x, Tensor targets, Tensor eps) {
        optimizer.zeroGrad();
        DensityModel.LossParts p = model.loss(Var.constant(x), Var.constant(targets), eps, config.beta());
        p.loss().backward();
        partNames = List.copyOf(p.parts().keySet());
        List<Tensor> values = new ArrayList<>(List.of(p.loss().value().reshape(1)));
        for (Var v : p.parts().values()) values.add(v.value().reshape(1));
        return backend.concat(values.toArray(Tensor[]::new), 0);
    }

    /**
     * On a GPU, training steps from the next one on replay a recorded graph of the forward, the backward and the
     * Adam update (whose step factors the host writes before each replay). A step that cannot be recorded is run
     * as usual, with a warning.
     */
    public Trainer recordSteps(boolean on) {
        recordSteps = on;
        return this;
    }

    /** Records the step after its first run (which chose every algorithm), for inputs of these shapes (x, targets, eps). */
    private void record(Shape[] inputs) {
        recordSteps = false;
        Tensor parts = Scope.unscoped(() -> backend.empty(Shape.of(1 + partNames.size())));
        try {
            recorded = new RecordedStep(backend, optimizer, inputs, in -> backend.copyInto(forwardBackward(in[0], in[1], in[2]), parts));
            recordedParts = parts;
            if (!recorded.recorded())
                System.err.println("frl: the " + backend.name() + " backend runs each step as it comes; --graph records nothing here");
        } catch (IllegalStateException e) {
            parts.close();
            System.err.println("frl: training steps are not recorded as a graph (" + e.getMessage() + "); running them as usual");
        }
    }

    /** Whether training steps replay a recorded device graph (only after the first step, on a GPU, when asked). */
    public boolean stepsRecorded() { return recorded != null && recorded.recorded(); }

    /** Adds step s's loss and parts to their sums and reports the epoch's running means. */
    private void report(int epoch, int s, int steps, double[] parts, double[] sums, long start, Consumer<Progress> progress) {
        for (int i = 0; i < sums.length; i++) sums[i] += parts[i];
        double seconds = (System.nanoTime() - start) / 1e9;
        long images = (long) (s + 1) * config.batch();
        Map<String, Double> means = new LinkedHashMap<>();
        for (int i = 0; i < partNames.size(); i++) means.put(partNames.get(i), sums[i + 1] / (s + 1));
        progress.accept(new Progress(epoch + 1, config.epochs(), images, (long) steps * config.batch(), sums[0] / (s + 1),
                means, images / seconds, s == steps - 1));
    }

    private void save(Path checkpoint) throws IOException {
        Map<String, String> c = new LinkedHashMap<>(modelInfo);
        c.put("epochs_done", Integer.toString(epochsDone));
        c.put("epochs", Integer.toString(config.epochs()));
        if (config.perturb() > 0) c.put("perturb", Double.toString(config.perturb()));   // absent for a plain run: its file as before
        if (config.dropout() > 0) c.put("dropout", Double.toString(config.dropout()));
        if (config.warmupSteps() > 0) c.put("warmup", Integer.toString(config.warmupSteps()));
        Path parent = checkpoint.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        Checkpoint.save(checkpoint, model, optimizer, rng, c);
    }

    /** Frees the recorded step, its parts and the optimizer's state, each even if freeing one before it failed. */
    @Override public void close() {
        try (Adam o = optimizer; Tensor parts = recordedParts; RecordedStep step = recorded) {
            // closed in reverse order: the graph, its parts, then the optimizer
        }
    }
}
