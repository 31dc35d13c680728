package frl.io;

import frl.backend.Rng;
import frl.nn.Module;
import frl.nn.Optimizer;
import frl.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A training checkpoint in one safetensors file, written atomically: the model's state dict under
 * {@code model.<name>}, the optimizer's moments under {@code optimizer.<i>.<state>}, and in the metadata
 * the format name and version, the config map, the RNG state and the optimizer's kind, learning rate and
 * per-parameter step counts (each a JSON string, since metadata values are strings).
 */
public final class Checkpoint {
    public static final String FORMAT = "frl-checkpoint";
    public static final int FORMAT_VERSION = 1;
    private static final String MODEL = "model.", OPTIMIZER = "optimizer.";

    private Checkpoint() {}

    /** What a checkpoint says besides its tensors; rng and optimizerKind are null when none was saved. */
    public record Info(int formatVersion, Map<String, String> config, Rng rng, String optimizerKind) {}

    /** Saves the model, and the optimizer and RNG when not null. */
    public static void save(Path file, Module model, Optimizer optimizer, Rng rng, Map<String, String> config) throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        model.stateDict().forEach((k, t) -> tensors.put(MODEL + k, t));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put("format_version", Integer.toString(FORMAT_VERSION));
        meta.put("config", Json.write(config));
        if (rng != null) meta.put("rng", Json.write(Map.of("seed", rng.seed(), "counter", rng.counter())));
        if (optimizer != null) {
            optimizer.state().forEach((k, t) -> tensors.put(OPTIMIZER + k, t));
            List<Object> steps = new ArrayList<>();
            for (long s : optimizer.steps()) steps.add(s);
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("kind", optimizer.kind());
            o.put("lr", optimizer.lr());
            o.put("steps", steps);
            meta.put("optimizer", Json.write(o));
        }
        Safetensors.write(file, tensors, meta);
    }

    /** Reads the format version, config and RNG without loading any tensor (to build the model first). */
    public static Info peek(Path file) throws IOException {
        return info(file, Safetensors.readHeader(file).metadata());
    }

    /**
     * Loads the weights into the model (names and shapes must match exactly) and, when an optimizer is
     * given, its state (the checkpoint must hold state of the same kind). Returns the rest.
     */
    public static Info load(Path file, Module model, Optimizer optimizer) throws IOException {
        try (Safetensors.Contents c = Safetensors.read(file)) {
            Info info = info(file, c.metadata());
            Map<String, Tensor> weights = new LinkedHashMap<>(), state = new LinkedHashMap<>();
            for (var e : c.tensors().entrySet()) {
                String k = e.getKey();
                if (k.startsWith(MODEL)) weights.put(k.substring(MODEL.length()), e.getValue());
                else if (k.startsWith(OPTIMIZER)) state.put(k.substring(OPTIMIZER.length()), e.getValue());
                else throw bad(file, "unexpected tensor '" + k + "' (expected model.* or optimizer.*)");
            }
            try {
                model.loadStateDict(weights, true);
            } catch (IllegalArgumentException x) {
                throw bad(file, x.getMessage());
            }
            if (optimizer != null) loadOptimizer(file, c.metadata().get("optimizer"), state, optimizer);
            return info;
        }
    }

    private static void loadOptimizer(Path file, String json, Map<String, Tensor> state, Optimizer optimizer) throws IOException {
        if (json == null) throw bad(file, "holds no optimizer state, cannot resume " + optimizer.kind());
        Map<?, ?> o = object(file, "optimizer", json);
        if (!optimizer.kind().equals(o.get("kind"))) throw bad(file, "holds " + o.get("kind") + " state, the optimizer is " + optimizer.kind());
        if (!(o.get("lr") instanceof Number lr) || !(o.get("steps") instanceof List<?> list)) throw bad(file, "optimizer metadata lacks lr or steps: " + json);
        long[] steps = new long[list.size()];
        for (int i = 0; i < steps.length; i++) {
            if (!(list.get(i) instanceof Long s)) throw bad(file, "optimizer step " + i + " is not an integer: " + json);
            steps[i] = s;
        }
        try {
            optimizer.loadState(state, steps, lr.doubleValue());
        } catch (IllegalArgumentException x) {
            throw bad(file, x.getMessage());
        }
    }

    private static Info info(Path file, Map<String, String> meta) throws IOException {
        if (!FORMAT.equals(meta.get("format"))) throw bad(file, "is not an " + FORMAT + " (metadata format = " + meta.get("format") + ")");
        int version;
        try {
            version = Integer.parseInt(meta.getOrDefault("format_version", ""));
        } catch (NumberFormatException x) {
            throw bad(file, "has no readable format_version (found '" + meta.get("format_version") + "')");
        }
        if (version != FORMAT_VERSION) throw bad(file, "has format version " + version + ", this build reads version " + FORMAT_VERSION);
        Map<String, String> config = new LinkedHashMap<>();
        for (var e : object(file, "config", meta.getOrDefault("config", "{}")).entrySet()) {
            if (!(e.getValue() instanceof String v)) throw bad(file, "config value '" + e.getKey() + "' is not a string");
            config.put((String) e.getKey(), v);
        }
        Rng rng = null;
        if (meta.containsKey("rng")) {
            Map<?, ?> r = object(file, "rng", meta.get("rng"));
            if (!(r.get("seed") instanceof Long seed) || !(r.get("counter") instanceof Long counter)) throw bad(file, "rng metadata needs integer seed and counter: " + meta.get("rng"));
            rng = new Rng(seed, counter);
        }
        String kind = meta.containsKey("optimizer") ? String.valueOf(object(file, "optimizer", meta.get("optimizer")).get("kind")) : null;
        return new Info(version, config, rng, kind);
    }

    private static Map<?, ?> object(Path file, String field, String json) throws IOException {
        try {
            if (Json.parse(json) instanceof Map<?, ?> m) return m;
        } catch (IllegalArgumentException x) {
            throw bad(file, "metadata '" + field + "': " + x.getMessage());
        }
        throw bad(file, "metadata '" + field + "' must be a JSON object, found " + json);
    }

    private static IOException bad(Path file, String what) { return new IOException("checkpoint " + file + ": " + what); }
}
