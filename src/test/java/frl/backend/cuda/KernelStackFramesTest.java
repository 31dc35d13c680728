package frl.backend.cuda;

import org.junit.jupiter.api.Test;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * No kernel keeps a by-value FrlInts (128 bytes) or FrlTable in local memory: indexed with a runtime index, such a
 * parameter is copied to each thread's stack unless it is declared {@code const __grid_constant__}.
 * subpixel_sum_phases did that (a 256-byte frame, its two range tables copied per thread). Compiles every
 * src/main/cuda/*.cu for sm_90 with ptxas's report, where nvcc is (CI has it); skips without it.
 */
class KernelStackFramesTest {
    /** ptxas -v: "Compiling entry function 'name' for 'sm_90'" then "N bytes stack frame". */
    private static final Pattern ENTRY = Pattern.compile("Compiling entry function '(\\w+)'"), FRAME = Pattern.compile("(\\d+) bytes stack frame");
    /** Small frames are register spills or a local array of a few words; a parameter table copied is 128 bytes at least. */
    private static final int MAX_FRAME = 64;

    private static String nvcc() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path p = Path.of(dir, "nvcc");
            if (Files.isExecutable(p)) return p.toString();
        }
        return Files.isExecutable(Path.of("/usr/local/cuda/bin/nvcc")) ? "/usr/local/cuda/bin/nvcc" : null;
    }

    @Test void noKernelCopiesATableToItsStack(@org.junit.jupiter.api.io.TempDir Path out) throws IOException, InterruptedException {
        String nvcc = nvcc();
        assumeTrue(nvcc != null, "no nvcc on this machine");
        List<Path> sources;
        try (Stream<Path> files = Files.list(Path.of("src/main/cuda"))) {
            sources = files.filter(p -> p.toString().endsWith(".cu")).sorted().toList();
        }
        List<Process> running = new ArrayList<>();
        for (Path cu : sources) {
            Path cubin = out.resolve(cu.getFileName() + ".cubin");
            running.add(new ProcessBuilder(nvcc, "-cubin", "-arch=sm_90", "-O3", "-std=c++17", "-I", "native/include", "-Xptxas", "-v",
                    "-o", cubin.toString(), cu.toString()).redirectErrorStream(true).start());
        }
        int entries = 0;
        for (int i = 0; i < sources.size(); i++) {
            Process p = running.get(i);
            String report = new String(p.getInputStream().readAllBytes());
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), sources.get(i) + ": nvcc did not finish");
            assertEquals(0, p.exitValue(), sources.get(i) + ": nvcc failed:\n" + report);
            String kernel = null;
            for (String line : report.split("\n")) {
                Matcher e = ENTRY.matcher(line), f = FRAME.matcher(line);
                if (e.find()) kernel = e.group(1);
                else if (f.find()) {
                    entries++;
                    assertTrue(Integer.parseInt(f.group(1)) <= MAX_FRAME, sources.get(i).getFileName() + ": " + kernel + " has a "
                            + f.group(1) + "-byte stack frame; a by-value table indexed at run time wants const __grid_constant__");
                }
            }
        }
        assertTrue(entries >= sources.size(), "ptxas reported " + entries + " kernels for " + sources.size() + " files");
    }
}
