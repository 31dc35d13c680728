package frl.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A small reader for (gzipped) tar archives such as npm's package tarballs: ustar headers with their
 * checksum checked, the ustar name prefix, pax ('x') and GNU ('L') long names. Entries are visited in
 * archive order as streams, so nothing but the entry being read is held in memory.
 */
final class Tar {
    /** Called for each regular file; the stream ends with the entry and need not be read to its end. */
    @FunctionalInterface
    interface Visitor { void file(String name, long size, InputStream data) throws IOException; }

    private static final int BLOCK = 512;

    private Tar() {}

    static void forEachFile(Path archive, Visitor visitor) {
        byte[] h = new byte[BLOCK];
        String longName = null;
        ByteReader r = ByteReader.open(archive);
        try (r) {
            while (!r.atEnd()) {
                long at = r.offset();
                r.readFully(h, 0, BLOCK, "tar header");
                if (isZero(h)) return;
                checkSum(r, at, h);
                long size = octal(r, at + 124, h, 124, 12, "entry size");
                char type = (char) h[156];
                String name = longName != null ? longName : name(h);
                longName = null;
                long padded = (size + BLOCK - 1) / BLOCK * BLOCK;
                if (type == 'x' || type == 'L') {
                    if (size > 1 << 20) throw r.errorAt(at + 124, "a long-name header under 1 MiB", size + " bytes");
                    byte[] meta = new byte[(int) size];
                    r.readFully(meta, 0, meta.length, "tar " + (type == 'x' ? "pax" : "long name") + " header");
                    longName = type == 'L' ? cString(meta, 0, meta.length) : paxPath(meta);
                    r.skip(padded - size, "tar padding");
                } else if (type == '0' || type == '\0') {
                    long start = r.offset();
                    visitor.file(name, size, r.slice(size));
                    r.skip(start + padded - r.offset(), "tar entry " + name);
                } else {
                    r.skip(padded, "tar entry " + name);
                }
            }
        } catch (IOException e) {
            throw r.errorAt(r.offset(), "readable data", e.getMessage() + " (truncated or corrupt archive?)");
        }
    }

    private static boolean isZero(byte[] h) {
        for (byte b : h) if (b != 0) return false;
        return true;
    }

    /** The header checksum: the sum of its bytes with the checksum field read as eight spaces. */
    private static void checkSum(ByteReader r, long at, byte[] h) {
        long sum = 0;
        for (int i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? ' ' : h[i] & 0xff;
        long stored = octal(r, at + 148, h, 148, 8, "header checksum");
        if (stored != sum) throw r.errorAt(at + 148, "tar header checksum " + sum, stored + " (not a tar file, or corrupt)");
    }

    private static long octal(ByteReader r, long at, byte[] h, int off, int len, String what) {
        long v = 0;
        int i = off, end = off + len;
        while (i < end && h[i] == ' ') i++;
        for (; i < end && h[i] != 0 && h[i] != ' '; i++) {
            if (h[i] < '0' || h[i] > '7') throw r.errorAt(at, "an octal " + what, "byte 0x" + Integer.toHexString(h[i] & 0xff));
            v = v * 8 + (h[i] - '0');
        }
        return v;
    }

    private static String name(byte[] h) {
        String name = cString(h, 0, 100);
        boolean ustar = new String(h, 257, 5, StandardCharsets.US_ASCII).equals("ustar");
        String prefix = ustar ? cString(h, 345, 155) : "";
        return prefix.isEmpty() ? name : prefix + "/" + name;
    }

    private static String cString(byte[] b, int off, int len) {
        int n = 0;
        while (n < len && b[off + n] != 0) n++;
        return new String(b, off, n, StandardCharsets.UTF_8);
    }

    /** The "path" record of a pax header ("LEN path=VALUE\n" lines), or null. */
    private static String paxPath(byte[] meta) {
        for (String line : new String(meta, StandardCharsets.UTF_8).split("\n")) {
            int eq = line.indexOf('='), sp = line.indexOf(' ');
            if (sp >= 0 && eq > sp && line.substring(sp + 1, eq).equals("path")) return line.substring(eq + 1);
        }
        return null;
    }
}
