package frl.model;

import frl.backend.Backend;
import frl.backend.Rng;

/**
 * Shape of a PixelCNN++ (Salimans et al. 2017) over square images of {@code imageSize} (a multiple of 4: the
 * network works at three resolutions) with {@code channels} input channels: {@code resnets} gated residual blocks per
 * stage, {@code filters} channels wide, and a logistic mixture of {@code mixtures} components per pixel. The
 * paper's CIFAR-10 model is resnets 5, filters 160, mixtures 10.
 */
public record PixelCnnConfig(int imageSize, int channels, int resnets, int filters, int mixtures) implements ModelConfig {
    public PixelCnnConfig {
        if (channels < 1 || resnets < 1 || filters < 1 || mixtures < 1)
            throw new IllegalArgumentException("PixelCNN++ needs channels, resnets, filters and mixtures ≥ 1; got " + channels + ", " + resnets + ", " + filters + ", " + mixtures);
        if (imageSize < 4 || imageSize % 4 != 0)
            throw new IllegalArgumentException("PixelCNN++ halves the image twice: its side must be a multiple of 4, got " + imageSize);
    }

    /** Output channels of the network: the mixture's parameters per pixel. */
    public int outputChannels() { return LogisticMixture.parameterChannels(channels, mixtures); }

    @Override public long parameterCount() {
        long f = filters, c = channels + 1;   // the input carries a channel of ones
        long u = resnet(f, 6, 0), ul = resnet(f, 4, 1);
        long n = 3L * resnets * (u + ul);                                       // up: u without skip, ul with u
        n += (resnets + 2L * (resnets + 1)) * (resnet(f, 6, 1) + resnet(f, 4, 2));   // down: skips from the up pass
        n += 2 * ((6 * f * f + 2 * f) + (4 * f * f + 2 * f));                   // two stride-2 shifted convolutions per stream
        n += 2 * ((6 * f * f + 2 * f) + (4 * f * f + 2 * f));                   // and two transposed ones back up
        n += (6 * c * f + 2 * f) + (3 * c * f + 2 * f) + (2 * c * f + 2 * f);   // the first convolutions: 2×3, 1×3 and 2×1
        long out = outputChannels();
        return n + out * f + 2 * out;                                           // nin_out
    }

    /** One gated residual block: conv_input (2F → F), an optional nin_skip (2·skips·F → F), conv_out (2F → 2F); k taps each. */
    private static long resnet(long f, int k, int skips) {
        long n = (2 * f * f * k + 2 * f) + (4 * f * f * k + 4 * f);
        return skips > 0 ? n + 2 * skips * f * f + 2 * f : n;
    }

    /**
     * Each parameter with its gradient and Adam's two moments, and per block the activations its backward keeps (about
     * twelve maps of F channels at its resolution) with their gradients. The other activations come on top.
     */
    @Override public long trainingBytesAtLeast(int batch) {
        long pixels = (long) imageSize * imageSize, blocksPixels = 0;
        for (int stage = 0; stage < 3; stage++) blocksPixels += (2L * resnets + 1 + (stage == 0 ? 0 : 1)) * 2 * (pixels >> (2 * stage));
        return 16 * parameterCount() + 2L * 4 * batch * 12L * filters * blocksPixels;
    }

    @Override public PixelCnn build(Backend be, Rng rng) { return new PixelCnn(be, this, rng); }

    @Override public String family() { return "pixelcnn"; }

    /** The shape fields' names in checkpoint configs, in the order the constructor takes them after size and channels. */
    static final java.util.List<String> FIELDS = java.util.List.of("resnets", "filters", "mixtures");

    @Override public java.util.SequencedMap<String, Integer> shape() { return ModelConfig.fields(FIELDS, resnets, filters, mixtures); }

    @Override public String describe() { return "PixelCNN++ resnets " + resnets + ", filters " + filters + ", mixtures " + mixtures; }
}
