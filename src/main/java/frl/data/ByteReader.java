package frl.data;

import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * A stream over one data file that knows its byte offset, so every format error can say where it is:
 * "file: at byte N: expected X, found Y". Gzip files (magic 1f 8b) are unpacked on the fly; offsets then
 * count uncompressed bytes.
 */
final class ByteReader implements Closeable {
    private final String source;
    private final InputStream in;
    private final boolean gzip;
    private long offset;

    ByteReader(String source, InputStream in, boolean gzip) {
        this.source = source;
        this.in = in;
        this.gzip = gzip;
    }

    /** Opens a file, unpacking it if its first two bytes are the gzip magic. */
    static ByteReader open(Path file) { return open(file, true); }

    /** Opens a file as it is, or (detectGzip) unpacked when it starts with the gzip magic. */
    static ByteReader open(Path file, boolean detectGzip) {
        try {
            InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
            raw.mark(2);
            boolean gz = detectGzip && raw.read() == 0x1f && raw.read() == 0x8b;
            raw.reset();
            try {
                return new ByteReader(file.toString(), gz ? new BufferedInputStream(new GZIPInputStream(raw, 1 << 16), 1 << 16) : raw, gz);
            } catch (IOException e) {
                raw.close();
                throw e;
            }
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(file + ": expected a data file, found no such file", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + file + ": " + (e instanceof java.io.EOFException
                    ? "it ends before its gzip header does" : frl.io.Problems.reason(e)), e);
        }
    }

    long offset() { return offset; }

    String where() { return whereAt(offset); }

    private String whereAt(long at) { return source + (gzip ? " (gunzipped)" : "") + ": at byte " + at; }

    /** An IllegalArgumentException that names the file, the current offset, and expected vs found. */
    IllegalArgumentException error(String expected, String found) { return errorAt(offset, expected, found); }

    /** The same for a field that started at byte {@code at}. */
    IllegalArgumentException errorAt(long at, String expected, String found) {
        return new IllegalArgumentException(whereAt(at) + ": expected " + expected + ", found " + found);
    }

    /** Reads exactly len bytes or fails naming what was being read, where it starts, and how much there was. */
    void readFully(byte[] dst, int off, int len, String what) {
        int got = 0;
        try {
            while (got < len) {
                int r = in.read(dst, off + got, len - got);
                if (r < 0) break;
                got += r;
            }
        } catch (IOException e) {
            throw new IllegalArgumentException(where() + ": cannot read " + what + ": " + e.getMessage(), e);
        }
        if (got < len) throw error(len + " bytes of " + what, "end of file after " + got);
        offset += len;
    }

    int readIntBE(String what) {
        byte[] b = new byte[4];
        readFully(b, 0, 4, what);
        return (b[0] & 0xff) << 24 | (b[1] & 0xff) << 16 | (b[2] & 0xff) << 8 | (b[3] & 0xff);
    }

    /** Skips n bytes, failing like readFully when the file ends first. */
    void skip(long n, String what) {
        byte[] buf = new byte[8192];
        while (n > 0) {
            int k = (int) Math.min(n, buf.length);
            readFully(buf, 0, k, what);
            n -= k;
        }
    }

    /** A stream over the next n bytes only (short at the end of the file); reading it advances this reader. */
    InputStream slice(long n) {
        return new InputStream() {
            private long left = n;

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (left <= 0) return -1;
                int r = in.read(b, off, (int) Math.min(len, left));
                if (r > 0) {
                    left -= r;
                    offset += r;
                }
                return r;
            }
        };
    }

    /** True when no byte is left (reads one byte ahead through the buffer). */
    boolean atEnd() {
        try {
            in.mark(1);
            int b = in.read();
            in.reset();
            return b < 0;
        } catch (IOException e) {
            throw new IllegalArgumentException(where() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            in.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
