package frl.backend.cuda;

import frl.backend.Backends;
import frl.tensor.Scope;
import frl.tensor.Shape;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The mode switch of FasterPath (a forced path runs without timing anything, so this needs no GPU). */
class FasterPathTest {
    @Test void defaultAndPropertyChooseThePath() {
        String property = "frl.test.fasterPath";
        FasterPath p = new FasterPath(property);
        try (Scope s = Scope.open()) {
            System.clearProperty(property);
            assertNull(p.forced(), "auto unless told otherwise");
            System.setProperty(property, " cudnn ");
            assertEquals(FasterPath.Path.CUDNN, p.forced());
            assertEquals(2.0, p.run(() -> "op", path -> Backends.cpu().full(Shape.of(1), path == FasterPath.Path.CUDNN ? 2 : 1)).item());
            assertEquals(2.0, p.run(() -> { throw new AssertionError("a forced path needs no key"); }, path -> Backends.cpu().full(Shape.of(1), 2)).item());
            System.setProperty(property, "kernel");
            assertEquals(1.0, p.run(() -> "op", path -> Backends.cpu().full(Shape.of(1), path == FasterPath.Path.CUDNN ? 2 : 1)).item());
            System.setProperty(property, "auto");
            assertNull(p.forced(), "auto times both paths");
            System.setProperty(property, "fastest");
            var e = assertThrows(IllegalArgumentException.class, p::forced);
            assertTrue(e.getMessage().contains("-D" + property + " must be one of kernel, cudnn, auto; got 'fastest'"), e.getMessage());
            assertTrue(p.choices().isEmpty(), "nothing was timed");
        } finally {
            System.clearProperty(property);
        }
    }
}
