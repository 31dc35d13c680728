package frl;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.data.ImageSet;
import frl.data.Sources;
import frl.data.Transforms;
import frl.model.ModelSpec;
import frl.ood.Metrics;
import frl.ood.Scorer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The library entry point: an OOD gate built from a trained checkpoint. Give it 8-bit images (CHW bytes,
 * any size: they are resized to the model's 32×32 as in training) and it returns per-image scores
 * S(x) = NLL(x) − r·L(x) (FRL when the model has the HF channel, Input Complexity otherwise); calibrate a
 * threshold on in-distribution images, then flag images above it. Safe to call from several threads (calls
 * are serialised per detector); close() frees the model's native memory. On a GPU a request of a size seen before
 * replays the scoring pass recorded as a CUDA graph (up to four sizes are kept).
 */
public final class Detector implements AutoCloseable {
    /** IWAE samples K, complexity weight r, device (auto, cpu, cuda), seed of the importance noise. */
    public record Options(int samples, double r, String device, long seed) {
        public static Options defaults() { return new Options(20, 1.0, "auto", 1); }
    }

    /** Per-image NLL (nats), complexity L (bits) and score = nll − r·L; higher = more out-of-distribution. */
    public record Scores(double[] nll, double[] complexityBits, double[] score) {}

    private final ModelSpec.Loaded loaded;
    private final Scorer scorer;
    private final Options options;
    private volatile double threshold = Double.NaN;

    private Detector(ModelSpec.Loaded loaded, Scorer scorer, Options options) {
        this.loaded = loaded;
        this.scorer = scorer;
        this.options = options;
    }

    public static Detector load(Path checkpoint) throws IOException { return load(checkpoint, Options.defaults()); }

    public static Detector load(Path checkpoint, Options options) throws IOException {
        Backend be = Backends.select(options.device());
        ModelSpec.Loaded m = ModelSpec.load(be, checkpoint);
        // on a GPU each size of request, from its second call on, replays a recorded pass: one launch where each op was one
        Scorer scorer = new Scorer(be, m.spec(), m.model(), options.samples(), Scorer.defaultChunk(be)).recordChunks(!be.device().isHost()).keepGraphs(true);
        return new Detector(m, scorer, options);
    }

    /** Image channels the model expects (1 = gray, 3 = RGB). */
    public int channels() { return loaded.spec().imageChannels(); }

    /** Scores n images of channels×height×width bytes each, laid out one after another (CHW). */
    public Scores score(byte[] pixels, int n, int height, int width) { return score(pixels, n, height, width, 0, n); }

    /**
     * Scores a part of a larger set: image i here is image {@code first + i} of {@code total}, and takes the importance
     * noise it would take were the whole set scored in one call. Parts scored apart (a partition each of a Spark job, on
     * as many machines, say) give the whole's scores, up to the rounding of other batch sizes.
     */
    public Scores score(byte[] pixels, int n, int height, int width, long first, long total) {
        return score(Transforms.toModelSize(new ImageSet("input", n, channels(), height, width, pixels, null)), first, total);
    }

    /**
     * Scores PNG or JPEG files read as {@code frl score} reads a folder (its rules for gray and colour, and its resizing to
     * 32×32), so that each gets the scores {@code frl score} gives it; a file that cannot be read is named.
     */
    public Scores scoreFiles(List<Path> files) { return score(Sources.loadFiles("files", files, channels()), 0, files.size()); }

    /** The same for PNG or JPEG images in memory (an upload's bytes, say); one that cannot be read is named by its index. */
    public Scores scoreEncoded(List<byte[]> images) { return score(Sources.loadEncoded("request", images, channels()), 0, images.size()); }

    private synchronized Scores score(ImageSet set, long first, long total) {
        double[][] nllAndBits = scorer.nllAndComplexity(set, options.seed(), first, total);
        return new Scores(nllAndBits[0], nllAndBits[1], Scorer.minusComplexity(nllAndBits[0], nllAndBits[1], options.r()));
    }

    /**
     * Sets the threshold so that a fraction {@code tpr} (e.g. 0.95) of these in-distribution images is
     * accepted; returns it.
     */
    public double calibrate(byte[] inDistribution, int n, int height, int width, double tpr) {
        return calibrate(score(inDistribution, n, height, width), tpr);
    }

    /** The same from in-distribution scores already at hand (of {@link #scoreFiles}, say); returns the threshold. */
    public double calibrate(Scores inDistribution, double tpr) {
        threshold = Metrics.threshold(inDistribution.score(), tpr);
        return threshold;
    }

    public double threshold() { return threshold; }

    /**
     * Sets a threshold found before (by {@link #calibrate} in another run, say), so that a service need not keep
     * in-distribution images to start; scores above it are out of distribution.
     */
    public void setThreshold(double t) {
        if (!Double.isFinite(t)) throw new IllegalArgumentException("a threshold is a finite score, got " + t);
        threshold = t;
    }

    /** True for each score above the calibrated threshold. */
    public boolean[] isOutOfDistribution(Scores scores) {
        double t = threshold;
        if (Double.isNaN(t)) throw new IllegalStateException("calibrate the detector on in-distribution images first");
        boolean[] out = new boolean[scores.score().length];
        for (int i = 0; i < out.length; i++) out[i] = scores.score()[i] > t;
        return out;
    }

    @Override public synchronized void close() {
        try {
            scorer.close();
        } finally {
            loaded.close();
        }
    }
}
