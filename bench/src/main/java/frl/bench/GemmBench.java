package frl.bench;

import frl.backend.cpu.CpuBackend;
import frl.backend.cpu.Gemm;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.BenchmarkParams;

/** Square sgemm, C = A·B, through {@link Gemm#sgemm} (parallel over the machine's cores). */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class GemmBench {
    @Param({"openblas", "java"}) public String blas;
    @Param({"1024"}) public int size;

    private Gemm gemm;
    private Tensor a, b, c;

    @Setup public void setup() {
        gemm = Gemm.named(blas);
        Shape s = Shape.of(size, size);
        a = Fill.uniform(CpuBackend.instance().empty(s), 1);
        b = Fill.uniform(CpuBackend.instance().empty(s), 2);
        c = CpuBackend.instance().empty(s);
    }

    @TearDown public void close() {
        a.close();
        b.close();
        c.close();
    }

    @Benchmark public void sgemm() {
        gemm.sgemm(false, false, size, size, size, 1f, a.segment(), 0, size, b.segment(), 0, size, 0f, c.segment(), 0, size);
    }

    static double flops(BenchmarkParams p) {
        double n = Integer.parseInt(p.getParam("size"));
        return 2 * n * n * n;
    }

    static String label(BenchmarkParams p) { return "sgemm " + p.getParam("blas") + " " + p.getParam("size") + "³"; }
}
