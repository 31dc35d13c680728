package frl.backend.cpu;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * OpenBLAS's cblas_sgemm, called by an FFM downcall. JavaCPP only loads the bundled natives (their JNI
 * wrappers are never used); the symbols are then found through this class loader's lookup.
 *
 * <p>OpenBLAS is set to one thread and Java parallelises around it (over images in the convolutions, over
 * rows of C in {@link Gemm#sgemm}). Measured on the 2-core dev machine, 1024³, while other jobs shared the
 * cores: Java-split 1-thread calls 57–85 GFLOP/s against 27–55 for one 2-thread OpenBLAS call (OpenBLAS's
 * spinning workers suffer most from contention); one quiet window favoured OpenBLAS 120 vs 78, so re-check
 * with bench/run.sh on an idle machine. One thread setting also avoids oversubscribing when convolutions
 * call sgemm from several threads at once.
 *
 * <p>The downcall is not marked critical: a GEMM may run for milliseconds and a critical call holds off GC
 * safepoints that long, while the thread transition it saves costs ~100 ns.
 */
final class OpenBlasGemm extends Gemm {
    private static final int ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;

    private final MethodHandle sgemm;
    private final String config;

    private OpenBlasGemm(MethodHandle sgemm, String config) {
        this.sgemm = sgemm;
        this.config = config;
    }

    /** Loads the natives and binds the functions; throws a RuntimeException or LinkageError if they are missing. */
    static OpenBlasGemm load() {
        org.bytedeco.javacpp.Loader.load(org.bytedeco.openblas.global.openblas_nolapack.class);
        Linker linker = Linker.nativeLinker();
        SymbolLookup lookup = SymbolLookup.loaderLookup();
        MethodHandle setThreads = linker.downcallHandle(find(lookup, "openblas_set_num_threads"), FunctionDescriptor.ofVoid(JAVA_INT));
        MethodHandle getConfig = linker.downcallHandle(find(lookup, "openblas_get_config"), FunctionDescriptor.of(ADDRESS));
        MethodHandle sgemm = linker.downcallHandle(find(lookup, "cblas_sgemm"), FunctionDescriptor.ofVoid(
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_FLOAT, ADDRESS, JAVA_INT,
                ADDRESS, JAVA_INT, JAVA_FLOAT, ADDRESS, JAVA_INT));
        try {
            setThreads.invokeExact(1);
            String built = ((MemorySegment) getConfig.invokeExact()).reinterpret(1024).getString(0).trim();
            return new OpenBlasGemm(sgemm, built + "; 1 OpenBLAS thread per call, Java-parallel over " + Parallel.threads() + " threads");
        } catch (Throwable t) {
            throw new IllegalStateException("OpenBLAS: configuring the library failed", t);
        }
    }

    private static MemorySegment find(SymbolLookup lookup, String name) {
        return lookup.find(name).orElseThrow(() -> new IllegalStateException("OpenBLAS: symbol " + name + " not found after loading the natives"));
    }

    @Override public String name() { return "openblas"; }

    @Override public String config() { return config; }

    @Override protected void compute(boolean transA, boolean transB, int m, int n, int k, float alpha,
                                     MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                                     float beta, MemorySegment c, long cOff, int ldc) {
        try {
            sgemm.invokeExact(ROW_MAJOR, transA ? TRANS : NO_TRANS, transB ? TRANS : NO_TRANS, m, n, k, alpha,
                    a.asSlice(aOff * Float.BYTES), lda, b.asSlice(bOff * Float.BYTES), ldb, beta, c.asSlice(cOff * Float.BYTES), ldc);
        } catch (Throwable t) {
            throw new IllegalStateException("cblas_sgemm failed", t);
        }
    }
}
