package frl.io;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.Rng;
import frl.nn.Adam;
import frl.nn.Adamax;
import frl.nn.BatchNorm2d;
import frl.nn.Linear;
import frl.nn.Module;
import frl.nn.Parameter;
import frl.nn.Sequential;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Needs the cpu fill op (pointwise branch) for BatchNorm2d and the optimizer's zero moments. */
class CheckpointTest {
    private final Backend be = Backends.cpu();
    @TempDir Path dir;

    private Sequential model(long seed) {
        return new Sequential(new Linear(be, new Rng(seed), 3, 2, true), new BatchNorm2d(be, 2));
    }

    @Test void roundTripRestoresWeightsOptimizerRngAndConfig() throws IOException {
        Path f = dir.resolve("ckpt.safetensors");
        Rng rng = new Rng(1234, 0);
        rng.advance(99);
        try (Sequential a = model(1); Adam optA = new Adam(a.parameters(), 0.01); Scope _ = Scope.open()) {
            for (Parameter p : a.parameters()) p.accumulate(be.full(p.shape(), 0.5));
            optA.step();
            optA.setLr(0.003);
            Checkpoint.save(f, a, optA, rng, Map.of("model", "vae", "epochs", "5"));

            Checkpoint.Info peek = Checkpoint.peek(f);
            assertEquals(Map.of("model", "vae", "epochs", "5"), peek.config());
            assertEquals(Checkpoint.FORMAT_VERSION, peek.formatVersion());
            assertEquals("adam", peek.optimizerKind());

            try (Sequential b = model(2); Adam optB = new Adam(b.parameters(), 0.01)) {
                Checkpoint.Info info = Checkpoint.load(f, b, optB);
                for (var e : a.stateDict().entrySet()) assertArrayEquals(e.getValue().toFloats(), b.stateDict().get(e.getKey()).toFloats(), e.getKey());
                for (var e : optA.state().entrySet()) assertArrayEquals(e.getValue().toFloats(), optB.state().get(e.getKey()).toFloats(), e.getKey());
                assertArrayEquals(optA.steps(), optB.steps());
                assertEquals(0.003, optB.lr());
                assertEquals(1234, info.rng().seed());
                assertEquals(99, info.rng().counter());
                assertEquals("vae", info.config().get("model"));
            }
            try (Sequential c = model(3); Adamax wrong = new Adamax(c.parameters(), 0.01)) {
                var e = assertThrows(IOException.class, () -> Checkpoint.load(f, c, wrong));
                assertTrue(e.getMessage().contains("holds adam state, the optimizer is adamax"), e.getMessage());
            }
            try (Sequential other = new Sequential(new Linear(be, new Rng(1), 3, 4, true))) {
                var e = assertThrows(IOException.class, () -> Checkpoint.load(f, other, null));
                assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("'0.weight': expected shape [4, 3], found [2, 3]"), e.getMessage());
            }
        }
    }

    @Test void weightsOnlyAndVersionCheck() throws IOException {
        Path f = dir.resolve("weights.safetensors");
        try (Module a = model(1)) {
            Checkpoint.save(f, a, null, null, Map.of());
            Checkpoint.Info info = Checkpoint.peek(f);
            assertNull(info.rng());
            assertNull(info.optimizerKind());
            try (Module b = model(2); Adam opt = new Adam(b.parameters(), 0.1)) {
                var e = assertThrows(IOException.class, () -> Checkpoint.load(f, b, opt));
                assertTrue(e.getMessage().contains("holds no optimizer state"), e.getMessage());
            }
        }
        Path future = dir.resolve("future.safetensors");
        try (Scope _ = Scope.open()) {
            Map<String, Tensor> t = Map.of("model.x", be.full(Shape.of(1), 0));
            Safetensors.write(future, t, Map.of("format", Checkpoint.FORMAT, "format_version", "2"));
            var e = assertThrows(IOException.class, () -> Checkpoint.peek(future));
            assertTrue(e.getMessage().contains("has format version 2, this build reads version 1"), e.getMessage());
            Safetensors.write(future, t, Map.of());
            assertThrows(IOException.class, () -> Checkpoint.peek(future));
        }
    }
}
