package frl.freq;

import frl.data.ImageSet;

import java.util.stream.IntStream;

/**
 * FRL's model input x_F = [x, x_H]: the C image channels followed by one high-frequency channel, per image
 * [C+1, H, W]. {@link #floats} gives values in [0,1] (x = byte/255); {@link #bytes} gives the 8-bit
 * targets a discrete likelihood is taken over (the image bytes, then floor(255·x_H)).
 */
public final class FrlInput {
    /** Batches at least this large are built in parallel. */
    private static final int PARALLEL_FROM = 16;
    private final HighPass highPass;

    public FrlInput(int kernelSize) { this.highPass = new HighPass(kernelSize); }

    public HighPass highPass() { return highPass; }

    /** x_F of a float batch x [n, c, h, w] in [0,1], written to out [n, c+1, h, w]. */
    public void build(float[] x, int n, int c, int h, int w, float[] out) {
        int in = c * h * w, plane = h * w, outSize = in + plane;
        if (x.length < (long) n * in || out.length < (long) n * outSize)
            throw new IllegalArgumentException("FrlInput: expected x of at least " + (long) n * in + " and out of "
                    + (long) n * outSize + " floats for " + n + "x" + c + "x" + h + "x" + w + ", found " + x.length
                    + " and " + out.length);
        IntStream images = IntStream.range(0, n);
        // images are independent: a training batch (64) or a scoring chunk (256) is spread over the cores
        (n >= PARALLEL_FROM ? images.parallel() : images).forEach(i -> {
            System.arraycopy(x, i * in, out, i * outSize, in);
            highPass.apply(x, i * in, c, h, w, out, i * outSize + in);
        });
    }

    /** x_F of images [from, from+n) of a set, [n, C+1, H, W] in [0,1]. */
    public float[] floats(ImageSet set, int from, int n) {
        int c = set.channels(), h = set.height(), w = set.width();
        float[] x = new float[n * set.imageBytes()];
        set.toFloats(from, n, x, 0);
        float[] out = new float[n * (c + 1) * h * w];
        build(x, n, c, h, w, out);
        return out;
    }

    /** The 8-bit x_F of images [from, from+n): image bytes as they are, x_H as floor(255·x_H). */
    public byte[] bytes(ImageSet set, int from, int n) {
        return bytes(set, from, n, floats(set, from, n));
    }

    /** {@link #bytes(ImageSet, int, int)} from the x_F that {@link #floats} already gave for the same images. */
    public byte[] bytes(ImageSet set, int from, int n, float[] xf) {
        int in = set.imageBytes(), outSize = in + set.height() * set.width();
        byte[] out = new byte[n * outSize];
        for (int i = 0; i < n; i++) {
            set.copyImages(from + i, 1, out, i * outSize);
            for (int p = in; p < outSize; p++) out[i * outSize + p] = (byte) HighPass.toByte(xf[i * outSize + p]);
        }
        return out;
    }
}
