package frl.data;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxTest {
    @TempDir Path dir;

    private static byte[] pixels(int n) {
        byte[] px = new byte[n * 3 * 2];
        for (int i = 0; i < px.length; i++) px[i] = (byte) (i * 7 + 200);
        return px;
    }

    @Test
    void readsRawAndGzipAlike() {
        byte[] px = pixels(4);
        byte[] images = TestFiles.idxImages(4, 3, 2, px), labels = TestFiles.idxLabels(4, new byte[] {9, 0, 3, 7});
        Path rawI = TestFiles.write(dir.resolve("i"), images), rawL = TestFiles.write(dir.resolve("l"), labels);
        Path gzI = TestFiles.write(dir.resolve("i.gz"), TestFiles.gzip(images)), gzL = TestFiles.write(dir.resolve("l.gz"), TestFiles.gzip(labels));
        for (ImageSet s : new ImageSet[] {Idx.read("t", rawI, rawL), Idx.read("t", gzI, gzL), Idx.read("t", gzI, rawL)}) {
            assertEquals(4, s.size());
            assertEquals(1, s.channels());
            assertEquals(3, s.height());
            assertEquals(2, s.width());
            byte[] all = new byte[px.length];
            s.copyImages(0, 4, all, 0);
            assertArrayEquals(px, all);
            assertArrayEquals(new int[] {9, 0, 3, 7}, s.labels());
            assertEquals(px[6 + 2 * 2 + 1] & 0xff, s.pixel(1, 0, 2, 1));
        }
        assertFalse(Idx.read("t", rawI, null).hasLabels());
    }

    @Test
    void limitReadsOnlyTheFirstImages() {
        byte[] px = pixels(5);
        Path i = TestFiles.write(dir.resolve("i.gz"), TestFiles.gzip(TestFiles.idxImages(5, 3, 2, px)));
        Path l = TestFiles.write(dir.resolve("l"), TestFiles.idxLabels(5, new byte[] {1, 2, 3, 4, 5}));
        ImageSet s = Idx.read("t", i, l, 2);
        assertEquals(2, s.size());
        assertArrayEquals(new int[] {1, 2}, s.labels());
        assertArrayEquals(Arrays.copyOf(px, 12), concat(s));
    }

    private static byte[] concat(ImageSet s) {
        byte[] out = new byte[s.size() * s.imageBytes()];
        s.copyImages(0, s.size(), out, 0);
        return out;
    }

    @Test
    void truncatedFileNamesOffsetAndMissingBytes() {
        byte[] full = TestFiles.idxImages(4, 3, 2, pixels(4));
        Path f = TestFiles.write(dir.resolve("trunc"), Arrays.copyOf(full, full.length - 5));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Idx.read("t", f, null));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("at byte 16"), e.getMessage());
        assertTrue(e.getMessage().contains("expected 24 bytes of 4 images of 3x2, found end of file after 19"), e.getMessage());
        Path g = TestFiles.write(dir.resolve("trunc.gz"), TestFiles.gzip(Arrays.copyOf(full, 10)));
        e = assertThrows(IllegalArgumentException.class, () -> Idx.read("t", g, null));
        assertTrue(e.getMessage().contains("(gunzipped): at byte 8: expected 4 bytes of rows, found end of file after 2"), e.getMessage());
    }

    @Test
    void wrongMagicIsReported() {
        Path labels = TestFiles.write(dir.resolve("l"), TestFiles.idxLabels(2, new byte[] {1, 2}));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Idx.read("t", labels, null));
        assertTrue(e.getMessage().endsWith("at byte 0: expected IDX images magic 0x00000803, found 0x00000801"), e.getMessage());
        Path images = TestFiles.write(dir.resolve("i"), TestFiles.idxImages(2, 3, 2, pixels(2)));
        e = assertThrows(IllegalArgumentException.class, () -> Idx.read("t", images, images));
        assertTrue(e.getMessage().contains("expected IDX labels magic 0x00000801, found 0x00000803"), e.getMessage());
    }

    @Test
    void countMismatchTrailingBytesAndBadDimensionsAreReported() {
        Path images = TestFiles.write(dir.resolve("i"), TestFiles.idxImages(2, 3, 2, pixels(2)));
        Path labels = TestFiles.write(dir.resolve("l"), TestFiles.idxLabels(3, new byte[] {1, 2, 3}));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Idx.read("t", images, labels));
        assertTrue(e.getMessage().contains("expected 2 labels (one per image), found 3"), e.getMessage());

        byte[] extra = Arrays.copyOf(TestFiles.idxImages(2, 3, 2, pixels(2)), 16 + 12 + 1);
        Path trailing = TestFiles.write(dir.resolve("x"), extra);
        e = assertThrows(IllegalArgumentException.class, () -> Idx.read("t", trailing, null));
        assertTrue(e.getMessage().contains("at byte 28: expected end of file after 2 images, found more bytes"), e.getMessage());

        Path missing = dir.resolve("missing.gz");
        e = assertThrows(IllegalArgumentException.class, () -> Idx.read("t", missing, null));
        assertEquals(missing + ": expected a data file, found no such file", e.getMessage());

        Path zeroRows = TestFiles.write(dir.resolve("z"), TestFiles.idxImages(2, 0, 2, new byte[0]));
        e = assertThrows(IllegalArgumentException.class, () -> Idx.read("t", zeroRows, null));
        assertTrue(e.getMessage().contains("at byte 8: expected a positive rows, found 0"), e.getMessage());
    }

    @Test
    void realFashionMnistTestSplit() {
        Path images = DataCache.FASHION_DIR.resolve("t10k-images-idx3-ubyte.gz");
        Path labels = DataCache.FASHION_DIR.resolve("t10k-labels-idx1-ubyte.gz");
        Assumptions.assumeTrue(Files.isRegularFile(images) && Files.isRegularFile(labels),
                "FashionMNIST not installed (apt-get install -y dataset-fashion-mnist)");
        ImageSet s = Idx.read("fashion-mnist-test", images, labels);
        assertEquals(10000, s.size());
        assertEquals(28, s.height());
        int[] perClass = new int[10];
        for (int l : s.labels()) perClass[l]++;
        int[] thousand = new int[10];
        Arrays.fill(thousand, 1000);
        assertArrayEquals(thousand, perClass, "the FashionMNIST test split has 1000 images per class");
        // images are white-on-black: corners are background, the middle has ink
        long corner = 0, centre = 0;
        for (int i = 0; i < s.size(); i++) {
            corner += s.pixel(i, 0, 0, 0);
            centre += s.pixel(i, 0, 14, 14);
        }
        assertTrue(corner < s.size() * 2L && centre > s.size() * 60L, "corner " + corner + " centre " + centre);
    }

    @Test
    void aPngGivenAsIdxIsRecognised() throws Exception {
        Path png = dir.resolve("a1.png");
        javax.imageio.ImageIO.write(new java.awt.image.BufferedImage(4, 4, java.awt.image.BufferedImage.TYPE_BYTE_GRAY), "png", png.toFile());
        var e = assertThrows(IllegalArgumentException.class, () -> Idx.read("a1", png, null));
        assertTrue(e.getMessage().contains("found 0x89504e47 (this looks like a PNG image)"), e.getMessage());
        assertTrue(e.getMessage().contains(png.toString()), e.getMessage());
    }
}
