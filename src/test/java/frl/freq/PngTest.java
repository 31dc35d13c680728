package frl.freq;

import static org.junit.jupiter.api.Assertions.*;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class PngTest {
    record Chunk(String type, byte[] data) {}

    /** Splits a PNG file into chunks, checking the signature and every CRC. */
    static List<Chunk> chunks(byte[] png) {
        assertArrayEquals(new byte[] {(byte) 137, 'P', 'N', 'G', 13, 10, 26, 10}, java.util.Arrays.copyOf(png, 8));
        ByteBuffer b = ByteBuffer.wrap(png, 8, png.length - 8);
        List<Chunk> out = new ArrayList<>();
        while (b.hasRemaining()) {
            int len = b.getInt();
            byte[] typeAndData = new byte[4 + len];
            b.get(typeAndData);
            CRC32 crc = new CRC32();
            crc.update(typeAndData);
            assertEquals((int) crc.getValue(), b.getInt(), "CRC");
            out.add(new Chunk(new String(typeAndData, 0, 4, StandardCharsets.US_ASCII), java.util.Arrays.copyOfRange(typeAndData, 4, 4 + len)));
        }
        return out;
    }

    /** The filter type byte of every row. */
    static int[] filters(byte[] png, int rowBytes, int h) throws DataFormatException {
        ByteBuffer z = ByteBuffer.allocate(png.length);
        for (Chunk c : chunks(png)) if (c.type.equals("IDAT")) z.put(c.data);
        Inflater inf = new Inflater();
        inf.setInput(z.array(), 0, z.position());
        byte[] raw = new byte[(rowBytes + 1) * h];
        assertEquals(raw.length, inf.inflate(raw));
        assertTrue(inf.finished());
        inf.end();
        int[] f = new int[h];
        for (int y = 0; y < h; y++) f[y] = raw[y * (rowBytes + 1)];
        return f;
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    @Test
    void imageIoDecodesIdenticalPixels() throws IOException {
        for (int[] s : new int[][] {{1, 1, 1}, {1, 17, 33}, {3, 32, 32}, {3, 5, 1}, {3, 40, 300}}) {
            int c = s[0], h = s[1], w = s[2];
            byte[] chw = random(c * h * w + 3, h * 31L + w);
            byte[] png = Png.encode(chw, 3, c, h, w);
            assertEquals(png.length, Png.size(chw, 3, c, h, w));
            BufferedImage img = ImageIO.read(new ByteArrayInputStream(png));
            assertEquals(w, img.getWidth());
            assertEquals(h, img.getHeight());
            assertEquals(c, img.getRaster().getNumBands());
            for (int ch = 0; ch < c; ch++)
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                        assertEquals(chw[3 + (ch * h + y) * w + x] & 0xff, img.getRaster().getSample(x, y, ch), c + "x" + h + "x" + w);
        }
    }

    @Test
    void chunkLayoutIsIhdrIdatIend() {
        byte[] png = Png.encode(random(3 * 40 * 300, 1), 0, 3, 40, 300);
        List<Chunk> cs = chunks(png);
        assertEquals("IHDR", cs.getFirst().type);
        ByteBuffer ihdr = ByteBuffer.wrap(cs.getFirst().data);
        assertEquals(300, ihdr.getInt());
        assertEquals(40, ihdr.getInt());
        assertArrayEquals(new byte[] {8, 2, 0, 0, 0}, new byte[] {ihdr.get(), ihdr.get(), ihdr.get(), ihdr.get(), ihdr.get()});
        assertEquals("IEND", cs.getLast().type);
        assertEquals(0, cs.getLast().data.length);
        List<Chunk> idat = cs.subList(1, cs.size() - 1);
        assertTrue(idat.size() > 1, "36 KB of noise spans several IDAT chunks");
        for (int i = 0; i < idat.size(); i++) {
            assertEquals("IDAT", idat.get(i).type);
            if (i < idat.size() - 1) assertEquals(8192, idat.get(i).data.length, "libpng's IDAT size");
        }
        assertEquals(0, chunks(Png.encode(new byte[4], 0, 1, 2, 2)).get(0).data[9], "gray is colour type 0");
    }

    /** Expected filter bytes are the ones libpng 1.6 wrote for the same images (through cv2.imencode). */
    @Test
    void rowFiltersFollowLibpngsHeuristic() throws DataFormatException {
        int h = 6, w = 20;
        byte[] stripes = new byte[h * w], plane = new byte[h * w], alternating = new byte[h * w];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                stripes[y * w + x] = (byte) (x * 97 % 256);         // every row the same, rough along the row
                plane[y * w + x] = (byte) (3 * x + 50 * y);         // Sub and Paeth leave 3s; the first byte decides
                alternating[y * w + x] = (byte) (3 * x + y % 2 * 100);
            }
        assertArrayEquals(new int[] {0, 2, 2, 2, 2, 2}, filters(Png.encode(stripes, 0, 1, h, w), w, h),
                "first row None (Up sees zeros there and ties), then Up");
        assertArrayEquals(new int[] {1, 1, 4, 4, 4, 1}, filters(Png.encode(plane, 0, 1, h, w), w, h),
                "row 1: Sub and Paeth tie and the earlier filter wins; rows 2-4: Paeth's first byte is cheaper");
        assertArrayEquals(new int[] {1, 1, 1, 1, 1, 1}, filters(Png.encode(alternating, 0, 1, h, w), w, h));
        assertArrayEquals(new int[] {0, 0, 0, 0, 0, 0}, filters(Png.encode(new byte[h * w], 0, 1, h, w), w, h),
                "all-zero rows cost nothing under every filter: None");
    }

    /** File sizes that cv2.imencode(".png", x, [IMWRITE_PNG_COMPRESSION, 9]) gives (OpenCV 4.6, libpng 1.6, zlib). */
    @Test
    void sizesMatchOpenCvImencode() {
        int[][] cases = {{1, 32, 32, 715}, {3, 32, 32, 1395}, {1, 28, 28, 648}, {3, 45, 37, 2382}, {3, 100, 120, 5672}};
        for (int[] k : cases)
            assertEquals(k[3], Png.size(frl.data.TestFiles.pattern(k[0], k[1], k[2]), 0, k[0], k[1], k[2]),
                    k[0] + "x" + k[1] + "x" + k[2]);
    }

    @Test
    void badArgumentsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> Png.size(new byte[8], 0, 2, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> Png.size(new byte[8], 1, 1, 3, 3));
    }
}
