package frl.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line: exit codes and one-line errors a user can act on, never a stack trace. */
class MainTest {
    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        PrintStream out = System.out, err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        System.setOut(new PrintStream(o, true));
        System.setErr(new PrintStream(e, true));
        try {
            int code = Main.run(args);
            return new Run(code, o.toString(), e.toString());
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    @Test void infoNamesTheBackendAndBlas() {
        Run r = run("info");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("backend (auto)"), r.out());
        assertTrue(r.out().contains("blas"), r.out());
    }

    @Test void evalWithoutModelsSaysWhatToGive() {
        Run r = run("eval");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("give --frl, --plain or both"), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
    }

    @Test void trainOnAMissingPathNamesIt(@TempDir Path dir) {
        Path missing = dir.resolve("no-such-images.idx");
        Run r = run("train", "--data", missing.toString(), "--out", dir.resolve("m.safetensors").toString(), "--device", "cpu");
        assertEquals(1, r.code());
        assertTrue(r.err().contains(missing.toString()), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
    }

    @Test void scoreWithACorruptCheckpointNamesTheFile(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("model.safetensors");
        Files.write(bad, new byte[] {1, 2, 3});
        Run r = run("score", "--model", bad.toString(), "--data", "noise:4", "--out", dir.resolve("s.csv").toString(), "--device", "cpu");
        assertEquals(1, r.code());
        assertTrue(r.err().contains(bad.toString()), r.err());
        assertFalse(Files.exists(dir.resolve("s.csv")), "no output is written when scoring fails");
    }

    @Test void unknownDeviceIsRejected(@TempDir Path dir) {
        Run r = run("bench", "--device", "tpu");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("unknown device 'tpu'"), r.err());
    }
}
