package frl.backend.cuda;

/** A CUDA, cuBLAS, cuDNN or cuFFT call failed; the message names the call and the library's error text. */
public final class CudaException extends RuntimeException {
    public CudaException(String message) { super(message); }
}
