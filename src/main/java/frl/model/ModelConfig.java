package frl.model;

import frl.backend.Backend;
import frl.backend.Rng;

/** The shape of a density model: what its checkpoint config names, and what its training needs at least. */
public sealed interface ModelConfig permits VaeConfig, GlowConfig, PixelCnnConfig {
    /** Square images of this side. */
    int imageSize();

    /** Input channels: the image channels, plus one for the FRL high-frequency channel. */
    int channels();

    /** The trained parameters of the model this config builds. */
    long parameterCount();

    /** A floor on the memory a training step at this batch needs, in bytes. */
    long trainingBytesAtLeast(int batch);

    /** The family's name in a checkpoint's config: vae, glow or pixelcnn. */
    String family();

    /** The family's own shape fields by their checkpoint names, in order (ngf, nz for a VAE). */
    java.util.SequencedMap<String, Integer> shape();

    /** A fresh model of this shape, its weights drawn from rng. */
    DensityModel build(Backend be, Rng rng);

    /** The model's family and size in a few words, for messages ("VAE ngf 32, nz 200"). */
    String describe();

    /** names[i] → values[i], in order. */
    static java.util.SequencedMap<String, Integer> fields(java.util.List<String> names, int... values) {
        java.util.SequencedMap<String, Integer> m = new java.util.LinkedHashMap<>();
        for (int i = 0; i < values.length; i++) m.put(names.get(i), values[i]);
        return m;
    }
}
