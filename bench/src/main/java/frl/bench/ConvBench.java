package frl.bench;

import frl.backend.Backend;
import frl.backend.ConvGeometry;
import frl.backend.cpu.CpuBackend;
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

/**
 * The three conv primitives on the FRL-VAE (DCGAN) layers at batch 64. Each layer is given as the conv2d it
 * is built on: for a ConvTranspose2d that is the conv from its output back to its input, so the layer's
 * forward is conv2dBackwardInput and its input gradient is conv2d.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class ConvBench {
    /** x [n,c,h,w] ⋆ w [k,c,kernel,kernel], stride 2 padding 1 (every DCGAN up/down-sampling layer). */
    public enum Layer {
        enc1("Conv2d(4→64, 4, 2, 1) 32→16", false, 64, 4, 32, 64),
        enc2("Conv2d(64→128, 4, 2, 1) 16→8", false, 64, 64, 16, 128),
        enc2fm("Conv2d(32→64, 4, 2, 1) 16→8 [fmnist]", false, 64, 32, 16, 64),
        dec64("ConvTranspose2d(64→1024, 4, 2, 1) 16→32 [cifar ngf 64, nc 4]", true, 64, 1024, 32, 64),
        dec32("ConvTranspose2d(32→512, 4, 2, 1) 16→32 [fmnist ngf 32, nc 2]", true, 64, 512, 32, 32),
        dec64p("ConvTranspose2d(64→1024, 4, 2, 1) 16→32, output in phases [cifar]", true, 64, 1024, 32, 64),
        dec32p("ConvTranspose2d(32→512, 4, 2, 1) 16→32, output in phases [fmnist]", true, 64, 512, 32, 32);

        final String what;
        final boolean transposed;
        final Shape x, w, y;
        static final ConvGeometry G = ConvGeometry.of(2, 1);

        Layer(String what, boolean transposed, int n, int c, int hw, int k) {
            this.what = what;
            this.transposed = transposed;
            x = Shape.of(n, c, hw, hw);
            w = Shape.of(k, c, 4, 4);
            y = Shape.of(n, k, hw / 2, hw / 2);
        }

        /** The large tensor x in its sub-pixel phases (Backend#toPhases), as the VAE's loss reads the last layer. */
        boolean phases() { return name().endsWith("p"); }

        /** 2 · (output elements) · (C·kh·kw): the same for all three ops. */
        double flops() { return 2.0 * y.numel() * (w.numel() / w.dim(0)); }
    }

    @Param public Layer layer;
    @Param({"forward", "backwardInput", "backwardWeight"}) public String op;

    private final Backend backend = CpuBackend.instance();
    private Tensor x, w, dy;

    @Setup public void setup() {
        // only what the op reads: dec64's x alone is 256 MB
        Shape xs = layer.phases() ? frl.backend.Shapes.phases("ConvBench", layer.x, Layer.G) : layer.x;
        if (!op.equals("backwardInput")) x = Fill.uniform(backend.empty(xs), 1);
        if (!op.equals("backwardWeight")) w = Fill.uniform(backend.empty(layer.w), 2);
        if (!op.equals("forward")) dy = Fill.uniform(backend.empty(layer.y), 3);
    }

    @TearDown public void close() {
        for (Tensor t : new Tensor[] {x, w, dy}) if (t != null) t.close();
    }

    @Benchmark public double run() {
        try (frl.tensor.Scope s = frl.tensor.Scope.open()) {
            Tensor out = layer.phases() ? inPhases() : switch (op) {
                case "forward" -> backend.conv2d(x, w, Layer.G);
                case "backwardInput" -> backend.conv2dBackwardInput(dy, w, layer.x, Layer.G);
                case "backwardWeight" -> backend.conv2dBackwardWeight(x, dy, layer.w, Layer.G);
                default -> throw new IllegalArgumentException("op " + op);
            };
            return out.get(out.numel() - 1);
        }
    }

    private Tensor inPhases() {
        return switch (op) {
            case "forward" -> backend.conv2dFromPhases(x, w, layer.x, Layer.G);
            case "backwardInput" -> backend.conv2dBackwardInputToPhases(dy, w, layer.x, Layer.G);
            case "backwardWeight" -> backend.conv2dBackwardWeightFromPhases(x, dy, layer.x, layer.w, Layer.G);
            default -> throw new IllegalArgumentException("op " + op);
        };
    }

    static double flops(BenchmarkParams p) { return Layer.valueOf(p.getParam("layer")).flops(); }

    /** Names the op from the layer's point of view (a transposed conv's forward is conv2dBackwardInput). */
    static String label(BenchmarkParams p) {
        Layer l = Layer.valueOf(p.getParam("layer"));
        String op = p.getParam("op");
        if (l.transposed) op = switch (op) {
            case "forward" -> "backward-input (conv2d)";
            case "backwardInput" -> "forward (conv2dBackwardInput)";
            default -> "backward-weight";
        };
        return l.what + " " + op;
    }
}
