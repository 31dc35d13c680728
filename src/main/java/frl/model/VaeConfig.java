package frl.model;

/**
 * Shape of the DCGAN VAE: square images of {@code imageSize} (a power of two ≥ 16), {@code channels} input
 * channels (image channels, plus one for the FRL high-frequency channel), base width {@code ngf}, latent size
 * {@code nz}.
 */
public record VaeConfig(int imageSize, int channels, int ngf, int nz) {
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

    /** log2(imageSize): the number of stride-2 stages is this minus 3 (plus the input conv). */
    int depth() { return Integer.numberOfTrailingZeros(imageSize); }
}
