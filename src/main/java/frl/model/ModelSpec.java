package frl.model;

import frl.backend.Backend;
import frl.backend.Rng;
import frl.freq.FrlInput;
import frl.io.Checkpoint;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What is needed to rebuild a trained model from its checkpoint: the model's family and shape, the number of image
 * channels and the FRL high-pass kernel size (0 = no HF channel, a plain likelihood model).
 */
public record ModelSpec(ModelConfig model, int imageChannels, int hfKernel) {
    public ModelSpec {
        if (model.channels() != imageChannels + (hfKernel > 0 ? 1 : 0))
            throw new IllegalArgumentException("model has " + model.channels() + " input channels, but " + imageChannels
                    + " image channels" + (hfKernel > 0 ? " + 1 HF channel" : ""));
    }

    /** A 32×32 VAE: FashionMNIST-style (ngf 32) or CIFAR-style (ngf 64) for the given image channels. */
    public static ModelSpec of(int imageChannels, int hfKernel, int ngf, int nz) {
        return new ModelSpec(new VaeConfig(32, modelChannels(imageChannels, hfKernel), ngf, nz), imageChannels, hfKernel);
    }

    /** A 32×32 Glow for the given image channels. */
    public static ModelSpec glow(int imageChannels, int hfKernel, int hidden, int depth, int levels) {
        return new ModelSpec(new GlowConfig(32, modelChannels(imageChannels, hfKernel), hidden, depth, levels), imageChannels, hfKernel);
    }

    /** A 32×32 PixelCNN++ for the given image channels. */
    public static ModelSpec pixelCnn(int imageChannels, int hfKernel, int resnets, int filters, int mixtures) {
        return new ModelSpec(new PixelCnnConfig(32, modelChannels(imageChannels, hfKernel), resnets, filters, mixtures), imageChannels, hfKernel);
    }

    /**
     * A 32×32 model of a family (vae, glow or pixelcnn) for the given image channels, its shape fields taken by name
     * from {@code shape} (which may hold other families' too: the command line's options, say).
     */
    public static ModelSpec of(String family, int imageChannels, int hfKernel, Map<String, Integer> shape) {
        int channels = modelChannels(imageChannels, hfKernel);
        return new ModelSpec(ModelConfig.of(family, 32, channels, ModelConfig.shapeOf(family, shape)), imageChannels, hfKernel);
    }

    private static int modelChannels(int imageChannels, int hfKernel) { return imageChannels + (hfKernel > 0 ? 1 : 0); }

    public int imageSize() { return model.imageSize(); }

    /** A fresh model of this spec, its weights drawn from rng. */
    public DensityModel build(Backend be, Rng rng) { return model.build(be, rng); }

    public boolean highFrequency() { return hfKernel > 0; }

    public Batches batches() { return new Batches(hfKernel > 0 ? new FrlInput(hfKernel) : null); }

    public Map<String, String> toMap() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("model", model.family());
        m.put("image_size", Integer.toString(model.imageSize()));
        m.put("image_channels", Integer.toString(imageChannels));
        m.put("hf_kernel", Integer.toString(hfKernel));
        model.shape().forEach((k, v) -> m.put(k, Integer.toString(v)));
        return m;
    }

    public static ModelSpec fromMap(Path source, Map<String, String> m) throws IOException {
        String family = m.get("model");
        List<String> fields = ModelConfig.fieldsOf(family);
        if (fields == null) throw new IOException(source + ": model '" + family + "' is not supported (expected vae, glow or pixelcnn)");
        try {
            int size = Integer.parseInt(m.get("image_size")), image = Integer.parseInt(m.get("image_channels")), hf = Integer.parseInt(m.get("hf_kernel"));
            int channels = modelChannels(image, hf);
            int[] v = fields.stream().mapToInt(k -> Integer.parseInt(m.get(k))).toArray();
            return new ModelSpec(ModelConfig.of(family, size, channels, v), image, hf);
        } catch (NumberFormatException | NullPointerException e) {
            throw new IOException(source + ": checkpoint config lacks model fields (image_size, image_channels, hf_kernel, " + String.join(", ", fields) + "): " + m);
        } catch (IllegalArgumentException e) {   // fields that no model of the family has
            throw new IOException(source + ": checkpoint config " + m + " describes no model: " + e.getMessage());
        }
    }

    /** Rebuilds the model of a checkpoint and loads its weights. */
    public static Loaded load(Backend be, Path checkpoint) throws IOException {
        ModelSpec spec = fromMap(checkpoint, Checkpoint.peek(checkpoint).config());
        DensityModel model = spec.build(be, new Rng(0));
        try {
            Checkpoint.load(checkpoint, model, null);
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
        return new Loaded(spec, model);
    }

    public record Loaded(ModelSpec spec, DensityModel model) implements AutoCloseable {
        @Override public void close() { model.close(); }
    }
}
