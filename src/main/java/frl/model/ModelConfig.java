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

    /** The names of a family's shape fields, in the order {@link #of} takes their values; null for no such family. */
    static java.util.List<String> fieldsOf(String family) {
        return switch (family == null ? "" : family) {
            case "vae" -> VaeConfig.FIELDS;
            case "glow" -> GlowConfig.FIELDS;
            case "pixelcnn" -> PixelCnnConfig.FIELDS;
            default -> null;
        };
    }

    /** A family's config from its shape fields' values, in {@link #fieldsOf}'s order. */
    static ModelConfig of(String family, int imageSize, int channels, int... shape) {
        return switch (family) {
            case "vae" -> new VaeConfig(imageSize, channels, shape[0], shape[1]);
            case "glow" -> new GlowConfig(imageSize, channels, shape[0], shape[1], shape[2]);
            case "pixelcnn" -> new PixelCnnConfig(imageSize, channels, shape[0], shape[1], shape[2]);
            default -> throw new IllegalArgumentException("no model family '" + family + "' (vae, glow or pixelcnn)");
        };
    }

    /** The values of a family's shape fields taken by name from {@code values} (which may hold other families' too). */
    static int[] shapeOf(String family, java.util.Map<String, Integer> values) {
        return fieldsOf(family).stream().mapToInt(values::get).toArray();
    }

    /** names[i] → values[i], in order. */
    static java.util.SequencedMap<String, Integer> fields(java.util.List<String> names, int... values) {
        java.util.SequencedMap<String, Integer> m = new java.util.LinkedHashMap<>();
        for (int i = 0; i < values.length; i++) m.put(names.get(i), values[i]);
        return m;
    }
}
