package frl.data;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * N images of C×H×W unsigned 8-bit pixels, stored compactly in one byte[] (image-major, then CHW), with
 * optional integer labels and a name. Immutable: constructors copy nothing, so the arrays passed in are
 * owned by the set from then on; accessors hand out copies.
 */
public final class ImageSet {
    /** Transforms one image's bytes (CHW at srcOff) into another shape's bytes (CHW at dstOff). */
    @FunctionalInterface
    public interface ImageOp { void apply(byte[] src, int srcOff, byte[] dst, int dstOff); }

    private final String name;
    private final int count, channels, height, width;
    private final byte[] pixels;
    private final int[] labels;

    /** Takes ownership of {@code pixels} (count·C·H·W bytes) and {@code labels} (count ints, or null). */
    public ImageSet(String name, int count, int channels, int height, int width, byte[] pixels, int[] labels) {
        this.name = Objects.requireNonNull(name, "name");
        if (count < 0 || channels <= 0 || height <= 0 || width <= 0)
            throw new IllegalArgumentException("ImageSet " + name + ": bad shape N=" + count + " C=" + channels
                    + " H=" + height + " W=" + width);
        long need = checkedSize(name, count, channels, height, width);
        if (pixels.length != need)
            throw new IllegalArgumentException("ImageSet " + name + ": expected " + need + " pixel bytes for "
                    + count + "x" + channels + "x" + height + "x" + width + ", found " + pixels.length);
        if (labels != null && labels.length != count)
            throw new IllegalArgumentException("ImageSet " + name + ": expected " + count + " labels, found "
                    + labels.length);
        this.count = count;
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.pixels = pixels;
        this.labels = labels;
    }

    /** count·C·H·W, checked to fit one Java array. */
    static int checkedSize(String what, long count, int channels, int height, int width) {
        long size = count * channels * height * width;
        if (size > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException(what + ": " + count + " images of " + channels + "x" + height + "x"
                    + width + " need " + size + " bytes, more than one array holds; read fewer (limit)");
        return (int) size;
    }

    public String name() { return name; }
    public int size() { return count; }
    public int channels() { return channels; }
    public int height() { return height; }
    public int width() { return width; }
    /** Bytes per image, C·H·W. */
    public int imageBytes() { return channels * height * width; }
    public boolean hasLabels() { return labels != null; }

    public int label(int i) {
        if (labels == null) throw new IllegalStateException("ImageSet " + name + " has no labels");
        return labels[Objects.checkIndex(i, count)];
    }

    /** Pixel value 0..255 of image i, channel c, row y, column x. */
    public int pixel(int i, int c, int y, int x) {
        Objects.checkIndex(i, count);
        Objects.checkIndex(c, channels);
        Objects.checkIndex(y, height);
        Objects.checkIndex(x, width);
        return pixels[((i * channels + c) * height + y) * width + x] & 0xff;
    }

    /** A copy of image i's CHW bytes. */
    public byte[] image(int i) {
        byte[] out = new byte[imageBytes()];
        copyImages(i, 1, out, 0);
        return out;
    }

    /** Copies images [from, from+n) into dst at dstOff, CHW each, back to back. */
    public void copyImages(int from, int n, byte[] dst, int dstOff) {
        Objects.checkFromIndexSize(from, n, count);
        System.arraycopy(pixels, from * imageBytes(), dst, dstOff, n * imageBytes());
    }

    /** Images [from, from+n) as floats byte/255 in [0,1], written to dst at dstOff (NCHW). */
    public void toFloats(int from, int n, float[] dst, int dstOff) {
        Objects.checkFromIndexSize(from, n, count);
        int len = n * imageBytes(), src = from * imageBytes();
        Objects.checkFromIndexSize(dstOff, len, dst.length);
        for (int j = 0; j < len; j++) dst[dstOff + j] = (pixels[src + j] & 0xff) / 255f;
    }

    /** A copy of the labels, or null when the set has none. */
    public int[] labels() { return labels == null ? null : labels.clone(); }

    public ImageSet withName(String newName) {
        return new ImageSet(newName, count, channels, height, width, pixels, labels);
    }

    /** Images [from, to) as a new set (copied). */
    public ImageSet slice(int from, int to) {
        Objects.checkFromToIndex(from, to, count);
        byte[] px = Arrays.copyOfRange(pixels, from * imageBytes(), to * imageBytes());
        int[] lb = labels == null ? null : Arrays.copyOfRange(labels, from, to);
        return new ImageSet(name, to - from, channels, height, width, px, lb);
    }

    /** Applies {@code op} to every image, giving images of shape [c, h, w]; labels are kept. */
    public ImageSet map(int c, int h, int w, ImageOp op) {
        int out = checkedSize(name, 1, c, h, w);
        byte[] px = new byte[checkedSize(name, count, c, h, w)];
        for (int i = 0; i < count; i++) op.apply(pixels, i * imageBytes(), px, i * out);
        return new ImageSet(name, count, c, h, w, px, labels);
    }

    /** The sets one after another; all must share C, H, W. Labels are kept only if every set has them. */
    public static ImageSet concat(String name, List<ImageSet> sets) {
        if (sets.isEmpty()) throw new IllegalArgumentException("concat " + name + ": no sets");
        ImageSet first = sets.getFirst();
        long total = 0;
        boolean labelled = true;
        for (ImageSet s : sets) {
            if (s.channels != first.channels || s.height != first.height || s.width != first.width)
                throw new IllegalArgumentException("concat " + name + ": set " + s.name + " is " + s.shapeText()
                        + ", expected " + first.shapeText());
            total += s.count;
            labelled &= s.labels != null;
        }
        byte[] px = new byte[checkedSize(name, total, first.channels, first.height, first.width)];
        int[] lb = labelled ? new int[(int) total] : null;
        int at = 0;
        for (ImageSet s : sets) {
            System.arraycopy(s.pixels, 0, px, at * first.imageBytes(), s.pixels.length);
            if (lb != null) System.arraycopy(s.labels, 0, lb, at, s.count);
            at += s.count;
        }
        return new ImageSet(name, (int) total, first.channels, first.height, first.width, px, lb);
    }

    String shapeText() { return channels + "x" + height + "x" + width; }

    @Override
    public String toString() {
        return name + " [" + count + "x" + shapeText() + (labels != null ? ", labelled" : "") + "]";
    }
}
