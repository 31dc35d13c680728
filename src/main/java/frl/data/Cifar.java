package frl.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The CIFAR-10 / CIFAR-100 binary format ({@code data_batch_*.bin}, {@code test_batch.bin},
 * {@code train.bin}, {@code test.bin}): fixed records of one label byte (CIFAR-100: coarse label, then fine
 * label) and 3072 bytes of a 32×32 RGB image in CHW order. A file's length must be a whole number of
 * records. CIFAR-100 sets keep the fine label (0..99). Files are streamed one after another.
 */
public final class Cifar {
    public static final int IMAGE_BYTES = 3 * 32 * 32;

    private Cifar() {}

    /** All records of the files, in order; {@code cifar100} picks the 3074-byte record with two labels. */
    public static ImageSet read(String name, List<Path> files, boolean cifar100) {
        int labelBytes = cifar100 ? 2 : 1, record = labelBytes + IMAGE_BYTES, classes = cifar100 ? 100 : 10;
        long total = 0;
        for (Path f : files) {
            long len = size(f);
            if (len % record != 0)
                throw new IllegalArgumentException(f + ": expected a length that is a multiple of the "
                        + (cifar100 ? "CIFAR-100" : "CIFAR-10") + " record size " + record + ", found " + len
                        + " bytes (" + len / record + " records and " + len % record + " bytes over)");
            total += len / record;
        }
        byte[] px = new byte[ImageSet.checkedSize(name, total, 3, 32, 32)];
        int[] labels = new int[(int) total];
        byte[] head = new byte[labelBytes];
        int i = 0;
        for (Path f : files) {
            try (ByteReader r = ByteReader.open(f, false)) {
                for (long k = size(f) / record; k > 0; k--, i++) {
                    long at = r.offset();
                    r.readFully(head, 0, labelBytes, "label of record " + (at / record));
                    int label = head[labelBytes - 1] & 0xff;
                    if (label >= classes) throw r.errorAt(at + labelBytes - 1, "a label below " + classes, label + "");
                    labels[i] = label;
                    r.readFully(px, i * IMAGE_BYTES, IMAGE_BYTES, "image of record " + (at / record));
                }
            }
        }
        return new ImageSet(name, (int) total, 3, 32, 32, px, labels);
    }

    private static long size(Path f) {
        try {
            return Files.size(f);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
        }
    }
}
