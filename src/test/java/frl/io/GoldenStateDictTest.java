package frl.io;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.Rng;
import frl.nn.BatchNorm2d;
import frl.nn.Conv2d;
import frl.nn.Module;
import frl.nn.ReLU;
import frl.nn.Sequential;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Reads the file that bench/pytorch/frl_vae.py wrote with PyTorch and loads its encoder weights into the
 * same module tree built from frl.nn layers: every parameter and running statistic must find its torch
 * name. BatchNorm2d needs the cpu fill op (pointwise branch).
 */
class GoldenStateDictTest {
    private static final Path GOLDEN = Path.of("src/test/resources/golden/vae_tiny.safetensors");

    /** The reference encoder for isize 16, nc 2, ngf 4, nz 3. */
    static final class Encoder extends Module {
        Encoder(Backend be, Rng rng) {
            addModule("main", new Sequential()
                    .add("input-conv", new Conv2d(be, rng, 2, 4, 4, 2, 1, false))
                    .add("input-BN", new BatchNorm2d(be, 4))
                    .add("input-relu", new ReLU())
                    .add("pyramid:4-8:conv", new Conv2d(be, rng, 4, 8, 4, 2, 1, false))
                    .add("pyramid:8:batchnorm", new BatchNorm2d(be, 8))
                    .add("pyramid:8:relu", new ReLU()));
            addModule("conv1", new Conv2d(be, rng, 8, 3, 4, 1, 0, true));
            addModule("conv2", new Conv2d(be, rng, 8, 3, 4, 1, 0, true));
        }
    }

    @Test void torchNamesLoadIntoTheEngineModules() throws IOException {
        try (Safetensors.Contents c = Safetensors.read(GOLDEN); Encoder enc = new Encoder(Backends.cpu(), new Rng(0))) {
            assertEquals("16", c.metadata().get("isize"));
            Map<String, Tensor> encoder = new LinkedHashMap<>();
            c.tensors().forEach((k, t) -> { if (k.startsWith("state.encoder.")) encoder.put(k.substring("state.encoder.".length()), t); });
            enc.loadStateDict(encoder, false);
            Map<String, Tensor> own = enc.stateDict();
            for (String k : own.keySet()) if (!k.endsWith("num_batches_tracked")) assertTrue(encoder.containsKey(k), "torch has no '" + k + "'");
            for (String k : encoder.keySet()) assertTrue(own.containsKey(k), "the engine has no '" + k + "'");
            float[] w = own.get("main.input-conv.weight").toFloats();
            assertEquals(0.0013253508368507028f, w[0]);
            assertEquals(0.0009398310794495046f, w[1]);
            assertArrayEquals(encoder.get("conv2.bias").toFloats(), own.get("conv2.bias").toFloats());
        }
    }
}
