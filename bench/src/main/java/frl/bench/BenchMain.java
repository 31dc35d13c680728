package frl.bench;

import frl.backend.cpu.Gemm;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Runs the JMH benchmarks (JMH's own command-line options apply: -f, -wi, -i, -w, -r, a name regex...)
 * and prints a table of ms/op with GFLOP/s or GB/s, plus each conv forward as a share of OpenBLAS sgemm.
 */
public final class BenchMain {
    private static final List<String> JVM_FLAGS = List.of("--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector");

    private BenchMain() {}

    public static void main(String[] args) throws Exception {
        CommandLineOptions cli = new CommandLineOptions(args);
        List<String> jvm = new ArrayList<>(JVM_FLAGS);
        if (cli.getJvmArgsAppend().hasValue()) jvm.addAll(cli.getJvmArgsAppend().get());
        Options options = new OptionsBuilder().parent(cli).jvmArgsAppend(jvm.toArray(String[]::new)).build();
        Collection<RunResult> results = new Runner(options).run();

        System.out.println();
        System.out.println("frl-engine kernels, " + Runtime.getRuntime().availableProcessors() + " cores, " + Gemm.describe());
        System.out.printf("%-80s %10s %10s%n", "benchmark", "ms/op", "rate");
        double sgemm = Double.NaN;
        List<String[]> convForward = new ArrayList<>();
        for (RunResult r : results) {
            BenchmarkParams p = r.getParams();
            double opsPerS = r.getPrimaryResult().getScore();
            String bench = p.getBenchmark(), label, rate;
            if (bench.contains("GemmBench")) {
                double g = opsPerS * GemmBench.flops(p) / 1e9;
                if (p.getParam("blas").equals("openblas")) sgemm = g;
                label = GemmBench.label(p);
                rate = String.format("%.1f GFLOP/s", g);
            } else if (bench.contains("ConvBench")) {
                double g = opsPerS * ConvBench.flops(p) / 1e9;
                label = ConvBench.label(p);
                rate = String.format("%.1f GFLOP/s", g);
                if (p.getParam("op").equals("forward") || label.contains("forward (conv2dBackwardInput)"))
                    convForward.add(new String[] {label, Double.toString(g)});
            } else if (bench.contains("CrossEntropyBench")) {
                label = CrossEntropyBench.label(p);
                rate = String.format("%.1f GB/s", opsPerS * CrossEntropyBench.bytes(p) / 1e9);
            } else if (bench.contains("ImageReadBench")) {
                label = ImageReadBench.label(p);
                rate = String.format("%.0f img/s", opsPerS * ImageReadBench.IMAGES);
            } else {
                label = bench;
                rate = String.format("%.3g ops/s", opsPerS);
            }
            System.out.printf("%-80s %10.2f %16s%n", label, 1000 / opsPerS, rate);
        }
        if (!Double.isNaN(sgemm)) {
            System.out.println();
            for (String[] c : convForward)
                System.out.printf("%-80s %5.0f%% of sgemm%n", c[0], 100 * Double.parseDouble(c[1]) / sgemm);
        }
    }
}
