package frl.bench;

import frl.backend.Backend;
import frl.backend.cpu.CpuBackend;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * The 256-way categorical decoder's loss at batch 64 of the cifar VAE: logits [64, 2, 256, 32, 32] (classes on
 * axis 2, 134 MB), targets [64, 2, 32, 32]. Memory-bound: reported in GB/s of tensor traffic.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class CrossEntropyBench {
    static final Shape LOGITS = Shape.of(64, 2, 256, 32, 32), TARGETS = Shape.of(64, 2, 32, 32);

    private final Backend backend = CpuBackend.instance();
    private Tensor logits, targets, dloss;

    @Setup public void setup() {
        logits = Fill.uniform(backend.empty(LOGITS), 1);
        targets = Fill.classes(backend.empty(TARGETS), 256, 2);
        dloss = Fill.uniform(backend.empty(TARGETS), 3);
    }

    @TearDown public void close() {
        logits.close();
        targets.close();
        dloss.close();
    }

    @Benchmark public double forward() {
        try (frl.tensor.Scope s = frl.tensor.Scope.open()) {
            return backend.crossEntropy(logits, targets, 2).get(0);
        }
    }

    @Benchmark public double backward() {
        try (frl.tensor.Scope s = frl.tensor.Scope.open()) {
            return backend.crossEntropyBackward(logits, targets, dloss, 2).get(0);
        }
    }

    /** Bytes read and written: logits and targets in; the loss out (forward) or dloss in and dlogits out. */
    static double bytes(BenchmarkParams p) {
        double logits = LOGITS.numel() * 4.0, small = TARGETS.numel() * 4.0;
        return p.getBenchmark().endsWith("forward") ? logits + 2 * small : 2 * logits + 2 * small;
    }

    static String label(BenchmarkParams p) {
        return "crossEntropy" + (p.getBenchmark().endsWith("forward") ? "" : "Backward") + " logits " + LOGITS + " axis 2";
    }
}
