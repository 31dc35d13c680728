package frl.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * Writes a file so that a crash leaves either the old file or the new one, never a torn one: a temporary
 * file in the target's directory, forced to disk, then renamed over the target. A new folder likewise
 * ({@link #writeFolder}): filled beside its place, then renamed into it.
 */
public final class AtomicFile {
    private AtomicFile() {}

    /** Temporary files being written: a process stopped by a signal (SIGTERM, Ctrl-C) deletes them on its way out. */
    private static final Set<Path> IN_PROGRESS = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (Path p : IN_PROGRESS) {
                try {
                    deleteTree(p);
                } catch (IOException ignored) {
                    // exiting anyway: a leftover hidden .tmp beside the target is all that remains
                }
            }
        }, "frl-atomic-file-cleanup"));
    }

    /** Body of an atomic write. */
    @FunctionalInterface
    public interface Writer { void write(FileChannel ch) throws IOException; }

    public static void write(Path file, Writer body) throws IOException {
        Path target = file.toAbsolutePath();
        Path dir = target.getParent();
        if (Files.isDirectory(target)) throw new IOException("cannot write " + file + ": it is a folder");
        Path tmp;
        try {
            Files.createDirectories(dir);
            tmp = Files.createTempFile(dir, "." + target.getFileName(), ".tmp");
        } catch (IOException e) {   // name the file asked for, not the temporary one
            throw new IOException("cannot write " + file + ": " + Problems.reason(e), e);
        }
        IN_PROGRESS.add(tmp);
        try {
            keepOrDefaultPermissions(tmp, target);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                body.write(ch);
                ch.force(true);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException x) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            } catch (java.nio.file.FileSystemException x) {   // say the target, not the temporary file Java names
                throw new IOException("cannot write " + file + ": " + Problems.what(x), x);
            }
        } catch (IOException | RuntimeException | Error x) {
            Files.deleteIfExists(tmp);
            throw x;
        } finally {
            IN_PROGRESS.remove(tmp);
        }
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);   // makes the rename itself durable
        } catch (IOException ignored) {
            // some file systems cannot open or sync a directory; the data itself is already on disk
        }
    }

    /** Body of an atomic folder write: fills the (empty, hidden) folder it is given. */
    @FunctionalInterface
    public interface FolderWriter { void fill(Path dir) throws IOException; }

    /**
     * Writes a new folder: {@code body} fills a hidden one beside it, which is then renamed into place, so that the folder
     * appears whole or not at all. The target must not exist, or be an empty folder (replaced).
     */
    public static void writeFolder(Path folder, FolderWriter body) throws IOException {
        Path target = folder.toAbsolutePath();
        if (!isNewFolder(target)) throw new IOException("cannot write " + folder + ": it exists and is not an empty folder");
        Path part;
        try {
            part = Files.createTempDirectory(Files.createDirectories(target.getParent()), "." + target.getFileName() + ".part-");
        } catch (IOException e) {   // name the folder asked for, not the temporary one
            throw new IOException("cannot write " + folder + ": " + Problems.reason(e), e);
        }
        IN_PROGRESS.add(part);
        try {
            body.fill(part);
            Files.deleteIfExists(target);   // an empty folder
            Files.move(part, target, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            try {
                deleteTree(part);   // where the body or the rename failed
            } finally {
                IN_PROGRESS.remove(part);
            }
        }
    }

    /** Whether {@link #writeFolder} may write this folder: nothing is there, or an empty folder. */
    public static boolean isNewFolder(Path folder) throws IOException {
        if (!Files.exists(folder)) return true;
        if (!Files.isDirectory(folder)) return false;
        try (Stream<Path> s = Files.list(folder)) {
            return s.findAny().isEmpty();
        }
    }

    /** A file, or a folder and all it holds; nothing where there is nothing. */
    private static void deleteTree(Path p) throws IOException {
        if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
            Files.deleteIfExists(p);
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        }
    }

    /** Temp files are created rw-------: give the result the old file's permissions, or rw-r--r--. */
    private static void keepOrDefaultPermissions(Path tmp, Path target) throws IOException {
        if (!tmp.getFileSystem().supportedFileAttributeViews().contains("posix")) return;
        Files.setPosixFilePermissions(tmp, Files.exists(target) ? Files.getPosixFilePermissions(target)
                : java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
    }

    public static void write(Path file, byte[] bytes) throws IOException {
        write(file, ch -> {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) ch.write(b);
        });
    }

    public static void writeString(Path file, String text) throws IOException {
        write(file, text.getBytes(StandardCharsets.UTF_8));
    }
}
