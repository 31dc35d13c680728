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
 * What is needed to rebuild a trained model from its checkpoint: the VAE shape, the number of image channels
 * and the FRL high-pass kernel size (0 = no HF channel, a plain likelihood model).
 */
public record ModelSpec(VaeConfig vae, int imageChannels, int hfKernel) {
    public ModelSpec {
        if (vae.channels() != imageChannels + (hfKernel > 0 ? 1 : 0))
            throw new IllegalArgumentException("model has " + vae.channels() + " input channels, but " + imageChannels
                    + " image channels" + (hfKernel > 0 ? " + 1 HF channel" : ""));
    }

    /** A FashionMNIST-style model (ngf 32) or a CIFAR-style one (ngf 64) for the given image channels. */
    public static ModelSpec of(int imageChannels, int hfKernel, int ngf, int nz) {
        return new ModelSpec(new VaeConfig(32, imageChannels + (hfKernel > 0 ? 1 : 0), ngf, nz), imageChannels, hfKernel);
    }

    public boolean highFrequency() { return hfKernel > 0; }

    public Batches batches() { return new Batches(hfKernel > 0 ? new FrlInput(hfKernel) : null); }

    public Map<String, String> toMap() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("model", "vae");
        m.put("image_size", Integer.toString(vae.imageSize()));
        m.put("image_channels", Integer.toString(imageChannels));
        m.put("hf_kernel", Integer.toString(hfKernel));
        m.put("ngf", Integer.toString(vae.ngf()));
        m.put("nz", Integer.toString(vae.nz()));
        return m;
    }

    public static ModelSpec fromMap(Path source, Map<String, String> m) throws IOException {
        try {
            if (!"vae".equals(m.get("model"))) throw new IOException(source + ": model '" + m.get("model") + "' is not supported (expected vae)");
            int image = Integer.parseInt(m.get("image_channels")), hf = Integer.parseInt(m.get("hf_kernel"));
            VaeConfig c = new VaeConfig(Integer.parseInt(m.get("image_size")), image + (hf > 0 ? 1 : 0),
                    Integer.parseInt(m.get("ngf")), Integer.parseInt(m.get("nz")));
            return new ModelSpec(c, image, hf);
        } catch (NumberFormatException | NullPointerException e) {
            throw new IOException(source + ": checkpoint config lacks model fields (image_size, image_channels, hf_kernel, ngf, nz): " + m);
        }
    }

    /** Rebuilds the model of a checkpoint and loads its weights. */
    public static Loaded load(Backend be, Path checkpoint) throws IOException {
        ModelSpec spec = fromMap(checkpoint, Checkpoint.peek(checkpoint).config());
        Vae vae = new Vae(be, spec.vae(), new Rng(0));
        try {
            Checkpoint.load(checkpoint, vae, null);
        } catch (IOException | RuntimeException e) {
            vae.close();
            throw e;
        }
        return new Loaded(spec, vae);
    }

    public record Loaded(ModelSpec spec, Vae model) implements AutoCloseable {
        @Override public void close() { model.close(); }
    }
}
