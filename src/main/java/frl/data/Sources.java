package frl.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Resolves a data set named on the command line to images at the model's size (32×32, bilinear as the
 * reference) with the wanted number of channels. Names: {@code fashion-mnist} / {@code fashion-mnist:train},
 * {@code mnist}, {@code letters}, {@code noise[:N]}, {@code constant[:N]}, or a path: an IDX images file (gz or
 * raw; labels beside it are not needed), a CIFAR binary file or a folder of {@code *.bin} files, or a folder
 * of PNG/JPEG images. An optional {@code @N} suffix keeps the first N images.
 */
public final class Sources {
    private final DataCache cache;
    private final long seed;

    public Sources(DataCache cache, long seed) {
        this.cache = cache;
        this.seed = seed;
    }

    /** A spec taken apart: the set's name and the {@code @N} limit (-1: none). */
    private record Spec(String name, int limit) {
        /** An existing path is a path, '@' and all; else a trailing {@code @N} is a limit. */
        static Spec of(String spec) {
            if (spec.isBlank())   // an empty path would read the current folder
                throw new IllegalArgumentException("data set '" + spec + "': an empty name; expected fashion-mnist, mnist, letters, noise, constant or a path");
            int at = spec.lastIndexOf('@');
            if (at <= 0 || Files.exists(Path.of(spec))) return new Spec(spec, -1);
            return new Spec(spec.substring(0, at), parseCount(spec, spec.substring(at + 1)));
        }

        /** The name before its ':argument' (fashion-mnist of fashion-mnist:train), and the argument ("" if none). */
        String base() { return name.contains(":") ? name.substring(0, name.indexOf(':')) : name; }

        String arg() { return name.contains(":") ? name.substring(name.indexOf(':') + 1) : ""; }

        /** One of the sets the engine names itself (these win over a file or folder of the same name). */
        boolean builtIn() { return List.of("fashion-mnist", "mnist", "letters", "noise", "constant").contains(base()); }
    }

    public ImageSet load(String spec, int channels) {
        Spec sp = Spec.of(spec);
        String name = sp.name();
        int limit = sp.limit();
        ImageSet set = raw(sp, channels);
        if (limit >= 0 && limit < set.size()) set = set.slice(0, limit);
        set = Transforms.toModelSize(Transforms.channels(set, channels));
        return set.withName(name.replaceFirst(":\\d+$", ""));
    }

    /** A folder of PNG/JPEG images as a spec names it: the folder, and its image files in the order {@link #load} reads them. */
    public record Folder(Path dir, List<Path> files) {}

    /**
     * The folder and image files of a spec that names a folder of PNG/JPEG images ({@code DIR} or {@code DIR@N}), so
     * that a caller can read a large folder part by part ({@link #loadFiles}); empty for any other kind of set.
     */
    public Optional<Folder> imageFolder(String spec) {
        Spec sp = Spec.of(spec);
        Path dir = Path.of(sp.name());
        if (sp.builtIn() || !Files.isDirectory(dir) || !binFiles(dir).isEmpty()) return Optional.empty();
        List<Path> files = ImageFolder.files(dir);
        if (sp.limit() >= 0) files = files.subList(0, Math.min(files.size(), sp.limit()));
        return Optional.of(new Folder(dir, files));
    }

    /** Some of a folder's image files ({@link #imageFolder}), brought to the model's size and channels as {@link #load} does. */
    public static ImageSet loadFiles(String name, List<Path> files, int channels) {
        return toModel(ImageFolder.readFiles(name, files, channels, Transforms.MODEL_SIZE, Transforms.MODEL_SIZE), channels);
    }

    /** PNG or JPEG images in memory, read as {@link #loadFiles} reads files; a message names image i as "NAME image i". */
    public static ImageSet loadEncoded(String name, List<byte[]> images, int channels) {
        return toModel(ImageFolder.readEncoded(name, images, channels, Transforms.MODEL_SIZE, Transforms.MODEL_SIZE), channels);
    }

    private static ImageSet toModel(ImageSet set, int channels) { return Transforms.toModelSize(Transforms.channels(set, channels)); }

    private ImageSet raw(Spec sp, int channels) {
        String name = sp.name(), base = sp.base(), arg = sp.arg();
        int limit = sp.limit(), side = Synthetic.side(channels);
        if ((base.equals("mnist") || base.equals("letters")) && name.contains(":"))   // not read as the whole set
            throw new IllegalArgumentException("data set '" + name + "': " + base + " takes no ':" + arg + "'");
        return switch (base) {
            case "fashion-mnist" -> {
                if (!arg.isEmpty() && !arg.equals("train") && !arg.equals("test"))
                    throw new IllegalArgumentException("data set '" + name + "': expected fashion-mnist, fashion-mnist:train or fashion-mnist:test");
                yield cache.fashionMnist(arg.equals("train"), limit > 0 ? limit : Integer.MAX_VALUE);
            }
            case "mnist" -> cache.mnist();
            case "letters" -> letters(seed);
            case "noise" -> Synthetic.noise(count(name, arg, limit), channels, side, side, seed);
            case "constant" -> Synthetic.constant(count(name, arg, limit), channels, side, side, seed + 1);
            default -> fromPath(Path.of(name), channels, limit);
        };
    }

    /** The letters need AWT: a runtime without java.desktop (a jlinked one, say) gets a clear error, not a NoClassDefFoundError. */
    private static ImageSet letters(long seed) {
        if (!ImageFolder.hasDesktop())
            throw new IllegalArgumentException("data set 'letters': drawing the letters needs the java.desktop module (AWT), which this Java runtime lacks; run a full JDK, or leave letters out");
        return Letters.render(Letters.fonts(), seed);
    }

    /** A file or folder; an IDX file is read no further than {@code limit} images (all where it is negative). */
    private static ImageSet fromPath(Path p, int channels, int limit) {
        if (!Files.exists(p))
            throw new IllegalArgumentException("data set '" + p + "': no such file or folder, and not one of fashion-mnist, mnist, letters, noise, constant");
        String file = p.getFileName().toString();
        if (Files.isDirectory(p)) {
            List<Path> bins = binFiles(p);
            if (!bins.isEmpty()) return Cifar.read(file, bins, false);
            return ImageFolder.read(file, p, channels, Transforms.MODEL_SIZE, Transforms.MODEL_SIZE);
        }
        if (file.endsWith(".bin")) return Cifar.read(file, List.of(p), false);
        return Idx.read(file, p, null, limit >= 0 ? limit : Integer.MAX_VALUE);
    }

    /** The CIFAR binary files (*.bin) directly in a folder, sorted. */
    private static List<Path> binFiles(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(f -> f.getFileName().toString().endsWith(".bin")).sorted().toList();
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Size of a generated set: noise:N, else the @N limit, else 1000. */
    private static int count(String name, String arg, int limit) {
        return arg.isEmpty() ? (limit > 0 ? limit : 1000) : parseCount(name, arg);
    }

    private static int parseCount(String spec, String s) {
        try {
            int n = Integer.parseInt(s);
            if (n < 1) throw new NumberFormatException();
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("data set '" + spec + "': '" + s + "' is not a positive image count"
                    + (spec.endsWith("@" + s) ? " (and no file or folder '" + spec + "' exists)" : ""));
        }
    }
}
