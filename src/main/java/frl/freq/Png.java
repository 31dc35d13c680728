package frl.freq;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * A minimal PNG encoder for 8-bit gray (C = 1) or RGB (C = 3) images given as CHW bytes, written the way
 * libpng writes by default (what OpenCV's imwrite/imencode produce): signature, IHDR, IDAT chunks of at
 * most 8192 bytes, IEND; no other chunks. Each row's filter is libpng's adaptive choice: the filter
 * (None, Sub, Up, Average, Paeth, first wins ties) whose output bytes, read as signed, have the smallest
 * sum of absolute values. The zlib stream is Deflater level 9, default strategy (libpng may shrink the
 * zlib window for tiny images; that changes the header byte, not the size).
 * <p>
 * Thread-safe: each thread keeps its own Deflater (about 300 KB of native zlib state, held for the
 * thread's life) and scratch buffers.
 */
public final class Png {
    private static final byte[] SIGNATURE = {(byte) 137, 'P', 'N', 'G', '\r', '\n', 26, '\n'};
    private static final int IDAT_MAX = 8192;

    private static final class Scratch {
        final Deflater deflater = new Deflater(9);
        final CRC32 crc = new CRC32();
        byte[] raw = new byte[0], rows = new byte[0], z = new byte[1 << 14];
        final byte[][] filtered = new byte[5][];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private Png() {}

    /** The PNG file of one image (CHW bytes at off). */
    public static byte[] encode(byte[] chw, int off, int c, int h, int w) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        write(chw, off, c, h, w, out);
        return out.toByteArray();
    }

    /** The length in bytes of {@link #encode}'s file, without building it. */
    public static int size(byte[] chw, int off, int c, int h, int w) { return write(chw, off, c, h, w, null); }

    /** Encodes into out (when not null) and returns the file length. */
    private static int write(byte[] chw, int off, int c, int h, int w, ByteArrayOutputStream out) {
        if (c != 1 && c != 3) throw new IllegalArgumentException("Png: expected 1 (gray) or 3 (RGB) channels, got " + c);
        if (h <= 0 || w <= 0) throw new IllegalArgumentException("Png: bad size " + h + "x" + w);
        if (off < 0 || (long) off + (long) c * h * w > chw.length)
            throw new IllegalArgumentException("Png: expected " + (long) c * h * w + " bytes at offset " + off + ", array holds " + chw.length);
        Scratch s = SCRATCH.get();
        int rowBytes = c * w, zLen = deflate(s, filterRows(s, chw, off, c, h, w), (rowBytes + 1) * h);
        int idatChunks = (zLen + IDAT_MAX - 1) / IDAT_MAX;
        int size = SIGNATURE.length + (12 + 13) + 12 * idatChunks + zLen + 12;
        if (out == null) return size;
        out.writeBytes(SIGNATURE);
        byte[] ihdr = new byte[13];
        putInt(ihdr, 0, w);
        putInt(ihdr, 4, h);
        ihdr[8] = 8;
        ihdr[9] = (byte) (c == 1 ? 0 : 2);
        chunk(s, out, "IHDR", ihdr, 0, 13);
        for (int at = 0; at < zLen; at += IDAT_MAX) chunk(s, out, "IDAT", s.z, at, Math.min(IDAT_MAX, zLen - at));
        chunk(s, out, "IEND", new byte[0], 0, 0);
        return size;
    }

    /** Interleaves CHW into PNG rows and prefixes each with its chosen filter; returns the buffer. */
    private static byte[] filterRows(Scratch s, byte[] chw, int off, int c, int h, int w) {
        int rowBytes = c * w, plane = h * w;
        if (s.raw.length < rowBytes * h) s.raw = new byte[rowBytes * h];
        if (s.rows.length < (rowBytes + 1) * h) s.rows = new byte[(rowBytes + 1) * h];
        if (s.filtered[0] == null || s.filtered[0].length < rowBytes)
            for (int f = 0; f < 5; f++) s.filtered[f] = new byte[rowBytes];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int ch = 0; ch < c; ch++) s.raw[y * rowBytes + x * c + ch] = chw[off + ch * plane + y * w + x];
        for (int y = 0; y < h; y++) {
            int best = 0;
            long bestSum = Long.MAX_VALUE;
            for (int f = 0; f < 5; f++) {
                long sum = filter(f, s.raw, y * rowBytes, y > 0 ? (y - 1) * rowBytes : -1, rowBytes, c, s.filtered[f]);
                if (sum < bestSum) {
                    bestSum = sum;
                    best = f;
                }
            }
            s.rows[y * (rowBytes + 1)] = (byte) best;
            System.arraycopy(s.filtered[best], 0, s.rows, y * (rowBytes + 1) + 1, rowBytes);
        }
        return s.rows;
    }

    /** Applies PNG filter f to one row (prev = -1 for the first row: zeros); returns libpng's cost. */
    private static long filter(int f, byte[] raw, int row, int prev, int n, int bpp, byte[] dst) {
        long sum = 0;
        for (int i = 0; i < n; i++) {
            int x = raw[row + i] & 0xff;
            int a = i >= bpp ? raw[row + i - bpp] & 0xff : 0;
            int b = prev >= 0 ? raw[prev + i] & 0xff : 0;
            int cc = i >= bpp && prev >= 0 ? raw[prev + i - bpp] & 0xff : 0;
            int v = switch (f) {
                case 0 -> x;
                case 1 -> x - a;
                case 2 -> x - b;
                case 3 -> x - ((a + b) >> 1);
                default -> x - paeth(a, b, cc);
            } & 0xff;
            dst[i] = (byte) v;
            sum += v < 128 ? v : 256 - v;
        }
        return sum;
    }

    private static int paeth(int a, int b, int c) {
        int p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    private static int deflate(Scratch s, byte[] data, int len) {
        Deflater d = s.deflater;
        d.reset();
        d.setInput(data, 0, len);
        d.finish();
        int n = 0;
        while (!d.finished()) {
            if (n == s.z.length) s.z = Arrays.copyOf(s.z, s.z.length * 2);
            n += d.deflate(s.z, n, s.z.length - n);
        }
        return n;
    }

    private static void chunk(Scratch s, ByteArrayOutputStream out, String type, byte[] data, int off, int len) {
        byte[] head = new byte[8];
        putInt(head, 0, len);
        for (int i = 0; i < 4; i++) head[4 + i] = (byte) type.charAt(i);
        s.crc.reset();
        s.crc.update(head, 4, 4);
        s.crc.update(data, off, len);
        out.writeBytes(head);
        out.write(data, off, len);
        byte[] crc = new byte[4];
        putInt(crc, 0, (int) s.crc.getValue());
        out.writeBytes(crc);
    }

    private static void putInt(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
    }
}
