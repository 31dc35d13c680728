package frl.bench;

import frl.data.ImageFolder;
import frl.data.ImageSet;
import frl.data.Synthetic;
import frl.freq.Complexity;
import frl.freq.Png;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What `frl score` does to a folder besides the model: decode its PNGs (gray 28×28, brought to 32×32, on all cores) and
 * take their complexity (level-9 PNG sizes). Reported in images/s.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class ImageReadBench {
    static final int IMAGES = 2048;

    private Path dir;
    private List<Path> files;
    private ImageSet read;

    @Setup public void setup() throws IOException {
        dir = Files.createTempDirectory("frl-image-read-bench");
        ImageSet drawn = Synthetic.constant(IMAGES, 1, 28, 28, 1);   // flat images, each given a gradient below so its PNG is not trivial
        files = new ArrayList<>();
        for (int i = 0; i < IMAGES; i++) {
            byte[] px = drawn.image(i);
            for (int p = 0; p < px.length; p++) px[p] = (byte) (px[p] + (p % 28) * 3 + (p / 28) * (i % 7));
            Path f = dir.resolve(String.format("%05d.png", i));
            Files.write(f, Png.encode(px, 0, 1, 28, 28));
            files.add(f);
        }
        read = ImageFolder.readFiles("bench", files, 1, 32, 32);
    }

    @TearDown public void close() throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    @Benchmark public ImageSet decode() { return ImageFolder.readFiles("bench", files, 1, 32, 32); }

    @Benchmark public long[] complexity() { return Complexity.bits(read); }

    static String label(org.openjdk.jmh.infra.BenchmarkParams p) {
        return p.getBenchmark().endsWith("decode") ? "read " + IMAGES + " gray 28×28 PNGs to 32×32 (ImageFolder)"
                : "complexity of " + IMAGES + " 32×32 images (level-9 PNG sizes)";
    }
}
