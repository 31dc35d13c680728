package frl.model;

import frl.backend.Backend;
import frl.backend.Rng;
import frl.data.ImageSet;
import frl.data.Transforms;
import frl.freq.FrlInput;
import frl.tensor.Shape;
import frl.tensor.Tensor;

/**
 * Turns 8-bit images into model tensors: x in [0,1] and the 8-bit class targets, with the FRL high-frequency
 * channel appended when an {@link FrlInput} is given (x_F = [x, x_H]; target floor(255·x_H)).
 */
public final class Batches {
    private final FrlInput frl;

    /** @param frl the HF channel builder, or null for a plain model of the image channels. */
    public Batches(FrlInput frl) { this.frl = frl; }

    public boolean highFrequency() { return frl != null; }

    /** Model input channels for images of {@code imageChannels} channels. */
    public int modelChannels(int imageChannels) { return imageChannels + (frl == null ? 0 : 1); }

    /** Model tensors of one batch. */
    public record Batch(Tensor x, Tensor targets) {}

    /**
     * Images {@code indices} of a set, each mirrored left-right where {@code flip[i]} (flip may be null), then each
     * sub-pixel replaced with probability {@code perturb} by a uniform 8-bit value drawn from {@code rng} (which is
     * not touched when perturb is 0). The HF channel is made from the perturbed image.
     */
    public Batch gather(Backend be, ImageSet set, int[] indices, boolean[] flip, double perturb, Rng rng) {
        int n = indices.length, c = set.channels(), h = set.height(), w = set.width(), size = set.imageBytes();
        byte[] pixels = new byte[n * size];
        for (int i = 0; i < n; i++) {
            if (flip != null && flip[i]) Transforms.mirror(set.image(indices[i]), 0, pixels, i * size, c * h, w);
            else set.copyImages(indices[i], 1, pixels, i * size);
        }
        if (perturb > 0) perturb(pixels, perturb, rng);
        return of(be, new ImageSet(set.name(), n, c, h, w, pixels, null), 0, n);
    }

    /** Images [from, from+n) of a set, as they are. */
    public Batch of(Backend be, ImageSet set, int from, int n) {
        int c = modelChannels(set.channels());
        Shape shape = Shape.of(n, c, set.height(), set.width());
        float[] x, targets;
        if (frl == null) {
            x = new float[n * set.imageBytes()];
            set.toFloats(from, n, x, 0);
            byte[] b = new byte[x.length];
            set.copyImages(from, n, b, 0);
            targets = unsigned(b);
        } else {
            x = frl.floats(set, from, n);
            targets = unsigned(frl.bytes(set, from, n, x));
        }
        return new Batch(be.fromHost(shape, x), be.fromHost(shape, targets));
    }

    /** Ren et al.'s perturbation: two draws per sub-pixel, whether to replace it and its new value. */
    static void perturb(byte[] pixels, double rate, Rng rng) {
        long seed = rng.seed(), base = rng.advance(2L * pixels.length);
        for (int j = 0; j < pixels.length; j++)
            if (Rng.uniform(seed, base + 2L * j) < rate) pixels[j] = (byte) (Rng.bits(seed, base + 2L * j + 1) >>> 56);
    }

    private static float[] unsigned(byte[] b) {
        float[] f = new float[b.length];
        for (int i = 0; i < b.length; i++) f[i] = b[i] & 0xFF;
        return f;
    }
}
