package frl.data;

import java.util.Arrays;
import java.util.SplittableRandom;

/** OOD sets made on the spot, each fully determined by its arguments and seed (the letters, drawn with AWT, are in {@link Letters}). */
public final class Synthetic {
    private Synthetic() {}

    /** Every byte i.i.d. uniform on 0..255. */
    public static ImageSet noise(int n, int c, int h, int w, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        byte[] px = new byte[ImageSet.checkedSize("noise", n, c, h, w)];
        for (int i = 0; i < px.length; i++) px[i] = (byte) rng.nextInt(256);
        return new ImageSet("noise", n, c, h, w, px, null);
    }

    /** Each image one uniform random byte per channel, broadcast over the plane. */
    public static ImageSet constant(int n, int c, int h, int w, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        byte[] px = new byte[ImageSet.checkedSize("constant", n, c, h, w)];
        for (int p = 0; p < n * c; p++) Arrays.fill(px, p * h * w, (p + 1) * h * w, (byte) rng.nextInt(256));
        return new ImageSet("constant", n, c, h, w, px, null);
    }
}
