package frl.data;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CifarTest {
    @TempDir Path dir;

    /** n records with labels (one or two bytes each) and pixel (i, p) = i·31 + p. */
    private static byte[] records(int n, int[][] labels) {
        int lb = labels[0].length, rec = lb + Cifar.IMAGE_BYTES;
        byte[] out = new byte[n * rec];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < lb; j++) out[i * rec + j] = (byte) labels[i][j];
            for (int p = 0; p < Cifar.IMAGE_BYTES; p++) out[i * rec + lb + p] = (byte) (i * 31 + p);
        }
        return out;
    }

    @Test
    void readsCifar10RecordsAcrossFiles() {
        Path a = TestFiles.write(dir.resolve("data_batch_1.bin"), records(2, new int[][] {{3}, {9}}));
        Path b = TestFiles.write(dir.resolve("data_batch_2.bin"), records(1, new int[][] {{0}}));
        ImageSet s = Cifar.read("cifar10", List.of(a, b), false);
        assertEquals(3, s.size());
        assertEquals(3, s.channels());
        assertEquals(32, s.height());
        assertArrayEquals(new int[] {3, 9, 0}, s.labels());
        // CHW: channel 1 (green), row 2, column 5 of record 1 sits at 1024 + 2·32 + 5
        assertEquals((1 * 31 + 1024 + 69) & 0xff, s.pixel(1, 1, 2, 5));
        assertEquals(0, s.pixel(2, 0, 0, 0));
    }

    @Test
    void cifar100KeepsTheFineLabel() {
        Path f = TestFiles.write(dir.resolve("train.bin"), records(2, new int[][] {{19, 99}, {4, 42}}));
        ImageSet s = Cifar.read("cifar100", List.of(f), true);
        assertArrayEquals(new int[] {99, 42}, s.labels());
        assertEquals((1 * 31 + 7) & 0xff, s.pixel(1, 0, 0, 7));
    }

    @Test
    void wrongLengthIsReportedWithRecordArithmetic() {
        byte[] rec = records(2, new int[][] {{1}, {2}});
        Path f = TestFiles.write(dir.resolve("bad.bin"), Arrays.copyOf(rec, rec.length - 100));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Cifar.read("c", List.of(f), false));
        assertTrue(e.getMessage().contains("multiple of the CIFAR-10 record size 3073, found 6046 bytes (1 records and 2973 bytes over)"),
                e.getMessage());
        // a CIFAR-10 file read as CIFAR-100 is the wrong length too
        Path g = TestFiles.write(dir.resolve("c10.bin"), rec);
        assertThrows(IllegalArgumentException.class, () -> Cifar.read("c", List.of(g), true));
    }

    @Test
    void labelOutOfRangeNamesTheByte() {
        Path f = TestFiles.write(dir.resolve("bad.bin"), records(2, new int[][] {{1}, {10}}));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Cifar.read("c", List.of(f), false));
        assertTrue(e.getMessage().contains("at byte 3073: expected a label below 10, found 10"), e.getMessage());
    }
}
