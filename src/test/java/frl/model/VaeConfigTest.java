package frl.model;

import frl.backend.Backends;
import frl.backend.Rng;
import frl.nn.Parameter;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class VaeConfigTest {
    /** The count the memory check uses, against the parameters a built VAE holds: tiny, FashionMNIST, CIFAR, 64 px. */
    @Test void parameterCountIsWhatTheVaeHolds() {
        for (VaeConfig c : new VaeConfig[] {new VaeConfig(16, 2, 4, 3), VaeConfig.fmnist(2), VaeConfig.cifar(4), new VaeConfig(64, 1, 6, 10)}) {
            try (Vae vae = new Vae(Backends.cpu(), c, new Rng(1))) {
                long held = vae.parameters().stream().mapToLong(p -> p.value().numel()).sum();
                assertEquals(held, c.parameterCount(), c.toString());
            }
        }
    }

    @Test void trainingNeedsTheParametersFourTimesOverAndTheLogitsTwice() {
        VaeConfig cifar = VaeConfig.cifar(4);
        assertEquals(16 * cifar.parameterCount() + 8L * 64 * 4 * 256 * 32 * 32, cifar.trainingBytesAtLeast(64));
    }
}
