package frl.backend.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CudaFlagsTest {
    private static final String P = "frl.cuda.test.flag";

    @Test void takesTheFallbackWhenUnsetAndAnAllowedWordTrimmed() {
        System.clearProperty(P);
        assertEquals("block", CudaFlags.oneOf(P, "block", "block", "warp"));
        System.setProperty(P, " warp ");
        try {
            assertEquals("warp", CudaFlags.oneOf(P, "block", "block", "warp"));
        } finally {
            System.clearProperty(P);
        }
    }

    @Test void refusesAnyOtherWordNamingTheSwitchAndItsWords() {
        System.setProperty(P, "3xTF32");
        try {
            var e = assertThrows(IllegalArgumentException.class, () -> CudaFlags.oneOf(P, "sgemm", "sgemm", "3xtf32"));
            assertTrue(e.getMessage().contains("-D" + P + " must be one of sgemm, 3xtf32; got '3xTF32'"), e.getMessage());
        } finally {
            System.clearProperty(P);
        }
    }

    @Test void theGemmAndHfSwitchesDefaultToTheirCheckedPaths() {
        System.clearProperty("frl.cuda.gemm");
        System.clearProperty("frl.cuda.hf");
        assertEquals(null, SubPixelPlans.Gemm.forced(), "auto: each op and size takes the faster");
        assertEquals(CudaFrequency.Direct.STREAM, CudaFrequency.Direct.chosen());
        System.clearProperty("frl.cuda.phaseLoads");
        assertFalse(CudaSubPixel.batched(), "the batched phase kernels wait for a GPU run");
        System.clearProperty("frl.cuda.planes");
        assertFalse(Kernel.packedPlanes(), "packed plane launches wait for a GPU run");
        System.clearProperty("frl.cuda.phaseGemms");
        assertEquals(SubPixelPlans.Option.OFF, SubPixelPlans.phaseGemms(), "phase GEMMs batched wait for a GPU run");
        System.clearProperty("frl.cuda.ce");
        assertFalse(CudaLoss.registers(), "cross-entropy tiles in registers wait for a GPU run");
        System.clearProperty("frl.cuda.bnLoads");
        assertFalse(CudaNorm.batchedLoads(), "batch norm's batched loads wait for a GPU run");
        System.clearProperty("frl.cuda.hfSums");
        assertFalse(CudaFrequency.exactSums(), "the HF channel's exact sums wait for a GPU run");
        System.clearProperty("frl.cuda.splitK");
        assertEquals(SubPixelPlans.Option.OFF, SubPixelPlans.splitK(), "weight gradients in chunks wait for a GPU run");
        System.clearProperty("frl.cuda.unfold");
        assertEquals(FasterPath.Path.CUDNN, CudaUnfold.CHOICE.forced(), "convolutions as unfolded GEMMs wait for a GPU run");
    }
}
