package frl.ood;

import frl.backend.Backend;
import frl.backend.Rng;
import frl.data.ImageSet;
import frl.freq.Complexity;
import frl.model.Batches;
import frl.model.ModelSpec;
import frl.model.DensityModel;
import frl.nn.RecordedPass;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.function.IntConsumer;

/**
 * Per-image scores of a set: the importance-weighted negative log-likelihood of a model (nats; K samples of the
 * VAE's latents or Glow's dequantisations, PixelCNN++'s exact in one pass; in chunks so the VAE's 256-way logits stay
 * bounded) and the PNG complexity L(x) of the image channels (bits). The
 * noise of sample k of image i is fixed by (seed, k, i) alone, so a score does not depend on the chunk size
 * (larger on a GPU) or on which other images share its chunk.
 * FRL: S(x) = NLL(x_F) − r·L(x); Input Complexity: the same with a model of x alone. Higher = more OOD.
 * Close a scorer that keeps its graphs ({@link #keepGraphs}) to free them.
 */
public final class Scorer implements AutoCloseable {
    /** The most pass sizes a scorer keeps recorded graphs of (each holds its pass's device memory). */
    static final int MOST_KEPT = 4;

    private final Backend backend;
    private final ModelSpec spec;
    private final DensityModel model;
    private final Batches batches;
    private final int samples, chunk;
    private boolean recordChunks, keepGraphs, replayedGraphs, recordingFailed;
    /** Recorded passes by images per pass, kept across calls where {@link #keepGraphs} asks. */
    private final Map<Integer, RecordedPass> kept = new HashMap<>();
    /** Pass sizes already run as usual by an earlier call (with kept graphs): the next pass of such a size is recorded. */
    private final Set<Integer> ranAsUsual = new HashSet<>();

    /** Images per scoring chunk on a backend: 256 on a GPU (its throughput needs wide batches), else 32. */
    public static int defaultChunk(Backend backend) { return backend.device().isHost() ? 32 : 256; }

    public Scorer(Backend backend, ModelSpec spec, DensityModel model, int samples, int chunk) {
        if (samples < 1 || chunk < 1) throw new IllegalArgumentException("need K ≥ 1 samples and chunk ≥ 1, got " + samples + " and " + chunk);
        this.backend = backend;
        this.spec = spec;
        this.model = model;
        this.batches = spec.batches();
        this.samples = samples;
        this.chunk = chunk;
    }

    public Backend backend() { return backend; }

    /**
     * Records the first whole chunk's pass as a graph ({@link RecordedPass}) and replays it for the next whole chunks:
     * on a GPU one launch per chunk in place of every op's. A pass that cannot be recorded runs as usual, with a warning.
     */
    public Scorer recordChunks(boolean on) {
        recordChunks = on;
        return this;
    }

    /**
     * Keeps recorded passes after a call, by their number of images (at most {@link #MOST_KEPT} sizes), so that later
     * calls replay them: a size is recorded once it has run as usual in an earlier call or another chunk of it follows
     * in this one. For callers that score many sets or parts with one model (a detector's requests, a folder's parts);
     * their graphs hold device memory until {@link #close}. The model's parameters must keep their tensors meanwhile
     * (their values may change: a replay reads them).
     */
    public Scorer keepGraphs(boolean on) {
        keepGraphs = on;
        return this;
    }

    /** The numbers of images per pass that have a kept recorded pass. */
    public Set<Integer> keptPassSizes() { return new TreeSet<>(kept.keySet()); }

    /** Frees the kept recorded passes. */
    @Override public synchronized void close() {
        closeAll(kept);
    }

    private static void closeAll(Map<Integer, RecordedPass> passes) {
        try {
            for (RecordedPass p : passes.values()) p.close();
        } finally {
            passes.clear();
        }
    }

    /** Whether the last {@link #nll} replayed a device graph for some of its chunks. */
    public boolean replayedGraphs() { return replayedGraphs; }

    public ModelSpec spec() { return spec; }

    public DensityModel model() { return model; }

    /** NLL per image in nats; {@code done} hears how many images are finished. Deterministic for a seed. */
    public double[] nll(ImageSet set, long seed, IntConsumer done) { return nll(set, seed, 0, set.size(), done); }

