package frl.data;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class SyntheticTest {
    @Test
    void noiseIsSeededAndCoversAllBytes() {
        ImageSet a = Synthetic.noise(20, 3, 8, 8, 7), b = Synthetic.noise(20, 3, 8, 8, 7), c = Synthetic.noise(20, 3, 8, 8, 8);
        assertArrayEquals(a.image(5), b.image(5));
        assertFalse(java.util.Arrays.equals(a.image(5), c.image(5)));
        int[] hist = new int[256];
        for (int i = 0; i < a.size(); i++) for (byte v : a.image(i)) hist[v & 0xff]++;
        int n = 20 * 3 * 64, seen = 0;
        long sum = 0;
        for (int v = 0; v < 256; v++) {
            if (hist[v] > 0) seen++;
            sum += (long) v * hist[v];
        }
        assertEquals(256, seen, "3840 uniform draws hit every byte value");
        assertEquals(127.5, sum / (double) n, 4.0);
    }

    @Test
    void constantIsOneValuePerChannel() {
        ImageSet s = Synthetic.constant(50, 3, 4, 5, 1);
        boolean channelsDiffer = false;
        for (int i = 0; i < s.size(); i++)
            for (int c = 0; c < 3; c++) {
                int v = s.pixel(i, c, 0, 0);
                for (int y = 0; y < 4; y++) for (int x = 0; x < 5; x++) assertEquals(v, s.pixel(i, c, y, x));
                channelsDiffer |= v != s.pixel(i, 0, 0, 0);
            }
        assertTrue(channelsDiffer, "each channel draws its own byte");
        assertArrayEquals(s.image(3), Synthetic.constant(50, 3, 4, 5, 1).image(3));
    }
}
