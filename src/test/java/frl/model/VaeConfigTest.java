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

    /** CIFAR FRL: ANCHORS.md's 4.82 M parameters; 16 bytes each (weight, gradient, Adam's two moments) + 2 × 268 MB of logits. */
    @Test void trainingNeedsTheParametersFourTimesOverAndTheLogitsTwice() {
        VaeConfig cifar = VaeConfig.cifar(4);
        assertEquals(4_823_184, cifar.parameterCount());
        assertEquals(77_170_944L + 536_870_912L, cifar.trainingBytesAtLeast(64));
    }
}
