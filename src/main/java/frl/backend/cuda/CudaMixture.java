package frl.backend.cuda;

import frl.backend.Shapes;
import frl.tensor.Shape;
import frl.tensor.Tensor;

/**
 * PixelCNN++'s discretised logistic mixture (src/main/cuda/mixture.cu; CPU twin: MixtureMath, CpuLoss): one thread
 * per pixel each way, where the ops it was composed of took about forty kernels forward and kept their results.
 */
final class CudaMixture {
    private static final String FAMILY = "mixture";
    private static final Kernel NLL = new Kernel(FAMILY, "mixture_nll", "pppllii");
    private static final Kernel NLL_BACKWARD = new Kernel(FAMILY, "mixture_nll_backward", "ppppllii");
    /** Image channels the backward keeps per-channel derivatives for (MIX_MAX_CHANNELS in mixture.cu). */
    static final int MAX_CHANNELS = 8;

    private CudaMixture() {}

    static Tensor nll(Tensor x, Tensor params, int m) {
        Tensor out = CudaBackend.alloc(Shapes.mixtureNll("mixtureNll", x.shape(), params.shape(), m));
        launchNll(x, params, out, x.shape(), m);
        return out;
    }

    /** −log p per pixel over tensors or device addresses, x of shape xs. */
    static void launchNll(Object x, Object params, Object out, Shape xs, int m) {
        long pixels = requireChannels("mixtureNll", xs);
        if (pixels > 0) NLL.launchN(pixels, x, params, out, pixels, (long) xs.dim(2) * xs.dim(3), xs.dim(1), m);
    }

    static Tensor nllBackward(Tensor x, Tensor params, int m, Tensor dnll) {
        Shapes.mixtureNllBackward(x.shape(), params.shape(), m, dnll.shape());
        Tensor dp = CudaBackend.alloc(params.shape());
        launchNllBackward(x, params, dnll, dp, x.shape(), m);
        return dp;
    }

    static void launchNllBackward(Object x, Object params, Object dnll, Object dparams, Shape xs, int m) {
        long pixels = requireChannels("mixtureNllBackward", xs);
        if (pixels > 0) NLL_BACKWARD.launchN(pixels, x, params, dnll, dparams, pixels, (long) xs.dim(2) * xs.dim(3), xs.dim(1), m);
    }

    /** The pixels of x [N, C, H, W], C at most MAX_CHANNELS. */
    private static long requireChannels(String op, Shape xs) {
        if (xs.dim(1) > MAX_CHANNELS)
            throw new IllegalArgumentException(op + " on the GPU: at most " + MAX_CHANNELS + " image channels, got " + xs);
        return (long) xs.dim(0) * xs.dim(2) * xs.dim(3);
    }
}
