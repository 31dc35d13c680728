package frl.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AtomicFileTest {
    @Test void newFilesAreWorldReadableAndRewritesKeepTheirPermissions(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("report.md");
        AtomicFile.writeString(f, "one");
        assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-rw----"));
        AtomicFile.writeString(f, "two");
        assertEquals("two", Files.readString(f));
        assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
        try (var s = Files.list(dir)) {
            assertEquals(1, s.count(), "no temporary file is left behind");
        }
    }

    @Test void aParentThatIsAFileIsNamedNotTheTemporaryFile(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("m.safetensors"), "x"), target = file.resolve("x.safetensors");
        var e = assertThrows(java.io.IOException.class, () -> AtomicFile.writeString(target, "y"));
        assertEquals("cannot write " + target + ": " + file + ": exists and is not a folder", e.getMessage());
    }

    /** A JVM writing slowly, stopped by SIGTERM mid-write: the shutdown hook deletes its temporary file. */
    @Test void aStoppedWriteLeavesNoTemporaryFile(@TempDir Path dir) throws Exception {
        Path target = dir.resolve("model.safetensors");
        stopWhileWriting(SlowWriter.class, target);
        assertEquals(0, temporaries(dir), "the temporary file is gone");
        assertFalse(Files.exists(target), "and no half-written target either");
    }

    /** Runs the writer's main on target in a JVM of its own, and stops it (SIGTERM) once its temporary file or folder is there. */
    private static void stopWhileWriting(Class<?> writer, Path target) throws Exception {
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(javaBin, "-cp", System.getProperty("java.class.path"), writer.getName(), target.toString())
                .redirectErrorStream(true).start();
        try {
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (temporaries(target.getParent()) == 0) {
                assertTrue(System.nanoTime() < deadline && p.isAlive(), "the writer never started its temporary file or folder");
                Thread.sleep(20);
            }
            Thread.sleep(200);   // its first bytes or file written
            p.destroy();   // SIGTERM
            assertTrue(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS));
        } finally {
            p.destroyForcibly();
        }
    }

    private static long temporaries(Path dir) throws java.io.IOException {
        try (var s = Files.list(dir)) {
            return s.filter(f -> f.getFileName().toString().endsWith(".tmp") || f.getFileName().toString().contains(".part-")).count();
        }
    }

    /** A folder appears whole or not at all; one that holds anything is never written into; an empty one is replaced. */
    @Test void aFolderAppearsWholeOrNotAtAll(@TempDir Path dir) throws Exception {
        Path target = dir.resolve("images");
        AtomicFile.writeFolder(target, d -> {
            for (int i = 0; i < 3; i++) Files.writeString(d.resolve(i + ".txt"), "image " + i);
            assertFalse(Files.exists(target), "not there while it is filled");
        });
        assertEquals("image 2", Files.readString(target.resolve("2.txt")));

        Path failed = dir.resolve("failed");
        java.io.IOException e = assertThrows(java.io.IOException.class, () -> AtomicFile.writeFolder(failed, d -> {
            Files.writeString(d.resolve("0.txt"), "image 0");
            throw new java.io.IOException("disk full");
        }));
        assertEquals("disk full", e.getMessage());
        assertFalse(Files.exists(failed), "a failed fill leaves no folder");
        assertEquals(0, temporaries(dir), "nor a part of one");

        e = assertThrows(java.io.IOException.class, () -> AtomicFile.writeFolder(target, d -> {}));
        assertEquals("cannot write " + target + ": it exists and is not an empty folder", e.getMessage());
        assertEquals("image 0", Files.readString(target.resolve("0.txt")), "untouched");
        assertFalse(AtomicFile.isNewFolder(target));
        assertFalse(AtomicFile.isNewFolder(Files.writeString(dir.resolve("a-file"), "x")));

        Path empty = Files.createDirectories(dir.resolve("empty"));
        assertTrue(AtomicFile.isNewFolder(empty));
        AtomicFile.writeFolder(empty, d -> Files.writeString(d.resolve("x.txt"), "x"));
        assertEquals("x", Files.readString(empty.resolve("x.txt")));
    }

    /** A folder write stopped by a signal leaves neither the folder nor its part. */
    @Test void aStoppedFolderWriteLeavesNothing(@TempDir Path dir) throws Exception {
        Path target = dir.resolve("images");
        stopWhileWriting(SlowFolderWriter.class, target);
        assertEquals(0, temporaries(dir), "the part folder is gone, with what it held");
        assertFalse(Files.exists(target));
    }

    /** Writes a file into its part folder, then waits to be stopped. */
    public static final class SlowFolderWriter {
        public static void main(String[] args) throws Exception {
            AtomicFile.writeFolder(Path.of(args[0]), d -> {
                Files.writeString(d.resolve("0.txt"), "image 0");
                try {
                    Thread.sleep(60_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }
    }

    /** Writes its first bytes, then waits to be stopped. */
    public static final class SlowWriter {
        public static void main(String[] args) throws Exception {
            AtomicFile.write(Path.of(args[0]), ch -> {
                ch.write(java.nio.ByteBuffer.wrap(new byte[] {1, 2, 3}));
                try {
                    Thread.sleep(60_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }
    }
}
