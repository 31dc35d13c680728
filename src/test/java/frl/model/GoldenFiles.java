package frl.model;

import frl.backend.Backend;
import frl.tensor.Tensor;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reading the files bench/pytorch/*.py write with PyTorch (float64 there, stored as float32), and comparing with them. */
final class GoldenFiles {
    private GoldenFiles() {}

    /** The tensors whose names start with prefix, under the rest of their names. */
    static Map<String, Tensor> prefixed(Map<String, Tensor> all, String prefix) {
        Map<String, Tensor> m = new HashMap<>();
        all.forEach((k, t) -> { if (k.startsWith(prefix)) m.put(k.substring(prefix.length()), t); });
        return m;
    }

    /** Each value within rel of the largest magnitude wanted (at least 1e-6). */
    static void assertClose(double[] want, double[] got, double rel, String what) {
        assertEquals(want.length, got.length, what + ": sizes");
        double scale = 0;
        for (double w : want) scale = Math.max(scale, Math.abs(w));
        for (int i = 0; i < want.length; i++)
            assertTrue(Math.abs(want[i] - got[i]) <= rel * Math.max(scale, 1e-6), what + "[" + i + "]: torch " + want[i] + ", engine " + got[i]);
    }

    /** A golden tensor (read to the host) on the backend under test. */
    static Tensor on(Backend be, Tensor host) { return be.fromHost(host.shape(), host.toFloats()); }

    /** The same names on both sides (the engine's not in the file may be left out by {@code engineOnly}). */
    static void assertSameNames(Map<String, Tensor> engine, Map<String, Tensor> torch, java.util.function.Predicate<String> engineOnly) {
        for (String k : engine.keySet()) if (!engineOnly.test(k)) assertTrue(torch.containsKey(k), "torch has no '" + k + "'");
        for (String k : torch.keySet()) assertTrue(engine.containsKey(k), "the engine has no '" + k + "'");
    }

    /** Loads the file's "state." tensors into the model, after checking that both sides name the same tensors. */
    static void loadInto(frl.nn.Module model, Map<String, Tensor> file, java.util.function.Predicate<String> engineOnly) {
        Map<String, Tensor> torch = prefixed(file, "state.");
        assertSameNames(model.stateDict(), torch, engineOnly);
        model.loadStateDict(torch, false);
    }

    /** The integers a golden file's metadata holds under these keys (the model's shape), in order. */
    static int[] ints(Map<String, String> meta, String... keys) {
        int[] v = new int[keys.length];
        for (int i = 0; i < keys.length; i++) v[i] = Integer.parseInt(meta.get(keys[i]));
        return v;
    }
}
