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
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(javaBin, "-cp", System.getProperty("java.class.path"), SlowWriter.class.getName(), target.toString())
                .redirectErrorStream(true).start();
        try {
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (temporaries(dir) == 0) {
                assertTrue(System.nanoTime() < deadline && p.isAlive(), "the writer never started its temporary file");
                Thread.sleep(20);
            }
            p.destroy();   // SIGTERM
            assertTrue(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS));
        } finally {
            p.destroyForcibly();
        }
        assertEquals(0, temporaries(dir), "the temporary file is gone");
        assertFalse(Files.exists(target), "and no half-written target either");
    }

    private static long temporaries(Path dir) throws java.io.IOException {
        try (var s = Files.list(dir)) {
            return s.filter(f -> f.getFileName().toString().endsWith(".tmp")).count();
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
