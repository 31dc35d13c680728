package frl.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

/** Writers of small data files in the real formats, for the reader tests. */
public final class TestFiles {
    private TestFiles() {}

    static byte[] gzip(byte[] data) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(bytes)) {
            gz.write(data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    static byte[] idxImages(int n, int rows, int cols, byte[] pixels) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int v : new int[] {Idx.IMAGES_MAGIC, n, rows, cols}) b.writeBytes(intBE(v));
        b.writeBytes(pixels);
        return b.toByteArray();
    }

    static byte[] idxLabels(int n, byte[] labels) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(intBE(Idx.LABELS_MAGIC));
        b.writeBytes(intBE(n));
        b.writeBytes(labels);
        return b.toByteArray();
    }

    static byte[] intBE(int v) { return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v}; }

    /** A ustar archive of the given regular files, in map order, gzipped. */
    static byte[] tgz(Map<String, byte[]> files) {
        ByteArrayOutputStream tar = new ByteArrayOutputStream();
        for (var e : files.entrySet()) {
            byte[] h = new byte[512];
            byte[] name = e.getKey().getBytes(StandardCharsets.UTF_8);
            System.arraycopy(name, 0, h, 0, name.length);
            octal(h, 100, 8, 0644);
            octal(h, 108, 8, 0);
            octal(h, 116, 8, 0);
            octal(h, 124, 12, e.getValue().length);
            octal(h, 136, 12, 0);
            h[156] = '0';
            System.arraycopy("ustar\0".getBytes(StandardCharsets.US_ASCII), 0, h, 257, 6);
            h[263] = '0';
            h[264] = '0';
            for (int i = 148; i < 156; i++) h[i] = ' ';
            int sum = 0;
            for (byte b : h) sum += b & 0xff;
            octal(h, 148, 7, sum);
            tar.writeBytes(h);
            tar.writeBytes(e.getValue());
            tar.writeBytes(new byte[(512 - e.getValue().length % 512) % 512]);
        }
        tar.writeBytes(new byte[1024]);
        return gzip(tar.toByteArray());
    }

    private static void octal(byte[] h, int off, int len, long v) {
        String s = String.format("%0" + (len - 1) + "o", v);
        System.arraycopy(s.getBytes(StandardCharsets.US_ASCII), 0, h, off, len - 1);
        h[off + len - 1] = 0;
    }

    static Path write(Path file, byte[] data) {
        try {
            Files.createDirectories(file.getParent());
            return Files.write(file, data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The test pattern of the Pillow and OpenCV golden values: (37x + 91y + 53c + 13((x·y) mod 17)) mod 256. */
    public static byte[] pattern(int c, int h, int w) {
        byte[] out = new byte[c * h * w];
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) out[(ch * h + y) * w + x] = (byte) ((37 * x + 91 * y + 53 * ch + 13 * ((x * y) % 17)) % 256);
        return out;
    }
}
