package frl.cli;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.Rng;
import frl.freq.Png;
import frl.io.AtomicFile;
import frl.model.DensityModel;
import frl.model.ModelSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** Draws images from a trained model and writes them as one PNG grid (image channels only). */
@Command(name = "sample", mixinStandardHelpOptions = true, description = "Sample images from a model into a PNG grid.")
final class SampleCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "Checkpoint to sample from (frl train writes one).") Path model;
    @Option(names = "-n", defaultValue = "64", description = "Number of images (laid out in a square grid). Default: ${DEFAULT-VALUE}.") int n;
    @Option(names = "--out", defaultValue = "samples.png", description = "PNG file for the grid. Default: ${DEFAULT-VALUE}.") Path out;
    @Option(names = "--temperature", defaultValue = "1", description = "The latents' spread relative to the prior's (VAE, Glow; Glow's samples are usually shown at 0.7; 0: the priors' means). Default: ${DEFAULT-VALUE}.") double temperature;
    @Mixin RunOptions run;

    @Override public Integer call() throws Exception {
        if (n < 1 || n > 1024) throw new IllegalArgumentException("-n must be in 1..1024, got " + n);
        DensityModel.requireTemperature("--temperature", temperature);   // before the model is loaded
        Backend be = Backends.select(run.device);
        try (ModelSpec.Loaded m = ModelSpec.load(be, model)) {
            m.model().eval();
            byte[] images = m.model().sample(n, temperature, new Rng(run.seed));
            int c = m.spec().model().channels(), keep = m.spec().imageChannels(), s = m.spec().imageSize();
            int cols = (int) Math.ceil(Math.sqrt(n)), rows = (n + cols - 1) / cols, pad = 2;
            int gh = rows * (s + pad) + pad, gw = cols * (s + pad) + pad;
            byte[] grid = new byte[keep * gh * gw];
            for (int i = 0; i < n; i++) {
                int oy = pad + i / cols * (s + pad), ox = pad + i % cols * (s + pad);
                for (int ch = 0; ch < keep; ch++)
                    for (int y = 0; y < s; y++)
                        System.arraycopy(images, ((i * c + ch) * s + y) * s, grid, (ch * gh + oy + y) * gw + ox, s);
            }
            AtomicFile.write(out, Png.encode(grid, 0, keep, gh, gw));
            System.out.println("wrote " + n + " samples to " + out);
        }
        return 0;
    }
}
