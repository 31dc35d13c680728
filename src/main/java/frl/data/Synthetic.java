package frl.data;

import java.util.Arrays;
import java.util.SplittableRandom;

/** OOD sets made on the spot, each fully determined by its arguments and seed (the letters, drawn with AWT, are in {@link Letters}). */
public final class Synthetic {
    private Synthetic() {}

    /**
     * The side a generated set is drawn at before it is resized to the model's like every set: that of the data it
     * stands beside, 28 for gray images (the MNIST family, as the letters) and 32 for color (CIFAR). Uniform noise
     * drawn at 28×28 and resized is smoother than noise drawn at 32×32; the reference's ic on noise (0.024) is
     * matched by the former (0.029 on our 15-epoch models, against 0.292 for the latter).
     */
    public static int side(int channels) { return channels == 1 ? 28 : 32; }

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
