package frl.backend.cuda;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.ConvGeometry;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static frl.backend.cuda.CudaShiftedConvTest.gauss;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Convolutions as unfolded GEMMs on the GPU against the CPU backend's (NMSE ≤ 1e-7): UnfoldPlansTest's cases and the
 * VAE's middle layers at batch 64, whole, in chunks (-Dfrl.cuda.splitK=on) and the faster (auto), directly (in SGEMM and
 * in 3xTF32) and through the backend with -Dfrl.cuda.unfold forced to them and under auto.
 */
@Tag("gpu")
class CudaUnfoldTest {
    private static final Object[][] VAE = {
        {Shape.of(64, 4, 32, 32), Shape.of(64, 4, 4, 4), ConvGeometry.of(2, 1)},      // cifar's encoder, first layer
        {Shape.of(64, 64, 16, 16), Shape.of(128, 64, 4, 4), ConvGeometry.of(2, 1)},   // its second, and the decoder's 128→64
        {Shape.of(64, 128, 8, 8), Shape.of(256, 128, 4, 4), ConvGeometry.of(2, 1)},   // its third, and the decoder's 256→128
    };

    @Test void matchesTheCpuConvolutions() {
        Backend cuda = GpuTests.cudaOrSkip(), cpu = Backends.cpu();
        for (Object[][] cases : new Object[][][] {UnfoldPlansTest.CASES, VAE})
            for (Object[] c : cases) {
                Shape xs = (Shape) c[0], ws = (Shape) c[1];
                ConvGeometry g = (ConvGeometry) c[2];
                Random r = new Random(xs.hashCode());
                try (Scope scope = Scope.open()) {
                    float[] x = gauss(r, xs), w = gauss(r, ws);
                    Tensor xc = cpu.fromHost(xs, x), wc = cpu.fromHost(ws, w), xg = cuda.fromHost(xs, x), wg = cuda.fromHost(ws, w);
                    Tensor y = cpu.conv2d(xc, wc, g);
                    float[] dy = gauss(r, y.shape());
                    Tensor dyc = cpu.fromHost(y.shape(), dy), dyg = cuda.fromHost(y.shape(), dy);
                    Tensor dx = cpu.conv2dBackwardInput(dyc, wc, xs, g), dw = cpu.conv2dBackwardWeight(xc, dyc, ws, g);
                    for (String split : new String[] {"off", "on", "auto"})
                        Switches.with("frl.cuda.splitK", split, () -> {
                            String at = "x" + xs + " w" + ws + " " + g + " splitK=" + split;
                            for (String gemm : new String[] {"sgemm", "3xtf32"})
                                Switches.with("frl.cuda.gemm", gemm, () -> {
                                    Tensor gy = CudaUnfold.conv2d(xg, wg, g);
                                    assertEquals(y.shape(), gy.shape());
                                    CudaVsCpu.assertClose(at + " " + gemm + " forward", gy, y);
                                    CudaVsCpu.assertClose(at + " " + gemm + " backward input", CudaUnfold.backwardInput(dyg, wg, xs, g), dx);
                                    CudaVsCpu.assertClose(at + " " + gemm + " backward weight", CudaUnfold.backwardWeight(xg, dyg, ws, g), dw);
                                });
                            // the other hand-written paths forced off, so that the backend's choice is between these and cuDNN
                            for (String mode : new String[] {"kernel", "auto"})
                                Switches.with("frl.cuda.unfold", mode, () -> Switches.with("frl.cuda.subpixel", "cudnn", () ->
                                        Switches.with("frl.cuda.conv1x1", "cudnn", () -> Switches.with("frl.cuda.dense", "cudnn", () -> {
                                    CudaVsCpu.assertClose(at + " " + mode + " backend forward", cuda.conv2d(xg, wg, g), y);
                                    CudaVsCpu.assertClose(at + " " + mode + " backend backward input", cuda.conv2dBackwardInput(dyg, wg, xs, g), dx);
                                    CudaVsCpu.assertClose(at + " " + mode + " backend backward weight", cuda.conv2dBackwardWeight(xg, dyg, ws, g), dw);
                                }))));
                        });
                    String shapes = " x" + xs + " w" + ws + " " + g;
                    for (String op : new String[] {"conv2d", "conv2dBackwardInput", "conv2dBackwardWeight"})
                        assertTrue(CudaConv.unfoldChoices().containsKey(op + shapes), op + shapes + " not timed under auto: " + CudaConv.unfoldChoices());
                }
            }
    }
}
