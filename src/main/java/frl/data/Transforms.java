package frl.data;

/**
 * The image transforms of the pipeline. Every set, in-distribution or OOD, goes through
 * {@link #toModelSize}: a {@link Resize} to 32×32 that is bit-exact with the reference pipeline's
 * torchvision {@code Resize(32)} on a PIL image (Pillow bilinear; 28×28 → 32×32 upsamples, so the
 * antialiasing does not come into play there; a 32×32 image is returned unchanged, as Pillow does).
 * Grayscale is BT.601 as Pillow's {@code convert("L")} computes it:
 * (19595·R + 38470·G + 7471·B + 2^15) >> 16, i.e. round(0.299 R + 0.587 G + 0.114 B).
 */
public final class Transforms {
    /** The side length every set is brought to before a model sees it. */
    public static final int MODEL_SIZE = 32;

    private Transforms() {}

    /** The one resize used for every set: square images of {@link #MODEL_SIZE}. */
    public static ImageSet toModelSize(ImageSet s) { return resize(s, MODEL_SIZE, MODEL_SIZE); }

    public static ImageSet resize(ImageSet s, int h, int w) {
        if (s.height() == h && s.width() == w) return s;
        Resize r = new Resize(s.height(), s.width(), h, w);
        int c = s.channels();
        return s.map(c, h, w, (src, so, dst, d) -> r.apply(src, so, c, dst, d));
    }

    /** BT.601 gray from RGB; a 1-channel set is returned as it is. */
    public static ImageSet grayscale(ImageSet s) {
        if (s.channels() == 1) return s;
        requireRgb(s, "grayscale");
        int plane = s.height() * s.width();
        return s.map(1, s.height(), s.width(), (src, so, dst, d) -> {
            for (int p = 0; p < plane; p++)
                dst[d + p] = gray(src[so + p], src[so + plane + p], src[so + 2 * plane + p]);
        });
    }

    /** Pillow's L24 formula on one RGB pixel. */
    public static byte gray(byte r, byte g, byte b) {
        return (byte) (((r & 0xff) * 19595 + (g & 0xff) * 38470 + (b & 0xff) * 7471 + 0x8000) >> 16);
    }

    /** Gray repeated into three channels; a 3-channel set is returned as it is. */
    public static ImageSet rgb(ImageSet s) {
        if (s.channels() == 3) return s;
        if (s.channels() != 1)
            throw new IllegalArgumentException("rgb: " + s.name() + " has " + s.channels() + " channels, expected 1 or 3");
        int plane = s.height() * s.width();
        return s.map(3, s.height(), s.width(), (src, so, dst, d) -> {
            for (int c = 0; c < 3; c++) System.arraycopy(src, so, dst, d + c * plane, plane);
        });
    }

    /** Brings a set to 1 or 3 channels with {@link #grayscale} or {@link #rgb}. */
    public static ImageSet channels(ImageSet s, int c) {
        return switch (c) {
            case 1 -> grayscale(s);
            case 3 -> rgb(s);
            default -> throw new IllegalArgumentException("channels: expected 1 or 3, got " + c);
        };
    }

    /** Mirror left–right. */
    public static ImageSet hflip(ImageSet s) {
        int h = s.height(), w = s.width(), rows = s.channels() * h;
        return s.map(s.channels(), h, w, (src, so, dst, d) -> mirror(src, so, dst, d, rows, w));
    }

    /** Writes {@code rows} rows of width w from src, each reversed, to dst (which must not overlap src). */
    public static void mirror(byte[] src, int so, byte[] dst, int d, int rows, int w) {
        for (int r = 0; r < rows; r++)
            for (int x = 0; x < w; x++) dst[d + r * w + x] = src[so + r * w + (w - 1 - x)];
    }

    private static void requireRgb(ImageSet s, String op) {
        if (s.channels() != 3)
            throw new IllegalArgumentException(op + ": " + s.name() + " has " + s.channels() + " channels, expected 3 (RGB)");
    }
}
