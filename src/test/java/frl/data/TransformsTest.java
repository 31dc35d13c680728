package frl.data;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.InputStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class TransformsTest {
    private static ImageSet one(int c, int h, int w, byte[] px) { return new ImageSet("t", 1, c, h, w, px, null); }

    /** Golden outputs written by Pillow 9.4.0 (src/test/resources/frl/data/make_pil_resize.py). */
    @ParameterizedTest
    @CsvSource({"1,28,28,32,32", "3,20,17,32,32", "3,45,37,32,32", "1,28,28,28,32", "1,28,28,32,28", "1,64,50,7,9"})
    void resizeMatchesPillowBilinearBitForBit(int c, int h, int w, int oh, int ow) throws IOException {
        String file = "pil_resize_" + c + "x" + h + "x" + w + "_to_" + oh + "x" + ow + ".bin";
        byte[] expected;
        try (InputStream in = getClass().getResourceAsStream(file)) {
            assertNotNull(in, file);
            expected = in.readAllBytes();
        }
        ImageSet out = Transforms.resize(one(c, h, w, TestFiles.pattern(c, h, w)), oh, ow);
        assertEquals(oh, out.height());
        assertEquals(ow, out.width());
        assertArrayEquals(expected, out.image(0), file);
    }

    @Test
    void modelSizeIsIdentityAt32AndKeepsConstantsConstant() {
        ImageSet s = one(3, 32, 32, TestFiles.pattern(3, 32, 32));
        assertSame(s, Transforms.toModelSize(s));
        byte[] flat = new byte[28 * 28];
        java.util.Arrays.fill(flat, (byte) 200);
        ImageSet up = Transforms.toModelSize(one(1, 28, 28, flat));
        for (byte b : up.image(0)) assertEquals(200, b & 0xff, "renormalised taps keep a flat image flat up to the edges");
    }

    @Test
    void grayscaleIsPillowBt601() {
        byte[] px = {(byte) 255, 0, 10, /* G */ 0, (byte) 255, 20, /* B */ 0, 0, 30};
        ImageSet g = Transforms.grayscale(one(3, 1, 3, px));
        assertEquals(1, g.channels());
        // 0.299·255 = 76.245 -> 76; 0.587·255 = 149.685 -> 150; 0.299·10 + 0.587·20 + 0.114·30 = 18.15 -> 18
        assertArrayEquals(new byte[] {76, (byte) 150, 18}, g.image(0));
        ImageSet back = Transforms.rgb(g);
        assertArrayEquals(new byte[] {76, (byte) 150, 18, 76, (byte) 150, 18, 76, (byte) 150, 18}, back.image(0));
        assertThrows(IllegalArgumentException.class, () -> Transforms.grayscale(one(2, 1, 1, new byte[2])));
    }

    @Test
    void hflipMirrorsEachRowOfEachChannel() {
        byte[] px = {1, 2, 3, 4, 5, 6, /* channel 2 */ 7, 8, 9, 10, 11, 12};
        ImageSet f = Transforms.hflip(new ImageSet("t", 1, 2, 2, 3, px, new int[] {5}));
        assertArrayEquals(new byte[] {3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10}, f.image(0));
        assertEquals(5, f.label(0));
        assertArrayEquals(px, Transforms.hflip(f).image(0));
    }
}
