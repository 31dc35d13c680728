package frl.backend.cuda;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.MixtureInputs;
import frl.backend.MixtureMath;
import frl.backend.reference.ReferenceBackend;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static frl.backend.cuda.CudaVsCpu.assertClose;
import static frl.backend.cuda.CudaVsCpu.shape;
import static frl.backend.cuda.CudaVsCpu.uniform;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * mixture.cu (CudaMixture) against MixtureMath in float64: on the host (HostKernels) at small sizes with every branch
 * (bytes 0 and 255, bins, narrow logistics far from their bins, log-scales clamped at −7), gray, two-channel, RGB and
 * RGB + HF pixels; on a GPU also at PixelCNN++'s size against the CPU.
 */
class CudaMixtureTest {
    private static final Backend REF = new ReferenceBackend();

    @Test void onTheHostTheKernelsMatchFloat64() {
        try (HostKernels gpu = HostKernels.of("mixture"); Scope sc = Scope.open()) {
            Random r = new Random(31);
            for (Shape xs : new Shape[] {shape(2, 1, 3, 5), shape(1, 2, 4, 9), shape(2, 3, 3, 3), shape(1, 4, 5, 4)})
                for (double top : new double[] {0, -6.5}) {
                    int m = 3;
                    Shape ps = shape(xs.dim(0), MixtureMath.parameterChannels(xs.dim(1), m), xs.dim(2), xs.dim(3)), out = shape(xs.dim(0), 1, xs.dim(2), xs.dim(3));
                    float[][] in = MixtureInputs.of(r, xs, m, top);
                    in[1][m * (1 + xs.dim(1)) * xs.dim(2) * xs.dim(3)] = Float.NaN;   // image 0's first log-scale at pixel 0: NaN in, NaN out
                    float[] g = uniform(r, out.numel(), -1, 1);
                    MemorySegment x = gpu.floats(in[0]), p = gpu.floats(in[1]), dg = gpu.floats(g);
                    MemorySegment nll = gpu.floats(CudaSubPixelTest.Host.unwritten(out.numel())), dp = gpu.floats(CudaSubPixelTest.Host.unwritten(ps.numel()));
                    CudaMixture.launchNll(x.address(), p.address(), nll.address(), xs, m);
                    CudaMixture.launchNllBackward(x.address(), p.address(), dg.address(), dp.address(), xs, m);
                    Tensor rx = REF.fromHost(xs, in[0]), rp = REF.fromHost(ps, in[1]);
                    String at = " " + xs + ", log-scales up to " + top;
                    assertClose("mixture NLL" + at, nll.toArray(ValueLayout.JAVA_FLOAT), REF.mixtureNll(rx, rp, m).toFloats(), 1e-7);
                    assertClose("mixture dparams" + at, dp.toArray(ValueLayout.JAVA_FLOAT), REF.mixtureNllBackward(rx, rp, m, REF.fromHost(out, g)).toFloats(), 1e-7);
                }
        }
    }

    /** At PixelCNN++'s anchor size (gray + HF, 10 components, batch 32) against the CPU, and a refused channel count. */
    @Tag("gpu")
    @Test void onTheGpuMatchesTheCpu() {
        Backend cuda = GpuTests.cudaOrSkip(), cpu = Backends.cpu();
        try (Scope sc = Scope.open()) {
            Random r = new Random(32);
            int m = 10;
            Shape xs = shape(32, 2, 32, 32), ps = shape(32, MixtureMath.parameterChannels(2, m), 32, 32), out = shape(32, 1, 32, 32);
            float[][] in = MixtureInputs.of(r, xs, m, 0);
            float[] g = uniform(r, out.numel(), -1, 1);
            assertClose("mixture NLL", cuda.mixtureNll(cuda.fromHost(xs, in[0]), cuda.fromHost(ps, in[1]), m), cpu.mixtureNll(cpu.fromHost(xs, in[0]), cpu.fromHost(ps, in[1]), m));
            assertClose("mixture dparams", cuda.mixtureNllBackward(cuda.fromHost(xs, in[0]), cuda.fromHost(ps, in[1]), m, cuda.fromHost(out, g)),
                    cpu.mixtureNllBackward(cpu.fromHost(xs, in[0]), cpu.fromHost(ps, in[1]), m, cpu.fromHost(out, g)));
            Shape nine = shape(1, 9, 2, 2);
            var e = assertThrows(IllegalArgumentException.class, () -> cuda.mixtureNll(cuda.full(nine, 0), cuda.full(shape(1, MixtureMath.parameterChannels(9, 1), 2, 2), 0), 1));
            assertEquals("mixtureNll on the GPU: at most 8 image channels, got [1, 9, 2, 2]", e.getMessage());
        }
    }
}
