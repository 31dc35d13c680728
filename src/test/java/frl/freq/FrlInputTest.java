package frl.freq;

import static org.junit.jupiter.api.Assertions.*;

import frl.data.ImageSet;
import org.junit.jupiter.api.Test;

class FrlInputTest {
    @Test
    void appendsTheHighFrequencyChannelPerImage() {
        byte[] px = new byte[2 * 9];
        px[4] = (byte) 255;                   // image 0: one bright centre pixel
        java.util.Arrays.fill(px, 9, 18, (byte) 102); // image 1: flat 0.4
        ImageSet s = new ImageSet("t", 2, 1, 3, 3, px, null);
        FrlInput in = new FrlInput(3);

        float[] xf = in.floats(s, 0, 2);
        assertEquals(2 * 2 * 9, xf.length);
        assertEquals(1f, xf[4]);
        assertEquals(0.875f, xf[9 + 4], 1e-7f);            // (1 − 4/16 + 1)/2
        assertEquals(0.46875f, xf[9], 1e-7f);              // corner: (0 − 1/16 + 1)/2
        assertEquals(0.4f, xf[18], 1e-7f);                 // image 1, x channel
        assertEquals((0.4 - 0.5625 * 0.4 + 1) / 2, xf[27], 1e-6);   // image 1, HF corner

        byte[] xb = in.bytes(s, 0, 2);
        assertEquals((byte) 255, xb[4]);
        assertEquals(223, xb[9 + 4] & 0xff);               // floor(255 · 0.875)
        assertEquals(119, xb[9] & 0xff);                   // floor(255 · 0.46875) = floor(119.53)
        assertEquals(111, xb[9 + 1] & 0xff);               // edge: floor(255 · 0.4375)
        assertEquals(102, xb[18] & 0xff);
        assertEquals(127, xb[27 + 4] & 0xff);              // flat interior: x_H = 1/2

        float[] second = in.floats(s, 1, 1);
        assertArrayEquals(java.util.Arrays.copyOfRange(xf, 18, 36), second);
    }

    @Test
    void rejectsShortBuffers() {
        FrlInput in = new FrlInput(3);
        assertThrows(IllegalArgumentException.class, () -> in.build(new float[8], 1, 1, 3, 3, new float[18]));
        assertThrows(IllegalArgumentException.class, () -> in.build(new float[9], 1, 1, 3, 3, new float[17]));
    }
}
