package frl.freq;

import frl.data.ImageSet;
import java.util.stream.IntStream;

/**
 * Input complexity L(x): the size in bits of the PNG file (compression level 9, see {@link Png}) of the
 * image's 8-bit channels — the whole file, headers included, as len(cv2.imencode(".png", x)) · 8.
 * The FRL score subtracts it from the NLL. Thread-safe.
 */
public final class Complexity {
    private Complexity() {}

    /** L(x) of one image, CHW bytes at off. */
    public static long bits(byte[] chw, int off, int c, int h, int w) { return 8L * Png.size(chw, off, c, h, w); }

    /** L(x) of every image of a set, computed in parallel. */
    public static long[] bits(ImageSet set) {
        long[] out = new long[set.size()];
        IntStream.range(0, set.size()).parallel().forEach(i ->
                out[i] = bits(set.image(i), 0, set.channels(), set.height(), set.width()));
        return out;
    }
}
