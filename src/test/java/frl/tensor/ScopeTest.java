package frl.tensor;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Who frees what: scopes free what was made inside them, keep/detach hand results outwards, nothing leaks. */
class ScopeTest {
    private static Tensor make() { return Tensor.host(Shape.of(4, 4), DType.F32, Device.CPU); }

    @Test void closingAScopeFreesWhatWasMadeInside() {
        long before = HostStorage.liveBytes();
        Tensor t;
        try (Scope s = Scope.open()) {
            t = make();
            assertEquals(1, s.size());
            assertTrue(HostStorage.liveBytes() > before);
        }
        assertTrue(t.storage().isFreed());
        assertEquals(before, HostStorage.liveBytes(), "host memory returns to where it was");
        assertThrows(IllegalStateException.class, t::toFloats, "using freed memory is an error, not a crash");
    }

    @Test void keepHandsAResultToTheEnclosingScope() {
        try (Scope outer = Scope.open()) {
            Tensor kept;
            try (Scope inner = Scope.open()) {
                kept = Scope.keep(make());
                make();
            }
            assertFalse(kept.storage().isFreed());
            assertEquals(1, outer.size());
        }
    }

    @Test void detachedAndUnscopedTensorsBelongToTheCaller() {
        Tensor detached, unscoped;
        try (Scope s = Scope.open()) {
            detached = Scope.detach(make());
            unscoped = Scope.unscoped(ScopeTest::make);
            assertEquals(0, s.size());
        }
        assertFalse(detached.storage().isFreed());
        assertFalse(unscoped.storage().isFreed());
        detached.close();
        unscoped.close();
        assertTrue(detached.storage().isFreed());
    }

    @Test void scopesCloseInnermostFirst() {
        Scope outer = Scope.open();
        Scope inner = Scope.open();
        assertThrows(IllegalStateException.class, outer::close);
        inner.close();
        outer.close();
        assertEquals(null, Scope.current());
    }

    @Test void viewsShareStorageAndFreeNothing() {
        try (Scope s = Scope.open()) {
            Tensor t = make().copyFrom(new float[16]);
            Tensor v = t.reshape(2, 8);
            v.close();
            assertFalse(t.storage().isFreed());
            assertEquals(Shape.of(2, 8), v.shape());
            assertThrows(IllegalArgumentException.class, () -> t.reshape(3, 5));
        }
    }

    @Test void largeBlocksAreReusedForTheSameSize() {
        long address;
        try (Scope s = Scope.open()) {
            address = Tensor.host(Shape.of(1 << 19), DType.F32, Device.CPU).storage().address();   // 2 MiB
        }
        try (Scope s = Scope.open()) {
            Tensor again = Tensor.host(Shape.of(1 << 19), DType.F32, Device.CPU);
            assertEquals(address, again.storage().address(), "a training step's buffers come back without new page faults");
        }
        HostStorage.dropCache();
    }
}
