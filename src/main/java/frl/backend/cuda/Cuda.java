package frl.backend.cuda;

import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.cuda.global.cudnn;
import org.bytedeco.javacpp.BytePointer;

/** Status checks: every CUDA-library call goes through one of these, which raise with the call's name. */
final class Cuda {
    private Cuda() {}

    /** CUDA runtime (cudaError_t). */
    static void check(int status, String call) {
        if (status != 0) throw new CudaException(call + " failed: CUDA error " + status + " (" + string(cudart.cudaGetErrorString(status)) + ")");
    }

    /** CUDA driver API (CUresult). */
    static void checkDriver(int status, String call) {
        if (status == 0) return;
        org.bytedeco.javacpp.PointerPointer<BytePointer> name = new org.bytedeco.javacpp.PointerPointer<>(1);
        String text = cudart.cuGetErrorName(status, name) == 0 ? string(name.get(BytePointer.class, 0)) : "unknown";
        throw new CudaException(call + " failed: CUresult " + status + " (" + text + ")");
    }

    static void checkCublas(int status, String call) {
        if (status != 0) throw new CudaException(call + " failed: cuBLAS status " + status + " (" + string(cublas.cublasGetStatusString(status)) + ")");
    }

    static void checkCudnn(int status, String call) {
        if (status != 0) throw new CudaException(call + " failed: cuDNN status " + status + " (" + string(cudnn.cudnnGetErrorString(status)) + ")");
    }

    static void checkCufft(int status, String call) {
        if (status != 0) throw new CudaException(call + " failed: cuFFT result " + status);
    }

    private static String string(BytePointer p) { return p == null || p.isNull() ? "?" : p.getString(); }
}
