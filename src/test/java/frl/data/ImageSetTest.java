package frl.data;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;

class ImageSetTest {
    private static ImageSet set(String name, int n, int[] labels) {
        byte[] px = new byte[n * 2 * 2 * 3];
        for (int i = 0; i < px.length; i++) px[i] = (byte) (i + 250);
        return new ImageSet(name, n, 2, 2, 3, px, labels);
    }

    @Test
    void indexingIsChw() {
        ImageSet s = set("s", 2, null);
        assertEquals(12, s.imageBytes());
        // image 1, channel 1, row 0, column 2: byte 12 + 6 + 2 = 20
        assertEquals((20 + 250) & 0xff, s.pixel(1, 1, 0, 2));
        float[] f = new float[24];
        s.toFloats(0, 2, f, 0);
        assertEquals(250 / 255f, f[0]);
        assertEquals(((23 + 250) & 0xff) / 255f, f[23]);
        assertThrows(IndexOutOfBoundsException.class, () -> s.pixel(2, 0, 0, 0));
        assertThrows(IllegalStateException.class, () -> s.label(0));
    }

    @Test
    void sliceConcatAndMapKeepLabels() {
        ImageSet a = set("a", 3, new int[] {1, 2, 3}), b = set("b", 2, new int[] {4, 5});
        ImageSet ab = ImageSet.concat("ab", List.of(a, b));
        assertEquals(5, ab.size());
        assertArrayEquals(new int[] {1, 2, 3, 4, 5}, ab.labels());
        assertArrayEquals(b.image(1), ab.image(4));
        ImageSet mid = ab.slice(2, 4);
        assertArrayEquals(new int[] {3, 4}, mid.labels());
        assertArrayEquals(a.image(2), mid.image(0));
        assertNull(ImageSet.concat("x", List.of(a, set("u", 1, null))).labels(), "labels only when all have them");
        ImageSet firstPixel = ab.map(1, 1, 1, (src, so, dst, d) -> dst[d] = src[so]);
        assertEquals(ab.pixel(3, 0, 0, 0), firstPixel.pixel(3, 0, 0, 0));
        assertEquals(4, firstPixel.label(3));
    }

    @Test
    void badShapesAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new ImageSet("s", 2, 1, 2, 2, new byte[7], null));
        assertEquals("ImageSet s: expected 8 pixel bytes for 2x1x2x2, found 7", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ImageSet("s", 2, 1, 2, 2, new byte[8], new int[3]));
        assertThrows(IllegalArgumentException.class, () -> ImageSet.concat("c", List.of(set("a", 1, null), new ImageSet("b", 1, 1, 2, 3, new byte[6], null))));
    }
}
