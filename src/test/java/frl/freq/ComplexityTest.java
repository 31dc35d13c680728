package frl.freq;

import static org.junit.jupiter.api.Assertions.*;

import frl.data.ImageSet;
import frl.data.Synthetic;
import org.junit.jupiter.api.Test;

class ComplexityTest {
    @Test
    void noiseCostsFarMoreBitsThanAConstantImage() {
        ImageSet noise = Synthetic.noise(8, 3, 32, 32, 1), flat = Synthetic.constant(8, 3, 32, 32, 1);
        long[] n = Complexity.bits(noise), f = Complexity.bits(flat);
        for (int i = 0; i < 8; i++) {
            assertTrue(n[i] > 8L * 3072, "incompressible noise exceeds its raw size: " + n[i]);
            assertTrue(f[i] < 8L * 150, "a flat image is a few chunk headers and a tiny stream: " + f[i]);
            assertEquals(8L * Png.encode(noise.image(i), 0, 3, 32, 32).length, n[i], "L(x) is the whole file in bits");
        }
    }

    @Test
    void parallelSetMatchesOneByOne() {
        ImageSet s = Synthetic.noise(64, 1, 28, 28, 9);
        long[] all = Complexity.bits(s);
        for (int i = 0; i < s.size(); i++) assertEquals(Complexity.bits(s.image(i), 0, 1, 28, 28), all[i]);
    }
}