    /**
     * The same for images {@code first}.. of a set of {@code total} that is scored part by part: each image gets the
     * noise it would get were the whole set scored at once, so the parts' scores are the whole's.
     */
    public synchronized double[] nll(ImageSet set, long seed, long first, long total, IntConsumer done) {
        if (first < 0 || first + set.size() > total)
            throw new IllegalArgumentException("images " + first + ".." + (first + set.size()) + " are not within a set of " + total);
        int side = spec.imageSize();
        if (set.channels() != spec.imageChannels() || set.height() != side || set.width() != side)
            throw new IllegalArgumentException("set " + set.name() + " has images " + set.channels() + "×" + set.height() + "×" + set.width()
                    + ", the model expects " + spec.imageChannels() + "×" + side + "×" + side);
        model.eval();
        int size = set.size(), d = model.noisePerImage();
        long base = new Rng(seed).reserveNormals(samples * total * d);
        double[] out = new double[size];
        Map<Integer, RecordedPass> passes = keepGraphs ? kept : new HashMap<>();
        replayedGraphs = false;
        try {
            for (int from = 0; from < size; from += chunk) {
                int n = Math.min(chunk, size - from);
                try (Scope s = Scope.open()) {
                    Batches.Batch b = batches.of(backend, set, from, n);
                    Tensor[] perSample = new Tensor[samples]; // sample k of image i: the normals' draws from base + (k·total + i)·d
                    for (int k = 0; k < samples; k++)
                        perSample[k] = model.noise(backend, n, Rng.atNormal(seed, base + (k * total + first + from) * d)).reshape(1, n, d);
                    Tensor noise = samples == 1 ? perSample[0] : backend.concat(perSample, 0), terms;
                    RecordedPass pass = recordChunks ? passes.get(n) : null;
                    if (pass != null) {
                        terms = pass.replay(b.x(), b.targets(), noise);
                        replayedGraphs |= pass.recorded();
                    }
                    else {
                        terms = model.logWeightTerms(b.x(), b.targets(), noise);
                        // this size ran as usual (every algorithm chosen): record it where another such pass will come
                        boolean ranBefore = keepGraphs && !ranAsUsual.add(n), anotherFollows = n == chunk && from + 2L * chunk <= size;
                        if (recordChunks && !recordingFailed && (ranBefore || anotherFollows) && passes.size() < MOST_KEPT) {
                            RecordedPass p = record(b, noise, terms.shape());
                            if (p == null) recordingFailed = true;   // warned once; the passes run as usual from here on
                            else passes.put(n, p);
                        }
                    }
                    double[] nll = DensityModel.nllFromTerms(model.logWeightsOf(terms.toFloats(), samples, n));
                    System.arraycopy(nll, 0, out, from, n);
                }
                done.accept(from + n);
            }
        } finally {
            if (!keepGraphs) closeAll(passes);
        }
        return out;
    }

    /** The chunk's pass recorded over inputs shaped as this chunk's, or null (with a warning) where it cannot be. */
    private RecordedPass record(Batches.Batch b, Tensor noise, Shape terms) {
        return recordPass(backend, model, new Shape[] {b.x().shape(), b.targets().shape(), noise.shape()}, terms, "scoring them as usual");
    }

    /**
     * A model's scoring pass ({@link DensityModel#logWeightTerms} over x, targets and noise of these shapes, giving
     * terms) recorded as a graph, or null where the backend cannot record it, with a warning that ends by saying what
     * the caller does {@code instead}. Run the pass once as usual first (every algorithm chosen).
     */
    public static RecordedPass recordPass(Backend be, DensityModel model, Shape[] inputs, Shape terms, String instead) {
        try {
            return new RecordedPass(be, inputs, terms, in -> model.logWeightTerms(in[0], in[1], in[2]));
        } catch (IllegalStateException e) {
            System.err.println("frl: scoring passes are not recorded as a graph (" + e.getMessage() + "); " + instead);
            return null;
        }
    }

    /**
     * {NLL, L(x)} per image of images {@code first}.. of a set of {@code total} ({@link #nll}, {@link #complexity}). On a
     * device the PNGs are encoded on the host's cores while the device scores; on the CPU one after the other, as the
     * two would otherwise share the cores.
     */
    public double[][] nllAndComplexity(ImageSet set, long seed, long first, long total) {
        if (backend.device().isHost()) {
            double[] nll = nll(set, seed, first, total, d -> {});
            return new double[][] {nll, complexity(set)};
        }
        CompletableFuture<double[]> bits = CompletableFuture.supplyAsync(() -> complexity(set));
        double[] nll = nll(set, seed, first, total, d -> {});
        return new double[][] {nll, bits.join()};
    }

    /** L(x): bits of the level-9 PNG of each image's 8-bit channels. */
    public static double[] complexity(ImageSet set) {
        long[] bits = Complexity.bits(set);
        double[] out = new double[bits.length];
        for (int i = 0; i < bits.length; i++) out[i] = bits[i];
        return out;
    }

    /** nll − r · L, elementwise. */
    public static double[] minusComplexity(double[] nll, double[] complexity, double r) {
        double[] s = new double[nll.length];
        for (int i = 0; i < s.length; i++) s[i] = nll[i] - r * complexity[i];
        return s;
    }
}
