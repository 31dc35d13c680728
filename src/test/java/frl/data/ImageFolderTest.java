package frl.data;

import static org.junit.jupiter.api.Assertions.*;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageFolderTest {
    @TempDir Path dir;

    private static void gray(Path f, int h, int w, int seed) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.getRaster().setSample(x, y, 0, (x * 40 + y * 7 + seed) % 256);
        Files.createDirectories(f.getParent());
        ImageIO.write(img, "png", f.toFile());
    }

    private static void rgb(Path f, int h, int w, String format) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, (x * 50) << 16 | (y * 60) << 8 | 33 /* x < 5, y < 4 */);
        Files.createDirectories(f.getParent());
        ImageIO.write(img, format, f.toFile());
    }

    @Test
    void grayPngsKeepTheirExactBytesAndSubfoldersGiveLabels() throws IOException {
        gray(dir.resolve("cats/b.png"), 3, 4, 1);
        gray(dir.resolve("cats/a.png"), 3, 4, 2);
        gray(dir.resolve("ants/z.PNG"), 3, 4, 3);
        Files.writeString(dir.resolve("ants/readme.txt"), "not an image");
        ImageSet s = ImageFolder.read("f", dir, 0, 0, 0);
        assertEquals(3, s.size());
        assertEquals(1, s.channels());
        assertArrayEquals(new int[] {0, 1, 1}, s.labels(), "ants = 0, cats = 1, files in path order");
        assertEquals((2 * 40 + 1 * 7 + 3) % 256, s.pixel(0, 0, 1, 2), "ants/z.PNG first, raw gray sample");
        assertEquals((3 * 40 + 2 * 7 + 2) % 256, s.pixel(1, 0, 2, 3), "cats/a.png");
    }

    @Test
    void rgbPngToGrayOrRgbAndMixedChannelsConvert() throws IOException {
        rgb(dir.resolve("a.png"), 2, 3, "png");
        gray(dir.resolve("b.png"), 2, 3, 9);
        ImageSet c3 = ImageFolder.read("f", dir, 0, 0, 0);
        assertEquals(3, c3.channels(), "taken from the first (RGB) image");
        assertNull(c3.labels(), "files at the top level: no labels");
        assertEquals(100, c3.pixel(0, 0, 1, 2));
        assertEquals(60, c3.pixel(0, 1, 1, 2));
        assertEquals(33, c3.pixel(0, 2, 1, 2));
        int g = (40 + 7 + 9) % 256;
        for (int c = 0; c < 3; c++) assertEquals(g, c3.pixel(1, c, 1, 1), "gray repeated");
        ImageSet c1 = ImageFolder.read("f", dir, 1, 0, 0);
        assertEquals(Transforms.gray((byte) 100, (byte) 60, (byte) 33) & 0xff, c1.pixel(0, 0, 1, 2));
    }

    @Test
    void sizesMustAgreeUnlessASizeIsGiven() throws IOException {
        gray(dir.resolve("a.png"), 28, 28, 0);
        gray(dir.resolve("b.png"), 20, 16, 0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ImageFolder.read("f", dir, 0, 0, 0));
        assertTrue(e.getMessage().contains("b.png: expected a 28x28 image like a.png, found 16x20"), e.getMessage());
        ImageSet s = ImageFolder.read("f", dir, 0, 32, 32);
        assertEquals(32, s.height());
        ImageSet first = new ImageSet("x", 1, 1, 28, 28, readGray(dir.resolve("a.png")), null);
        assertArrayEquals(Transforms.resize(first, 32, 32).image(0), s.image(0), "same Resize as the transforms");
    }

    private static byte[] readGray(Path f) throws IOException {
        BufferedImage img = ImageIO.read(f.toFile());
        byte[] out = new byte[img.getWidth() * img.getHeight()];
        img.getRaster().getDataElements(0, 0, img.getWidth(), img.getHeight(), out);
        return out;
    }

    @Test
    void jpegReadsAndBrokenFilesAreNamed() throws IOException {
        BufferedImage flat = new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 8; y++) for (int x = 0; x < 8; x++) flat.setRGB(x, y, 200 << 16 | 100 << 8 | 33);
        ImageIO.write(flat, "jpg", dir.resolve("a.jpg").toFile());
        ImageSet s = ImageFolder.read("f", dir, 0, 0, 0);
        assertEquals(3, s.channels());
        assertEquals(200, s.pixel(0, 0, 4, 1), 3, "a flat colour survives JPEG nearly exactly");
        assertEquals(100, s.pixel(0, 1, 4, 1), 3);
        assertEquals(33, s.pixel(0, 2, 4, 1), 3);
        Files.write(dir.resolve("b.png"), new byte[] {1, 2, 3});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ImageFolder.read("f", dir, 0, 0, 0));
        assertTrue(e.getMessage().contains("b.png"), e.getMessage());
        Path empty = Files.createDirectories(dir.resolve("empty"));
        e = assertThrows(IllegalArgumentException.class, () -> ImageFolder.read("f", empty, 0, 0, 0));
        assertTrue(e.getMessage().contains("expected PNG or JPEG files, found none"), e.getMessage());
    }

    @Test
    void manyFilesDecodeOnAllCoresEachIntoItsPlaceAndTheFirstBrokenOneIsNamed() throws IOException {
        int n = 300;
        for (int i = 0; i < n; i++) gray(dir.resolve(String.format("%04d.png", i)), 5, 6, i);
        ImageSet s = ImageFolder.read("f", dir, 0, 0, 0);
        for (int i = 0; i < n; i++) assertEquals((4 * 40 + 3 * 7 + i) % 256, s.pixel(i, 0, 3, 4), "image " + i);
        gray(dir.resolve("0251.png"), 7, 6, 0);              // a size that differs, after the broken file below
        Files.write(dir.resolve("0173.png"), new byte[] {1, 2, 3});
        Files.write(dir.resolve("0290.png"), new byte[] {4, 5});
        for (int round = 0; round < 5; round++) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ImageFolder.read("f", dir, 0, 0, 0));
            assertTrue(e.getMessage().contains("0173.png"), "the first broken file in path order: " + e.getMessage());
        }
        Files.delete(dir.resolve("0173.png"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ImageFolder.read("f", dir, 0, 0, 0));
        assertTrue(e.getMessage().contains("0251.png: expected a 6x5 image like 0000.png, found 6x7"), e.getMessage());
    }

    @Test void imagesInMemoryReadAsTheirFilesAndAreNamedByIndex() throws IOException {
        gray(dir.resolve("a.png"), 3, 4, 1);
        gray(dir.resolve("b.png"), 3, 4, 2);
        rgb(dir.resolve("c.png"), 2, 3, "png");
        List<Path> files = List.of(dir.resolve("a.png"), dir.resolve("b.png"));
        List<byte[]> bytes = List.of(Files.readAllBytes(files.get(0)), Files.readAllBytes(files.get(1)));
        ImageSet fromFiles = ImageFolder.readFiles("f", files, 0, 0, 0), inMemory = ImageFolder.readEncoded("m", bytes, 0, 0, 0);
        assertEquals(1, inMemory.channels());
        for (int i = 0; i < 2; i++) assertArrayEquals(fromFiles.image(i), inMemory.image(i), "image " + i);
        List<byte[]> mixed = List.of(bytes.get(0), Files.readAllBytes(dir.resolve("c.png")));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ImageFolder.readEncoded("req", mixed, 0, 0, 0));
        assertEquals("req image 1: expected a 4x3 image like image 0, found 3x2 (give a size to resize every image)", e.getMessage());
        assertEquals(3, ImageFolder.readEncoded("req", mixed, 3, 8, 8).channels(), "resized, gray repeated");
        e = assertThrows(IllegalArgumentException.class, () -> ImageFolder.readEncoded("req", List.of(bytes.get(0), new byte[] {7}), 0, 0, 0));
        assertTrue(e.getMessage().startsWith("req image 1: expected a PNG or JPEG image"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ImageFolder.readEncoded("req", List.of(), 0, 0, 0));
        assertEquals("req: no images to read", e.getMessage());
    }
}
