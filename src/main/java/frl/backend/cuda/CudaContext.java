package frl.backend.cuda;

import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.cudart.cudaDeviceProp;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.cuda.global.cudnn;
import org.bytedeco.cuda.global.cufft;
import org.bytedeco.javacpp.BytePointer;

import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Device 0's primary context, the one stream every op of the CUDA backend is queued on, the cuBLAS and cuDNN
 * handles bound to that stream, the caching allocator, and the kernel modules (one fatbin per family, loaded
 * from the classpath with cuModuleLoadData). With -Dfrl.cuda.sync=true every launch is followed by a stream
 * synchronisation, so an asynchronous fault is reported with the name of the kernel that caused it.
 */
public final class CudaContext {
    static final boolean SYNC_EACH_LAUNCH = Boolean.getBoolean("frl.cuda.sync");
    private static volatile CudaContext instance;

    private final CUstream_st stream = new CUstream_st();
    private final DeviceAllocator allocator = new DeviceAllocator();
    private final PinnedStaging staging = new PinnedStaging(this);
    private final Map<String, CUmod_st> modules = new ConcurrentHashMap<>();
    private final String deviceName;
    private final int capability, multiprocessors;
    private final long totalMemory;
    private cublasContext cublasHandle;
    private cudnnContext cudnnHandle;

