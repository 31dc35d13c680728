package frl.model;

import frl.backend.Backend;
import frl.backend.Rng;

/**
 * Shape of a multi-scale Glow: square images of {@code imageSize} with {@code channels} input channels,
 * {@code levels} levels (each a squeeze, {@code depth} flow steps, then a split except at the last), and coupling
 * networks {@code hidden} channels wide. Glow's CIFAR-10 model is hidden 512, depth 32, levels 3.
 */
public record GlowConfig(int imageSize, int channels, int hidden, int depth, int levels) implements ModelConfig {
    public GlowConfig {
        if (channels < 1 || hidden < 1 || depth < 1 || levels < 1)
            throw new IllegalArgumentException("Glow needs channels, hidden, depth and levels ≥ 1; got " + channels + ", " + hidden + ", " + depth + ", " + levels);
        if (imageSize < 2 || imageSize % (1 << levels) != 0)
            throw new IllegalArgumentException("Glow with " + levels + " levels halves the image " + levels + " times: its side must be a multiple of "
                    + (1 << levels) + ", got " + imageSize);
    }

    /** Channels inside level l (after its squeeze): 4·C at the first, then twice the level before (half is split off). */
    public int levelChannels(int l) { return channels * 4 << l; }

    /** Pixels per channel inside level l: the side halves at each squeeze. */
    int levelPixels(int l) {
        int side = imageSize >> (l + 1);
        return side * side;
    }

    @Override public long parameterCount() {
        long n = 0;
        for (int l = 0; l < levels; l++) {
            long c = levelChannels(l), h = hidden;
            long step = 2 * c + 2 * c * c + c                             // actnorm, the LU factors of the 1×1 conv
                    + 9 * (c / 2) * h + 2 * h + h * h + 2 * h             // coupling: 3×3 conv, actnorm, 1×1 conv, actnorm
                    + 9 * h * c + 2 * c;                                  // its zero-initialised 3×3 conv (weight, bias, scale)
            n += depth * step;
            n += l < levels - 1 ? 9 * (c / 2) * c + 2 * c : 2 * c;           // the split's prior conv, or the top prior (mean, log σ)
        }
        return n;
    }

    /**
     * Each parameter with its gradient and Adam's two moments (float32), and the coupling networks' hidden maps (three
     * per step, kept for the backward) with their gradients. The other activations come on top.
     */
    @Override public long trainingBytesAtLeast(int batch) {
        long maps = 0;
        for (int l = 0; l < levels; l++) maps += (long) depth * 3 * hidden * levelPixels(l);
        return 16 * parameterCount() + 2L * 4 * batch * maps;
    }

    @Override public Glow build(Backend be, Rng rng) { return new Glow(be, this, rng); }

    @Override public String family() { return "glow"; }

    /** The shape fields' names in checkpoint configs, in the order the constructor takes them after size and channels. */
    static final java.util.List<String> FIELDS = java.util.List.of("hidden", "depth", "levels");

    @Override public java.util.SequencedMap<String, Integer> shape() { return ModelConfig.fields(FIELDS, hidden, depth, levels); }

    @Override public String describe() { return "Glow hidden " + hidden + ", depth " + depth + ", levels " + levels; }
}
