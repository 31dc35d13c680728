package frl.data;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * A folder of PNG/JPEG images (searched recursively, taken in sorted path order, decoded on all cores); also a list of
 * such files, or of such images' bytes in memory, by the same rules.
 * The rules:
 * <ul>
 * <li>size: with outH, outW &gt; 0 every image is brought to that size by {@link Resize} (Pillow bilinear);
 *     with 0, 0 all images must have the first one's size, and one that differs is an error;
 * <li>channels: 1 or 3, or 0 to take them from the first image (a gray image gives 1, anything else 3);
 *     an image of the other kind is converted (RGB to gray by {@link Transforms#gray}, gray repeated);
 *     alpha is dropped;
 * <li>labels: when every image lies in a subfolder, the label is the rank of its top-level subfolder name
 *     in sorted order (torchvision's ImageFolder); otherwise the set has no labels.
 * </ul>
 */
public final class ImageFolder {
    private ImageFolder() {}

    public static ImageSet read(String name, Path dir, int channels, int outH, int outW) {
        List<Path> files = files(dir);
        if (files.isEmpty()) throw new IllegalArgumentException(dir + ": expected PNG or JPEG files, found none");
        return read(name, files, labels(dir, files), channels, outH, outW);
    }

    private static ImageSet read(String name, List<Path> files, int[] labels, int channels, int outH, int outW) {
        requireDesktop(name);
        return Awt.readFiles(name, files, labels, channels, outH, outW);
    }

    /** These image files by the same rules, without labels: a part of a folder too large to hold at once, say. */
    public static ImageSet readFiles(String name, List<Path> files, int channels, int outH, int outW) {
        if (files.isEmpty()) throw new IllegalArgumentException(name + ": no image files to read");
        return read(name, files, null, channels, outH, outW);
    }

    /**
     * PNG or JPEG images held in memory (an upload's bytes, say) by the same rules, without labels; a message names
     * image i as "NAME image i".
     */
    public static ImageSet readEncoded(String name, List<byte[]> images, int channels, int outH, int outW) {
        if (images.isEmpty()) throw new IllegalArgumentException(name + ": no images to read");
        requireDesktop(name);
        return Awt.readEncoded(name, images, channels, outH, outW);
    }

    /** Whether this runtime has java.desktop (AWT, ImageIO), which a jlinked one (the GPU machine's, say) may lack. */
    static boolean hasDesktop() { return ModuleLayer.boot().findModule("java.desktop").isPresent(); }

    private static void requireDesktop(String name) {
        if (!hasDesktop())   // a clear error, not a NoClassDefFoundError
            throw new IllegalArgumentException(name + ": reading PNG or JPEG images needs the java.desktop module (ImageIO), which this Java runtime lacks; run a full JDK");
    }

    /** The PNG/JPEG files under dir, recursively, in sorted path order (the order {@link #read} takes them in). */
    public static List<Path> files(Path dir) {
        if (!Files.isDirectory(dir)) throw new IllegalArgumentException(dir + ": expected a folder of images, found none");
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).filter(ImageFolder::isImageName).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    private static boolean isImageName(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".png") || n.endsWith(".jpg") || n.endsWith(".jpeg");
    }

    private static int[] labels(Path dir, List<Path> files) {
        TreeMap<String, Integer> classes = new TreeMap<>();
        for (Path f : files) {
            Path rel = dir.relativize(f);
            if (rel.getNameCount() < 2) return null;
            classes.put(rel.getName(0).toString(), 0);
        }
        int k = 0;
        for (var e : classes.entrySet()) e.setValue(k++);
        int[] labels = new int[files.size()];
        for (int i = 0; i < labels.length; i++) labels[i] = classes.get(dir.relativize(files.get(i)).getName(0).toString());
        return labels;
    }

    /**
     * What reads the images through AWT, in a class of its own: a class is verified as a whole, and ImageFolder's
     * verification would load AWT's classes, so a runtime without java.desktop would fail before {@link #hasDesktop}
     * could say so. ImageFolder itself names no AWT type.
     */
    private static final class Awt {
        private Awt() {}

        static ImageSet readFiles(String name, List<Path> files, int[] labels, int channels, int outH, int outW) {
            return read(name, files.size(), i -> files.get(i).toString(), files.getFirst().getFileName().toString(), i -> decode(files.get(i)),
                    labels, channels, outH, outW);
        }

        static ImageSet readEncoded(String name, List<byte[]> images, int channels, int outH, int outW) {
            return read(name, images.size(), i -> name + " image " + i, "image 0", i -> decode(images.get(i), name + " image " + i), null,
                    channels, outH, outW);
        }

        /**
         * {@code count} images, image i decoded by {@code decode} and called {@code what(i)} in a message (the first one also
         * {@code firstShort}), by the rules above.
         */
        private static ImageSet read(String name, int count, IntFunction<String> what, String firstShort, IntFunction<BufferedImage> decode,
                                     int[] labels, int channels, int outH, int outW) {
            if (channels != 0 && channels != 1 && channels != 3)
                throw new IllegalArgumentException("ImageFolder " + name + ": channels must be 0, 1 or 3, got " + channels);
            if ((outH > 0) != (outW > 0) || outH < 0 || outW < 0)
                throw new IllegalArgumentException("ImageFolder " + name + ": size must be both positive or both 0, got "
                        + outH + "x" + outW);
            BufferedImage first = decode.apply(0);   // fixes the channels and, where none is given, the size
            int c = channels != 0 ? channels : isGray(first) ? 1 : 3;
            int h = outH > 0 ? outH : first.getHeight(), w = outH > 0 ? outW : first.getWidth();
            byte[] px = new byte[ImageSet.checkedSize(name, count, c, h, w)];
            Placing at = new Placing(c, h, w, outH > 0, px, firstShort);
            at.place(first, 0, what.apply(0));
            // The rest decoded on all cores, each into its own slice. A failure stops the files after it; the one reported is
            // the first in path order, as a decode one at a time would report, whichever thread met it.
            AtomicInteger firstFailed = new AtomicInteger(count);
            RuntimeException[] failures = new RuntimeException[count];
            IntStream.range(1, count).parallel().forEach(i -> {
                if (i > firstFailed.get()) return;
                try {
                    at.place(decode.apply(i), i, what.apply(i));
                } catch (RuntimeException e) {
                    failures[i] = e;
                    firstFailed.accumulateAndGet(i, Math::min);
                }
            });
            if (firstFailed.get() < count) throw failures[firstFailed.get()];
            return new ImageSet(name, count, c, h, w, px, labels);
        }

        /** Where decoded images go: c×h×w bytes each into px, resized where a size was given, else required to be h×w like the first. */
        private record Placing(int c, int h, int w, boolean resize, byte[] px, String firstShort) {
            void place(BufferedImage img, int i, String what) {
                byte[] one = pixels(img, isGray(img), c);
                int ih = img.getHeight(), iw = img.getWidth();
                if (ih == h && iw == w) {
                    System.arraycopy(one, 0, px, i * c * h * w, one.length);
                } else if (resize) {
                    new Resize(ih, iw, h, w).apply(one, 0, c, px, i * c * h * w);
                } else {
                    throw new IllegalArgumentException(what + ": expected a " + w + "x" + h + " image like " + firstShort + ", found " + iw + "x" + ih
                            + " (give a size to resize every image)");
                }
            }
        }


        static BufferedImage decode(Path f) {
            try {
                return decoded(ImageIO.read(f.toFile()), f.toString());
            } catch (IOException e) {
                throw new IllegalArgumentException(f + ": cannot decode image: " + e.getMessage(), e);
            }
        }

        /** An image in memory; read through a memory cache (ImageIO's default for a stream is a temporary file). */
        static BufferedImage decode(byte[] encoded, String what) {
            try {   // ImageIO closes the stream it read (a memory stream holds nothing else to free)
                return decoded(ImageIO.read(new MemoryCacheImageInputStream(new ByteArrayInputStream(encoded))), what);
            } catch (IOException e) {
                throw new IllegalArgumentException(what + ": cannot decode image: " + e.getMessage(), e);
            }
        }

        private static BufferedImage decoded(BufferedImage img, String what) {
            if (img == null) throw new IllegalArgumentException(what + ": expected a PNG or JPEG image, found a format ImageIO cannot read");
            return img;
        }

        static boolean isGray(BufferedImage img) {
            return !(img.getColorModel() instanceof IndexColorModel)
                    && img.getColorModel().getColorSpace().getType() == ColorSpace.TYPE_GRAY;
        }

        /**
         * CHW bytes with c channels. Gray samples are read from the raster as stored (getRGB would pass them
         * through a gamma conversion), scaled to 8 bits; colour comes from getRGB (sRGB).
         */
        static byte[] pixels(BufferedImage img, boolean gray, int c) {
            int h = img.getHeight(), w = img.getWidth(), plane = h * w;
            byte[] out = new byte[c * plane];
            if (gray) {
                Raster r = img.getRaster();
                int max = (1 << r.getSampleModel().getSampleSize(0)) - 1;
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++) {
                        byte v = (byte) ((r.getSample(x, y, 0) * 255 + max / 2) / max);
                        for (int ch = 0; ch < c; ch++) out[ch * plane + y * w + x] = v;
                    }
                return out;
            }
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    int argb = img.getRGB(x, y);
                    byte r = (byte) (argb >> 16), g = (byte) (argb >> 8), b = (byte) argb;
                    if (c == 1) {
                        out[y * w + x] = Transforms.gray(r, g, b);
                    } else {
                        out[y * w + x] = r;
                        out[plane + y * w + x] = g;
                        out[2 * plane + y * w + x] = b;
                    }
                }
            return out;
        }
    }
}
