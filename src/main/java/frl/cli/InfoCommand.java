package frl.cli;

import frl.backend.Backends;
import frl.backend.cpu.CpuBackend;
import frl.backend.cuda.CudaBackend;
import frl.backend.cuda.DriverProbe;
import picocli.CommandLine.Command;

import java.util.LinkedHashMap;
import java.util.Map;

/** Prints what this machine offers the engine: JDK, cores, BLAS, Vector API, GPU. */
@Command(name = "info", mixinStandardHelpOptions = true, description = "Show the backends, BLAS, vector support and GPU of this machine.")
final class InfoCommand implements Runnable {
    @Override public void run() {
        Map<String, String> rows = new LinkedHashMap<>();
        rows.put("frl-engine", "0.1.0");
        rows.put("jdk", Runtime.version() + " (" + System.getProperty("java.vendor") + ")");
        rows.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        rows.put("cores", String.valueOf(Runtime.getRuntime().availableProcessors()));
        rows.put("max heap", Runtime.getRuntime().maxMemory() / (1 << 20) + " MiB");
        rows.putAll(CpuBackend.describe());
        rows.put("gpu driver", DriverProbe.probe().toString());
        var cuda = Backends.cuda();
        if (cuda.isPresent()) rows.putAll(((CudaBackend) cuda.get()).context().describe());
        else rows.put("cuda backend", "unavailable: " + Backends.cudaProblem());
        rows.put("backend (auto)", Backends.select("auto").name());
        rows.forEach((k, v) -> System.out.printf("%-16s %s%n", k, v));
    }
}
