package frl.data;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The generated sets: drawn at their family's side (28 gray, 32 color), then brought to the model's size like every set. */
class SourcesTest {
    private static final Sources SOURCES = new Sources(DataCache.fromEnvironment(m -> {}), 11);

    @Test void grayNoiseIsDrawnAt28AndResized() {
        ImageSet got = SOURCES.load("noise:6", 1);
        assertEquals(6, got.size());
        assertEquals(Transforms.MODEL_SIZE, got.height());
        ImageSet drawn = Synthetic.noise(6, 1, 28, 28, 11);
        assertArrayEquals(Transforms.toModelSize(drawn).image(4), got.image(4));
        // bilinear upsampling smooths it: neighbours differ less than independent bytes do (85 on average)
        long diff = 0;
        for (int y = 0; y < 32; y++) for (int x = 0; x + 1 < 32; x++) diff += Math.abs(got.pixel(0, 0, y, x) - got.pixel(0, 0, y, x + 1));
        assertTrue(diff / (32.0 * 31) < 70, "mean neighbour difference " + diff / (32.0 * 31));
    }

    @Test void colorNoiseIsDrawnAtTheModelsSize() {
        assertArrayEquals(Synthetic.noise(3, 3, 32, 32, 11).image(2), SOURCES.load("noise:3", 3).image(2));
    }

    @Test void constantImagesStayConstantThroughTheResize() {
        ImageSet s = SOURCES.load("constant@5", 1);
        assertEquals(5, s.size());
        for (int i = 0; i < s.size(); i++) {
            int v = s.pixel(i, 0, 0, 0);
            for (int y = 0; y < 32; y++) for (int x = 0; x < 32; x++) assertEquals(v, s.pixel(i, 0, y, x), "image " + i);
        }
        assertFalse(s.pixel(0, 0, 0, 0) == s.pixel(1, 0, 0, 0) && s.pixel(1, 0, 0, 0) == s.pixel(2, 0, 0, 0), "drawn, not one value");
    }

    @Test void namesThatWouldReadSomethingElseAreRefused() {
        for (String[] c : new String[][] {
                {"", "data set '': an empty name"},
                {" ", "data set ' ': an empty name"},
                {"mnist:foo", "data set 'mnist:foo': mnist takes no ':foo'"},
                {"letters:xyz@5", "data set 'letters:xyz': letters takes no ':xyz'"}}) {
            var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> SOURCES.load(c[0], 1));
            assertTrue(e.getMessage().startsWith(c[1]), e.getMessage());
        }
    }

    /** path@N reads an IDX file's first N images only: a file whose header promises more than it holds still gives them. */
    @Test void anIdxPathWithALimitIsReadNoFurther(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        byte[] px = new byte[3 * 28 * 28];
        for (int i = 0; i < px.length; i++) px[i] = (byte) i;
        java.nio.file.Path f = dir.resolve("short.idx");
        TestFiles.write(f, TestFiles.idxImages(100_000, 28, 28, px));
        assertEquals(2, SOURCES.load(f + "@2", 1).size());
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> SOURCES.load(f.toString(), 1));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
    }

    /** The engine's own set names win over a folder of that name; an existing path with '@' in it is a path. */
    @Test void builtInNamesWinAndPathsMayHoldAnAt(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path noise = java.nio.file.Files.createDirectories(dir.resolve("noise"));
        javax.imageio.ImageIO.write(new java.awt.image.BufferedImage(4, 4, java.awt.image.BufferedImage.TYPE_BYTE_GRAY), "png", noise.resolve("a.png").toFile());
        java.nio.file.Path at = java.nio.file.Files.createDirectories(dir.resolve("u@corp"));
        javax.imageio.ImageIO.write(new java.awt.image.BufferedImage(4, 4, java.awt.image.BufferedImage.TYPE_BYTE_GRAY), "png", at.resolve("b.png").toFile());
        String cwd = System.getProperty("user.dir");
        assertTrue(SOURCES.imageFolder("noise").isEmpty(), "noise is generated, whatever folder the working directory holds");
        assertEquals(1, SOURCES.imageFolder(at.toString()).orElseThrow().files().size());
        assertEquals(1, SOURCES.load(at.toString(), 1).size());
        assertEquals(1, SOURCES.imageFolder(at + "@1").orElseThrow().files().size());
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> SOURCES.load(dir.resolve("x@y").toString(), 1));
        assertTrue(e.getMessage().contains("'y' is not a positive image count (and no file or folder"), e.getMessage());
        assertEquals(cwd, System.getProperty("user.dir"));
    }
}
