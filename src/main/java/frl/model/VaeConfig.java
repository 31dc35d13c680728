package frl.model;

import frl.backend.Backend;
import frl.backend.Rng;

/**
 * Shape of the DCGAN VAE: square images of {@code imageSize} (a power of two ≥ 16), {@code channels} input
 * channels (image channels, plus one for the FRL high-frequency channel), base width {@code ngf}, latent size
 * {@code nz}.
 */
public record VaeConfig(int imageSize, int channels, int ngf, int nz) implements ModelConfig {
    public VaeConfig {
        if (imageSize < 16 || Integer.bitCount(imageSize) != 1)
            throw new IllegalArgumentException("VAE image size must be a power of two ≥ 16, got " + imageSize);
        if (channels < 1 || ngf < 2 || nz < 1)
            throw new IllegalArgumentException("VAE needs channels ≥ 1, ngf ≥ 2, nz ≥ 1; got " + channels + ", " + ngf + ", " + nz);
    }

    /** FashionMNIST FRL: gray + HF, ngf 32, nz 200, 32×32. */
    public static VaeConfig fmnist(int channels) { return new VaeConfig(32, channels, 32, 200); }

    /** CIFAR-like FRL: RGB + HF, ngf 64, nz 200, 32×32. */
    public static VaeConfig cifar(int channels) { return new VaeConfig(32, channels, 64, 200); }

    /** The trained parameters of the VAE this config builds (Vae's layers: 4×4 kernels, biases on the two heads). */
    @Override public long parameterCount() {
        long n = 16L * channels * ngf + 2L * ngf;                      // encoder: input conv, batch norm
        for (int i = 0; i < depth() - 3; i++) n += 16L * (ngf << i) * (ngf << (i + 1)) + 2L * (ngf << (i + 1));
        n += 2 * (16L * (ngf << (depth() - 3)) * nz + nz);            // the mean and log-variance heads
        long cngf = (long) (ngf / 2) << (depth() - 2);
        n += 16L * nz * cngf + 2 * cngf;                              // decoder: first transposed conv, batch norm
        for (int size = 4; size < imageSize / 2; size *= 2, cngf /= 2) n += 16L * cngf * (cngf / 2) + 2 * (cngf / 2);
        return n + 16L * cngf * channels * 256;                       // the 256-way logits
    }

    /**
     * A floor on the memory a training step at this batch needs, in bytes: each parameter with its gradient and
     * Adam's two moments (float32), and the 256-way logits with their gradient. The other activations come on top.
     */
    @Override public long trainingBytesAtLeast(int batch) {
        return 16 * parameterCount() + 2L * 4 * batch * channels * 256L * imageSize * imageSize;
    }

    @Override public Vae build(Backend be, Rng rng) { return new Vae(be, this, rng); }

    @Override public String family() { return "vae"; }

    /** The shape fields' names in checkpoint configs, in the order the constructor takes them after size and channels. */
    static final java.util.List<String> FIELDS = java.util.List.of("ngf", "nz");

    @Override public java.util.SequencedMap<String, Integer> shape() { return ModelConfig.fields(FIELDS, ngf, nz); }

    @Override public String describe() { return "VAE ngf " + ngf + ", nz " + nz; }

    /** log2(imageSize): the number of stride-2 stages is this minus 3 (plus the input conv). */
    int depth() { return Integer.numberOfTrailingZeros(imageSize); }
}