    private CudaContext() {
        Cuda.check(cudart.cudaSetDevice(0), "cudaSetDevice(0)");
        Cuda.check(cudart.cudaFree(null), "cudaFree(null) (context creation)");
        Cuda.check(cudart.cudaStreamCreateWithFlags(stream, cudart.cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
        cudaDeviceProp p = new cudaDeviceProp();
        Cuda.check(cudart.cudaGetDeviceProperties(p, 0), "cudaGetDeviceProperties");
        deviceName = p.name().getString();
        capability = p.major() * 10 + p.minor();
        multiprocessors = p.multiProcessorCount();
        totalMemory = p.totalGlobalMem();
    }

    /** The context, created on first use (the caller has checked the driver with {@link DriverProbe}). */
    public static CudaContext get() {
        CudaContext c = instance;
        if (c == null) {
            synchronized (CudaContext.class) {
                if (instance == null) instance = new CudaContext();
                c = instance;
            }
        }
        return c;
    }

    CUstream_st stream() { return stream; }

    DeviceAllocator allocator() { return allocator; }

    PinnedStaging staging() { return staging; }

    /** The high-water mark of device memory held by live tensors, in bytes. */
    public long peakBytes() { return allocator.peakBytes(); }

    int multiprocessors() { return multiprocessors; }

    /** The GPU's memory in bytes. */
    long totalMemory() { return totalMemory; }

    synchronized cublasContext cublas() {
        if (cublasHandle == null) {
            cublasContext h = new cublasContext();
            Cuda.checkCublas(cublas.cublasCreate_v2(h), "cublasCreate");
            Cuda.checkCublas(cublas.cublasSetStream_v2(h, stream), "cublasSetStream");
            // Plain FP32 FMA math: no TF32 unless asked for (-Dfrl.cuda.tf32=true).
            Cuda.checkCublas(cublas.cublasSetMathMode(h, CudaBackend.TF32 ? cublas.CUBLAS_TF32_TENSOR_OP_MATH : cublas.CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
            // cuBLAS's own workspace, from the caching allocator: no allocation inside a captured graph
            long bytes = 32L << 20;
            Cuda.checkCublas(cublas.cublasSetWorkspace_v2(h, new DevicePointer(allocator.allocate(bytes)), bytes), "cublasSetWorkspace");
            cublasHandle = h;
        }
        return cublasHandle;
    }

    synchronized cudnnContext cudnn() {
        if (cudnnHandle == null) {
            cudnnContext h = new cudnnContext();
            Cuda.checkCudnn(cudnn.cudnnCreate(h), "cudnnCreate");
            Cuda.checkCudnn(cudnn.cudnnSetStream(h, stream), "cudnnSetStream");
            cudnnHandle = h;
        }
        return cudnnHandle;
    }

    /** The module compiled from src/main/cuda/{family}.cu. */
    CUmod_st module(String family) {
        return modules.computeIfAbsent(family, f -> {
            byte[] image;
            try (InputStream in = CudaContext.class.getResourceAsStream("/frl/cuda/" + f + ".fatbin")) {
                if (in == null) throw new CudaException("kernel family '" + f + "' is not in this build (/frl/cuda/" + f
                        + ".fatbin missing: was nvcc found when the jar was built? see native/build.sh)");
                image = in.readAllBytes();
            } catch (IOException e) {
                throw new CudaException("reading /frl/cuda/" + f + ".fatbin: " + e.getMessage());
            }
            CUmod_st m = new CUmod_st();
            Cuda.checkDriver(cudart.cuModuleLoadData(m, new BytePointer(image)), "cuModuleLoadData(" + f + ".fatbin)");
            return m;
        });
    }

    /**
     * A kernel's input check whose verdict is read at the next synchronisation rather than right after the
     * kernel, so validation never stalls the stream: the kernel writes the first bad flat position into
     * {@code flag} (8 bytes, preset to −1); {@code raise} turns a position into the exception.
     */
    record DeferredCheck(DeviceStorage flag, java.util.function.LongConsumer raise) {}

    private final CheckQueue<DeferredCheck> checks = new CheckQueue<>();

    /**
     * A new input check's flag, preset to −1 and read at the next synchronisation ({@code raise} turns a failed
     * position into the exception). In a graph being captured, the flag is preset once when the capture ends, so
     * a failure survives later replays until read; so it never shares a block with the step's earlier
     * temporaries, which each replay writes again ({@link DeviceAllocator#allocateApart}).
     */
    DeviceStorage checkFlag(java.util.function.LongConsumer raise) {
        DeviceStorage flag = DeviceStorage.apart(this, 8);
        if (!capturing())
            Cuda.check(cudart.cudaMemsetAsync(new DevicePointer(flag.address()), 0xFF, 8, stream), "cudaMemsetAsync(check flag)");
        checks.add(new DeferredCheck(flag, raise));
        return flag;
    }

    /** Whether a graph is being captured on the stream: nothing may wait for the stream or copy from the host. */
    boolean capturing() { return checks.recording(); }

    /** Checks deferred from now on belong to the graph being captured, until {@link #endCaptureChecks}. */
    void beginCaptureChecks() { checks.beginRecording(); }

    /** The captured graph's checks; {@link #addGraphChecks} makes every full synchronisation read them. */
    java.util.List<DeferredCheck> endCaptureChecks() { return checks.endRecording(); }

    void addGraphChecks(java.util.List<DeferredCheck> graph) { checks.addGraph(graph); }

    void removeGraphChecks(java.util.List<DeferredCheck> graph) { checks.removeGraph(graph); }

    /** The number of checks deferred so far: a mark for {@link #settleChecks}. */
    long checksDeferred() { return checks.mark(); }

    /** With -Dfrl.cuda.sync=true, waits after an op so that a fault is named where it happens (not while capturing). */
    void syncIfDebugging(String what) {
        if (SYNC_EACH_LAUNCH && !capturing()) sync(what);
    }

    /**
     * Waits for every queued op; raises the first asynchronous error, naming {@code what}, then any failed deferred
     * check, those of live graphs included (a graph's failed flag is set back to −1 once read).
     */
    void sync(String what) {
        if (capturing()) throw new IllegalStateException(what + " waits for the GPU, which a CUDA graph cannot capture: read results after replaying the graph");
        Cuda.check(cudart.cudaStreamSynchronize(stream), "cudaStreamSynchronize after " + what);
        java.util.List<DeferredCheck> graphs = checks.graphs();
        RuntimeException failure = null;
        try {
            settleChecks(Long.MAX_VALUE);
        } catch (RuntimeException e) {
            failure = e;
        }
        for (DeferredCheck c : graphs) {
            long first = readFlag(c);
            if (first == -1) continue;
            Cuda.check(cudart.cudaMemset(new DevicePointer(c.flag().address()), 0xFF, 8), "cudaMemset(graph check flag)");
            failure = firstFailure(failure, c, first);
        }
        if (failure != null) throw failure;
    }

    /**
     * Reads the flags of the checks deferred before {@code mark} (the caller has waited for the work that wrote
     * them), frees them, and raises the first that failed.
     */
    void settleChecks(long mark) {
        RuntimeException failure = null;
        java.util.List<DeferredCheck> due = checks.takeBefore(mark);
        for (DeferredCheck c : due) {
            try {
                long first = readFlag(c);
                if (first != -1) failure = firstFailure(failure, c, first);
            } catch (RuntimeException e) {
                if (failure == null) failure = e;
            } finally {
                c.flag().close();
            }
        }
        if (failure != null) throw failure;
    }

    /** The flag's value (blocking copy on the legacy stream: the work that wrote it is done, ours does not wait). */
    private static long readFlag(DeferredCheck c) {
        try (org.bytedeco.javacpp.LongPointer host = new org.bytedeco.javacpp.LongPointer(1)) {
            Cuda.check(cudart.cudaMemcpy(host, new DevicePointer(c.flag().address()), 8, cudart.cudaMemcpyDeviceToHost), "cudaMemcpy(check flag)");
            return host.get(0);
        }
    }

    private static RuntimeException firstFailure(RuntimeException failure, DeferredCheck c, long first) {
        if (failure != null) return failure;
        try {
            c.raise().accept(first);
            return new IllegalStateException("an input check failed at flat position " + first);
        } catch (RuntimeException e) {
            return e;
        }
    }

    /** Waits for every queued op. */
    public void synchronize() { sync("synchronize"); }

    /** GPU, driver and library versions, memory, for {@code frl info}. */
    public Map<String, String> describe() {
        Map<String, String> m = new LinkedHashMap<>();
        int[] v = new int[1];
        m.put("gpu", deviceName + " (sm_" + capability + ", " + multiprocessors + " SMs, " + totalMemory / (1 << 20) + " MiB)");
        cudart.cudaDriverGetVersion(v);
        m.put("cuda driver", version(v[0]));
        cudart.cudaRuntimeGetVersion(v);
        m.put("cuda runtime", version(v[0]));
        cublas.cublasGetVersion_v2(cublas(), v);
        m.put("cublas", v[0] / 10000 + "." + v[0] / 100 % 100 + "." + v[0] % 100);
        long dnn = cudnn.cudnnGetVersion();
        m.put("cudnn", dnn / 10000 + "." + dnn / 100 % 100 + "." + dnn % 100);
        cufft.cufftGetVersion(v);
        m.put("cufft", v[0] / 1000 + "." + v[0] / 100 % 10 + "." + v[0] % 100);
        m.put("tf32", CudaBackend.TF32 ? "allowed (-Dfrl.cuda.tf32=true)" : "off");
        m.put("device memory", allocator.describe());
        return m;
    }

    private static String version(int v) { return v / 1000 + "." + v % 1000 / 10; }
}
