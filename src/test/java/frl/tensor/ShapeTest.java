package frl.tensor;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShapeTest {
    @Test void broadcastingFollowsNumPy() {
        assertEquals(Shape.of(3, 4, 5), Shape.broadcast(Shape.of(3, 1, 5), Shape.of(4, 1)));
        assertEquals(Shape.of(2, 3), Shape.broadcast(Shape.of(3), Shape.of(2, 1)));
        assertEquals(Shape.of(2, 3), Shape.broadcast(Shape.of(), Shape.of(2, 3)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Shape.broadcast(Shape.of(2, 3), Shape.of(4, 3)));
        assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("[4, 3]"), e.getMessage());
    }

    @Test void stridesSizesAndAxes() {
        Shape s = Shape.of(2, 3, 4);
        assertArrayEquals(new long[] {12, 4, 1}, s.strides());
        assertEquals(24, s.numel());
        assertEquals(12, s.size(1, 3));
        assertEquals(4, s.dim(-1));
        assertEquals(Shape.of(2, 4), s.without(1));
        assertEquals(Shape.of(2, 7, 4), s.with(1, 7));
        assertThrows(IllegalArgumentException.class, () -> s.dim(3));
        assertThrows(IllegalArgumentException.class, () -> Shape.of(2, -1));
    }
}
