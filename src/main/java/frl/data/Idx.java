package frl.data;

import java.nio.file.Path;

/**
 * The IDX format of MNIST and FashionMNIST, raw or gzip (told apart by the magic bytes 1f 8b): a big-endian
 * header (magic 0x00000803 then N, rows, cols for images; magic 0x00000801 then N for labels) followed by
 * N·rows·cols (or N) unsigned bytes. Read as a stream: memory is the result plus a fixed buffer.
 */
public final class Idx {
    public static final int IMAGES_MAGIC = 0x00000803;
    public static final int LABELS_MAGIC = 0x00000801;

    private Idx() {}

    /** Images and, when {@code labels} is not null, their labels; all of them. */
    public static ImageSet read(String name, Path images, Path labels) {
        return read(name, images, labels, Integer.MAX_VALUE);
    }

    /** The first min(N, limit) images (and labels); a file of more than limit records is not read to the end. */
    public static ImageSet read(String name, Path images, Path labels, int limit) {
        if (limit < 0) throw new IllegalArgumentException("Idx.read " + name + ": limit " + limit + " < 0");
        try (ByteReader r = ByteReader.open(images)) {
            checkMagic(r, IMAGES_MAGIC, "images");
            int n = readDim(r, "image count", true), rows = readDim(r, "rows", false), cols = readDim(r, "cols", false);
            int take = Math.min(n, limit);
            byte[] px = new byte[ImageSet.checkedSize(images.toString(), take, 1, rows, cols)];
            r.readFully(px, 0, px.length, take + " images of " + rows + "x" + cols);
            if (take == n && !r.atEnd()) throw r.error("end of file after " + n + " images", "more bytes");
            int[] lb = labels == null ? null : readLabels(labels, n, take);
            return new ImageSet(name, take, 1, rows, cols, px, lb);
        }
    }

    /** The first {@code take} labels of a label file that must hold exactly {@code expectedCount}. */
    static int[] readLabels(Path file, int expectedCount, int take) {
        try (ByteReader r = ByteReader.open(file)) {
            checkMagic(r, LABELS_MAGIC, "labels");
            int n = readDim(r, "label count", true);
            if (n != expectedCount) throw r.error(expectedCount + " labels (one per image)", n + "");
            byte[] b = new byte[take];
            r.readFully(b, 0, take, take + " labels");
            if (take == n && !r.atEnd()) throw r.error("end of file after " + n + " labels", "more bytes");
            int[] lb = new int[take];
            for (int i = 0; i < take; i++) lb[i] = b[i] & 0xff;
            return lb;
        }
    }

    private static void checkMagic(ByteReader r, int magic, String what) {
        int m = r.readIntBE("IDX magic");
        if (m != magic) throw r.errorAt(0, "IDX " + what + " magic " + hex(magic), hex(m) + frl.io.Problems.looksLike(m));
    }

    private static int readDim(ByteReader r, String what, boolean zeroOk) {
        long at = r.offset();
        int d = r.readIntBE(what);
        if (d < 0 || d == 0 && !zeroOk) throw r.errorAt(at, (zeroOk ? "a non-negative " : "a positive ") + what, d + "");
        return d;
    }

    private static String hex(int v) { return String.format("0x%08x", v); }
}
