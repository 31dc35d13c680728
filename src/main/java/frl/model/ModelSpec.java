package frl.model;

import frl.backend.Backend;
import frl.backend.Rng;
import frl.freq.FrlInput;
import frl.io.Checkpoint;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
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

    private static int modelChannels(int imageChannels, int hfKernel) { return imageChannels + (hfKernel > 0 ? 1 : 0); }

    public int imageSize() { return model.imageSize(); }

    /** A fresh model of this spec, its weights drawn from rng. */
    public DensityModel build(Backend be, Rng rng) { return model.build(be, rng); }

    public boolean highFrequency() { return hfKernel > 0; }

    public Batches batches() { return new Batches(hfKernel > 0 ? new FrlInput(hfKernel) : null); }

    public Map<String, String> toMap() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("model", model instanceof VaeConfig ? "vae" : "glow");
        m.put("image_size", Integer.toString(model.imageSize()));
        m.put("image_channels", Integer.toString(imageChannels));
        m.put("hf_kernel", Integer.toString(hfKernel));
        switch (model) {
            case VaeConfig c -> {
                m.put("ngf", Integer.toString(c.ngf()));
                m.put("nz", Integer.toString(c.nz()));
            }
            case GlowConfig c -> {
                m.put("hidden", Integer.toString(c.hidden()));
                m.put("depth", Integer.toString(c.depth()));
                m.put("levels", Integer.toString(c.levels()));
            }
        }
        return m;
    }

    public static ModelSpec fromMap(Path source, Map<String, String> m) throws IOException {
        String family = m.get("model");
        String fields = "vae".equals(family) ? "ngf, nz" : "glow".equals(family) ? "hidden, depth, levels" : null;
        if (fields == null) throw new IOException(source + ": model '" + family + "' is not supported (expected vae or glow)");
        try {
            int size = Integer.parseInt(m.get("image_size")), image = Integer.parseInt(m.get("image_channels")), hf = Integer.parseInt(m.get("hf_kernel"));
            ModelConfig c = "vae".equals(family)
                    ? new VaeConfig(size, modelChannels(image, hf), Integer.parseInt(m.get("ngf")), Integer.parseInt(m.get("nz")))
                    : new GlowConfig(size, modelChannels(image, hf), Integer.parseInt(m.get("hidden")), Integer.parseInt(m.get("depth")), Integer.parseInt(m.get("levels")));
            return new ModelSpec(c, image, hf);
        } catch (NumberFormatException | NullPointerException e) {
            throw new IOException(source + ": checkpoint config lacks model fields (image_size, image_channels, hf_kernel, " + fields + "): " + m);
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
