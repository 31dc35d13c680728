package frl;

import frl.backend.Backends;
import frl.backend.Rng;
import frl.data.ImageSet;
import frl.data.Synthetic;
import frl.model.DensityModel;
import frl.model.ModelSpec;
import frl.model.TrainConfig;
import frl.model.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.ToolProvider;
import java.lang.reflect.Method;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The library example in README.md, compiled and run as it stands there, against a tiny model trained here;
 * plus the detector's promises: several threads at once get the same scores, parts scored apart the whole's, and bad
 * input is named.
 */
class ReadmeSnippetTest {
    private static final String MARK = "<!-- detector-example -->";

    static String snippet() throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        int at = readme.indexOf(MARK);
        assertTrue(at >= 0, "README.md lost its " + MARK + " marker");
        int start = readme.indexOf("```java\n", at) + 8, end = readme.indexOf("```", start);
        return readme.substring(start, end);
    }

    static Path tinyCheckpoint(Path dir) throws Exception {
        ModelSpec spec = ModelSpec.of(1, 5, 4, 8);
        Path ckpt = dir.resolve("frl-vae.safetensors");
        try (DensityModel vae = spec.build(Backends.cpu(), new Rng(2));
             Trainer t = new Trainer(Backends.cpu(), vae, spec.batches(), new TrainConfig(1, 16, 1e-3, 0, 1, 0.5, 1, true, 2, 32, 0), spec.toMap())) {
            t.run(Synthetic.constant(64, 1, 32, 32, 4), ckpt, p -> {});
        }
        return ckpt;
    }

    @Test void readmeExampleCompilesAndRuns(@TempDir Path dir) throws Exception {
        Path ckpt = tinyCheckpoint(dir);
        String source = "import frl.Detector;\nimport java.nio.file.Path;\npublic class Example {\n"
                + "  public static boolean[] run(Path checkpoint, byte[] inDist, byte[] images) throws Exception {\n"
                + snippet() + "  }\n}\n";
        Path src = dir.resolve("Example.java");
        Files.writeString(src, source);
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        int rc = ToolProvider.getSystemJavaCompiler().run(null, null, null, "-cp", cp, "-d", dir.toString(), src.toString());
        assertEquals(0, rc, "the README example does not compile:\n" + source);
        ImageSet in = Synthetic.constant(20, 1, 28, 28, 5), ood = Synthetic.noise(3, 1, 28, 28, 6);
        try (URLClassLoader loader = new URLClassLoader(new java.net.URL[] {dir.toUri().toURL()}, getClass().getClassLoader())) {
            Method run = loader.loadClass("Example").getMethod("run", Path.class, byte[].class, byte[].class);
            boolean[] flagged = (boolean[]) run.invoke(null, ckpt, pixels(in), pixels(ood));
            assertEquals(3, flagged.length);
        }
    }

    @Test void scoresAreTheSameFromSeveralThreads(@TempDir Path dir) throws Exception {
        Path ckpt = tinyCheckpoint(dir);
        byte[] images = pixels(Synthetic.noise(4, 1, 28, 28, 7));
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try (Detector d = Detector.load(ckpt, new Detector.Options(4, 1, "cpu", 1))) {
            double[] first = d.score(images, 4, 28, 28).score();
            java.util.List<Future<double[]>> fs = new java.util.ArrayList<>();
            for (int i = 0; i < 3; i++) fs.add(pool.submit(() -> d.score(images, 4, 28, 28).score()));
            for (Future<double[]> f : fs) org.junit.jupiter.api.Assertions.assertArrayEquals(first, f.get());
        } finally {
            pool.shutdown();
        }
    }

    @Test void partsScoredApartGiveTheWholesScores(@TempDir Path dir) throws Exception {
        byte[] images = pixels(Synthetic.noise(10, 1, 28, 28, 8));
        try (Detector d = Detector.load(tinyCheckpoint(dir), new Detector.Options(3, 1, "cpu", 1))) {
            double[] whole = d.score(images, 10, 28, 28).nll();
            int cut = 4 * 28 * 28;
            double[] head = d.score(java.util.Arrays.copyOfRange(images, 0, cut), 4, 28, 28, 0, 10).nll();
            double[] tail = d.score(java.util.Arrays.copyOfRange(images, cut, images.length), 6, 28, 28, 4, 10).nll();
            double[] alone = d.score(java.util.Arrays.copyOfRange(images, cut, images.length), 6, 28, 28).nll();
            double moved = 0;
            for (int i = 0; i < 10; i++) {
                assertEquals(whole[i], i < 4 ? head[i] : tail[i - 4], 1e-3, "image " + i + ": its noise is the whole set's");
                if (i >= 4) moved = Math.max(moved, Math.abs(whole[i] - alone[i - 4]));
            }
            assertTrue(moved > 1e-2, "scored as a set of its own, the tail takes other noise (" + moved + " nats apart at most)");
            Exception e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> d.score(images, 10, 28, 28, 5, 10));
            assertTrue(e.getMessage().contains("images 5..15 are not within a set of 10"), e.getMessage());
        }
    }

    /**
     * PNG files and the same files' bytes score as frl score scores their folder (the same reading, noise and chunks),
     * and as their pixels given raw; an image that cannot be read is named.
     */
    @Test void filesAndEncodedImagesScoreAsFrlScoreReadsThem(@TempDir Path dir) throws Exception {
        Path ckpt = tinyCheckpoint(dir), images = Files.createDirectories(dir.resolve("imgs"));
        ImageSet drawn = Synthetic.noise(5, 1, 28, 28, 9);
        java.util.List<Path> files = new java.util.ArrayList<>();
        java.util.List<byte[]> encoded = new java.util.ArrayList<>();
        for (int i = 0; i < drawn.size(); i++) {
            java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(28, 28, java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
            img.getRaster().setDataElements(0, 0, 28, 28, drawn.image(i));
            Path f = images.resolve("img" + i + ".png");
            javax.imageio.ImageIO.write(img, "png", f.toFile());
            files.add(f);
            encoded.add(Files.readAllBytes(f));
        }
        Path csv = dir.resolve("scores.csv");
        assertEquals(0, frl.cli.Main.run("score", "--model", ckpt.toString(), "--data", images.toString(), "-k", "3", "--out", csv.toString(), "--device", "cpu"));
        java.util.List<String> rows = Files.readAllLines(csv);
        try (Detector d = Detector.load(ckpt, new Detector.Options(3, 1, "cpu", 1))) {
            Detector.Scores fromFiles = d.scoreFiles(files), fromBytes = d.scoreEncoded(encoded), fromPixels = d.score(pixels(drawn), 5, 28, 28);
            org.junit.jupiter.api.Assertions.assertArrayEquals(fromPixels.score(), fromFiles.score(), 0.0, "the files' pixels, resized alike");
            org.junit.jupiter.api.Assertions.assertArrayEquals(fromFiles.score(), fromBytes.score(), 0.0, "bytes in memory as the files");
            for (int i = 0; i < 5; i++) {
                String[] row = rows.get(i + 1).split(",");
                assertEquals("img" + i + ".png", row[1]);
                assertEquals(Double.parseDouble(row[4]), fromFiles.score()[i], 1e-4, "image " + i + ": frl score's score (4 decimals)");
            }
            Exception e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> d.scoreEncoded(java.util.List.of(encoded.get(0), new byte[] {1, 2, 3})));
            assertTrue(e.getMessage().contains("request image 1: expected a PNG or JPEG image"), e.getMessage());
        }
    }

    /** A threshold calibrated on scores at hand, or set from before, flags the same images. */
    @Test void aThresholdIsCalibratedOnScoresOrSetFromBefore(@TempDir Path dir) throws Exception {
        try (Detector d = Detector.load(tinyCheckpoint(dir), new Detector.Options(2, 1, "cpu", 1))) {
            Detector.Scores in = d.score(pixels(Synthetic.constant(20, 1, 28, 28, 5)), 20, 28, 28);
            Detector.Scores mixed = d.score(pixels(Synthetic.noise(4, 1, 28, 28, 6)), 4, 28, 28);
            double t = d.calibrate(in, 0.9);
            double[] sorted = in.score().clone();
            java.util.Arrays.sort(sorted);
            assertEquals(sorted[17], t, 0.0, "18 of 20 accepted at TPR 0.9");
            boolean[] flagged = d.isOutOfDistribution(mixed);
            try (Detector later = Detector.load(tinyCheckpoint(dir.resolve("again")), new Detector.Options(2, 1, "cpu", 1))) {
                Exception e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> later.isOutOfDistribution(mixed));
                assertTrue(e.getMessage().contains("calibrate the detector"), e.getMessage());
                later.setThreshold(t);
                org.junit.jupiter.api.Assertions.assertArrayEquals(flagged, later.isOutOfDistribution(mixed));
                e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> later.setThreshold(Double.NaN));
                assertTrue(e.getMessage().contains("a threshold is a finite score, got NaN"), e.getMessage());
            }
        }
    }

    @Test void wrongPixelCountIsNamed(@TempDir Path dir) throws Exception {
        try (Detector d = Detector.load(tinyCheckpoint(dir), new Detector.Options(2, 1, "cpu", 1))) {
            Exception e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> d.score(new byte[100], 1, 28, 28));
            assertTrue(e.getMessage().contains("784"), e.getMessage());
        }
    }

    private static byte[] pixels(ImageSet s) {
        byte[] b = new byte[s.size() * s.imageBytes()];
        s.copyImages(0, s.size(), b, 0);
        return b;
    }
}
