package frl.backend.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * bench/gpu/check.sh's quick and each steps, and bench/gpu/summary.py's reading of what they leave: the tools that turn
 * a GPU session's one call into the switches to flip. The GPU machine's run.sh is stood in for: its JUnit runs fail
 * under one switch, reported as the JUnit console reports (a class whose methods fail is itself marked ✔ in the tree;
 * the Failures section names it), and its cifar runs are faster under three switches, one of them the failing one.
 */
class GpuCheckScriptTest {
    /** The JUnit console's report of a failing method (junit-platform-console-standalone 1.14.1, --details=tree). */
    private static final String FAILED_REPORT = """
            ├─ JUnit Jupiter ✔
            │  ├─ CudaLossTest ✔
            │  │  └─ backwardMatchesTheCpu() ✘ expected: <1> but was: <2>

            Failures (1):
              JUnit Jupiter:CudaLossTest:backwardMatchesTheCpu()
                MethodSource [className = 'frl.backend.cuda.CudaLossTest', methodName = 'backwardMatchesTheCpu', methodParameterTypes = '']
                => org.opentest4j.AssertionFailedError: expected: <1> but was: <2>
            [         1 tests successful      ]
            [         1 tests failed          ]
            """;

    /** Stands in for .gpu/run.sh: JUnit fails under gamma; a cifar row's img/s rise under alpha, gamma and delta. */
    private static final String RUN_SH = """
            if [ "$1" = junit ]; then
              case "$JAVA_OPTS" in *frl.cuda.gamma=on*) cat "$(dirname "$0")/failed.txt"; exit 1;; esac
              echo "[         2 tests successful      ]"; echo "[         0 tests failed          ]"; exit 0
            fi
            opts=$(echo "$JAVA_OPTS" | grep -oE -- '-Dfrl\\.cuda\\.[A-Za-z]+=[A-Za-z]+' | grep -v 'sync=')
            case "$2" in
              bench)
                flags=$(echo "$opts" | sed -E 's/-D([^=]+)=(.*)/"\\1":"\\2"/' | paste -sd, -)
                fast=$(echo "$opts" | grep -cE 'alpha|gamma|delta')
                echo "{\\"model\\":\\"vae\\",\\"config\\":\\"cifar\\",\\"graph\\":\\"cuda graph\\",\\"cuda_flags\\":{$flags},\\"train_img_s\\":$((15000 + 500 * fast)),\\"score_img_s\\":3900}";;
              bench-kernels) echo '{"op":"copy","device":"cuda","shape":"[1]","ms":0.1,"ms_alone":0.1,"GB/s":4000}';;
            esac
            exit 0
            """;

    @Test void blameKeepsTheFailingSwitchOffAndTheWinnersRunTogether(@TempDir Path dir) throws IOException, InterruptedException {
        Optional<Path> python = onPath("python3");
        assumeTrue(python.isPresent() && onPath("bash").isPresent(), "needs bash and python3");
        Files.createDirectories(dir.resolve("bench/gpu"));
        for (String f : new String[] {"check.sh", "summary.py"}) Files.copy(Path.of("bench/gpu", f), dir.resolve("bench/gpu").resolve(f));
        Files.createDirectories(dir.resolve(".gpu"));
        Files.writeString(dir.resolve(".gpu/run.sh"), RUN_SH);
        Files.writeString(dir.resolve(".gpu/failed.txt"), FAILED_REPORT);
        Files.createDirectories(dir.resolve("bin"));   // python3 as is, but the PyTorch twin answers with a row at once
        Files.writeString(dir.resolve("bin/python3"), "case \"$1\" in bench/pytorch/*) echo '{\"framework\":\"pytorch\",\"config\":\"cifar\","
                + "\"train_img_s\":7500,\"score_img_s\":1200}'; exit 0;; esac\nexec " + python.get() + " \"$@\"\n");
        assertTrue(dir.resolve("bin/python3").toFile().setExecutable(true));

        ProcessBuilder pb = new ProcessBuilder("bash", "bench/gpu/check.sh", "quick", "each").directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("stdout.txt").toFile());
        pb.environment().put("OUT", dir.resolve("out").toString());
        pb.environment().put("NEW_PATHS", "-Dfrl.cuda.alpha=on -Dfrl.cuda.beta=on -Dfrl.cuda.gamma=on -Dfrl.cuda.delta=on -Dfrl.cuda.epsilon=on");
        pb.environment().put("PATH", dir.resolve("bin") + File.pathSeparator + System.getenv("PATH"));
        Process p = pb.start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "check.sh did not finish in 120 s");
        String log = Files.readString(dir.resolve("out/log.txt")), results = Files.readString(dir.resolve("out/results.jsonl"));

        assertTrue(log.contains("blame: rerunning --select-method frl.backend.cuda.CudaLossTest#backwardMatchesTheCpu()") && log.contains("blame: -Dfrl.cuda.gamma=on fails"), log);
        assertFalse(log.contains("fails only together"), log);
        String kernelsWith = results.lines().filter(l -> l.contains("kernels_below_with")).findFirst().orElse("");
        assertTrue(kernelsWith.contains("alpha=on") && !kernelsWith.contains("gamma"), "the joint runs leave the blamed switch out: " + kernelsWith);
        assertTrue(log.contains("(winners: -Dfrl.cuda.alpha=on -Dfrl.cuda.delta=on, --graph) exit 0"), log);

        Process s = new ProcessBuilder(python.get().toString(), "bench/gpu/summary.py", "out").directory(dir.toFile()).redirectErrorStream(true).start();
        String summary = new String(s.getInputStream().readAllBytes());
        assertEquals(0, s.waitFor(), summary);
        assertTrue(summary.contains("blamed: frl.cuda.gamma") && summary.contains("gamma=on  → keep off") && summary.contains("alpha=on  → flip")
                && summary.contains("beta=on  → no change"), summary);
        assertTrue(summary.contains("winners together (check.sh each's last run): -Dfrl.cuda.alpha=on -Dfrl.cuda.delta=on"), summary);
    }

    private static Optional<Path> onPath(String command) {
        return Stream.of(System.getenv("PATH").split(File.pathSeparator)).map(d -> Path.of(d, command)).filter(Files::isExecutable).findFirst();
    }
}
