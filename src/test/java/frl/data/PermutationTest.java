package frl.data;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

class PermutationTest {
    @Test void everyIndexOnceInADrawnOrder() {
        int[] p = Permutation.of(50, new SplittableRandom(3)::nextInt);
        assertArrayEquals(Permutation.of(50, new SplittableRandom(3)::nextInt), p, "the same draws, the same order");
        int[] sorted = p.clone();
        Arrays.sort(sorted);
        int[] identity = new int[50];
        Arrays.setAll(identity, i -> i);
        assertArrayEquals(identity, sorted);
        assertFalse(Arrays.equals(identity, p), "shuffled");
        // Fisher–Yates from the top, every draw 0: place 2 takes index 0, then place 1 takes index 2
        assertArrayEquals(new int[] {1, 2, 0}, Permutation.of(3, b -> 0));
    }
}
